#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""A user's first steps work as written: the shell commands of README.md and
docs/examples.md, run in order, do what the text says.

Which commands: every line of every fenced ```sh block (continuation lines
joined, comments left to bash), except the blocks right after a
`<!-- needs: ... -->` comment (a key, a microphone, a screen, speakers, a
phone: what no headless run has) and `scripts/test.sh` (the suite this test
is part of).

How they run: in terminals, each as a user would type them in a fresh one: README.md
is one; docs/examples.md, a set of independent examples, is one per "## "
section, each after the commands that come before its first section (the
plugin path, the local server). Terminals run three at a time, each in a
network namespace of its own (loopback and a veth pair for ICE, as
tests/browser/run.sh), which keeps the documented ports free. A terminal
starts in a scratch directory that stands for the source tree (a copy of
scripts/ and examples/, build/ a link to the build under test), with no
key, no GST_PLUGIN_PATH (the README's export must name every plugin) and a
registry of its own. A command ending in `&` runs in the background until
its terminal ends; it is then stopped (SIGTERM) and must exit 0. Every other
command runs in the foreground, bounded in time; one that runs until Ctrl-C
gets SIGINT, to its process group as Ctrl-C would, once what the text
promises has happened. While scripts/demo.sh runs, the test holds
127.0.0.1:8765 itself, as a server left running from docs/examples.md
would; after it, nothing may be left listening.

Headless, and the only changes made to a command (whole words):
    autoaudiosrc  -> audiotestsrc is-live=true wave=ticks freq=600
                     sine-periods-per-tick=300 tick-interval=6000000000
                     (a 0.5 s beep every 6 s stands for the user's speech)
    autoaudiosink -> fakesink sync=true
    ximagesrc use-damage=false -> videotestsrc is-live=true pattern=ball
and `aplay` is a stand-in on PATH that keeps what it would play in a file.
The examples' scripts run unchanged, in their headless modes as documented.

What is asserted, per command: the table EXPECT below (exit status 0 for
any command it does not name)."""
import codecs
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time

sys.dont_write_bytecode = True
from replies import answers, audible_seconds  # noqa: E402

here = os.path.dirname(os.path.abspath(__file__))
source = os.path.dirname(here)
build = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(
    os.environ["REALTIME_SERVER"]))))

DOCUMENTS = ("README.md", "docs/examples.md")
# Documents whose sections are independent examples: each section is a
# terminal of its own, after what comes before the first one.
SECTIONED = ("docs/examples.md",)
TERMINALS_AT_ONCE = 3

BEEPS = ("audiotestsrc is-live=true wave=ticks freq=600 sine-periods-per-tick=300 "
         "tick-interval=6000000000")
HEADLESS = [(r"\bautoaudiosrc\b", BEEPS),
            (r"\bautoaudiosink\b", "fakesink sync=true"),
            (r"\bximagesrc use-damage=false\b", "videotestsrc is-live=true pattern=ball")]

TRANSCRIPT = re.compile(r'openai-realtime-transcript, role=\(string\)(\w+), '
                        r'item-id=\(string\)\S+, text=\(string\)(.*), final=\(boolean\)true;')

failures = []


def fail(cmd, message, output=""):
    failures.append("%s: %s" % (cmd, message))
    print("FAIL: %s: %s" % (cmd, message))
    if output:
        print(output[-3000:])


def unescape(text):
    """A string field of a printed GstStructure: quoted, spaces escaped."""
    return re.sub(r"\\(.)", r"\1", text.strip('"'))


def transcripts(out, role):
    return [unescape(m.group(2)) for m in TRANSCRIPT.finditer(out) if m.group(1) == role]


def wav_audible(path):
    try:
        with open(path, "rb") as f:
            data = f.read()
    except OSError:
        return 0.0
    return audible_seconds(data[44:]) if data[:4] == b"RIFF" else 0.0


def kept_audio(scratch):
    """What the aplay stand-in kept last (a process substitution's aplay may
    finish after the command: waited for, bounded), or b""."""
    folder = os.path.join(scratch, "aplay")
    deadline = time.monotonic() + 10
    while True:
        names = sorted(n for n in os.listdir(folder) if n.endswith(".done"))
        if names or time.monotonic() > deadline:
            return open(os.path.join(folder, names[-1]), "rb").read() if names else b""
        time.sleep(0.1)


# Checks take (output, exit status, scratch dir) and return an error or None.
def demo(out, rc, scratch):
    if rc != 0:
        return "exited with status %s" % rc
    you = [l[5:] for l in out.splitlines() if l.startswith("you: ")]
    agent = [l[7:] for l in out.splitlines() if l.startswith("agent: ")]
    if not you or not agent or not answers(you[0], agent[0]):
        return "no question and answer printed (you: %r, agent: %r)" % (you, agent)
    if wav_audible(os.path.join(scratch, "reply.wav")) < 0.5:
        return "reply.wav holds no audible answer"
    left = [port for port in listening_ports() if port != 8765]
    return "left something listening on TCP ports %s" % left if left else None


def listening_ports():
    """The TCP ports something listens on, in this network namespace."""
    ports = set()
    for name in ("/proc/net/tcp", "/proc/net/tcp6"):
        with open(name) as f:
            for row in f.readlines()[1:]:
                fields = row.split()
                if fields[3] == "0A":
                    ports.add(int(fields[1].rsplit(":", 1)[1], 16))
    return sorted(ports)


def listening_8765(out, rc, scratch):
    return None if "listening on http://127.0.0.1:8765" in out else \
        "did not print \"listening on http://127.0.0.1:8765\""


def agent_answered(out, rc, scratch):
    said = transcripts(out, "assistant")
    if not said:
        return "no final transcript of the agent on the bus"
    # The next beep may cut the answer short, on a loaded machine even
    # within its first words.
    hello = "Hello from the local realtime server."
    first = said[0].strip()
    if not (first.startswith(hello) or first.startswith("You asked:")
            or (len(first) >= 5 and hello.startswith(first))):
        return "the agent's words %r are not the local server's answer" % said[0]
    return None


def captions_both(out, rc, scratch):
    error = agent_answered(out, rc, scratch)
    if error:
        return error
    return None if transcripts(out, "user") else "no caption of the user's words on the bus"


def asked(reply):
    def check(out, rc, scratch):
        if rc != 0:
            return "exited with status %s" % rc
        if not re.search(r"^agent: \S", out, re.MULTILINE):
            return "printed no \"agent: ...\" line"
        if reply and wav_audible(os.path.join(scratch, reply)) < 0.5:
            return "%s holds no audible answer" % reply
        return None
    return check


def asked_aloud(out, rc, scratch):
    error = asked(None)(out, rc, scratch)
    if error:
        return error
    kept = kept_audio(scratch)
    heard = audible_seconds(kept[44:]) if kept[:4] == b"RIFF" else 0.0
    return None if heard >= 0.5 else "aplay got no audible WAV (%.2f s)" % heard


def screen_agent(out, rc, scratch):
    # The end of the answer ("the last one is 320x240 pixels.") may be cut
    # by the next beep, or the end, on a loaded machine.
    seen = re.compile(r" I can see \d+ images?\b")
    return None if any(seen.search(s) for s in transcripts(out, "assistant")) else \
        "no answer saying \"I can see N images\": %r" % transcripts(out, "assistant")


def srt_agent(scratch):
    try:
        with open(os.path.join(scratch, "captions.srt"), encoding="utf-8") as f:
            text = f.read()
    except OSError:
        return ""
    return text if re.search(r"^Agent: \S", text, re.MULTILINE) else ""


def captions_srt(out, rc, scratch):
    text = srt_agent(scratch)
    if not text:
        return "captions.srt has no \"Agent: ...\" caption"
    cue = re.compile(r"^\d+\n\d\d:\d\d:\d\d,\d\d\d --> \d\d:\d\d:\d\d,\d\d\d\n(User|Agent): ",
                     re.MULTILINE)
    return None if cue.search(text) else "captions.srt is not SRT: %r" % text


def replied(prefix):
    def check(out, rc, scratch):
        if rc != 0:
            return "exited with status %s" % rc
        return None if re.search("^reply: " + re.escape(prefix), out, re.MULTILINE) else \
            "printed no line starting \"reply: %s\"" % prefix
    return check


def replied_aloud(out, rc, scratch):
    error = replied("Hello from the local realtime server.")(out, rc, scratch)
    if error:
        return error
    heard = audible_seconds(kept_audio(scratch))
    return None if heard >= 0.5 else "aplay got no audible audio (%.2f s)" % heard


def heard(out, scratch):
    """What the agent said, for the log: the first answer printed or posted."""
    m = re.search(r"^(agent|reply): .*$", out, re.MULTILINE)
    if m:
        return m.group(0)
    said = transcripts(out, "assistant") or [l[len("Agent: "):] for l in
                                              srt_agent(scratch).splitlines()
                                              if l.startswith("Agent: ")]
    return "agent: %s" % said[0] if said else None


def ok(out, rc, scratch):
    return None if rc == 0 else "exited with status %s" % rc


# (command pattern, check, bound in s, when to send Ctrl-C: a test of
# (output, scratch) or None to wait for the end).
EXPECT = [
    (r"^scripts/demo\.sh", demo, 150, None),
    (r"gst-openai-realtime-server &", listening_8765, 20, None),
    (r"^gst-launch-1\.0 -m audiotestsrc", agent_answered, 60,
     lambda out, scratch: transcripts(out, "assistant")),
    (r"webrtcdsp probe=speaker", agent_answered, 60,
     lambda out, scratch: transcripts(out, "assistant")),
    (r"^gst-launch-1\.0 -m ximagesrc", captions_both, 60,
     lambda out, scratch: transcripts(out, "assistant") and transcripts(out, "user")),
    (r"gst-openai-realtime-ask question\.wav reply\.wav +#", asked("reply.wav"), 60, None),
    (r"gst-openai-realtime-ask question\.wav - \| aplay", asked_aloud, 60, None),
    (r"gst-openai-realtime-ask question\.wav reply\.wav \"", asked("reply.wav"), 60, None),
    (r"^examples/screen-agent\.sh --test", screen_agent, 60,
     lambda out, scratch: screen_agent(out, 0, scratch) is None),
    (r"^examples/captions\.sh --test", captions_srt, 50,
     lambda out, scratch: srt_agent(scratch)),
    (r"get_system_load\"$", replied("The tool get_system_load returned: {"), 60, None),
    (r"--no-audio$", replied("The tool get_time returned: {"), 60, None),
    (r"--audio-out", replied_aloud, 60, None),
]
NOT_RUN = [r"^scripts/test\.sh"]


def sections(doc):
    """[(title, commands)] of the document: the commands of its sh blocks
    that run, in order, by "## " section; the first is what comes before
    any section."""
    lines = open(os.path.join(source, doc), encoding="utf-8").read().split("\n")
    out, block, skip, previous = [("", [])], None, False, ""
    for line in lines:
        if block is None:
            if line.startswith("## "):
                out.append((line[3:], []))
            if line.strip() == "```sh":
                block, skip = [], previous.strip().startswith("<!-- needs:")
            elif line.strip():
                previous = line
            continue
        if line.strip() == "```":
            text = "\n".join(block).replace("\\\n", " ")
            if not skip:
                out[-1][1].extend(c.strip() for c in text.split("\n")
                                  if c.strip() and not c.strip().startswith("#")
                                  and not any(re.search(p, c) for p in NOT_RUN))
            block, previous = None, ""
            continue
        block.append(line)
    return out


