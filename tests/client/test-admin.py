#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""What an administrator reads off vhost-sharectl: honest labels (the
buffer's kind, a host exporter as its process and user), the status verb,
lookups in monitor (who asked for what, and how it ended), peer names
without the socket, a clean hang-up that is no error, and the size of a
back-end's buffer once the service has seen it. Output is TAP."""

import json
import os
import pwd
import re
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), os.pardir, "helpers"))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import vshtest  # noqa: E402
from ctltest import UUID_RE, Testbed, stop  # noqa: E402

tests, test = vshtest.registry()


def exported_uuid(text):
    return re.search(UUID_RE, text).group(0)


@test
def labels_say_what_and_whose(tb):
    holder, hlines = tb.spawn_ctl("export", "--size=8K")
    held = exported_uuid(hlines.wait_for(r"^Exported "))
    hlines.wait_for(r"^Holding")
    detached = exported_uuid(tb.ctl("export", "--size=4096", "--detach").stdout)
    dev, lines = tb.device("--export=1")
    remote = lines.wait_for(r"^EXPORTED ").split()[1]
    lines.wait_for(r"^DONE")
    me = pwd.getpwuid(os.geteuid()).pw_name

    rows = {r.split()[0]: r.split() for r in tb.ctl("list", "--no-legend").stdout.splitlines()}
    # TYPE is the buffer's kind; OWNER of a host export is its process and
    # user, one word per column.
    assert rows[held][1:3] == ["memfd", f"vhost-sharectl[{holder.pid}]({me})"], rows
    assert rows[detached][1:3] == ["memfd", "service"], rows
    assert rows[remote][1] == "vhost-device" and re.fullmatch(r"back-end#\d+", rows[remote][2])
    assert all(len(r) == 6 for r in rows.values()), rows

    listed = {o["uuid"]: o for o in json.loads(tb.ctl("list", "--json").stdout)}
    o = listed[held]
    assert o["buffer_type"] == "memfd" and o["type"] == "dma-buf", o
    assert o["owner"] == f"vhost-sharectl[{holder.pid}] ({me})", o
    assert o["owner_pid"] == holder.pid and o["owner_uid"] == os.geteuid(), o
    assert o["owner_command"] == "vhost-sharectl", o
    # What is not known is null, not "" or a number that means nothing.
    assert listed[remote]["buffer_type"] is None and listed[remote]["owner_pid"] == dev.pid

    shown = tb.ctl("show", held).stdout
    assert re.search(r"^  Type: +memfd$", shown, re.M), shown
    assert re.search(rf"^  Owner: +vhost-sharectl\[{holder.pid}\] \({me}\), bus client :1\.\d+$",
                     shown, re.M), shown
    assert json.loads(tb.ctl("show", held, "--json").stdout) == o
    assert stop(holder) == 0


def with_testbed(fn):
    tb = Testbed()
    try:
        fn(tb)
    finally:
        tb.close()


def main():
    if os.geteuid() != 0:
        print("Bail out! test-admin calls privileged methods and must run as root")
        return 1
    return vshtest.run_tap([(fn.__name__, lambda fn=fn: with_testbed(fn)) for fn in tests])


if __name__ == "__main__":
    sys.exit(main())
