# SPDX-License-Identifier: LGPL-2.1-or-later
"""Checks of an installed tree (a meson DESTDIR, or unpacked .debs), shared
by tests/install.py and tests/debian_package.py.

A tree is checked as a user would find it: its plugins must load with a
fresh registry and nothing in the environment but GST_PLUGIN_PATH (no
LD_LIBRARY_PATH), the engine library must be where only the plugins see it,
every program must have a man page, and an application built against the
installed pkg-config file must get a call going with the API it declares."""
import glob
import json
import os
import re
import shlex
import subprocess
import time

ELEMENTS = {
    "libgstopenairealtime.so": ["ephemeraltokenprovider", "openairealtimesink",
                                "openairealtimesrc"],
    "libgstwebrtcbroadcast.so": ["webrtcbroadcastsink"],
    "libgstsipphone.so": ["sipphone"],
}
PRIVATE_DIR = "gst-openai-realtime"
PUBLIC_LIB = "libgstopenairealtime-"
APP_SOURCE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "install_app.c")


class Tree:
    """root: where the tree is on disk; libdir, bindir, mandir: where
    the files would be on the target system (absolute, under the prefix)."""

    def __init__(self, root, libdir, bindir, mandir, programs):
        self.root = root
        self.libdir = root + libdir
        self.bindir = root + bindir
        self.mandir = root + mandir
        self.plugindir = os.path.join(self.libdir, "gstreamer-1.0")
        self.programs = programs
        self.failures = []

    def fail(self, message):
        self.failures.append(message)

    def env(self, scratch):
        """GST_PLUGIN_PATH and a fresh registry; only what a sanitized build
        needs besides (the runtime is preloaded into programs that are not
        built with it; this is no leak check)."""
        env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "HOME": scratch,
            "GST_REGISTRY": os.path.join(scratch, "registry.bin"),
            "GST_PLUGIN_PATH": self.plugindir,
            "OPENAI_API_KEY": "",
        }
        for name in ("LD_PRELOAD", "LSAN_OPTIONS", "UBSAN_OPTIONS", "G_SLICE",
                     "GST_REGISTRY_FORK", "TMPDIR"):
            if name in os.environ:
                env[name] = os.environ[name]
        if "ASAN_OPTIONS" in os.environ:
            env["ASAN_OPTIONS"] = os.environ["ASAN_OPTIONS"] + ":detect_leaks=0"
        return env

    def check(self, scratch, version, cc, server):
        """Every check below; server: the local server's name in bindir."""
        self.check_layout()
        self.check_elements(scratch, version)
        self.check_app(scratch, cc, os.path.join(self.bindir, server))

    def check_layout(self):
        for plugin in ELEMENTS:
            path = os.path.join(self.plugindir, plugin)
            if not os.path.isfile(path):
                self.fail("plugin missing: %s" % path)
                continue
            runpath = dynamic_entry(path, "RUNPATH")
            if runpath != "$ORIGIN/../" + PRIVATE_DIR:
                self.fail("%s: RUNPATH %r, not $ORIGIN/../%s" % (plugin, runpath, PRIVATE_DIR))
        engine = glob.glob(os.path.join(self.libdir, PRIVATE_DIR, "libgstrealtime-*.so"))
        if len(engine) != 1:
            self.fail("the engine library in %s/%s: %s" % (self.libdir, PRIVATE_DIR, engine))
        # The public libdir holds the application library and nothing
        # else of the project's: no engine, and no unversioned .so but the
        # application library's link for the linker.
        for path in glob.glob(os.path.join(self.libdir, "lib*.so*")):
            name = os.path.basename(path)
            if not name.startswith(PUBLIC_LIB):
                self.fail("in the public libdir: %s" % name)
            elif name.endswith(".so") and not os.path.islink(path):
                self.fail("%s is not a link to the versioned library" % name)
        for program in self.programs:
            if not os.path.isfile(os.path.join(self.bindir, program)):
                self.fail("program missing: %s" % program)
            pages = glob.glob(os.path.join(self.mandir, "man1", program + ".1*"))
            if not pages:
                self.fail("no man page for %s" % program)
        others = set(os.listdir(self.bindir)) - set(self.programs) if os.path.isdir(self.bindir) else set()
        if others:
            self.fail("programs not expected: %s" % sorted(others))

    def check_elements(self, scratch, version):
        """gst-inspect-1.0 on every element of every plugin."""
        env = self.env(scratch)
        for plugin, expected in sorted(ELEMENTS.items()):
            path = os.path.join(self.plugindir, plugin)
            # By file: says why it does not load, if it does not.
            out = run(["gst-inspect-1.0", path], env)
            if out.returncode != 0:
                self.fail("%s does not load: %s" % (plugin, last_line(out)))
                continue
            found = re.findall(r"^  ([a-z0-9]+): ", out.stdout, re.M)
            if sorted(found) != sorted(expected):
                self.fail("%s has elements %s, expected %s" % (plugin, found, expected))
            for element in found:
                out = run(["gst-inspect-1.0", element], env)
                if out.returncode != 0:
                    self.fail("gst-inspect-1.0 %s: %s" % (element, last_line(out)))
                    continue
                got = re.search(r"^  Version\s+(\S+)$", out.stdout, re.M)
                if not got or got.group(1) != version:
                    self.fail("%s: version %s, not %s" % (element, got and got.group(1), version))
                if not re.search(r"^  Doc-uri\s+https://", out.stdout, re.M):
                    self.fail("%s: no documentation URI" % element)
                print("%s: loads from %s" % (element, path), flush=True)
        blacklisted = run(["gst-inspect-1.0", "-b"], env).stdout
        for plugin in ELEMENTS:
            if plugin in blacklisted:
                self.fail("blacklisted: %s" % plugin)

    def check_app(self, scratch, cc, server):
        """Builds tests/install_app.c against the tree's pkg-config file (its
        prefix moved to where the tree is) and runs it against the tree's
        local server."""
        pcs = glob.glob(os.path.join(self.libdir, "pkgconfig", "*.pc"))
        if len(pcs) != 1:
            self.fail("pkg-config files: %s" % pcs)
            return
        pcdir = os.path.join(scratch, "pkgconfig")
        os.makedirs(pcdir, exist_ok=True)
        with open(pcs[0]) as f:
            text = f.read()
        prefix = re.search(r"^prefix=(.*)$", text, re.M).group(1)
        with open(os.path.join(pcdir, os.path.basename(pcs[0])), "w") as f:
            f.write(re.sub(r"^prefix=.*$", "prefix=" + self.root + prefix, text, flags=re.M))
        name = os.path.basename(pcs[0])[:-3]
        # The compiler without a sanitizer's runtime preloaded.
        tools = {k: v for k, v in os.environ.items() if k != "LD_PRELOAD"}
        pkg = run(["pkg-config", "--cflags", "--libs", name], dict(tools, PKG_CONFIG_PATH=pcdir))
        if pkg.returncode != 0:
            self.fail("pkg-config %s: %s" % (name, pkg.stderr.strip()))
            return
        app = os.path.join(scratch, "install-app")
        build = run(cc + ["-o", app, APP_SOURCE] + shlex.split(pkg.stdout)
                    + ["-Wl,-rpath," + self.libdir], tools)
        if build.returncode != 0:
            self.fail("install_app.c does not build: %s" % build.stderr.strip()[-1500:])
            return
        env = self.env(scratch)
        proc = subprocess.Popen([server, "--port", "0", "--speech", "tone"], env=env,
                                stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        try:
            line = proc.stdout.readline()
            if not line.startswith("listening on "):
                self.fail("the local server from the tree did not start: %r" % line)
                return
            env["OPENAI_REALTIME_LOCAL_URL"] = line.split()[-1]
            out = run([app], env, timeout=60)
            if out.returncode != 0:
                self.fail("install-app: %s" % (out.stdout + out.stderr).strip()[-1500:])
            else:
                print(out.stdout.strip(), flush=True)
        finally:
            proc.terminate()
            proc.wait(timeout=30)


def meson_layout(meson, builddir):
    """The build's install directories (absolute: bindir, libdir, mandir)
    and the names of the programs it installs."""
    def introspect(what):
        return json.loads(subprocess.run([meson, "introspect", builddir, what], check=True,
                                         stdout=subprocess.PIPE, text=True).stdout)
    options = {o["name"]: o["value"] for o in introspect("--buildoptions")}
    dirs = {name: os.path.join(options["prefix"], options[name])
            for name in ("bindir", "libdir", "mandir")}
    programs = sorted(os.path.basename(p) for p in introspect("--installed").values()
                      if os.path.dirname(p) == dirs["bindir"])
    return dirs, programs


def run(argv, env, timeout=120):
    return subprocess.run(argv, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          text=True, timeout=timeout)


def last_line(out):
    lines = (out.stdout + out.stderr).strip().splitlines()
    return lines[-1] if lines else "exit status %d" % out.returncode


def dynamic_entry(path, tag):
    out = subprocess.run(["readelf", "-d", path], stdout=subprocess.PIPE, text=True,
                         check=True).stdout
    m = re.search(r"\(%s\)\s+.*\[(.*)\]" % tag, out)
    return m and m.group(1)


def report(tree, started):
    for f in tree.failures:
        print("FAIL: " + f, flush=True)
    print("%d failures, %.1f s" % (len(tree.failures), time.monotonic() - started), flush=True)
    return 1 if tree.failures else 0
