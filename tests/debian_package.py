#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""The Debian packages (debian/): built with dpkg-buildpackage -b from a
copy of the source tree (it writes to the tree's parent), unpacked with
dpkg-deb -x into a temporary root, then the checks of
tests/installed_tree.py on that root: every element loads from there with a
fresh registry and only GST_PLUGIN_PATH, the layout, the man pages, and an
application built against the -dev package's pkg-config file. The plugins'
package must depend on the GStreamer plugins the elements create.

debian/changelog's version must be the project's (meson.build). Skipped
where debhelper is not installed (scripts/setup.sh installs it).

Usage: debian_package.py MESON SRCDIR BUILDDIR VERSION SERVER -- CC..."""
import glob
import os
import shutil
import subprocess
import sys
import tempfile
import time

from installed_tree import Tree, meson_layout, report

# What the elements create at run time (webrtcbin, dtls, srtp, sctp; nice;
# rtp, rtpmanager; opus, audioconvert, app) and TLS for the service.
PLUGIN_DEPENDS = ["gstreamer1.0-plugins-bad", "gstreamer1.0-nice", "gstreamer1.0-plugins-good",
                  "gstreamer1.0-plugins-base", "glib-networking"]


def copy_sources(srcdir, builddir, dest):
    """The tracked and untracked-but-not-ignored files (a git checkout), or
    the tree without the build directory."""
    listed = subprocess.run(["git", "-C", srcdir, "ls-files", "-z", "--cached", "--others",
                             "--exclude-standard"], stdout=subprocess.PIPE,
                            stderr=subprocess.DEVNULL)
    if listed.returncode == 0:
        for rel in listed.stdout.decode().split("\0"):
            path = os.path.join(srcdir, rel)
            if not rel or "node_modules" in rel.split("/") or not os.path.isfile(path):
                continue
            os.makedirs(os.path.join(dest, os.path.dirname(rel)), exist_ok=True)
            shutil.copy2(path, os.path.join(dest, rel))
        return
    build = os.path.realpath(builddir)
    shutil.copytree(srcdir, dest, symlinks=True, ignore=lambda d, names: [
        n for n in names if n in (".git", "node_modules") or n.startswith("obj-")
        or os.path.realpath(os.path.join(d, n)) == build])


def main():
    meson, srcdir, builddir, version, server = sys.argv[1:6]
    cc = sys.argv[sys.argv.index("--") + 1:]
    started = time.monotonic()
    changelog = subprocess.run(["dpkg-parsechangelog", "-l",
                                os.path.join(srcdir, "debian", "changelog"), "-S", "Version"],
                               stdout=subprocess.PIPE, text=True, check=True).stdout.strip()
    if changelog != version:
        print("FAIL: debian/changelog is at %s, meson.build at %s" % (changelog, version))
        return 1
    if not shutil.which("dpkg-buildpackage") or not shutil.which("dh"):
        print("dpkg-buildpackage and debhelper are needed: scripts/setup.sh --packages")
        return 77
    with tempfile.TemporaryDirectory(prefix="debian-test-") as scratch:
        src = os.path.join(scratch, "src", "gst-openai-realtime")
        copy_sources(srcdir, builddir, src)
        log = os.path.join(scratch, "build.log")
        with open(log, "w") as out:
            # noopt: what is checked is the packaging, not the optimiser;
            # -O0 compiles in about half the time.
            env = dict(os.environ, DEB_BUILD_OPTIONS="noopt nocheck")
            built = subprocess.run(["dpkg-buildpackage", "-b", "-us", "-uc", "-j2"], cwd=src,
                                   stdout=out, stderr=subprocess.STDOUT, env=env)
        print("dpkg-buildpackage: %.0f s" % (time.monotonic() - started), flush=True)
        if built.returncode != 0:
            with open(log) as f:
                print(f.read()[-6000:])
            print("FAIL: dpkg-buildpackage exited with %d" % built.returncode)
            return 1
        debs = [d for d in glob.glob(os.path.join(scratch, "src", "*.deb"))
                if "-dbgsym_" not in d]
        root = os.path.join(scratch, "root")
        for deb in sorted(debs):
            print("unpacked %s" % os.path.basename(deb), flush=True)
            subprocess.run(["dpkg-deb", "-x", deb, root], check=True)
        multiarch = subprocess.run(["dpkg-architecture", "-qDEB_HOST_MULTIARCH"],
                                   stdout=subprocess.PIPE, text=True, check=True).stdout.strip()
        tree = Tree(root, "/usr/lib/" + multiarch, "/usr/bin", "/usr/share/man",
                    meson_layout(meson, builddir)[1])
        plugins = [d for d in debs if os.path.basename(d).startswith("gstreamer1.0-openai-realtime_")]
        depends = subprocess.run(["dpkg-deb", "-f", plugins[0], "Depends"], stdout=subprocess.PIPE,
                                 text=True, check=True).stdout if plugins else ""
        for package in PLUGIN_DEPENDS:
            if package not in [d.strip().split(" ")[0] for d in depends.split(",")]:
                tree.fail("the plugins' package does not depend on %s" % package)
        tree.check(scratch, version, cc, server)
    return report(tree, started)


if __name__ == "__main__":
    sys.exit(main())
