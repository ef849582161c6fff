#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""The permanent key appears nowhere: not in a GST_DEBUG=*:9 log of a whole
call, not in `gst-launch-1.0 -v -m` output (property notifications and every
bus message), not in dot files (the application's, and those of each call's
own pipeline, which are dumped beside them), not in what the provider's HTTP endpoint
for web pages answers (replies and headers, granted or refused).

Three real calls are made against the local server: gst-launch-1.0 with the
key in OPENAI_API_KEY (on a command line a key is visible to `ps`, and
GStreamer core logs the pipeline description before any plugin is loaded, so
the environment is the way to give it there), an application that sets the
api-key property, and gst-launch-1.0 with the key in a file
(OPENAI_API_KEY_FILE). Each pipeline is stopped once the server has seen its
session.update, and the test checks that the calls really happened before
trusting the absence."""
import json
import os
import re
import secrets
import signal
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request

server_bin = os.environ["REALTIME_SERVER"]
key = "sk-proj-" + secrets.token_hex(24)   # made here: never committed


def control_log(base):
    with urllib.request.urlopen(base + "/control/log", timeout=5) as r:
        return json.load(r)


PAGE = "http://127.0.0.1:8080"


def ask_secret(port, method="POST", origin=None):
    """One request to the provider's endpoint: (status, headers and body as text)."""
    req = urllib.request.Request(
        "http://127.0.0.1:%d/api/generate-client-secret" % port, method=method,
        data=b"" if method == "POST" else None)
    if origin:
        req.add_header("Origin", origin)
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.status, str(r.headers) + r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, str(e.headers) + e.read().decode()


START = time.monotonic()


def say(what):
    """Progress with the time since the start: a test killed at its bound
    still shows how far it got."""
    print("[%5.1f s] %s" % (time.monotonic() - START, what), flush=True)


class Tail:
    """Watches a file for patterns, reading only what it gained since the
    last look: the output of a sanitized GST_DEBUG=*:9 run grows by hundreds
    of megabytes, too much to read again at every poll."""

    def __init__(self, path, patterns):
        self.path, self.patterns, self.found = path, patterns, {}
        self.at, self.rest = os.path.getsize(path), ""

    def look(self):
        with open(self.path, "rb") as f:
            f.seek(self.at)
            # At most 8 MiB a look: a writer that outpaces the reader must
            # not keep one look from ever reaching the end.
            new = f.read(8 << 20).decode("utf-8", "replace")
            self.at = f.tell()
        # Whole lines only: a match is never cut by a read.
        text = self.rest + new
        cut = text.rfind("\n") + 1
        text, self.rest = text[:cut], text[cut:]
        for name, pattern in self.patterns.items():
            if name not in self.found:
                m = re.search(pattern, text)
                if m:
                    self.found[name] = m
        return self.found


def wait_for(pred, timeout):
    """Polls pred() until it holds; the bound turns a hang into a failure."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if pred():
            return True
        # Some predicates read megabytes of GST_DEBUG output: not too often.
        time.sleep(0.2)
    return False


# An application that sets the key as a property, then runs until SIGINT.
APP = """
import os, signal
import gi
gi.require_version("Gst", "1.0")
from gi.repository import Gst, GLib
Gst.init(None)
pipeline = Gst.parse_launch("ephemeraltokenprovider name=p audiotestsrc is-live=true"
                            " ! openairealtimesink openairealtimesrc ! fakesink")
