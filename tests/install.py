#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""meson install into a temporary DESTDIR, from this build tree (nothing
is built again), then the checks of tests/installed_tree.py on what it
installed: each element loads from there with a fresh registry and only
GST_PLUGIN_PATH set, the engine library is out of the public libdir, every
program has a man page, and an application built against the installed
pkg-config file gets a call going with the local server installed beside it.

Usage: install.py MESON BUILDDIR VERSION SERVER -- CC..."""
import os
import subprocess
import sys
import tempfile
import time

from installed_tree import Tree, meson_layout, report


def main():
    meson, builddir, version, server = sys.argv[1:5]
    cc = sys.argv[sys.argv.index("--") + 1:]
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="install-test-") as scratch:
        root = os.path.join(scratch, "root")
        subprocess.run([meson, "install", "-C", builddir, "--destdir", root,
                        "--no-rebuild", "--quiet"], check=True)
        dirs, programs = meson_layout(meson, builddir)
        tree = Tree(root, dirs["libdir"], dirs["bindir"], dirs["mandir"], programs)
        tree.check(scratch, version, cc, server)
    return report(tree, started)


if __name__ == "__main__":
    sys.exit(main())
