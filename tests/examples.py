#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""The examples in examples/ work end to end against the local server.

(a) tool_agent.py --ask: the agent calls get_system_load, the application
    runs it and answers; the reply it prints quotes the tool's JSON.
(b) screen-agent.sh --test: images of the test picture reach the agent, and
    it is told when sharing starts and stops.
(c) captions.sh --test: a beep makes the agent answer, and its words are
    written to the SRT file as an "Agent: ..." caption.
(d) gst-openai-realtime-ask QUESTION.wav -: the spoken answer comes on stdout as a WAV
    stream, the transcript on stderr.
(e) tool_agent.py --audio-out FILE: the spoken answer is in FILE.

Each part has a local server of its own (127.0.0.1, a free port, --control),
so that calls[0] of its log is that part's call. (b) to (e) run at the same
time, they mostly wait."""
import json
import os
import re
import subprocess
import sys
import tempfile
import threading
import urllib.request

from replies import answers, audible_seconds

server_bin = os.environ["REALTIME_SERVER"]
examples = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "examples")
python = sys.executable
failures = []
lock = threading.Lock()


def fail(part, message):
    with lock:
        failures.append("%s: %s" % (part, message))


def control_log(base):
    with urllib.request.urlopen(base + "/control/log", timeout=5) as r:
        return json.load(r)


class Server:
    def __init__(self):
        # No speech recognition: the examples ask with beeps, which have no
        # words, and the model would only load alongside (recognition has
        # its own test).
        self.proc = subprocess.Popen([server_bin, "--address", "127.0.0.1", "--port", "0",
                                      "--control", "--speech", "tone", "--recognition", "off"],
                                     stdout=subprocess.PIPE, text=True)
        line = self.proc.stdout.readline()
        if not line.startswith("listening on "):
            self.proc.kill()
            raise RuntimeError("the local server did not start: %r" % line)
        self.base = line.split()[-1]

    def env(self):
        """The examples' environment: no key, so the elements use this server."""
        env = dict(os.environ, OPENAI_API_KEY="", OPENAI_REALTIME_LOCAL_URL=self.base)
        if "asan" in env.get("LD_PRELOAD", ""):
            # The sanitizer runtime is preloaded into every program the
            # scripts run (bash, timeout); none of them is under test, and
            # gst-launch-1.0 and python3 are not leak-checked either.
            env["ASAN_OPTIONS"] = env.get("ASAN_OPTIONS", "") + ":detect_leaks=0"
        return env

    def stop(self, part):
        self.proc.terminate()
        try:
            rc = self.proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            rc = "none (killed)"
        if rc != 0:
            fail(part, "the local server exited with status %s" % rc)


def run(part, cmd, env, timeout):
    """Runs an example; returns its output (stdout and stderr), or None."""
    try:
        p = subprocess.run(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                           text=True, errors="replace", timeout=timeout)
    except subprocess.TimeoutExpired as e:
        fail(part, "%s did not finish within %d s" % (os.path.basename(cmd[1]), timeout))
        print((e.output or b"").decode(errors="replace")[-3000:] if isinstance(e.output, bytes)
              else (e.output or "")[-3000:])
        return None
    if p.returncode != 0:
        fail(part, "%s exited with status %d" % (os.path.basename(cmd[1]), p.returncode))
        print(p.stdout[-3000:])
    return p.stdout


def tool_agent():
    part = "tool_agent.py"
    server = Server()
    try:
        out = run(part, [python, os.path.join(examples, "tool_agent.py"), "--no-audio",
                         "--timeout", "30", "--ask",
                         "How busy is this machine? get_system_load"],
                  server.env(), 45)
        if out is None:
            return
        replies = [line[len("reply: "):] for line in out.splitlines()
                   if line.startswith("reply: ")]
        prefix = "The tool get_system_load returned: "
        if len(replies) != 1 or not replies[0].startswith(prefix + "{"):
            fail(part, "expected one reply line starting %r, got %r" % (prefix + "{", replies))
            print(out[-3000:])
            return
        try:
            result = json.loads(replies[0][len(prefix):])
        except ValueError as e:
            fail(part, "the tool output in the reply is not JSON (%s): %r" % (e, replies[0]))
            return
        fields = {"load_1m", "load_5m", "load_15m", "cpus", "mem_total_mb",
                  "mem_available_mb", "mem_used_percent"}
        if set(result) != fields:
            fail(part, "the tool output has fields %s, expected %s" %
                 (sorted(result), sorted(fields)))
        elif not (result["cpus"] >= 1 and result["mem_total_mb"] > 0
                  and 0 <= result["mem_used_percent"] <= 100):
            fail(part, "implausible system load: %r" % result)
        calls = control_log(server.base)["calls"]
        fcalls = calls[0]["function_calls"] if calls else []
        if len(fcalls) != 1 or fcalls[0]["name"] != "get_system_load" or \
                fcalls[0]["output"] is None or json.loads(fcalls[0]["output"]) != result:
            fail(part, "the server's log disagrees: %r" % fcalls)
        print("%s: %s" % (part, replies[0]))
    finally:
        server.stop(part)


