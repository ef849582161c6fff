#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""A sipphone in an application, driven by a test over stdin and stdout.

Its microphone is a tone (TONE Hz); what it hears goes through an appsink
whose level and frequency (by zero crossings) it reports every 50 ms. Each
line out is a JSON object: {"ev": "state" | "incoming" | "dtmf" |
"dtmf-event" | "heard" | "result" | "stats" | "warning" | "error" |
"transfer", ...}. Each line in is {"action": name, "args": [...]}: an
action signal of the element, or "stats", "set" (a property) or "quit".

Settings from the environment: LINE_REGISTRAR, LINE_USER, LINE_PASSWORD,
TONE, and optionally DIAL, AUTO_ANSWER=1, ANSWER_IN_HANDLER=1, DTMF_METHOD,
LIVE=0 (a microphone that is not live: it makes its audio as fast as it is
taken, as a file would).
"""
import json
import math
import os
import sys
import threading
import time
from array import array

import gi

gi.require_version("Gst", "1.0")
from gi.repository import GLib, Gst  # noqa: E402

Gst.init(None)
# PyGObject resolves a boxed type's Python class lazily, on first use. Once
# a run's first use came from a streaming thread (the event probe below)
# while the main thread read a bus message, and every structure in the probe
# then failed with "Expected Gst.Structure, but got
# gi.repository.Gst.Structure". Resolved here, before any other thread runs.
Gst.Structure.new_empty("sip-app")


say_lock = threading.Lock()


def say(**what):
    # One write per line, under a lock: the streaming thread and the main
    # loop both report. t: ms on this process's monotonic clock.
    what["t"] = round(time.monotonic() * 1000, 1)
    with say_lock:
        sys.stdout.write(json.dumps(what) + "\n")
        sys.stdout.flush()


tone = int(os.environ.get("TONE", "660"))
live = "false" if os.environ.get("LIVE") == "0" else "true"
pipeline = Gst.parse_launch(
    f"audiotestsrc is-live={live} wave=sine freq={tone} volume=0.3 ! "
    "sipphone name=p ! appsink name=ear emit-signals=true sync=false "
    "caps=audio/x-raw,format=S16LE,rate=48000,channels=1"
)
p = pipeline.get_by_name("p")
p.set_property("registrar", os.environ["LINE_REGISTRAR"])
p.set_property("user", os.environ["LINE_USER"])
p.set_property("password", os.environ["LINE_PASSWORD"])
if os.environ.get("DIAL"):
    p.set_property("dial", os.environ["DIAL"])
if os.environ.get("AUTO_ANSWER"):
    p.set_property("auto-answer", True)
if os.environ.get("DTMF_METHOD"):
    p.set_property("dtmf-method", os.environ["DTMF_METHOD"])

# What the ear hears, 50 ms at a time: level (dBFS) and frequency (by zero
# crossings: within 10 Hz for a tone).
window = array("h")


def on_sample(sink):
    sample = sink.emit("pull-sample")
    buf = sample.get_buffer()
    ok, info = buf.map(Gst.MapFlags.READ)
    if ok:
        window.frombytes(bytes(info.data))
        buf.unmap(info)
    if len(window) >= 2400:
        chunk = window[:2400]
        del window[:2400]
        rms = math.sqrt(sum(x * x for x in chunk) / len(chunk)) / 32768
        crossings = sum(1 for a, b in zip(chunk, chunk[1:]) if (a < 0) != (b < 0))
        db = 20 * math.log10(rms) if rms > 0 else -200
        say(ev="heard", freq=round(crossings / 2 / 0.05), db=round(db, 1))
    return Gst.FlowReturn.OK


ear = pipeline.get_by_name("ear")
ear.connect("new-sample", on_sample)


def on_event(pad, info):
    event = info.get_event()
    s = event.get_structure()
    if event.type == Gst.EventType.CUSTOM_DOWNSTREAM and s and s.get_name() == "dtmf-event":
        say(ev="dtmf-event", number=s.get_int("number")[1], method=s.get_int("method")[1])
    return Gst.PadProbeReturn.OK


ear.get_static_pad("sink").add_probe(Gst.PadProbeType.EVENT_DOWNSTREAM, on_event)

def on_incoming(element, frm, display, call_id):
    say(ev="incoming", frm=frm, display=display, call_id=call_id)
    # ANSWER_IN_HANDLER=1: answered from the signal's own handler (the
    # line's thread), as an application may.
    if os.environ.get("ANSWER_IN_HANDLER"):
        say(ev="result", action="answer", value=element.emit("answer"))


p.connect("incoming-call", on_incoming)
p.connect("dtmf-received", lambda e, digit, method: say(ev="dtmf", digit=digit, method=method))

loop = GLib.MainLoop()


def on_message(bus, m):
    if m.type == Gst.MessageType.ELEMENT:
        s = m.get_structure()
        if s.get_name() == "sipphone-state":
            say(ev="state", state=s.get_string("state"), status=s.get_int("status")[1],
                reason=s.get_string("reason"))
        elif s.get_name() == "sipphone-transfer":
            say(ev="transfer", status=s.get_int("status")[1], done=s.get_boolean("done")[1])
    elif m.type == Gst.MessageType.WARNING:
        say(ev="warning", message=m.parse_warning()[0].message)
    elif m.type == Gst.MessageType.ERROR:
        say(ev="error", message=m.parse_error()[0].message)
        loop.quit()


bus = pipeline.get_bus()
bus.add_signal_watch()
bus.connect("message", on_message)


def on_stdin(source, condition):
    line = sys.stdin.readline()
    if not line:
        loop.quit()
        return False
    cmd = json.loads(line)
    action, args = cmd["action"], cmd.get("args", [])
    if action == "quit":
        loop.quit()
        return False
    if action == "stats":
        st = p.get_property("stats")
        say(ev="stats", stats={st.nth_field_name(i): st.get_value(st.nth_field_name(i))
                               for i in range(st.n_fields())})
    elif action == "set":
        p.set_property(args[0], args[1])
        say(ev="result", action=action, value=True)
    else:
        say(ev="result", action=action, value=p.emit(action, *args))
    return True


GLib.io_add_watch(sys.stdin, GLib.IO_IN | GLib.IO_HUP, on_stdin)
pipeline.set_state(Gst.State.PLAYING)
loop.run()
pipeline.set_state(Gst.State.NULL)
say(ev="exited")