def terminals():
    """(document, section index) of every terminal; None for a whole document."""
    out = []
    for doc in DOCUMENTS:
        if doc in SECTIONED:
            out += [(doc, i) for i, (_, cmds) in enumerate(sections(doc)) if i > 0 and cmds]
        else:
            out.append((doc, None))
    return out


def terminal_commands(doc, index):
    parts = sections(doc)
    if index is None:
        return [c for _, cmds in parts for c in cmds]
    return parts[0][1] + parts[index][1]


class Process:
    """A command in bash, its output (stdout and stderr) gathered as it comes."""

    def __init__(self, command, scratch, env):
        self.command = command
        self.proc = subprocess.Popen(["bash", "-c", command], cwd=scratch, env=env,
                                     stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                     stderr=subprocess.STDOUT, start_new_session=True)
        self.chunks = []
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self):
        decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        for chunk in iter(lambda: self.proc.stdout.read1(65536), b""):
            self.chunks.append(decoder.decode(chunk))

    def output(self):
        return "".join(self.chunks)

    def signal(self, sig):
        try:
            os.killpg(self.proc.pid, sig)
        except ProcessLookupError:
            pass

    def finish(self, bound):
        """The exit status, or None (then killed) if it did not end in bound s."""
        try:
            rc = self.proc.wait(timeout=bound)
        except subprocess.TimeoutExpired:
            self.signal(signal.SIGKILL)
            self.proc.wait()
            rc = None
        self.reader.join(timeout=5)
        return rc


