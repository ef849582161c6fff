/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "speech.h"

#include "main_thread.h"

#include <algorithm>
#include <cmath>
#include <cstring>

namespace rts {

namespace {

class ToneSynth : public SpeechSynth {
 public:
  explicit ToneSynth (double freq) : freq_ (freq) {}
  void synthesize (const std::string &text, GCancellable *cancel,
      Done done) override
  {
    Pcm pcm = make_tone (text, freq_);
    g_object_ref (cancel);
    // Deliver later, like the espeak path, so callers never see a re-entrant completion.
    server_worker ().post (
        [cancel, done = std::move (done), pcm = std::move (pcm)] () mutable {
          if (!g_cancellable_is_cancelled (cancel))
            done (std::move (pcm));
          g_object_unref (cancel);
        });
  }

 private:
  double freq_;
};

uint32_t read_le32 (const guint8 *p)
{
  return p[0] | p[1] << 8 | p[2] << 16 | uint32_t (p[3]) << 24;
}
uint16_t read_le16 (const guint8 *p)
{
  return static_cast<uint16_t> (p[0] | p[1] << 8);
}

// Decode a 16-bit PCM WAV (as espeak-ng --stdout writes it, often with a bogus data size
// because it streams) and convert it to 48 kHz mono.
bool decode_wav (const guint8 *data, size_t size, Pcm *out)
{
  if (size < 12 || memcmp (data, "RIFF", 4) != 0 ||
      memcmp (data + 8, "WAVE", 4) != 0)
    return false;
  unsigned rate = 0, channels = 0, bits = 0;
  size_t pos = 12;
  while (pos + 8 <= size) {
    uint32_t chunk = read_le32 (data + pos + 4);
    const guint8 *body = data + pos + 8;
    size_t available = size - pos - 8;
    if (memcmp (data + pos, "fmt ", 4) == 0 && available >= 16) {
      channels = read_le16 (body + 2);
      rate = read_le32 (body + 4);
      bits = read_le16 (body + 14);
    } else if (memcmp (data + pos, "data", 4) == 0) {
      if (rate == 0 || channels == 0 || bits != 16)
        return false;
      size_t frames = std::min<size_t> (chunk, available) / (2 * channels);
      // Linear interpolation is plenty for a stand-in voice.
      double step = static_cast<double> (rate) / kSampleRate;
      size_t out_frames = static_cast<size_t> (frames / step);
      out->resize (out_frames);
      for (size_t i = 0; i < out_frames; i++) {
        double src = i * step;
        size_t a = static_cast<size_t> (src);
        size_t b = std::min (a + 1, frames - 1);
        double frac = src - a;
        auto sample = [&] (size_t f) {
          return static_cast<int16_t> (read_le16 (body + f * 2 * channels));
        };
        (*out)[i] = static_cast<int16_t> (
            sample (a) * (1 - frac) + sample (b) * frac);
      }
      return true;
    }
    pos += 8 + chunk + (chunk & 1);
  }
  return false;
}

class EspeakSynth : public SpeechSynth {
 public:
  explicit EspeakSynth (double fallback_freq) : fallback_freq_ (fallback_freq)
  {
  }

  void synthesize (const std::string &text, GCancellable *cancel,
      Done done) override
  {
    GError *error = nullptr;
    // The text goes through stdin so that nothing in it can be taken for an option.
    GSubprocess *proc = g_subprocess_new (
        static_cast<GSubprocessFlags> (G_SUBPROCESS_FLAGS_STDIN_PIPE |
            G_SUBPROCESS_FLAGS_STDOUT_PIPE | G_SUBPROCESS_FLAGS_STDERR_SILENCE),
        &error, "espeak-ng", "--stdout", nullptr);
    if (!proc) {
      g_warning ("espeak-ng failed to start (%s); using a tone",
          error->message);
      g_error_free (error);
      ToneSynth (fallback_freq_).synthesize (text, cancel, std::move (done));
      return;
    }
    auto *job = new Job { std::move (done), text, fallback_freq_ };
    GBytes *input = g_bytes_new (text.data (), text.size ());
    g_subprocess_communicate_async (proc, input, cancel, on_finished, job);
    g_bytes_unref (input);
    g_object_unref (proc);  // communicate_async keeps its own reference
  }

 private:
  struct Job {
    Done done;
    std::string text;
    double fallback_freq;
  };

  static void on_finished (GObject *source, GAsyncResult *result, gpointer data)
  {
    std::unique_ptr<Job> job (static_cast<Job *> (data));
    GBytes *stdout_bytes = nullptr;
    GError *error = nullptr;
    if (!g_subprocess_communicate_finish (G_SUBPROCESS (source), result,
            &stdout_bytes, nullptr, &error)) {
      bool cancelled = g_error_matches (error, G_IO_ERROR,
          G_IO_ERROR_CANCELLED);
      if (!cancelled)
        g_warning ("espeak-ng failed: %s; using a tone", error->message);
      g_error_free (error);
      if (!cancelled)
        job->done (make_tone (job->text, job->fallback_freq));
      return;
    }
    Pcm pcm;
    gsize size = 0;
    const guint8 *wav = static_cast<const guint8 *> (
        g_bytes_get_data (stdout_bytes, &size));
    if (!decode_wav (wav, size, &pcm) || pcm.empty ()) {
      g_warning ("espeak-ng gave no usable WAV; using a tone");
      pcm = make_tone (job->text, job->fallback_freq);
    }
    g_bytes_unref (stdout_bytes);
    job->done (std::move (pcm));
  }

  double fallback_freq_;
};

}  // namespace

std::unique_ptr<SpeechSynth> SpeechSynth::create (const Options &options)
{
  if (options.speech == SpeechKind::Espeak)
    return std::make_unique<EspeakSynth> (options.tone_freq);
  return std::make_unique<ToneSynth> (options.tone_freq);
}

std::vector<std::string> split_words (const std::string &text)
{
  std::vector<std::string> words;
  std::string current;
  for (char c : text) {
    if (c == ' ' && !current.empty () && current.back () != ' ') {
      current += c;
      continue;
    }
    if (c != ' ' && !current.empty () && current.back () == ' ') {
      words.push_back (current);
      current.clear ();
    }
    current += c;
  }
  if (!current.empty ())
    words.push_back (current);
  return words;
}

Pcm make_tone (const std::string &text, double freq)
{
  double seconds = std::max (1.0,
      0.3 * static_cast<double> (split_words (text).size ()));
  size_t n = static_cast<size_t> (seconds * kSampleRate);
  const size_t fade = kSampleRate /
      100;  // 10 ms ramps: no clicks at either end
  Pcm pcm (n);
  for (size_t i = 0; i < n; i++) {
    double gain = std::min ({ 1.0, double (i) / fade, double (n - i) / fade });
    pcm[i] = static_cast<int16_t> (
        0.5 * 32767 * gain * std::sin (2 * M_PI * freq * i / kSampleRate));
  }
  return pcm;
}

}  // namespace rts
