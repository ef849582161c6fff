#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""A voice agent that can run local functions ("tools") on this machine.

    examples/tool_agent.py                      talk to it (microphone, speakers)
    examples/tool_agent.py --ask "TEXT"         ask once in text, print the reply, exit
    examples/tool_agent.py --ask "TEXT" --no-audio    the same without sound devices
    examples/tool_agent.py --audio-out FILE     the agent's voice into FILE, a pipe, a player

The agent may call two tools, which run here, in this process:
  get_system_load  load averages, CPU count and memory use (os.getloadavg,
                   /proc/meminfo)
  get_time         the current time in an IANA time zone (zoneinfo)

How it works: the tools' JSON schemas go into the `tools` property of the
media elements (part of the session). When the agent decides to call one,
the elements emit `function-call` (call_id, name, arguments); the handler
runs the function and answers with the `function-result` action signal,
after which the agent goes on and speaks about the result. The `transcript`
signal carries what is said, and the bus carries the connection state
(`openai-realtime-connection`) and every server event
(`openai-realtime-event`).

Signals are emitted from the elements' internal threads. Emitting
function-result from the handler and printing are fine there; everything
that changes the pipeline's state, and the decision to quit, happens on the
main loop (bus messages arrive there; other threads hand over with
GLib.idle_add).

