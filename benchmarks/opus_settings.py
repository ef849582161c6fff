#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""What Opus encoder settings cost and keep, for speech going to a model.

For each setting, 60 s of speech (espeak-ng, resampled to 48 kHz mono) and
60 s of a 440 Hz tone (the CPU benchmark's input) are encoded in 20 ms
frames by GStreamer's opusenc, as fast as one thread goes; the CPU time per
second of audio is that of gst-launch-1.0 (getrusage of the child), less
the same pipeline without the encoder. The speech is also decoded again and
compared with the original in the band a model hears (it gets 24 kHz PCM:
50 Hz to 11 kHz):

  LSD      log-spectral distance over 20 ms frames with speech, bins within
           40 dB of their frame's peak (dB; lower is closer)
  segSNR   segmental signal-to-noise ratio over 20 ms frames with speech
           (dB; waveform fidelity, which Opus's speech mode does not aim at)

Neither is a listening test; both tell a setting that loses the signal from
one that keeps it. Needs python3-numpy, espeak-ng, sox and gst-launch-1.0
(scripts/setup.sh installs them).

Usage: benchmarks/opus_settings.py [--seconds 60] [--markdown FILE]
                                   ["opusenc properties" ...]
"""

import argparse
import os
import resource
import subprocess
import sys
import tempfile
import wave

import numpy

TEXT = (
    "The quick brown fox jumps over the lazy dog. Realtime agents listen to "
    "the user's voice over WebRTC, and the encoder's settings decide what "
    "each call costs. Speech going to a model needs a clear signal, not high "
    "fidelity music. Please book a table for four at eight tonight, and send "
    "the confirmation to my phone."
)

SETTINGS = [
    "audio-type=voice",  # the elements before: VoIP mode, complexity 10, 64 kbit/s
    "audio-type=voice bitrate=32000 complexity=9",  # what browsers send
    "audio-type=voice bitrate=32000 complexity=5",
    "audio-type=generic complexity=10",
    "audio-type=generic complexity=5",  # the elements now
    "audio-type=generic complexity=3",
    "audio-type=generic bitrate=32000 complexity=5",
]


def child_cpu():
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def run(args):
    before = child_cpu()
    subprocess.run(["gst-launch-1.0", "-q"] + args, check=True)
    return child_cpu() - before


def source(path):
    return ["filesrc", "location=" + path, "!", "wavparse", "!",
            "audio/x-raw,rate=48000,channels=1"]


def encode_cpu(path, setting, seconds):
    """ms of CPU per second of audio spent by opusenc (best of three)."""
    best = None
    for _ in range(3):
        base = run(source(path) + ["!", "fakesink"])
        full = run(source(path) + ["!", "opusenc", "frame-size=20"] +
                   setting.split() + ["!", "fakesink"])
        cost = max(full - base, 0) * 1000 / seconds
        best = cost if best is None else min(best, cost)
    return best


def read(path):
    with wave.open(path) as w:
        data = w.readframes(w.getnframes())
    return numpy.frombuffer(data, dtype="<i2").astype(numpy.float64) / 32768


def round_trip(path, setting, out):
    run(source(path) + ["!", "opusenc", "frame-size=20"] + setting.split() +
        ["!", "opusdec", "!", "audio/x-raw,rate=48000,channels=1", "!",
         "wavenc", "!", "filesink", "location=" + out])
    return read(out)


def aligned(a, b):
    n = 48000 * 5
    c = numpy.fft.irfft(numpy.fft.rfft(a[:n], 2 * n) *
                        numpy.conj(numpy.fft.rfft(b[:n], 2 * n)))
    lag = int(numpy.argmax(c))
    lag = lag if lag < n else lag - 2 * n
    a, b = (a[lag:], b) if lag > 0 else (a, b[-lag:])
    m = min(len(a), len(b))
    return a[:m], b[:m]


def spectra(x, n=960, hop=480):
    w = numpy.hanning(n)
    frames = numpy.array([x[i:i + n] * w for i in range(0, len(x) - n, hop)])
    return numpy.abs(numpy.fft.rfft(frames, axis=1))


def quality(x, y):
    band = slice(1, 11000 // 50 + 1)  # 50 Hz bins of 20 ms frames
    X, Y = spectra(x)[:, band], spectra(y)[:, band]
    energy = numpy.sum(X ** 2, axis=1)
    speech = energy > numpy.max(energy) * 1e-4
    lx = 10 * numpy.log10(X[speech] ** 2 + 1e-12)
    ly = 10 * numpy.log10(Y[speech] ** 2 + 1e-12)
    heard = lx > numpy.max(lx, axis=1, keepdims=True) - 40
    d = numpy.where(heard, (lx - ly) ** 2, 0)
    lsd = numpy.mean(numpy.sqrt(numpy.sum(d, axis=1) /
                                numpy.maximum(numpy.sum(heard, axis=1), 1)))
    f, snrs = 960, []
    floor = 1e-4 * f * numpy.max(x ** 2)
    for i in range(0, len(x) - f, f):
        s = numpy.sum(x[i:i + f] ** 2)
        if s >= floor:
            noise = numpy.sum((x[i:i + f] - y[i:i + f]) ** 2) + 1e-12
            snrs.append(numpy.clip(10 * numpy.log10(s / noise), -10, 35))
    return lsd, float(numpy.mean(snrs))


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--seconds", type=int, default=60)
    p.add_argument("--markdown", help="also write the table to FILE")
    p.add_argument("settings", nargs="*", default=SETTINGS)
    opts = p.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        spoken = os.path.join(tmp, "spoken.wav")
        speech = os.path.join(tmp, "speech.wav")
        tone = os.path.join(tmp, "tone.wav")
        subprocess.run(["espeak-ng", "-w", spoken, TEXT], check=True)
        # Repeated to the length asked for, at the elements' own format.
        subprocess.run(["sox", "-q", spoken, "-r", "48000", "-c", "1", "-b", "16",
                        speech, "repeat", "50", "trim", "0", str(opts.seconds),
                        "norm", "-3"], check=True)
        run(["audiotestsrc", "freq=440", "num-buffers=%d" % (opts.seconds * 50),
             "samplesperbuffer=960", "!", "audio/x-raw,rate=48000,channels=1",
             "!", "wavenc", "!", "filesink", "location=" + tone])
        original = read(speech)
        rows = []
        for setting in opts.settings:
            x, y = aligned(original, round_trip(speech, setting,
                                                os.path.join(tmp, "rt.wav")))
            lsd, snr = quality(x, y)
            rows.append((setting, encode_cpu(speech, setting, opts.seconds),
                         encode_cpu(tone, setting, opts.seconds), lsd, snr))
            print("%-48s speech %5.2f ms/s, tone %5.2f ms/s, LSD %.2f dB, "
                  "segSNR %.1f dB" % rows[-1], flush=True)
    table = ("| opusenc frame-size=20 … | CPU, speech (ms/s) | CPU, tone (ms/s) "
             "| LSD (dB) | segSNR (dB) |\n|---|---|---|---|---|\n")
    for r in rows:
        table += "| `%s` | %.2f | %.2f | %.2f | %.1f |\n" % r
    print("\n" + table, end="")
    if opts.markdown:
        with open(opts.markdown, "w") as f:
            f.write(table)


if __name__ == "__main__":
    try:
        main()
    except subprocess.CalledProcessError as e:
        sys.exit("opus_settings: %s failed" % e.cmd[0])