def environment(scratch):
    env = dict(os.environ, OPENAI_API_KEY="",
               PATH=os.path.join(scratch, "bin") + ":" + os.environ["PATH"],
               APLAY_DIR=os.path.join(scratch, "aplay"),
               GST_REGISTRY_1_0=os.path.join(os.path.dirname(scratch), "registry.bin"))
    for name in ("GST_PLUGIN_PATH", "GST_PLUGIN_PATH_1_0", "OPENAI_REALTIME_LOCAL_URL",
                 "FIRST_STEPS_PRELOAD"):
        env.pop(name, None)
    preload = os.environ.get("FIRST_STEPS_PRELOAD")
    if preload:
        # The sanitizer runtime, preloaded into every program the commands
        # run (bash, sox, timeout): none of them is under test.
        env["LD_PRELOAD"] = preload
        env["ASAN_OPTIONS"] = env.get("ASAN_OPTIONS", "") + ":detect_leaks=0"
    return env


def make_scratch(parent, name):
    scratch = os.path.join(parent, name)
    os.makedirs(os.path.join(scratch, "bin"))
    os.makedirs(os.path.join(scratch, "aplay"))
    for d in ("scripts", "examples"):
        shutil.copytree(os.path.join(source, d), os.path.join(scratch, d), symlinks=True)
    os.symlink(build, os.path.join(scratch, "build"))
    aplay = os.path.join(scratch, "bin", "aplay")
    with open(aplay, "w") as f:
        f.write('#!/bin/sh\n# Keeps what aplay would play (its options are ignored).\n'
                'f="$APLAY_DIR/$(date +%s%N)"\ncat > "$f"\nmv "$f" "$f.done"\n')
    os.chmod(aplay, 0o755)
    return scratch


