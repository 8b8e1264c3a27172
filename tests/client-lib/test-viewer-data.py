#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""The viewer's data files as built: the desktop entry passes
desktop-file-validate, the AppStream metainfo passes appstreamcli validate,
both carry the German translation from po/de.po, the icon is a square SVG,
and the viewer's own messages are translated. Output is TAP."""

import os
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), os.pardir, "helpers"))
import vshtest  # noqa: E402
from vshtest import TIMEOUT  # noqa: E402

BUILD = vshtest.build_root()
VIEWER = os.path.join(BUILD, "client", "viewer")
DESKTOP = os.path.join(VIEWER, "org.vhostshare.Viewer.desktop")
METAINFO = os.path.join(VIEWER, "org.vhostshare.Viewer.metainfo.xml")
ICON = os.path.join(vshtest.source_root(), "client", "viewer", "data", "org.vhostshare.Viewer.svg")


def tool(name):
    path = shutil.which(name)
    assert path, f"{name} is not installed (tools/install-deps)"
    return path


def run(*argv, **kw):
    out = subprocess.run(argv, capture_output=True, text=True, timeout=TIMEOUT, **kw)
    assert out.returncode == 0, f"{argv}: exit {out.returncode}\n{out.stdout}\n{out.stderr}"
    return out


tests, test = vshtest.registry()


@test
def desktop_entry_validates():
    run(tool("desktop-file-validate"), DESKTOP)
    with open(DESKTOP, encoding="utf-8") as f:
        text = f.read()
    assert "Exec=vhost-share-viewer\n" in text and "Icon=org.vhostshare.Viewer\n" in text
    assert "Name[de]=vhost-share-Betrachter\n" in text, text


@test
def metainfo_validates():
    out = run(tool("appstreamcli"), "validate", "--no-net", METAINFO)
    assert "Validation was successful" in out.stdout, out.stdout
    root = ET.parse(METAINFO).getroot()
    assert root.findtext("id") == "org.vhostshare.Viewer"
    assert root.find("launchable").text == "org.vhostshare.Viewer.desktop"
    lang = "{http://www.w3.org/XML/1998/namespace}lang"
    german = [e.text for e in root.findall("summary") if e.get(lang) == "de"]
    assert german == ["Die Puffer beobachten, die virtuelle Maschinen teilen"], german


@test
def icon_is_a_square_svg():
    root = ET.parse(ICON).getroot()
    assert root.tag == "{http://www.w3.org/2000/svg}svg", root.tag
    assert root.get("width") == root.get("height") and root.get("viewBox") == "0 0 128 128"


@test
def viewer_speaks_german():
    env = dict(os.environ, LANGUAGE="de", LANG="C.UTF-8", LC_ALL="C.UTF-8",
               TEXTDOMAINDIR=os.path.join(BUILD, "po"))
    env.pop("DISPLAY", None)
    out = run(os.path.join(VIEWER, "vhost-share-viewer"), "--help", env=env)
    assert "Den Sitzungsbus beobachten" in out.stdout, out.stdout


if __name__ == "__main__":
    sys.exit(vshtest.run_tap([(fn.__name__, fn) for fn in tests]))
