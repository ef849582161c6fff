#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""The agent answers the phone: a SIP line bridged to a realtime agent.

    SIP_PASSWORD=... examples/phone_agent.py --registrar ws://sip.example.org:8080 \\
        --user sip:agent@example.org [--transfer-to sip:desk@example.org]

One pipeline:

    sipphone auto-answer=true ! openairealtimesink forward-dtmf=true
    openairealtimesrc ! sipphone

Every call the line takes is answered by the agent. What the caller says
goes to the agent, and the agent's voice back into the call; the keys the
caller presses reach the agent as messages (forward-dtmf). The agent has
two tools, run here:
  end_call       hangs up (the sipphone's hangup action)
  transfer_call  asks the caller's phone to call the desk (the transfer
                 action: a REFER; the call ends here once it is done)
A line typed on standard input goes to the agent as a text message (handy
to try the tools against the local server, whose model calls a tool when
the text names it: "please end_call").

Without OPENAI_API_KEY the agent is the local realtime server
($OPENAI_REALTIME_LOCAL_URL). The same with gst-launch-1.0, without tools:

    SIP_PASSWORD=... gst-launch-1.0 sipphone name=p registrar=ws://... \\
        user=sip:agent@example.org auto-answer=true ! \\
        openairealtimesink forward-dtmf=true openairealtimesrc ! p.

Signals come from the elements' threads; state changes and quitting happen
on the main loop. Exit status: 0 after Ctrl-C or end of input, 1 on an
error.
"""
import argparse
import json
import os
import signal
import sys
import threading

import gi

gi.require_version("Gst", "1.0")
from gi.repository import GLib, Gst  # noqa: E402

TOOLS = [
    {
        "type": "function",
        "name": "end_call",
        "description": "Hang up the phone call, once the caller is done.",
        "parameters": {"type": "object", "properties": {}},
    },
    {
        "type": "function",
        "name": "transfer_call",
        "description": "Transfer the caller to a person at the front desk.",
        "parameters": {"type": "object", "properties": {}},
    },
]

INSTRUCTIONS = (
    "You answer the phone for a small office. Be brief and friendly. If the "
    "caller asks for a person, use transfer_call. When the caller is done, "
    "say goodbye and use end_call. The caller may press keys: you are told "
    "which.")

print_lock = threading.Lock()


def say(*parts):
    with print_lock:
        print(*parts, flush=True)


class PhoneAgent:
    def __init__(self, args):
        self.args = args
        self.status = 0
        self.pipeline = Gst.parse_launch(
            "sipphone name=phone auto-answer=true ! "
            "openairealtimesink name=sink forward-dtmf=true "
            "openairealtimesrc name=src ! phone.")
        self.phone = self.pipeline.get_by_name("phone")
        self.phone.set_property("registrar", args.registrar)
        self.phone.set_property("user", args.user)
        if args.display_name:
            self.phone.set_property("display-name", args.display_name)
        # The password comes from $SIP_PASSWORD (the element reads it).
        for name in ("sink", "src"):
            element = self.pipeline.get_by_name(name)
            element.set_property("tools", json.dumps(TOOLS))
            element.set_property("instructions", args.instructions)
        self.src = self.pipeline.get_by_name("src")
        self.src.connect("function-call", self.on_function_call)
        self.src.connect("transcript", self.on_transcript)
        self.phone.connect("incoming-call", self.on_incoming_call)
        self.phone.connect("dtmf-received",
                           lambda p, digit, method: say("[phone] key %s (%s)" % (digit, method)))
        bus = self.pipeline.get_bus()
        bus.add_signal_watch()
        bus.connect("message", self.on_message)
        self.loop = GLib.MainLoop()

    # The phone's thread.
    def on_incoming_call(self, phone, frm, display, call_id):
        say("[phone] call from %s%s" % (display + " " if display else "", frm))

    # An element's thread: the tools act on the phone (its actions are
    # safe from any thread).
    def on_function_call(self, src, call_id, name, arguments):
        say("[tool] %s(%s)" % (name, arguments))
        if name == "end_call":
            ok = self.phone.emit("hangup")
            result = {"ended": ok}
        elif name == "transfer_call" and self.args.transfer_to:
            ok = self.phone.emit("transfer", self.args.transfer_to)
            result = {"transferring": ok, "to": self.args.transfer_to}
        else:
            result = {"error": "no such tool here: %s" % name}
        src.emit("function-result", call_id, json.dumps(result))

    # An element's thread.
    def on_transcript(self, src, role, item_id, text, final):
        if final:
            say("%s: %s" % ("agent" if role == "assistant" else "caller", text))

    # Main thread.
    def on_message(self, bus, msg):
        if msg.type == Gst.MessageType.ERROR:
            err, _ = msg.parse_error()
            say("error: %s: %s" % (msg.src.get_name(), err.message))
            self.status = 1
            self.loop.quit()
        elif msg.type == Gst.MessageType.WARNING:
            warning, _ = msg.parse_warning()
            say("warning: %s: %s" % (msg.src.get_name(), warning.message))
        elif msg.type == Gst.MessageType.ELEMENT:
            s = msg.get_structure()
            if s.get_name() == "sipphone-state":
                detail = ""
                if s.get_int("status")[1] or s.get_string("reason"):
                    detail = " (%d %s)" % (s.get_int("status")[1], s.get_string("reason"))
                say("[phone] %s%s" % (s.get_string("state"), detail))
            elif s.get_name() == "openai-realtime-connection":
                say("[agent] %s" % s.get_value("state").value_nick)
            elif (s.get_name() == "openai-realtime-event" and
                  s.get_string("type") == "error"):
                say("[agent] error: %s" % s.get_string("json"))
            elif s.get_name() == "sipphone-transfer":
                say("[phone] transfer: %d%s" % (s.get_int("status")[1],
                                                 ", done" if s.get_boolean("done")[1] else ""))
        return True

    # Main thread: a typed line goes to the agent.
    def on_stdin(self, source, condition):
        line = sys.stdin.readline()
        if not line:
            self.loop.quit()
            return False
        text = line.strip()
        if text and not self.src.emit("send-text", text, True):
            say("warning: not sent (no call to the agent yet)")
        return True

    def run(self):
        GLib.unix_signal_add(GLib.PRIORITY_DEFAULT, signal.SIGINT, lambda: self.loop.quit())
        GLib.io_add_watch(sys.stdin, GLib.IO_IN | GLib.IO_HUP, self.on_stdin)
        if self.pipeline.set_state(Gst.State.PLAYING) == Gst.StateChangeReturn.FAILURE:
            say("error: the pipeline did not start")
            return 1
        self.loop.run()
        # Hangs up and unregisters (bounded).
        self.pipeline.set_state(Gst.State.NULL)
        return self.status


def main():
    parser = argparse.ArgumentParser(description="A realtime agent that answers a SIP line.")
    parser.add_argument("--registrar", required=True, help="the SIP server's ws:// or wss:// URI")
    parser.add_argument("--user", required=True, help="the line's address, sip:agent@example.org")
    parser.add_argument("--display-name", default="Agent")
    parser.add_argument("--transfer-to", metavar="URI",
                        help="where transfer_call sends the caller (a SIP URI)")
    parser.add_argument("--instructions", default=INSTRUCTIONS)
    args = parser.parse_args()
    if not os.environ.get("SIP_PASSWORD"):
        print("warning: SIP_PASSWORD is not set", file=sys.stderr)
    Gst.init(None)
    sys.exit(PhoneAgent(args).run())


if __name__ == "__main__":
    main()
