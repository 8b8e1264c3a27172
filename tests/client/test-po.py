#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""The translation files stay current: po/vhost-share.pot holds exactly the
messages xgettext finds in po/POTFILES today, and every language in
po/LINGUAS translates all of them (no missing, fuzzy or broken format
strings). Output is TAP."""

import ast
import os
import re
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), os.pardir, "helpers"))
import vshtest  # noqa: E402

source = vshtest.source_root()
po_dir = os.path.join(source, "po")

# The keywords of meson's i18n 'glib' preset that our sources use; the
# language comes from each file's name, as for meson's (C, the viewer's
# .desktop.in and AppStream .metainfo.xml.in).
XGETTEXT_ARGS = ["--from-code=UTF-8", "--keyword=_", "--keyword=N_",
                 "--keyword=C_:1c,2", "--keyword=NC_:1c,2", "--keyword=ngettext:1,2"]


def parse_po(path):
    """{(msgctxt, msgid, msgid_plural): translations} for every entry but the header."""
    entries = {}
    cur = {}
    key = None

    def flush():
        if "msgid" in cur and cur["msgid"] != "":
            entries[(cur.get("msgctxt"), cur["msgid"], cur.get("msgid_plural"))] = (
                [v for k, v in sorted(cur.items()) if k.startswith("msgstr")], cur.get("fuzzy"))

    fuzzy = False
    with open(path, encoding="utf-8") as f:
        for line in f:
            line = line.rstrip("\n")
            if line.startswith("#,") and "fuzzy" in line:
                fuzzy = True
            if line.startswith("#") or not line.strip():
                continue
            m = re.match(r'^(msgctxt|msgid|msgid_plural|msgstr(?:\[\d+\])?) (".*")$', line)
            if m:
                if m.group(1) in ("msgid", "msgctxt") and ("msgstr" in cur or "msgstr[0]" in cur):
                    flush()
                    cur = {}
                if m.group(1) == "msgid" and fuzzy:
                    cur["fuzzy"] = True
                    fuzzy = False
                key = m.group(1)
                cur[key] = ast.literal_eval(m.group(2))
            else:
                cur[key] += ast.literal_eval(line)
    flush()
    return entries


tests, test = vshtest.registry()


@test
def pot_is_current():
    with open(os.path.join(po_dir, "POTFILES")) as f:
        files = [l.strip() for l in f if l.strip() and not l.startswith("#")]
    with tempfile.TemporaryDirectory() as tmp:
        fresh = os.path.join(tmp, "fresh.pot")
        subprocess.run(["xgettext", *XGETTEXT_ARGS, "-o", fresh, *files], cwd=source,
                       check=True, timeout=60)
        now = set(parse_po(fresh))
    shipped = set(parse_po(os.path.join(po_dir, "vhost-share.pot")))
    assert now, "xgettext found no messages"
    missing, stale = now - shipped, shipped - now
    assert not missing and not stale, (
        "po/vhost-share.pot is out of date; run `meson compile -C build vhost-share-pot` "
        f"and `meson compile -C build vhost-share-update-po`.\nnew: {sorted(missing)!r}\n"
        f"gone: {sorted(stale)!r}")


@test
def every_language_is_complete():
    with open(os.path.join(po_dir, "LINGUAS")) as f:
        langs = [l for line in f for l in line.split() if not line.startswith("#")]
    assert "de" in langs, langs
    template = set(parse_po(os.path.join(po_dir, "vhost-share.pot")))
    for lang in langs:
        path = os.path.join(po_dir, lang + ".po")
        entries = parse_po(path)
        assert set(entries) == template, f"{lang}.po does not match the template: " + repr(
            sorted(set(entries) ^ template))
        for key, (strs, fuzzy) in entries.items():
            assert not fuzzy, f"{lang}.po: fuzzy entry {key[1]!r}"
            assert strs and all(strs), f"{lang}.po: untranslated {key[1]!r}"
        # msgfmt --check validates the printf formats against the msgids.
        out = subprocess.run(["msgfmt", "--check", "--statistics", "-o", os.devnull, path],
                             capture_output=True, text=True, timeout=60)
        assert out.returncode == 0, out.stderr
        assert "untranslated" not in out.stderr and "fuzzy" not in out.stderr, out.stderr


if __name__ == "__main__":
    sys.exit(vshtest.run_tap([(fn.__name__, fn) for fn in tests]))
