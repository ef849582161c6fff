#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""The committed plugins cache (docs/gst_plugins_cache.json, what GStreamer's
documentation tooling reads) is the one the built plugins give, as
GStreamer's own check of its caches does; and it gives the same file on any
machine: with secrets, a key file and a local server's address in the
environment, the cache is unchanged and holds none of them.

Usage: plugins_cache.py GENERATOR COMMITTED BUILDDIR PLUGIN-FILE..."""
import difflib
import json
import os
import secrets
import subprocess
import sys
import tempfile

ELEMENTS = {
    "openairealtime": {"openairealtimesink", "openairealtimesrc",
                       "ephemeraltokenprovider"},
    "webrtcbroadcast": {"webrtcbroadcastsink"},
    "sipphone": {"sipphone"},
}


def generate(generator, plugins, scratch, name, env):
    out = os.path.join(scratch, name + ".json")
    subprocess.run([generator, out] + plugins, env=env, check=True,
                   timeout=120)
    with open(out, encoding="utf-8") as f:
        return f.read()


def properties(cache):
    for plugin in cache.values():
        for owner, desc in list(plugin["elements"].items()) + \
                list(plugin["other-types"].items()):
            for name, prop in desc.get("properties", {}).items():
                yield owner, name, prop


def main():
    generator, committed_path, builddir = sys.argv[1:4]
    plugins = sys.argv[4:]
    with open(committed_path, encoding="utf-8") as f:
        committed = f.read()
    failures = []

    with tempfile.TemporaryDirectory(prefix="plugins-cache-") as scratch:
        base = dict(os.environ)
        made = generate(generator, plugins, scratch, "plain", base)
        if made != committed:
            diff = list(difflib.unified_diff(
                committed.splitlines(), made.splitlines(),
                "docs/gst_plugins_cache.json (committed)",
                "from the built plugins", lineterm=""))
            print("\n".join(diff[:80]))
            if len(diff) > 80:
                print("... (%d more lines)" % (len(diff) - 80))
            failures.append(
                "docs/gst_plugins_cache.json is out of date with the plugins: "
                "run `ninja -C %s update-plugins-cache` and commit the file"
                % builddir)

        # What a developer's machine may hold: secrets for the elements'
        # defaults, a key file, another local server, another cache home.
        secret = "sk-" + secrets.token_hex(12)
        password = secrets.token_hex(10)
        key_file = os.path.join(scratch, "key-" + secrets.token_hex(4))
        polluted = dict(base, OPENAI_API_KEY=secret, SIP_PASSWORD=password,
                        REALTIME_SERVER_API_KEY=password,
                        OPENAI_REALTIME_LOCAL_URL="http://192.0.2.7:9",
                        XDG_CACHE_HOME=os.path.join(scratch, "cache"))
        with_key = generate(generator, plugins, scratch, "with-key", polluted)
        polluted.pop("OPENAI_API_KEY")
        polluted["OPENAI_API_KEY_FILE"] = key_file
        with_file = generate(generator, plugins, scratch, "with-file", polluted)
        for label, text in (("secrets", with_key), ("a key file", with_file)):
            if text != made:
                diff = difflib.unified_diff(made.splitlines(),
                                            text.splitlines(), lineterm="")
                print("\n".join(list(diff)[:40]))
                failures.append("the cache changes with %s in the environment"
                                % label)
            for value in (secret, password, key_file, "192.0.2.7"):
                if value in text:
                    failures.append("the cache holds a value of the "
                                    "environment (%s)" % label)

    cache = json.loads(made)
    for plugin, elements in ELEMENTS.items():
        found = set(cache.get(plugin, {}).get("elements", {}))
        if found != elements:
            failures.append("plugin %s: elements %s, expected %s"
                            % (plugin, sorted(found), sorted(elements)))
    for owner, name, prop in properties(cache):
        if not prop["readable"] and prop.get("default", "NULL") != "NULL":
            failures.append("%s:%s is write-only but shows a value"
                            % (owner, name))

    for f in failures:
        print("FAIL:", f)
    if not failures:
        print("plugins cache: up to date (%d bytes, %d properties), the same "
              "with secrets and a key file in the environment"
              % (len(made), sum(1 for _ in properties(cache))))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