def headless(command):
    for pattern, replacement in HEADLESS:
        command = re.sub(pattern, replacement, command)
    return command


def run_terminal(doc, index, scratch):
    env = environment(scratch)
    background = []
    for written in terminal_commands(doc, index):
        command = headless(written)
        label = written if len(written) < 90 else written[:87] + "..."
        start = time.monotonic()
        if command.startswith("export "):
            # The terminal's environment after the export, as bash has it.
            p = subprocess.run(["bash", "-c", command + " && env -0"], cwd=scratch, env=env,
                               stdout=subprocess.PIPE, check=True)
            env = dict(kv.split("=", 1) for kv in p.stdout.decode().split("\0") if "=" in kv)
            print("  %s" % label)
            continue
        expect = next(((check, bound, stop) for pattern, check, bound, stop in EXPECT
                       if re.search(pattern, written)), (ok, 60, None))
        check, bound, stop = expect
        holder = None
        if written.startswith("scripts/demo.sh"):
            holder = socket.create_server(("127.0.0.1", 8765))
        m = re.match(r"^(.*?)\s*&\s*(#.*)?$", command)
        if m:
            p = Process(m.group(1), scratch, env)
            background.append((label, p))
            deadline = time.monotonic() + bound
            while check(p.output(), 0, scratch) and p.proc.poll() is None \
                    and time.monotonic() < deadline:
                time.sleep(0.25)
            error = check(p.output(), 0, scratch)
            if error:
                fail(label, error, p.output())
            print("  %s  [%.1f s, in the background]" % (label, time.monotonic() - start))
            continue
        p = Process(command, scratch, env)
        deadline = time.monotonic() + bound
        interrupted = False
        while p.proc.poll() is None and time.monotonic() < deadline:
            if stop and stop(p.output(), scratch):
                p.signal(signal.SIGINT)
                interrupted = True
                break
            time.sleep(0.25)
        rc = p.finish(max(deadline - time.monotonic(), 15 if interrupted else 0))
        if holder:
            holder.close()
        out = p.output()
        if rc is None:
            fail(label, "did not finish within %d s" % bound, out)
        else:
            error = check(out, rc, scratch)
            if error:
                fail(label, error, out)
        print("  %s  [%.1f s%s]" % (label, time.monotonic() - start,
                                    ", Ctrl-C" if interrupted else ""))
        if heard(out, scratch):
            print("      %s" % heard(out, scratch)[:150])
    for label, p in background:
        p.signal(signal.SIGTERM)
        rc = p.finish(15)
        if rc != 0:
            fail(label, "exited with status %s when stopped" % rc, p.output())


