#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""connect-bench's aiortc client: the same call as the elements and the bare
webrtcbin client make, written the way aiortc's examples teach.

Run by connect-bench's parent (like `connect-bench --kind bare|elements`);
each call prints one line in the format of connect_report.cpp:

  RUN <i> session=<ms> audio=<ms> cpu=<ms> [held_cpu=<ms per s> held_s=<s>
      heard_s=<s> sent=<n> received=<n>] phases=<name>:<ms>,... [error=...]

t0 is taken after the imports, the asyncio loop and the tone track exist
(what a program sets up before it calls), just before the secret is minted.
Everything of the call itself is after t0: minting, the RTCPeerConnection
with its ECDSA certificate, the offer with its candidate gathering, the two
POSTs, ICE, DTLS, SCTP. The CPU figure is this process's user+system time
from t0 until the peer connection is closed and the call hung up.

With --hold S the call stays up once its first audio is back: after --settle
seconds, the process's CPU is measured over S seconds of the tone sent and
its echo received and decoded, with the audible audio heard and the RTP
packets each way (getStats) counted, as connect_hold.cpp does for the others.

Needs Debian's python3-aiortc (1.4), hence /usr/bin/python3.
"""

import argparse
import asyncio
import fractions
import http.client
import json
import math
import sys
import time
import urllib.parse

import numpy
from aiortc import (
    MediaStreamTrack,
    RTCConfiguration,
    RTCPeerConnection,
    RTCSessionDescription,
)
from av import AudioFrame

AUDIBLE_RMS = 0.02  # of full scale, as connect_common.h
RATE = 48000
FRAME = 960  # 20 ms


class ToneTrack(MediaStreamTrack):
    """440 Hz at 0.8 of full scale (audiotestsrc's default volume), paced in
    real time like `audiotestsrc is-live=true`."""

    kind = "audio"

    def __init__(self):
        super().__init__()
        self._start = None
        self._samples = 0

    async def recv(self):
        if self._start is None:
            self._start = time.monotonic()
        else:
            wait = self._start + self._samples / RATE - time.monotonic()
            if wait > 0:
                await asyncio.sleep(wait)
        n = numpy.arange(self._samples, self._samples + FRAME)
        pcm = (0.8 * 32767 * numpy.sin(2 * math.pi * 440 * n / RATE)).astype("<i2")
        frame = AudioFrame(format="s16", layout="mono", samples=FRAME)
        frame.planes[0].update(pcm.tobytes())
        frame.sample_rate = RATE
        frame.pts = self._samples
        frame.time_base = fractions.Fraction(1, RATE)
        self._samples += FRAME
        return frame


def post(url, bearer, content_type, body):
    """A blocking POST as with the standard library: (status, body, Location)."""
    u = urllib.parse.urlsplit(url)
    conn = http.client.HTTPConnection(u.hostname, u.port, timeout=5)
    try:
        headers = {"Authorization": "Bearer " + bearer}
        if content_type:
            headers["Content-Type"] = content_type
        conn.request("POST", u.path, body=body or b"", headers=headers)
        r = conn.getresponse()
        return r.status, r.read().decode("utf-8", "replace"), r.getheader("Location")
    finally:
        conn.close()


def use_loopback_candidates():
    """aioice 0.8 never gathers on 127.0.0.1 (get_host_addresses skips it).
    A server on 127.0.0.1 still works from the machine's other address: the
    checks go from that host candidate to 127.0.0.1 over lo. Only a machine
    with loopback alone would leave aiortc without a candidate; there,
    loopback is added, the equivalent of the bare client's
    add-local-ip-address."""
    import aioice.ice

    host_addresses = aioice.ice.get_host_addresses
    if any(":" not in a for a in host_addresses(True, False)):
        return

    def with_loopback(use_ipv4, use_ipv6):
        return host_addresses(use_ipv4, use_ipv6) + (["127.0.0.1"] if use_ipv4 else [])

    aioice.ice.get_host_addresses = with_loopback


def bundle_offer(sdp):
    """aiortc 1.4 has no bundle policy: it offers each m-line with an ICE
    transport of its own (a BUNDLE group, but a ufrag per m-line), which a
    max-bundle answerer such as webrtcbin refuses ("different ice-ufrag
    values in bundle"). Give every m-line the first one's credentials and
    candidates only there: once the answer accepts the BUNDLE group, aiortc
    itself moves the other m-lines onto the first one's transport."""
    out, section, ufrag, pwd = [], 0, None, None
    for line in sdp.splitlines():
        if line.startswith("m="):
            section += 1
        elif section == 1 and line.startswith("a=ice-ufrag:"):
            ufrag = line
        elif section == 1 and line.startswith("a=ice-pwd:"):
            pwd = line
        elif section > 1:
            if line.startswith("a=ice-ufrag:"):
                line = ufrag or line
            elif line.startswith("a=ice-pwd:"):
                line = pwd or line
            elif line.startswith(("a=candidate:", "a=end-of-candidates")):
                continue
        out.append(line)
    return "\r\n".join(out) + "\r\n"


class Call:
    def __init__(self):
        self.t0 = 0
        self.marks = {}
        self.session = asyncio.Event()
        self.audio = asyncio.Event()
        self.failed = None
        self.failure = asyncio.Event()
        self.counting = False
        self.heard = 0.0
        self.held = None

    def mark(self, name):
        self.marks.setdefault(name, time.monotonic_ns())

    def fail(self, why):
        if self.failed is None:
            self.failed = why
            self.failure.set()


async def read_audio(call, track):
    while True:
        frame = await track.recv()
        if call.audio.is_set() and not call.counting:
            continue
        pcm = frame.to_ndarray().astype(numpy.float64)
        if pcm.size and math.sqrt(numpy.mean(pcm * pcm)) / 32768.0 > AUDIBLE_RMS:
            call.mark("first audio")
            call.audio.set()
            if call.counting:
                call.heard += frame.samples / frame.sample_rate


async def packets(pc):
    """RTP packets (sent, received) so far, by aiortc's own statistics."""
    sent = received = None
    for s in (await pc.getStats()).values():
        if s.type == "outbound-rtp":
            sent = s.packetsSent
        elif s.type == "inbound-rtp":
            received = s.packetsReceived
    return sent, received


async def hold(call, opts, pc):
    """Keeps the call up: opts.settle seconds, then a window of opts.hold
    seconds over which the process's CPU, the audible audio and the packets
    are counted (the statistics read just outside it)."""

    async def lasted(seconds):
        try:
            await asyncio.wait_for(call.failure.wait(), seconds)
            return False
        except asyncio.TimeoutError:
            return True

    if not await lasted(opts.settle):
        return
    sent0, received0 = await packets(pc)
    call.heard = 0.0
    call.counting = True
    cpu0 = time.process_time()
    t0 = time.monotonic()
    whole = await lasted(opts.hold)
    t1 = time.monotonic()
    cpu1 = time.process_time()
    call.counting = False
    sent1, received1 = await packets(pc)
    if whole:
        call.held = {
            "held_cpu": (cpu1 - cpu0) * 1000.0 / (t1 - t0),
            "held_s": t1 - t0,
            "heard_s": call.heard,
            "sent": None if sent0 is None or sent1 is None else sent1 - sent0,
            "received": None
            if received0 is None or received1 is None
            else received1 - received0,
        }


async def connect(call, opts, tone, state):
    loop = asyncio.get_running_loop()
    session = {"type": "realtime", "model": "gpt-realtime"}
    if opts.hold > 0:
        # The tone never ends a turn: the agent never speaks over its echo.
        session["audio"] = {"input": {"turn_detection": None}}
    status, body, _ = await loop.run_in_executor(
        None,
        post,
        opts.server + "/v1/realtime/client_secrets",
        opts.key,
        "application/json",
        json.dumps(
            {
                "expires_after": {"anchor": "created_at", "seconds": 60},
                "session": session,
            }
        ).encode(),
    )
    if status != 200:
        raise RuntimeError("minting a secret: HTTP %d %s" % (status, body[:200]))
    secret = json.loads(body).get("value")
    if not secret:
        raise RuntimeError("the mint reply has no value")
    call.mark("secret minted")

    # No STUN server: the others use none either (aiortc's default is
    # Google's, a DNS lookup and a round trip to the internet per call).
    pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
    state["pc"] = pc
    pc.addTrack(tone)
    channel = pc.createDataChannel("oai-events")

    @channel.on("open")
    def on_open():
        call.mark("channel open")

    @channel.on("message")
    def on_message(message):
        if isinstance(message, str) and not call.session.is_set():
            try:
                kind = json.loads(message).get("type")
            except ValueError:
                return
            if kind == "session.created":
                call.mark("session.created")
                call.session.set()

    @channel.on("close")
    def on_close():
        if not call.session.is_set():
            call.fail("the data channel closed")

    @pc.on("track")
    def on_track(track):
        if track.kind == "audio":
            state["reader"] = asyncio.ensure_future(read_audio(call, track))

    @pc.on("iceconnectionstatechange")
    def on_ice():
        if pc.iceConnectionState == "completed":
            call.mark("ICE connected")
        elif pc.iceConnectionState == "failed":
            call.fail("ICE failed")

    @pc.on("connectionstatechange")
    def on_connection():
        if pc.connectionState == "connected":
            call.mark("DTLS connected")
        elif pc.connectionState == "failed":
            call.fail("the peer connection failed")

    offer = await pc.createOffer()
    call.mark("offer created")
    # aiortc does not trickle: this gathers every candidate first.
    await pc.setLocalDescription(offer)
    call.mark("gathering complete")

    call.mark("offer posted")
    status, body, location = await loop.run_in_executor(
        None,
        post,
        opts.server + "/v1/realtime/calls",
        secret,
        "application/sdp",
        bundle_offer(pc.localDescription.sdp).encode(),
    )
    if status != 201:
        raise RuntimeError("posting the offer: HTTP %d %s" % (status, body[:200]))
    call.mark("answer received")
    state["location"] = location
    await pc.setRemoteDescription(RTCSessionDescription(sdp=body, type="answer"))

    done = asyncio.ensure_future(
        asyncio.gather(call.session.wait(), call.audio.wait())
    )
    failed = asyncio.ensure_future(call.failure.wait())
    await asyncio.wait({done, failed}, return_when=asyncio.FIRST_COMPLETED)
    done.cancel()
    failed.cancel()


async def one_call(opts, index):
    call = Call()
    tone = ToneTrack()
    state = {}
    cpu0 = time.process_time()
    call.t0 = time.monotonic_ns()
    try:
        await asyncio.wait_for(connect(call, opts, tone, state), opts.timeout)
    except asyncio.TimeoutError:
        call.fail(
            "no session.created within %d s" % opts.timeout
            if not call.session.is_set()
            else "no audible audio within %d s" % opts.timeout
        )
    except Exception as e:  # a failed step ends the call, not the process
        call.fail("%s: %s" % (type(e).__name__, e))
    if opts.hold > 0 and call.failed is None and call.audio.is_set():
        await hold(call, opts, state["pc"])

    # Hang up (bounded), then close.
    loop = asyncio.get_running_loop()
    if state.get("location"):
        url = state["location"]
        if not url.startswith("http"):
            url = opts.server + url
        try:
            await asyncio.wait_for(
                loop.run_in_executor(None, post, url + "/hangup", opts.key, None, None),
                2,
            )
        except Exception:
            pass
    if "reader" in state:
        state["reader"].cancel()
    if "pc" in state:
        try:
            await asyncio.wait_for(state["pc"].close(), 2)
        except Exception:
            pass
    cpu_ms = (time.process_time() - cpu0) * 1000.0
    print_result(index, call, cpu_ms)


def print_result(index, call, cpu_ms):
    def ms(t):
        return (t - call.t0) / 1e6

    def num(v):
        return "-" if v is None else "%.2f" % v

    session = ms(call.marks["session.created"]) if call.session.is_set() else None
    audio = ms(call.marks["first audio"]) if call.audio.is_set() else None
    marks = sorted(call.marks.items(), key=lambda m: m[1])
    phases = ",".join("%s:%.2f" % (n.replace(" ", "_"), ms(t)) for n, t in marks)
    line = "RUN %d session=%s audio=%s cpu=%s" % (
        index,
        num(session),
        num(audio),
        num(cpu_ms),
    )
    if call.held:
        line += "".join(
            " %s=%s" % (k, num(call.held[k]))
            for k in ("held_cpu", "held_s", "heard_s", "sent", "received")
        )
    line += " phases=" + (phases or "-")
    error = call.failed
    if error is None and session is None:
        error = "no session.created"
    elif error is None and audio is None:
        error = "no audible audio"
    if error:
        line += " error=" + error.replace("\n", " ")
    print(line, flush=True)


async def main(opts):
    for i in range(1, opts.runs + 1):
        await one_call(opts, i)


if __name__ == "__main__":
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--server", required=True, help="base URL of the server")
    p.add_argument("--key", required=True, help="API key for minting")
    p.add_argument("--runs", type=int, default=1, help="calls, one after the other")
    p.add_argument("--timeout", type=int, default=10, help="seconds per call")
    p.add_argument("--no-phases", action="store_true", help="(accepted, ignored)")
    p.add_argument("--hold", type=int, default=0, help="seconds to measure a held call")
    p.add_argument("--settle", type=int, default=2, help="seconds before that window")
    opts = p.parse_args()
    host = urllib.parse.urlsplit(opts.server).hostname or ""
    if host.startswith("127."):
        use_loopback_candidates()
    try:
        asyncio.run(main(opts))
    except Exception as e:
        print("FATAL %s: %s" % (type(e).__name__, e), flush=True)
        sys.exit(1)
