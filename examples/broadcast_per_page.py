#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Every web page that opens gets an agent of its own.

    examples/broadcast_per_page.py [--port 8080] [--greeting TEXT]

then open http://127.0.0.1:8080/ in several tabs: each tab starts its own
agent call (openairealtimesrc with a session of its own), which greets it;
what one agent says is heard in its tab only. Closing a tab ends its call.

webrtcbroadcastsink emits client-connected for each page; the application
requests the pad client_<id> and links a listen-only openairealtimesrc to
it. With OPENAI_API_KEY set the agents are the service's; without, the
local realtime server's (build/tools/realtime-server/gst-openai-realtime-server, at
$OPENAI_REALTIME_LOCAL_URL, default http://127.0.0.1:8765)."""
import argparse
import os
import signal
import sys

import gi

gi.require_version("Gst", "1.0")
from gi.repository import GLib, Gst  # noqa: E402

here = os.path.dirname(os.path.abspath(__file__))


def use_build_tree():
    """The plugins of this source tree's build, unless the environment names some."""
    if os.environ.get("GST_PLUGIN_PATH") or os.environ.get("GST_PLUGIN_PATH_1_0"):
        return
    build = os.path.join(here, "..", "build", "plugins")
    dirs = [os.path.join(build, d) for d in ("openairealtime", "webrtcbroadcast")]
    if all(os.path.isdir(d) for d in dirs):
        os.environ["GST_PLUGIN_PATH"] = ":".join(dirs)


class PerPage:
    def __init__(self, args):
        self.args = args
        self.pipeline = Gst.Pipeline.new("per-page")
        self.sink = Gst.ElementFactory.make("webrtcbroadcastsink", "pages")
        if not self.sink:
            raise SystemExit("webrtcbroadcastsink not found: build the project (scripts/setup.sh)")
        self.sink.set_property("port", args.port)
        self.pipeline.add(self.sink)
        self.agents = {}
        # From the server's thread: the pipeline changes on the main loop.
        self.sink.connect("client-connected",
                          lambda _, cid: GLib.idle_add(self.page_opened, cid))
        self.sink.connect("client-disconnected",
                          lambda _, cid: GLib.idle_add(self.page_closed, cid))

    def page_opened(self, cid):
        if cid in self.agents:          # a page that came back under its id
            return False
        agent = Gst.ElementFactory.make("openairealtimesrc", "agent-" + cid)
        agent.set_property("session", "page-" + cid)
        if self.args.instructions:
            agent.set_property("instructions", self.args.instructions)
        self.pipeline.add(agent)
        pad = self.sink.request_pad_simple("client_" + cid)
        agent.get_static_pad("audio").link(pad)
        greeted = [False]

        def on_state(element, _pspec):
            state = element.get_property("connection-state")
            if state.value_nick == "connected" and not greeted[0]:
                greeted[0] = True
                element.emit("send-text", self.args.greeting, True)

        agent.connect("notify::connection-state", on_state)
        agent.sync_state_with_parent()
        self.agents[cid] = (agent, pad)
        print("page %s: agent started" % cid, flush=True)
        return False

    def page_closed(self, cid):
        agent, pad = self.agents.pop(cid, (None, None))
        if agent:
            agent.set_state(Gst.State.NULL)
            self.pipeline.remove(agent)
            self.sink.release_request_pad(pad)
            print("page %s: agent gone" % cid, flush=True)
        return False

    def run(self):
        loop = GLib.MainLoop()
        bus = self.pipeline.get_bus()
        bus.add_signal_watch()

        def on_message(_, msg):
            if msg.type == Gst.MessageType.ERROR:
                err, dbg = msg.parse_error()
                print("error: %s (%s)" % (err.message, dbg), file=sys.stderr)
                loop.quit()
            elif msg.type == Gst.MessageType.WARNING:
                err, _ = msg.parse_warning()
                print("warning: %s" % err.message, file=sys.stderr)

        bus.connect("message", on_message)
        GLib.unix_signal_add(GLib.PRIORITY_DEFAULT, signal.SIGINT, loop.quit)
        GLib.unix_signal_add(GLib.PRIORITY_DEFAULT, signal.SIGTERM, loop.quit)
        if self.pipeline.set_state(Gst.State.PLAYING) == Gst.StateChangeReturn.FAILURE:
            raise SystemExit("the pipeline did not start (is the port free?)")
        print("open http://127.0.0.1:%d/" % self.sink.get_property("bound-port"), flush=True)
        loop.run()
        self.pipeline.set_state(Gst.State.NULL)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--port", type=int, default=8080, help="0 picks a free port")
    ap.add_argument("--greeting", default="Hello! Who is listening?",
                    help="what each page's agent is told first")
    ap.add_argument("--instructions", default="Greet the listener in one short sentence.")
    args = ap.parse_args()
    use_build_tree()
    Gst.init(None)
    PerPage(args).run()


if __name__ == "__main__":
    main()