def name(doc, index):
    return doc if index is None else "%s, %s" % (doc, sections(doc)[index][0])


def run_terminals():
    """Every terminal, TERMINALS_AT_ONCE at a time, each in a network namespace
    of its own. Before anything else: unshare and ip are not under test (no
    sanitizer runtime for them); the commands get it back."""
    env = dict(os.environ, FIRST_STEPS_PRELOAD=os.environ.get("LD_PRELOAD", ""))
    env.pop("LD_PRELOAD", None)
    # A PID namespace too: when a run ends, or is killed for overrunning,
    # whatever its commands left running goes with it.
    flags = ["--net", "--pid", "--fork", "--kill-child"] + \
        ([] if os.getuid() == 0 else ["--map-root-user"])
    began = time.monotonic()
    # Those with the most commands first: the longest, mostly.
    waiting = sorted(terminals(), key=lambda key: -len(terminal_commands(*key)))
    running, done = [], {}
    while waiting or running:
        while waiting and len(running) < TERMINALS_AT_ONCE:
            doc, index = waiting.pop(0)
            log = tempfile.TemporaryFile()
            p = subprocess.Popen(["unshare"] + flags +
                                 [sys.executable, __file__, doc, str(index)],
                                 env=env, stdout=log, stderr=subprocess.STDOUT)
            running.append((doc, index, log, p, time.monotonic()))
        for entry in list(running):
            doc, index, log, p, start = entry
            rc = p.poll()
            # Each terminal bounds its own commands; this only catches what
            # they miss.
            if rc is None and time.monotonic() - start > 240:
                p.kill()
                rc = p.wait()
                print("FAIL: %s did not end within 240 s" % name(doc, index))
            if rc is not None:
                running.remove(entry)
                log.seek(0)
                done[(doc, index)] = (rc, log.read().decode(errors="replace"))
        time.sleep(0.2)
    failed = False
    for key in terminals():
        rc, out = done[key]
        print("== %s" % name(*key))
        sys.stdout.write(out)
        failed |= rc != 0
    print("%.1f s in all" % (time.monotonic() - began))
    return failed


def terminal(doc, index):
    """One terminal, in its network namespace."""
    for cmd in (["ip", "link", "set", "lo", "up"],
                ["ip", "link", "add", "fs0", "type", "veth", "peer", "name", "fs1"],
                ["ip", "addr", "add", "10.78.0.1/24", "dev", "fs0"],
                ["ip", "link", "set", "fs1", "up"], ["ip", "link", "set", "fs0", "up"]):
        subprocess.run(cmd, check=True)
    with tempfile.TemporaryDirectory(prefix="first-steps-") as tmp:
        began = time.monotonic()
        run_terminal(doc, index, make_scratch(tmp, "tree"))
        print("%.1f s" % (time.monotonic() - began))
    for f in failures:
        print("FAIL:", f)
    return bool(failures)


if len(sys.argv) == 1:
    sys.exit(1 if run_terminals() else 0)
sys.exit(1 if terminal(sys.argv[1], None if sys.argv[2] == "None" else int(sys.argv[2])) else 0)