p = pipeline.get_by_name("p")
p.set_property("api-key", os.environ["KEY_FOR_PROPERTY"])
p.set_property("api-base", os.environ["API_BASE"])
loop = GLib.MainLoop()
GLib.unix_signal_add(GLib.PRIORITY_DEFAULT, signal.SIGINT, loop.quit)
pipeline.set_state(Gst.State.PLAYING)
loop.run()
pipeline.set_state(Gst.State.NULL)
"""

server = subprocess.Popen([server_bin, "--address", "127.0.0.1", "--port", "0",
                           "--control", "--speech", "tone", "--recognition", "off",
                           "--api-key", key],
                          stdout=subprocess.PIPE, text=True)
failures = []
try:
    line = server.stdout.readline()
    assert line.startswith("listening on "), line
    base = line.split()[-1]

    with tempfile.TemporaryDirectory() as tmp:
        out_path = os.path.join(tmp, "out.txt")
        env = dict(os.environ, GST_DEBUG="*:9", GST_DEBUG_NO_COLOR="1",
                   GST_DEBUG_DUMP_DOT_DIR=tmp, OPENAI_API_KEY=key)
        launch_cmd = ["gst-launch-1.0", "-v", "-m", "-e",
                      "ephemeraltokenprovider", "api-base=" + base,
                      "instructions=Say hi.", "http-port=0", "allowed-origins=" + PAGE,
                      "audiotestsrc", "is-live=true", "!", "openairealtimesink",
                      "openairealtimesrc", "!", "fakesink", "silent=false"]
        app_env = dict(env, OPENAI_API_KEY="", KEY_FOR_PROPERTY=key, API_BASE=base)
        app_cmd = [sys.executable, "-c", APP]
        # The key in a file, as systemd's LoadCredential= gives it.
        key_file = os.path.join(tmp, "openai-key")
        with open(key_file, "w") as f:
            f.write(key + "\n")
        file_env = dict(env, OPENAI_API_KEY="", OPENAI_API_KEY_FILE=key_file)
        file_cmd = [a for a in launch_cmd if not a.startswith(("http-port", "allowed-origins"))]
        replies = []
        for n, (cmd, cmd_env) in enumerate(((launch_cmd, env), (app_cmd, app_env),
                                            (file_cmd, file_env))):
            # A loaded machine may make a process reconnect (each attempt a
            # call at the server): its calls are those after the last run's.
            first_call = len(control_log(base)["calls"])
            with open(out_path, "a") as out:
                proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT,
                                        env=cmd_env)
                tail = Tail(out_path, {"event": r"openai-realtime-event",
                                       "port": r"http-bound-port = ([1-9]\d*)"})

                def call_up():
                    calls = control_log(base)["calls"][first_call:]
                    if not any(e.get("type") == "session.update"
                               for c in calls for e in c["events"]):
                        return False
                    if n == 1:
                        return True
                    # gst-launch prints -m messages from its main loop, which
                    # can lag behind the call: stop it only once one is out.
                    return "event" in tail.look()

                say("%s started" % os.path.basename(cmd[0]))
                up = wait_for(call_up, 30)
                say("call %d %s" % (n, "up" if up else "never came up"))
                if not up:
                    failures.append("call %d never reached session.update" % n)
                if n == 0 and up:
                    # The endpoint's port, from -v's property notification.
                    def bound_port():
                        m = tail.look().get("port")
                        return int(m.group(1)) if m else None
                    if not wait_for(bound_port, 10):
                        failures.append("the provider's endpoint did not start")
                    else:
                        port = bound_port()
                        for method, origin, want in (("POST", PAGE, 200), ("POST", None, 200),
                                                     ("OPTIONS", PAGE, 200),
                                                     ("POST", "http://evil.example", 403),
                                                     ("GET", PAGE, 405)):
                            status, reply = ask_secret(port, method, origin)
                            replies.append(reply)
                            if status != want:
                                failures.append("%s from %s: %d, expected %d" %
                                                (method, origin, status, want))
                        if '"value":"ek_' not in replies[0]:
                            failures.append("no secret in the endpoint's reply")
                        say("endpoint checked")
                proc.send_signal(signal.SIGINT)
                try:
                    proc.wait(timeout=30)
                    say("%s stopped" % os.path.basename(cmd[0]))
                except subprocess.TimeoutExpired:
                    proc.kill()
                    failures.append("%s did not stop" % cmd[0])

        calls = control_log(base)["calls"]
        if len(calls) < 3 or not all(c["hangup"] for c in calls):
            failures.append("expected a call from each run, all hung up: %s" %
                            [(c["state"], c["hangup"]) for c in calls])

        with open(out_path, errors="replace") as f:
            text = f.read()
        if len(text) < 100000:
            failures.append("suspiciously little output (%d bytes)" % len(text))
        if "api-base" not in text or "openai-realtime-event" not in text:
            failures.append("the -v/-m output lacks the expected property and messages")
        if "[redacted]" not in text:
            failures.append("no redacted secret in the log: nothing was masked")
        for part in (key, key[8:], key[-16:]):
            if part in text:
                failures.append("the key (or part of it) is in the output")
                break
        for part in (key, key[8:], key[-16:]):
            if any(part in r for r in replies):
                failures.append("the key (or part of it) is in a reply of the endpoint")
                break
        if "realtimesecretendpoint" not in text:
            failures.append("the log has no line of the secret endpoint")
        dots = [n for n in os.listdir(tmp) if n.endswith(".dot")]
        if not dots:
            failures.append("no dot file was written")
        for name in dots:
            with open(os.path.join(tmp, name), errors="replace") as f:
                if key[8:] in f.read():
                    failures.append("the key is in " + name)
        # Each call's own pipeline is dumped beside the application's.
        peers = [n for n in dots if "realtime-call-" in n and n.endswith(".connected.dot")]
        if len(peers) < 3:
            failures.append("expected a dot file of each call's pipeline once connected: %s" %
                            sorted(dots))
        # And once the agent's audio comes: the receiving branch is there.
        if not any("realtime-call-" in n and n.endswith(".receiving.dot") for n in dots):
            failures.append("no dot file of a call's pipeline receiving audio: %s" %
                            sorted(dots))
        for name in peers:
            with open(os.path.join(tmp, name), errors="replace") as f:
                if "GstWebRTCBin" not in f.read():
                    failures.append(name + " does not show the call's webrtcbin")
        print("%d bytes of output, %d dot files, %d endpoint replies checked" %
              (len(text), len(dots), len(replies)))
finally:
    server.terminate()
    server.wait(timeout=10)

for f in failures:
    print("FAIL:", f)
sys.exit(1 if failures else 0)
