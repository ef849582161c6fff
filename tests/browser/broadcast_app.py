#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""A GStreamer application around webrtcbroadcastsink, driven by the browser
tests over stdin/stdout, one JSON object per line.

Out: {"event":"ready","port":N}, {"event":"connected","id":...,"freq":...},
     {"event":"disconnected","id":...}, {"event":"speaking","t":ms},
     {"event":"stats",...}, {"event":"error","message":...}
In:  {"cmd":"speak"}, {"cmd":"silence"}, {"cmd":"cut"} (silence with a flush),
     {"cmd":"stats"}, {"cmd":"quit"}

--per-client gives every page a tone of its own through a client_<id> pad
(frequencies from --freqs, in the order pages connect); otherwise one tone
(--freq) feeds the always pad, behind a valve that "speak" opens and
"silence" closes (the closed valve sends gaps: the utterance ends).
"""
import argparse
import json
import sys
import threading
import time

import gi

gi.require_version("Gst", "1.0")
from gi.repository import GLib, Gst  # noqa: E402


def emit(**kw):
    sys.stdout.write(json.dumps(kw) + "\n")
    sys.stdout.flush()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--delivery", default="data-channel")
    ap.add_argument("--freq", type=float, default=440)
    ap.add_argument("--channels", type=int, default=1)
    ap.add_argument("--bitrate", type=int, default=64000)
    ap.add_argument("--speaking", action="store_true", help="start with the valve open")
    ap.add_argument("--per-client", action="store_true")
    ap.add_argument("--freqs", default="")
    ap.add_argument("--sink-props", default="")
    ap.add_argument("--tls", nargs=2, metavar=("CERT", "KEY"))
    args = ap.parse_args()

    Gst.init(None)
    pipeline = Gst.Pipeline.new("app")
    sink = Gst.ElementFactory.make("webrtcbroadcastsink", "broadcast")
    if sink is None:
        emit(event="error", message="webrtcbroadcastsink is not available")
        return 1
    sink.set_property("port", args.port)
    sink.set_property("bitrate", args.bitrate)
    Gst.util_set_object_arg(sink, "delivery", args.delivery)
    if args.tls:
        sink.set_property("tls-certificate-file", args.tls[0])
        sink.set_property("tls-key-file", args.tls[1])
    for prop in filter(None, args.sink_props.split(" ")):
        name, value = prop.split("=", 1)
        Gst.util_set_object_arg(sink, name, value)
    pipeline.add(sink)

    caps = "audio/x-raw,rate=48000,channels=%d" % args.channels

    def tone(freq, name):
        src = Gst.parse_bin_from_description(
            "audiotestsrc is-live=true wave=sine volume=0.5 freq=%g name=%s_src ! "
            "capsfilter caps=%s" % (freq, name, caps), True)
        return src

    valve = None
    if not args.per_client:
        shared = tone(args.freq, "shared")
        valve = Gst.ElementFactory.make("valve", None)
        Gst.util_set_object_arg(valve, "drop-mode", "transform-to-gap")
        valve.set_property("drop", not args.speaking)
        pipeline.add(shared)
        pipeline.add(valve)
        shared.link(valve)
        valve.link(sink)
        # While a cut is made, the gaps the closing valve sends would end the
        # utterance before the flush could abort it: they are held back.
        cutting = threading.Event()
        valve.get_static_pad("src").add_probe(
            Gst.PadProbeType.EVENT_DOWNSTREAM,
            lambda pad, info: Gst.PadProbeReturn.DROP
            if cutting.is_set() and info.get_event().type == Gst.EventType.GAP
            else Gst.PadProbeReturn.OK)
    else:
        # The always pad hears silence: no page may hear another's tone.
        silent = Gst.parse_bin_from_description(
            "audiotestsrc is-live=true wave=silence ! capsfilter caps=%s" % caps, True)
        pipeline.add(silent)
        silent.link(sink)

    freqs = [float(f) for f in args.freqs.split(",") if f]
    branches = {}

    def on_connected(element, client_id):
        # From the server's thread: the pipeline is changed on the main loop.
        GLib.idle_add(add_client, client_id)

    def add_client(client_id):
        if not args.per_client:
            emit(event="connected", id=client_id)
            return False
        if client_id in branches:
            emit(event="connected", id=client_id, freq=branches[client_id][1])
            return False
        freq = freqs[len(branches) % len(freqs)] if freqs else 440
        pad = sink.request_pad_simple("client_" + client_id)
        src = tone(freq, "c" + client_id)
        pipeline.add(src)
        src.get_static_pad("src").link(pad)
        src.sync_state_with_parent()
        branches[client_id] = (src, freq, pad)
        emit(event="connected", id=client_id, freq=freq)
        return False

    def on_disconnected(element, client_id):
        GLib.idle_add(lambda: emit(event="disconnected", id=client_id) and False)

    sink.connect("client-connected", on_connected)
    sink.connect("client-disconnected", on_disconnected)

    loop = GLib.MainLoop()
    bus = pipeline.get_bus()
    bus.add_signal_watch()

    def on_message(_, msg):
        if msg.type == Gst.MessageType.ERROR:
            err, dbg = msg.parse_error()
            emit(event="error", message=err.message, debug=dbg)
            loop.quit()

    bus.connect("message", on_message)
    if pipeline.set_state(Gst.State.PLAYING) == Gst.StateChangeReturn.FAILURE:
        emit(event="error", message="the pipeline did not start")
        return 1
    emit(event="ready", port=sink.get_property("bound-port"),
         turn_server=sink.get_property("turn-server"))

    def stats():
        s = sink.get_property("stats")
        out = {"num_clients": s.get_value("num-clients"), "clients": []}
        for key in ("clients-total", "clients-refused", "signalling-errors"):
            if s.has_field(key):
                out[key.replace("-", "_")] = s.get_value(key)
        for i in range(s.n_fields()):
            name = s.nth_field_name(i)
            if name.startswith("client-"):
                c = s.get_value(name)
                out["clients"].append({k: c.get_value(k) for k in (
                    "id", "state", "own-stream", "buffered-amount", "unreceipted", "receipts",
                    "bad-receipts", "bytes-sent",
                    "chunks-sent", "drops", "discontinuities")})
        return out

    def on_stdin(channel, condition):
        line = channel.readline()
        if not line:
            loop.quit()
            return False
        try:
            cmd = json.loads(line).get("cmd")
        except ValueError:
            return True
        if cmd == "speak" and valve is not None:
            valve.set_property("drop", False)
            emit(event="speaking", t=time.time() * 1000)
        elif cmd == "silence" and valve is not None:
            valve.set_property("drop", True)
            emit(event="silent", t=time.time() * 1000)
        elif cmd == "cut" and valve is not None:
            # A barge-in as openairealtimesrc does it: the stream is flushed
            # while the valve closes (closed first, so the live source never
            # meets the flush).
            cutting.set()
            valve.set_property("drop", True)
            pad = valve.get_static_pad("src")
            pad.push_event(Gst.Event.new_flush_start())
            pad.push_event(Gst.Event.new_flush_stop(False))
            cutting.clear()
            emit(event="cut", t=time.time() * 1000)
        elif cmd == "stats":
            emit(event="stats", **stats())
        elif cmd == "quit":
            loop.quit()
            return False
        return True

    GLib.io_add_watch(GLib.IOChannel.unix_new(sys.stdin.fileno()),
                      GLib.IO_IN | GLib.IO_HUP, on_stdin)
    loop.run()
    pipeline.set_state(Gst.State.NULL)
    return 0


if __name__ == "__main__":
    sys.exit(main())
