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
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), os.pardir, "helpers"))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import vshtest  # noqa: E402
from ctltest import (BUILD, SYNC_UUID, TIMEOUT, UUID_RE, Testbed, json_monitor_listening,  # noqa: E402
                     stop, with_testbed)

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


@test
def status_tells_the_service_at_a_glance(tb):
    tb.stop_service()
    tb.start_service("[Service]\nLookupTimeoutMSec=250\nMaxPeers=0\n")
    dev, lines = tb.device("--export=1")
    lines.wait_for(r"^DONE")
    tb.ctl("export", "--size=12K", "--detach")
    time.sleep(1.1)  # an uptime of at least a second
    st = json.loads(tb.ctl("status", "--json").stdout)
    assert set(st) == {"version", "pid", "start_usec", "uptime_usec", "objects", "peers",
                       "listeners", "devices", "bytes_held", "privileged_group", "limits"}, st
    # The pid is the service's, as the bus knows it.
    assert st["pid"] == tb.service.pid, (st, tb.service.pid)
    assert st["objects"] == 2 and st["peers"] == 1 and st["listeners"] == 1, st
    assert st["devices"] == len(json.loads(tb.ctl("devices", "--json").stdout)), st
    assert st["bytes_held"] == 12 * 1024, st
    assert st["limits"]["LookupTimeoutMSec"] == 250 and st["limits"]["MaxPeers"] == 0, st
    assert st["uptime_usec"] >= 1000000 and st["uptime_usec"] < 600 * 1000000, st
    assert abs(st["start_usec"] + st["uptime_usec"] - time.time() * 1e6) < 60 * 1e6, st
    assert st["version"] and st["privileged_group"], st

    text = tb.ctl("--utc", "status").stdout
    assert text.startswith(f"vhost-shared {st['version']}\n"), text
    assert re.search(rf"^  PID: +{tb.service.pid}$", text, re.M), text
    assert re.search(r"^  Started: +\d{4}-\d\d-\d\d [\d:.]+ UTC; up \d+s$", text, re.M), text
    assert re.search(r"^  Objects: +2$", text, re.M), text
    assert re.search(r"^  Bytes held: +12288 \(12.0K\)$", text, re.M), text
    assert re.search(r"^  Peers: +1$", text, re.M), text
    assert re.search(r"^  Listeners: +1$", text, re.M), text
    assert re.search(rf"^  Privileged group: +{st['privileged_group']}$", text, re.M), text
    assert re.search(r"^  Limits: +LookupTimeoutMSec=250$", text, re.M), text
    assert re.search(r"^ +MaxPeers=0 \(unlimited\)$", text, re.M), text
    german = tb.ctl("status", env=dict(os.environ, LANGUAGE="de", LANG="C.UTF-8",
                                       LC_ALL="C.UTF-8",
                                       TEXTDOMAINDIR=os.path.join(BUILD, "po"))).stdout
    assert "unbegrenzt" in german and "Bytes held" not in german, german
    assert tb.ctl("status", "extra", expect=2).stderr


@test
def monitor_shows_who_looked_up_what(tb):
    mon, mlines = tb.spawn_ctl("monitor")
    mlines.wait_for(r"^Monitoring")
    jmon, jlines = tb.spawn_ctl("monitor", "--json")
    json_monitor_listening(tb, jlines)
    exporter, elines = tb.device("--export=1")
    remote = elines.wait_for(r"^EXPORTED ").split()[1]
    elines.wait_for(r"^DONE")
    # A back-end's LOOKUP, through the hub to the exporter.
    importer, ilines = tb.device(f"--import={remote}")
    ilines.wait_for(r"^DONE")
    peer = [p for p in json.loads(tb.ctl("peers", "--json").stdout) if p["pid"] == importer.pid]
    line = mlines.wait_for(rf" LookedUp +{remote} by ")
    assert re.search(rf" LookedUp +{remote} by {peer[0]['path']}: ok$", line), line
    # A bus caller's Lookup(), by its unique name; and one that fails, with
    # the error the caller got.
    tb.ctl("lookup", remote, "--verify")
    line = mlines.wait_for(rf" LookedUp +{remote} by :1\.")
    assert re.search(rf" LookedUp +{remote} by :1\.\d+: ok$", line), line
    missing = "0b5e0a7c-6d1f-4c3e-9a2b-1c0d9e8f7a6b"
    tb.ctl("lookup", missing, expect=4)
    line = mlines.wait_for(rf" LookedUp +{missing} ")
    assert re.search(rf" by :1\.\d+: org\.vhostshare\.share1\.Error\.NotFound$", line), line
    events = []
    while len(events) < 3:
        e = json.loads(jlines.wait_for(r'"event":"LookedUp"'))
        if e["uuid"] != SYNC_UUID:
            events.append(e)
    assert [(e["uuid"], e["result"]) for e in events] == [
        (remote, "ok"), (remote, "ok"), (missing, "org.vhostshare.share1.Error.NotFound")], events
    assert events[0]["importer"] == peer[0]["path"] and events[1]["importer"].startswith(":1.")
    assert stop(mon) == 0 and stop(jmon) == 0