def screen_agent():
    part = "screen-agent.sh"
    server = Server()
    try:
        out = run(part, ["bash", os.path.join(examples, "screen-agent.sh"), "--test",
                         "--duration", "8"], server.env(), 40)
        if out is None:
            return
        calls = control_log(server.base)["calls"]
        if not calls:
            fail(part, "no call reached the server")
            return
        call = calls[0]
        images = call["images"]
        if not images:
            fail(part, "no image reached the server")
        elif not all(i["format"] == "jpeg" and (i["width"], i["height"]) == (320, 240)
                     for i in images):
            fail(part, "unexpected images: %r" % images)
        texts = [m["text"] for m in call["messages"] if m["role"] == "system"]
        if not any(t.startswith("The user started sharing their screen") for t in texts):
            fail(part, "the share-start message is not among %r" % texts)
        # -e: the EOS at the end tells the agent that sharing stopped.
        if not any(t.startswith("The user stopped sharing their screen") for t in texts):
            fail(part, "the share-stop message is not among %r" % texts)
        if "openai-realtime-connection" not in out:
            fail(part, "gst-launch -m printed no openai-realtime-connection message")
        print("%s: %d images, system messages %r, call %s" %
              (part, len(images), texts, call["state"]))
    finally:
        server.stop(part)


def captions():
    part = "captions.sh"
    server = Server()
    try:
        for element, package in (("textoverlay", "gstreamer1.0-x"),
                                 ("srtenc", "gstreamer1.0-plugins-bad")):
            if subprocess.run(["gst-inspect-1.0", "--exists", element],
                              env=server.env()).returncode != 0:
                fail(part, "GStreamer element %s is missing (Debian package %s)" %
                     (element, package))
                return
        with tempfile.TemporaryDirectory() as tmp:
            srt = os.path.join(tmp, "captions.srt")
            out = run(part, ["bash", os.path.join(examples, "captions.sh"), "--test",
                             "--duration", "15", "--output", srt], server.env(), 45)
            if out is None:
                return
            try:
                with open(srt, encoding="utf-8") as f:
                    text = f.read()
            except OSError as e:
                fail(part, "no caption file: %s" % e)
                return
        agent = [line for line in text.splitlines() if line.startswith("Agent: ")]
        if not agent:
            fail(part, "no \"Agent: \" caption in %r" % text)
            print(out[-3000:])
            return
        cue = re.compile(r"^\d+\n\d\d:\d\d:\d\d,\d\d\d --> \d\d:\d\d:\d\d,\d\d\d\n.+",
                         re.MULTILINE)
        if not cue.search(text):
            fail(part, "the caption file is not SRT: %r" % text)
        # The next beep may cut the reply short.
        user = [line for line in text.splitlines() if line.startswith("User: ")]
        heard = user[0][len("User: "):] if user else ""
        if not answers(heard, agent[0][len("Agent: "):]):
            fail(part, "the reply %r does not answer %r" % (agent[0], heard))
        print("%s: %r" % (part, agent))
    finally:
        server.stop(part)


def ask_agent():
    part = "gst-openai-realtime-ask -"
    # The build tree's example: REALTIME_SERVER is <build>/tools/realtime-server/...
    build = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(server_bin))))
    server = Server()
    try:
        with tempfile.TemporaryDirectory() as tmp:
            question = os.path.join(tmp, "question.wav")
            # A beep, then the silence that ends the turn.
            subprocess.run(["sox", "-n", "-r", "48000", "-c", "1", "-b", "16", question,
                            "synth", "0.5", "sine", "440", "pad", "0", "1"], check=True)
            try:
                p = subprocess.run([os.path.join(build, "examples", "gst-openai-realtime-ask"), question, "-"],
                                   env=server.env(), stdout=subprocess.PIPE,
                                   stderr=subprocess.PIPE, timeout=45)
            except subprocess.TimeoutExpired:
                fail(part, "gst-openai-realtime-ask did not finish within 45 s")
                return
        err = p.stderr.decode(errors="replace")
        if p.returncode != 0:
            fail(part, "gst-openai-realtime-ask exited with status %d: %s" % (p.returncode, err[-2000:]))
            return
        wav = p.stdout
        if wav[:4] != b"RIFF" or wav[8:16] != b"WAVEfmt " or wav[36:40] != b"data":
            fail(part, "stdout is not a WAV stream: %r" % wav[:44])
            return
        heard = audible_seconds(wav[44:])
        if heard < 1.0:
            fail(part, "only %.2f s of audible answer on stdout" % heard)
        you = [line[len("you: "):] for line in err.splitlines() if line.startswith("you: ")]
        agent = [line[len("agent: "):] for line in err.splitlines() if line.startswith("agent: ")]
        if not you or not agent or not answers(you[0], agent[0]):
            fail(part, "no transcripts of the question and its answer on stderr: %r" % err[-2000:])
        print("%s: %d bytes of WAV, %.2f s audible" % (part, len(wav), heard))
    finally:
        server.stop(part)


def tool_agent_audio_out():
    part = "tool_agent.py --audio-out"
    server = Server()
    try:
        with tempfile.TemporaryDirectory() as tmp:
            voice = os.path.join(tmp, "voice.raw")
            out = run(part, [python, os.path.join(examples, "tool_agent.py"), "--timeout", "30",
                             "--ask", "Say hello.", "--audio-out", voice], server.env(), 45)
            if out is None:
                return
            with open(voice, "rb") as f:
                pcm = f.read()
        heard = audible_seconds(pcm)
        if heard < 1.0:
            fail(part, "only %.2f s of audible answer in the file" % heard)
            print(out[-3000:])
        print("%s: %.2f s audible" % (part, heard))
    finally:
        server.stop(part)


def guarded(part):
    """An exception in a part (e.g. its server did not start) fails that part."""
    def run_part():
        try:
            part()
        except Exception as e:
            fail(part.__name__, "%s: %s" % (type(e).__name__, e))
    return run_part


guarded(tool_agent)()
threads = [threading.Thread(target=guarded(f))
           for f in (screen_agent, captions, ask_agent, tool_agent_audio_out)]
for t in threads:
    t.start()
for t in threads:
    t.join()

for f in failures:
    print("FAIL:", f)
sys.exit(1 if failures else 0)