With OPENAI_API_KEY set it talks to the OpenAI Realtime service, otherwise
to the local realtime server (build/tools/realtime-server/gst-openai-realtime-server,
at $OPENAI_REALTIME_LOCAL_URL, default http://127.0.0.1:8765), whose model
calls a tool when the text names it, e.g.
    --ask "How busy is this machine? get_system_load"
    --ask 'What time is it in Tokyo? get_time {"zone": "Asia/Tokyo"}'

Exit status: 0 after the reply (or Ctrl-C), 1 on an error, 3 on a timeout.
"""
import argparse
import datetime
import json
import os
import signal
import sys
import threading

import gi

gi.require_version("Gst", "1.0")
from gi.repository import GLib, Gst  # noqa: E402

# --- the tools -------------------------------------------------------------

TOOLS = [
    {
        "type": "function",
        "name": "get_system_load",
        "description": "Current load of this computer: load averages over 1, 5 "
                       "and 15 minutes, number of CPUs, and memory in use.",
        "parameters": {"type": "object", "properties": {}},
    },
    {
        "type": "function",
        "name": "get_time",
        "description": "The current date and time in a time zone.",
        "parameters": {
            "type": "object",
            "properties": {
                "zone": {"type": "string",
                         "description": "IANA time zone, e.g. Europe/Paris; default UTC"},
            },
        },
    },
]


def get_system_load(_args):
    load_1m, load_5m, load_15m = os.getloadavg()
    meminfo = {}
    with open("/proc/meminfo") as f:
        for line in f:
            key, _, value = line.partition(":")
            meminfo[key] = int(value.split()[0])  # kB
    total = meminfo["MemTotal"]
    available = meminfo.get("MemAvailable", meminfo["MemFree"])
    return {
        "load_1m": round(load_1m, 2),
        "load_5m": round(load_5m, 2),
        "load_15m": round(load_15m, 2),
        "cpus": os.cpu_count(),
        "mem_total_mb": total // 1024,
        "mem_available_mb": available // 1024,
        "mem_used_percent": round(100.0 * (total - available) / total, 1),
    }


def get_time(args):
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError
    zone = args.get("zone") or "UTC"
    try:
        now = datetime.datetime.now(ZoneInfo(zone))
    except (ZoneInfoNotFoundError, ValueError):
        return {"error": "unknown time zone: %s" % zone}
    return {"zone": zone, "time": now.isoformat(timespec="seconds")}


FUNCTIONS = {"get_system_load": get_system_load, "get_time": get_time}


def run_tool(name, arguments):
    """Runs a tool; failures become an {"error"} result the agent can talk
    about. The output is kept compact: it goes back to the model as text."""
    try:
        args = json.loads(arguments or "{}")
        if not isinstance(args, dict):
            raise ValueError("arguments are not a JSON object")
        function = FUNCTIONS.get(name)
        result = function(args) if function else {"error": "no such tool: %s" % name}
    except Exception as e:  # a tool's failure is the agent's to report
        result = {"error": str(e)}
    return json.dumps(result, separators=(",", ":"))


# --- the application -------------------------------------------------------

print_lock = threading.Lock()


def say(*parts, err=False):
    """print() from any thread, one whole line at a time."""
    with print_lock:
        print(*parts, file=sys.stderr if err else sys.stdout, flush=True)


class ToolAgent:
    def __init__(self, args):
        self.args = args
        self.status = 0
        self.asked = False
        self.result_sent = False
        self.reply = None
        self.transcripts = {}  # item_id -> final text of the agent's items
        self.lock = threading.Lock()

        self.audio_fd = None
        speakers = False
        if args.no_audio:
            output = "queue ! fakesink sync=true"
        elif args.audio_out:
            # fdsink writes each block as it comes (filesink would hold
            # 64 KiB), so a pipe's reader hears the agent at once.
            self.audio_fd = os.open(args.audio_out,
                                    os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
            output = "queue ! fdsink fd=%d" % self.audio_fd
        else:
            # Through the echo canceller's probe: see the microphone below.
            output = "queue ! webrtcechoprobe name=speaker ! autoaudiosink"
            speakers = True
        if args.ask:
            # The question is text: no microphone needed (a src alone is a
            # listen-only agent).
            description = "openairealtimesrc name=src ! %s" % output
        else:
            # The microphone; with speakers, the agent's voice is cancelled
            # out of it (webrtcdsp takes what the probe saw going out; both
            # at 48 kHz; docs/examples.md, *Echo cancellation*).
            mic = "autoaudiosrc"
            if speakers:
                mic += (" ! audioconvert ! audioresample ! audio/x-raw,rate=48000"
                        " ! webrtcdsp probe=speaker noise-suppression=false"
                        " gain-control=false")
            description = ("%s ! openairealtimesink name=sink "
                           "openairealtimesrc name=src ! %s" % (mic, output))
        self.pipeline = Gst.parse_launch(description)
        self.src = self.pipeline.get_by_name("src")

        # The session: set on every media element of the call (the one that
        # starts the call, the first to reach PAUSED, gives its settings).
        tools = json.dumps(TOOLS)
        for name in ("src", "sink"):
            element = self.pipeline.get_by_name(name)
            if element:
                element.set_property("tools", tools)
                if args.instructions:
                    element.set_property("instructions", args.instructions)
                if not args.ask:
                    # Transcribe the user's speech too ("you: ..." lines).
                    element.set_property("transcription-model", "gpt-4o-mini-transcribe")

        self.src.connect("function-call", self.on_function_call)
        self.src.connect("transcript", self.on_transcript)

        bus = self.pipeline.get_bus()
        bus.add_signal_watch()
        bus.connect("message", self.on_message)
        self.loop = GLib.MainLoop()

    # Internal thread.
    def on_function_call(self, src, call_id, name, arguments):
        say("[tool] %s(%s)" % (name, arguments))
        output = run_tool(name, arguments)
        say("[tool] %s -> %s" % (name, output))
        if src.emit("function-result", call_id, output):
            with self.lock:
                self.result_sent = True
        else:
            self.fail("the function result could not be sent")

    # Internal thread.
    def on_transcript(self, src, role, item_id, text, final):
        if not final:
            return
        say("%s: %s" % ("agent" if role == "assistant" else "you", text))
        if role == "assistant":
            with self.lock:
                self.transcripts[item_id] = text

    # Any thread: hands the end over to the main loop.
    def fail(self, message, status=1):
        say("error: " + message, err=True)

        def stop():
            self.status = status
            self.loop.quit()
            return GLib.SOURCE_REMOVE
        GLib.idle_add(stop)

    def finish(self):
        self.loop.quit()
        return GLib.SOURCE_REMOVE

    def ask(self):
        self.asked = True
        say("you: " + self.args.ask)
        # A user message; respond=True asks for a response right away.
        if not self.src.emit("send-text", self.args.ask, True):
            self.fail("the question could not be sent")

    def on_response_done(self, event):
        """The agent finished a response. One that only called tools is
        followed by another (once the results are back); the first one with
        a message is the reply."""
        response = event.get("response", {})
        status = response.get("status")
        if status not in ("completed", "incomplete"):
            if status == "failed":
                self.fail("the response failed: %s" % json.dumps(
                    response.get("status_details")))
            return
        output = response.get("output", [])
        if any(item.get("type") == "function_call" for item in output):
            return
        texts = []
        for item in output:
            if item.get("type") != "message":
                continue
            with self.lock:
                text = self.transcripts.get(item.get("id"))
            if text is None:
                text = "".join(part.get("transcript") or part.get("text") or ""
                               for part in item.get("content", []))
            texts.append(text)
        if not texts or self.reply is not None:
            return
        self.reply = " ".join(texts)
        with self.lock:
            used_tool = self.result_sent
        if not used_tool:
            say("(the agent answered without calling a tool)", err=True)
        print("reply: " + self.reply, flush=True)
        if self.args.no_audio or output_is_text(output):
            self.loop.quit()
        else:
            # Let the agent finish speaking: output_audio_buffer.stopped,
            # or at most 30 s.
            GLib.timeout_add_seconds(30, self.finish)

    # Main thread (bus watch).
    def on_message(self, bus, msg):
        t = msg.type
        if t == Gst.MessageType.ERROR:
            err, debug = msg.parse_error()
            self.fail("%s: %s" % (msg.src.get_name(), err.message))
        elif t == Gst.MessageType.WARNING:
            warning, _ = msg.parse_warning()
            say("warning: %s: %s" % (msg.src.get_name(), warning.message), err=True)
        elif t == Gst.MessageType.EOS:
            self.loop.quit()
        elif t == Gst.MessageType.ELEMENT:
            s = msg.get_structure()
            name = s.get_name()
            if name == "openai-realtime-connection":
                state = s.get_value("state").value_nick
                detail = ""
                if s.get_string("reason"):
                    detail = " (%s: %s)" % (s.get_string("category"),
                                            s.get_string("reason"))
                say("[connection] %s, attempt %d%s" % (state, s.get_value("attempt"), detail))
                if state == "connected" and self.args.ask and not self.asked:
                    self.ask()
            elif name == "openai-realtime-event" and self.args.ask:
                etype = s.get_string("type")
                if etype == "response.done":
                    self.on_response_done(json.loads(s.get_string("json")))
                elif etype == "output_audio_buffer.stopped" and self.reply is not None:
                    self.loop.quit()
                elif etype == "error":
                    say("service error: " + s.get_string("json"), err=True)
        return True

    def run(self):
        if self.args.ask:
            def timed_out():
                self.fail("no reply within %g s" % self.args.timeout, status=3)
                return GLib.SOURCE_REMOVE
            GLib.timeout_add(int(self.args.timeout * 1000), timed_out)

        def interrupted():
            say("interrupted", err=True)
            self.loop.quit()
            return GLib.SOURCE_REMOVE
        GLib.unix_signal_add(GLib.PRIORITY_DEFAULT, signal.SIGINT, interrupted)

        if self.pipeline.set_state(Gst.State.PLAYING) == Gst.StateChangeReturn.FAILURE:
            say("error: the pipeline did not start", err=True)
            self.status = 1
        else:
            self.loop.run()
        # Hangs up the call (at most 2 s).
        self.pipeline.set_state(Gst.State.NULL)
        self.pipeline.get_bus().remove_signal_watch()
        if self.audio_fd is not None:
            os.close(self.audio_fd)
        return self.status


def output_is_text(output):
    return all(part.get("type") in ("output_text", "text")
               for item in output for part in item.get("content", []))


def main():
    parser = argparse.ArgumentParser(
        description="A realtime agent with local tools (get_system_load, get_time).")
    parser.add_argument("--ask", metavar="TEXT",
                        help="send TEXT once connected, print the agent's reply and exit")
    parser.add_argument("--no-audio", action="store_true",
                        help="no sound devices: the agent's voice goes to a fakesink "
                             "(with --ask)")
    parser.add_argument("--audio-out", metavar="FILE",
                        help="write the agent's voice to FILE as it comes, raw S16LE "
                             "48 kHz mono, instead of playing it: a file, a FIFO, or a "
                             "player such as >(aplay -f S16_LE -r 48000 -c 1)")
    parser.add_argument("--timeout", type=float, default=60, metavar="SECONDS",
                        help="with --ask: give up after this long (default 60)")
    parser.add_argument("--instructions", default="You are a helpful assistant on "
                        "this computer. Use the tools to answer questions about it.",
                        help="the agent's system instructions")
    args = parser.parse_args()
    if args.no_audio and not args.ask:
        parser.error("--no-audio needs --ask (otherwise there is no way to talk)")
    if args.no_audio and args.audio_out:
        parser.error("--no-audio and --audio-out exclude each other")
    Gst.init(None)
    for factory in ("openairealtimesrc", "openairealtimesink"):
        if not Gst.ElementFactory.find(factory):
            sys.exit("error: %s not found; set GST_PLUGIN_PATH to build/plugins/openairealtime"
                     % factory)
    sys.exit(ToolAgent(args).run())


if __name__ == "__main__":
    main()