def peer_events(lines, pid_path):
    """The monitor --json events of one peer path, up to its PeerRemoved."""
    events = []
    while not events or events[-1]["event"] != "PeerRemoved":
        e = json.loads(lines.wait_for(rf'"path":"{re.escape(pid_path)}"'))
        events.append(e)
    return events


@test
def peers_named_without_socket_and_clean_hang_up_no_error(tb):
    jmon, jlines = tb.spawn_ctl("monitor", "--json")
    json_monitor_listening(tb, jlines)
    dev, lines = tb.device("--export=1")
    lines.wait_for(r"^DONE")
    (peer,) = json.loads(tb.ctl("peers", "--json").stdout)
    # The name is one word; the socket is a property of its own.
    assert re.fullmatch(r"back-end#\d+", peer["name"]), peer
    assert peer["socket_path"] == tb.hub, peer
    # A back-end that exits after its handshake, nothing pending: no error.
    dev.stdin = None
    dev.terminate()
    dev.wait(timeout=TIMEOUT)
    events = peer_events(jlines, peer["path"])
    errors = [e["properties"]["LastError"] for e in events
              if e["event"] == "PeerChanged" and e["properties"].get("LastError")]
    assert errors == [], events

    # One that goes while a lookup waits on it: that is an error.
    dev, lines = tb.device("--export=1", "--no-answer")
    remote = lines.wait_for(r"^EXPORTED ").split()[1]
    lines.wait_for(r"^DONE")
    (peer,) = json.loads(tb.ctl("peers", "--json").stdout)
    looker, llines = tb.spawn_ctl("lookup", remote)
    jlines.wait_for(rf'"event":"ObjectChanged".*"LookupCount"')
    dev.kill()
    dev.wait(timeout=TIMEOUT)
    events = peer_events(jlines, peer["path"])
    errors = [e["properties"]["LastError"] for e in events
              if e["event"] == "PeerChanged" and e["properties"].get("LastError")]
    assert errors and "hung up" in errors[0], events
    assert looker.wait(timeout=TIMEOUT) != 0
    assert stop(jmon) == 0


@test
def show_reports_the_size_once_seen(tb):
    dev, lines = tb.device("--export=1", "--size=12K")
    remote = lines.wait_for(r"^EXPORTED ").split()[1]
    lines.wait_for(r"^DONE")
    # The ADD says no size: unknown until the service has seen the buffer.
    assert json.loads(tb.ctl("show", remote, "--json").stdout)["size"] == 0
    assert "unknown" in tb.ctl("show", remote).stdout
    mon, mlines = tb.spawn_ctl("monitor")
    mlines.wait_for(r"^Monitoring")
    tb.ctl("lookup", remote, "--verify")
    # Seen once: Size is announced and shown from then on.
    line = mlines.wait_for(rf" ObjectChanged +{remote} .*Size=[1-9]")
    assert re.search(r" Size=12288( |$)", line), line
    assert json.loads(tb.ctl("show", remote, "--json").stdout)["size"] == 12288
    assert re.search(r"^  Size: +12288 \(12.0K\)$", tb.ctl("show", remote).stdout, re.M)
    row = [r.split() for r in tb.ctl("list", "--no-legend").stdout.splitlines()]
    assert row[0][0] == remote and row[0][3] == "12.0K", row
    assert stop(mon) == 0


def main():
    if os.geteuid() != 0:
        print("Bail out! test-admin calls privileged methods and must run as root")
        return 1
    return vshtest.run_tap([(fn.__name__, lambda fn=fn: with_testbed(fn)) for fn in tests])


if __name__ == "__main__":
    sys.exit(main())
