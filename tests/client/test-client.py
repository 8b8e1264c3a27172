#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""vhost-sharectl against the real vhost-shared on a private bus (a
dbus-daemon with the shipped policy) with vhost-share-device back-ends:
tables, JSON, export/lookup round trips, remove, monitor, exit codes, and
the German translation. Output is TAP."""

import grp
import json
import os
import re
import socket
import signal
import stat
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), os.pardir, "helpers"))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import vshtest  # noqa: E402
from vshtest import TIMEOUT  # noqa: E402
from ctltest import (CTL, DAEMON, DEVICE, UUID_RE, TIME_RE, BUILD, Lines, Testbed,  # noqa: E402
                     random_uuid, stop, with_testbed)


tests, test = vshtest.registry()


@test
def usage_errors_exit_2(tb):
    for args in [("frob",), ("--bogus", "list"), ("list", "extra"), ("show",),
                 ("show", "not-a-uuid"), ("list", "--size=4096"), ("export",),
                 ("export", "--size=0"), ("export", "file", "--size=4K"),
                 ("attach", "teleport", "/tmp/x.sock"), ("attach", "connect", "relative.sock"),
                 ("allocate", "lots")]:
        out = tb.ctl(*args, expect=2)
        assert out.stderr.startswith("vhost-sharectl: "), out.stderr
        assert out.stdout == "", out.stdout
    out = tb.ctl("--version")
    assert re.fullmatch(r"vhost-sharectl \d+\.\d+\.\d+\n", out.stdout), out.stdout
    out = tb.ctl("--help")
    for verb in ["list", "show", "peers", "listeners", "monitor", "export", "lookup", "remove",
                 "attach", "detach", "devices", "allocate"]:
        assert re.search(rf"^  {verb}\b", out.stdout, re.M), verb


@test
def empty_table(tb):
    out = tb.ctl("list")
    assert out.stdout == "No objects.\n", out.stdout
    assert tb.ctl("list", "--no-legend").stdout == ""
    assert json.loads(tb.ctl("list", "--json").stdout) == []
    assert json.loads(tb.ctl("peers", "--json").stdout) == []
    assert json.loads(tb.ctl("devices", "--json").stdout) == []
    # --system (the default) and --user find the bus through the environment.
    for option, var in [("--system", "DBUS_SYSTEM_BUS_ADDRESS"),
                        ("--user", "DBUS_SESSION_BUS_ADDRESS")]:
        for args in ([option, "list"], ["list"]) if option == "--system" else ([option, "list"],):
            out = subprocess.run([CTL, *args], capture_output=True, text=True, timeout=TIMEOUT,
                                 env=dict(os.environ, **{var: tb.address}))
            assert out.returncode == 0 and out.stdout == "No objects.\n", (args, out)


@test
def unknown_uuid_exits_4_naming_uuid_and_error(tb):
    u = random_uuid()
    for verb in ["show", "lookup", "remove"]:
        out = tb.ctl(verb, u, expect=4)
        assert u in out.stderr, out.stderr
        assert "(org.vhostshare.share1.Error.NotFound)" in out.stderr, out.stderr
    out = tb.ctl("detach", "999", expect=4)
    assert "org.vhostshare.share1.Error.NotFound" in out.stderr, out.stderr


@test
def export_lookup_round_trip(tb):
    proc, lines = tb.spawn_ctl("export", "--size=64K")
    line = lines.wait_for(r"^Exported ")
    m = re.match(rf"^Exported ({UUID_RE}) \(65536 bytes\) as (/org/vhostshare/share1/object/[0-9a-f]{{32}})\.$", line)
    assert m, line
    u, path = m.groups()
    assert path.endswith(u.replace("-", ""))

    out = tb.ctl("lookup", u, "--verify")
    assert f"{u}: 65536 bytes, memfd" in out.stdout, out.stdout
    assert "expected pattern" in out.stdout
    info = json.loads(tb.ctl("lookup", u, "--verify", "--json").stdout)
    assert info["uuid"] == u and info["size"] == 65536 and info["verified"] is True, info
    assert info["kind"] == "memfd"

    out = tb.ctl("list")
    rows = [l.split() for l in out.stdout.splitlines()]
    assert rows[0] == ["UUID", "TYPE", "OWNER", "SIZE", "EXPORTER", "LOOKUPS"], rows
    row = [r for r in rows if r and r[0] == u]
    assert len(row) == 1, out.stdout
    assert row[0][1] == "memfd" and row[0][2].startswith("vhost-sharectl[") and row[0][3] == "64.0K"
    assert row[0][4] == "memfd" and row[0][5] == "2", row
    assert out.stdout.endswith("\n1 object listed.\n"), out.stdout

    shown = json.loads(tb.ctl("show", u, "--json").stdout)
    assert shown["uuid"] == u and shown["lookup_count"] == 2 and shown["size"] == 65536
    assert shown["owner_bus_name"].startswith(":1.") and shown["owner_path"] == "/"
    out = tb.ctl("show", u.replace("-", "").upper())  # the 32-digit form works too
    assert out.stdout.startswith(u + "\n") and "memfd" in out.stdout, out.stdout

    # Interrupting the exporter removes the object.
    assert stop(proc) == 0
    lines.wait_for(rf"^Removed {u}\.$")
    tb.ctl("show", u, expect=4)


@test
def export_file_detach_remove(tb):
    data = os.urandom(10000)
    src = os.path.join(tb.dir, "payload")
    with open(src, "wb") as f:
        f.write(data)
    out = tb.ctl("export", src, "--detach", "--json")
    first = out.stdout.splitlines()[0]
    info = json.loads(first)
    u = info["uuid"]
    assert info["size"] == len(data), info
    # The exporter has left; the service holds the object now.
    listed = json.loads(tb.ctl("list", "--json").stdout)
    assert [o["uuid"] for o in listed] == [u], listed
    assert listed[0]["owner"] == "service" and listed[0]["owner_bus_name"] == "", listed
    assert listed[0]["name"] == "vhost-sharectl:payload", listed

    dst = os.path.join(tb.dir, "copy")
    tb.ctl("lookup", u, "--output", dst)
    with open(dst, "rb") as f:
        assert f.read() == data
    # Not the pattern: --verify says so with its own exit code.
    out = tb.ctl("lookup", u, "--verify", expect=8)
    assert u in out.stderr
    # Raw bytes to standard output.
    raw = subprocess.run(tb.ctl_args("lookup", u, "-o", "-"), capture_output=True,
                         timeout=TIMEOUT)
    assert raw.returncode == 0 and raw.stdout == data
    # ... still checked with --verify, the verdict on standard error.
    raw = subprocess.run(tb.ctl_args("lookup", u, "-o", "-", "--verify"), capture_output=True,
                         timeout=TIMEOUT)
    assert raw.returncode == 8 and raw.stdout == data and u.encode() in raw.stderr, raw.returncode

    # A chosen UUID that is taken: Exists (6).
    out = tb.ctl("export", "--size=4096", f"--uuid={u}", expect=6)
    assert "org.vhostshare.share1.Error.Exists" in out.stderr and u in out.stderr

    # Disown: only the owner may hand an object over; this one is the service's now.
    def disown(uuid):
        return subprocess.run(["gdbus", "call", "--address", tb.address, "--dest",
                               "org.vhostshare.share1", "--object-path", "/org/vhostshare/share1",
                               "--method", "org.vhostshare.share1.Manager.Disown", uuid],
                              capture_output=True, text=True, timeout=TIMEOUT)
    out = disown(u)
    assert out.returncode != 0 and "org.vhostshare.share1.Error.NotOwner" in out.stderr, out
    out = disown(random_uuid())
    assert out.returncode != 0 and "org.vhostshare.share1.Error.NotFound" in out.stderr, out

    assert tb.ctl("remove", u).stdout == f"Removed {u}.\n"
    tb.ctl("remove", u, expect=4)


@test
def export_refuses_input_over_max_size(tb):
    src = os.path.join(tb.dir, "payload")
    with open(src, "wb") as f:
        f.write(os.urandom(10000))
    # A regular file says its size; /dev/zero and a pipe never end and are
    # counted as they are read. Nothing is exported.
    for source in [src, "/dev/zero"]:
        out = tb.ctl("export", source, "--max-size=4K", expect=1)
        assert f"{source} is larger than 4.0K (--max-size); nothing was exported" in out.stderr, \
            out.stderr
    with open("/dev/zero", "rb") as zero:
        out = subprocess.run(tb.ctl_args("export", "-", "--max-size=1M"), stdin=zero,
                             capture_output=True, text=True, timeout=TIMEOUT)
    assert out.returncode == 1 and "- is larger than 1.0M (--max-size)" in out.stderr, out
    assert json.loads(tb.ctl("list", "--json").stdout) == []
    # At the limit it is exported.
    out = tb.ctl("export", src, "--max-size=10000", "--detach", "--json")
    assert json.loads(out.stdout.splitlines()[0])["size"] == 10000
    tb.ctl("export", src, "--max-size=0", expect=2)


@test
def detached_exports_meet_the_uid_quota(tb):
    # Issue 14.6: "export --size=1G --detach" again and again filled the
    # service; a uid's detached buffers count against its quota.
    tb.stop_service()
    tb.start_service("[Service]\nMaxBytesPerUid=3M\n")
    tb.ctl("export", "--size=2M", "--detach")
    out = tb.ctl("export", "--size=2M", "--detach", expect=1)
    assert "org.vhostshare.share1.Error.QuotaExceeded" in out.stderr, out.stderr
    # The service's own text, which names the limit, comes with -v.
    out = tb.ctl("-v", "export", "--size=2M", "--detach", expect=1)
    assert "MaxBytesPerUid=3145728" in out.stderr, out.stderr
    assert len(json.loads(tb.ctl("list", "--json").stdout)) == 1


def lookup_fd(tb, uuid):
    """The fd a D-Bus Lookup hands an importer."""
    from gi.repository import Gio, GLib
    bus = Gio.DBusConnection.new_for_address_sync(
        tb.address, Gio.DBusConnectionFlags.AUTHENTICATION_CLIENT
        | Gio.DBusConnectionFlags.MESSAGE_BUS_CONNECTION, None, None)
    reply, fds = bus.call_with_unix_fd_list_sync(
        "org.vhostshare.share1", "/org/vhostshare/share1", "org.vhostshare.share1.Manager",
        "Lookup", GLib.Variant("(s)", (uuid,)), GLib.VariantType("(h)"),
        Gio.DBusCallFlags.NONE, TIMEOUT * 1000, None, None)
    fd = fds.get(reply.unpack()[0])
    bus.close_sync(None)
    return fd


@test
def export_read_only_seals_against_importers(tb):
    # Issue 14.7: importers get the exporter's own file description; it is
    # theirs to write unless the exporter seals it (--read-only).
    for args, writable in ((["--size=4096"], True), (["--size=4096", "--read-only"], False)):
        out = tb.ctl("export", *args, "--detach", "-q")
        uuid = out.stdout.strip()
        fd = lookup_fd(tb, uuid)
        try:
            try:
                os.pwrite(fd, b"importer was here", 0)
                wrote = True
            except PermissionError:
                wrote = False
            assert wrote == writable, (args, wrote)
        finally:
            os.close(fd)
        tb.ctl("remove", uuid)


@test
def unprivileged_caller_exits_5(tb):
    out = tb.ctl("export", "--size=4096", expect=5, user=65534)
    assert "AccessDenied" in out.stderr, out.stderr
    # Reading is for everyone.
    tb.ctl("list", user=65534)


@test
def peers_through_the_hub(tb):
    dev, dlines = tb.device("--export=2", "--size=8192")
    exported = [dlines.wait_for(r"^EXPORTED ").split()[1] for _ in range(2)]
    dlines.wait_for(r"^DONE")

    peers = json.loads(tb.ctl("peers", "--json").stdout)
    assert len(peers) == 1, peers
    p = peers[0]
    assert set(p) == {"id", "path", "name", "role", "socket_path", "state", "features",
                      "protocol_features", "shared_objects", "pid", "uid", "exported_count",
                      "last_error"}, p
    assert p["role"] == "back-end" and p["state"] == "ready" and p["shared_objects"] is True
    assert p["pid"] == dev.pid and p["exported_count"] == 2 and p["socket_path"] == tb.hub
    assert p["path"] == "/org/vhostshare/share1/peer/" + p["id"]

    out = tb.ctl("peers")
    lines = out.stdout.splitlines()
    assert lines[0].split() == ["ID", "NAME", "ROLE", "STATE", "SHARING", "EXPORTED", "PID",
                                "SOCKET"], lines
    assert lines[1].split()[:2] == [p["id"], p["name"].split("(")[0]], lines
    assert lines[1].split()[-6:] == ["back-end", "ready", "yes", "2", str(dev.pid), tb.hub], lines
    assert lines[-1] == "1 peer listed.", lines

    listed = json.loads(tb.ctl("list", "--json").stdout)
    assert sorted(o["uuid"] for o in listed) == sorted(exported), listed
    for o in listed:
        assert set(o) == {"uuid", "path", "type", "owner", "owner_path", "owner_bus_name",
                          "size", "exporter", "name", "device", "created_usec",
                          "lookup_count", "buffer_type", "owner_pid", "owner_uid",
                          "owner_command"}, o
        assert o["type"] == "vhost-device" and o["owner_path"] == p["path"]
        assert o["owner"] == p["name"].split("(")[0] and o["size"] == 0
    uuids = tb.ctl("list", "--no-legend").stdout.split("\n")
    assert sorted(l.split()[0] for l in uuids if l) == sorted(exported)

    # A lookup through the hub reaches the back-end's buffer.
    out = tb.ctl("lookup", exported[0], "--verify")
    assert "8192 bytes" in out.stdout and "expected pattern" in out.stdout, out.stdout

    out = tb.ctl("detach", p["id"])
    assert out.stdout == f"Detached {p['path']}.\n", out.stdout
    dlines.wait_for(r"^DISCONNECTED")
    assert json.loads(tb.ctl("list", "--json").stdout) == []
    assert json.loads(tb.ctl("peers", "--json").stdout) == []


@test
def attach_and_detach_by_name(tb):
    sock = os.path.join(tb.dir, "dev.sock")
    dev, dlines = tb.spawn([DEVICE, f"--listen={sock}", "--export=1"])
    dlines.wait_for(r"^LISTENING")
    out = tb.ctl("attach", "connect", sock)
    m = re.match(r"^Attached (\S+) as (/org/vhostshare/share1/peer/\d+)\.$", out.stdout)
    assert m and m.group(1) == sock, out.stdout
    dlines.wait_for(r"^EXPORTED")
    peers = json.loads(tb.ctl("peers", "--json").stdout)
    name = [p["name"] for p in peers if p["socket_path"] == sock][0]
    tb.ctl("detach", name)
    assert all(p["socket_path"] != sock for p in json.loads(tb.ctl("peers", "--json").stdout))
    tb.ctl("detach", "no-such-peer", expect=4)

    # accept: a listener; peers appear as they connect.
    sock2 = os.path.join(tb.dir, "second-hub.sock")
    out = tb.ctl("attach", "accept", sock2)
    assert re.match(rf"^Listening at {re.escape(sock2)} \(accept\) as "
                    r"/org/vhostshare/share1/listener/\d+; peers appear as they connect\.$",
                    out.stdout), out
    dev2, d2lines = tb.spawn([DEVICE, f"--connect={sock2}", "--export=1"])
    d2lines.wait_for(r"^DONE")
    peer = [p for p in json.loads(tb.ctl("peers", "--json").stdout) if p["socket_path"] == sock2]
    assert len(peer) == 1 and peer[0]["state"] == "ready", peer
    tb.ctl("detach", peer[0]["path"])
    d2lines.wait_for(r"^DISCONNECTED")


@test
def attach_never_destroys_a_file(tb):
    # The example: "attach accept /tmp/f" on a file holding data.
    f = os.path.join(tb.dir, "f")
    with open(f, "wb") as out:
        out.write(b"precious data\n")
    before = os.stat(f)
    for role in ("accept", "serve"):
        err = tb.ctl("attach", role, f, expect=6).stderr
        assert "NotASocket" in err or "not a socket" in err, err
    after = os.stat(f)
    assert (after.st_ino, after.st_size) == (before.st_ino, before.st_size)
    with open(f, "rb") as back:
        assert back.read() == b"precious data\n"
    # Another program's live socket: left alone, exit 6 too.
    live = os.path.join(tb.dir, "live.sock")
    srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    srv.bind(live)
    srv.listen(1)
    try:
        tb.ctl("attach", "accept", live, expect=6)
        probe = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        probe.connect(live)
        probe.close()
    finally:
        srv.close()


@test
def listeners_listed_and_detached(tb):
    # The testbed's own --accept socket is a listener of root's.
    listeners = json.loads(tb.ctl("listeners", "--json").stdout)
    assert len(listeners) == 1, listeners
    hub = listeners[0]
    assert set(hub) == {"id", "path", "socket_path", "role", "owner", "group", "mode",
                        "accepted_count", "created_usec"}, hub
    st = os.stat(tb.hub)
    assert hub["socket_path"] == tb.hub and hub["role"] == "accept" and hub["owner"] == 0, hub
    assert hub["group"] == st.st_gid and hub["mode"] == stat.S_IMODE(st.st_mode), hub
    assert hub["path"] == "/org/vhostshare/share1/listener/" + hub["id"], hub
    assert hub["accepted_count"] == 0 and hub["created_usec"] > 0, hub

    vmm = os.path.join(tb.dir, "vmm.sock")
    out = tb.ctl("attach", "serve", vmm)
    m = re.match(r"^Listening at (\S+) \(serve\) as (/org/vhostshare/share1/listener/(\d+)); "
                 r"peers appear as they connect\.$", out.stdout)
    assert m and m.group(1) == vmm, out.stdout
    vmm_path, vmm_id = m.group(2), m.group(3)
    # The same socket again, by another name: Exists (exit 6), and nothing changes.
    out = tb.ctl("attach", "accept", os.path.join(tb.dir, ".", "vmm.sock"), expect=6)
    assert "org.vhostshare.share1.Error.Exists" in out.stderr, out.stderr

    dev, dlines = tb.device("--export=1")
    dlines.wait_for(r"^DONE")
    out = tb.ctl("listeners")
    lines = out.stdout.splitlines()
    assert lines[0].split() == ["ID", "PATH", "ROLE", "OWNER", "GROUP", "MODE", "ACCEPTED",
                                "CREATED"], lines
    row = lines[1].split()
    assert row[:7] == [hub["id"], tb.hub, "accept", "root", grp.getgrgid(st.st_gid).gr_name,
                       "%04o" % stat.S_IMODE(st.st_mode), "1"], lines
    assert re.fullmatch(TIME_RE, " ".join(row[7:])), lines
    assert lines[2].split()[:3] == [vmm_id, vmm, "serve"], lines
    assert lines[-1] == "2 listeners listed.", lines
    out = tb.ctl("listeners", "--no-legend")
    assert [line.split()[0] for line in out.stdout.splitlines()] == [hub["id"], vmm_id], out

    # A number is a peer's id; a listener's is written listener/ID.
    peer_ids = [p["id"] for p in json.loads(tb.ctl("peers", "--json").stdout)]
    if vmm_id not in peer_ids:
        out = tb.ctl("detach", vmm_id, expect=4)
        assert f"listener/{vmm_id}" in out.stderr, out.stderr
    # By socket path (another spelling of it): gone, file and all.
    out = tb.ctl("detach", os.path.join(tb.dir, ".", "vmm.sock"))
    assert out.stdout == f"Detached {vmm_path}.\n", out.stdout
    assert not os.path.exists(vmm)
    # By listener/ID: the hub's socket goes, the back-end it accepted stays.
    out = tb.ctl("detach", "listener/" + hub["id"])
    assert out.stdout == f"Detached {hub['path']}.\n", out.stdout
    assert not os.path.exists(tb.hub)
    assert json.loads(tb.ctl("listeners", "--json").stdout) == []
    assert tb.ctl("listeners").stdout == "No listeners.\n"
    assert [p["pid"] for p in json.loads(tb.ctl("peers", "--json").stdout)] == [dev.pid]
    out = tb.ctl("detach", "listener/" + hub["id"], expect=4)
    out = tb.ctl("detach", tb.hub, expect=4)
    assert tb.hub in out.stderr, out.stderr


@test
def monitor_prints_events(tb):
    mon, mlines = tb.spawn_ctl("monitor")
    mlines.wait_for(r"^Monitoring org\.vhostshare\.share1")
    out = tb.ctl("export", "--size=4096", "--detach")
    u = re.search(UUID_RE, out.stdout).group(0)
    tb.ctl("lookup", u)
    tb.ctl("remove", u)
    added = mlines.wait_for(r" Added ")
    assert re.fullmatch(rf"{TIME_RE} Added +{u} dma-buf /org/vhostshare/share1/object/"
                        f"{u.replace('-', '')}", added), added
    changed = mlines.wait_for(r" ObjectChanged ")
    assert f"{u} " in changed and "OwnerBusName=\"\"" in changed, changed
    changed = mlines.wait_for(r" ObjectChanged ")
    assert changed.endswith("LookupCount=1"), changed
    removed = mlines.wait_for(r" Removed ")
    assert re.fullmatch(rf"{TIME_RE} Removed +{u} /org/vhostshare/share1/object/\S+", removed)

    # Peers come and go.
    dev, dlines = tb.device("--export=1")
    dlines.wait_for(r"^DONE")
    line = mlines.wait_for(r" PeerAdded ")
    assert "Role=back-end" in line and f"SocketPath={tb.hub}" in line, line
    # The hub's listener counted the connection, and the peer got ready.
    # Both are PropertiesChanged sent after a short gathering, a peer's with
    # its values at sending time: either may come first.
    seen = {}
    while len(seen) < 2:
        line = mlines.wait_for(r" (ListenerChanged |PeerChanged .*State=ready)")
        seen["listener" if " ListenerChanged " in line else "peer"] = line
    assert re.fullmatch(rf"{TIME_RE} ListenerChanged +1 /org/vhostshare/share1/listener/1 "
                        r"AcceptedCount=1", seen["listener"]), seen["listener"]
    mlines.wait_for(r" Added ")
    stop(dev, signal.SIGTERM)
    mlines.wait_for(r" Removed ")
    mlines.wait_for(r" PeerRemoved ")

    # Listeners come and go.
    sock = os.path.join(tb.dir, "vmm.sock")
    tb.ctl("attach", "serve", sock)
    line = mlines.wait_for(r" ListenerAdded ")
    assert re.fullmatch(rf"{TIME_RE} ListenerAdded +2 /org/vhostshare/share1/listener/2 .*",
                        line), line
    assert f"SocketPath={sock}" in line and "Role=serve" in line and "Owner=0" in line, line
    tb.ctl("detach", sock)
    line = mlines.wait_for(r" ListenerRemoved ")
    assert re.fullmatch(rf"{TIME_RE} ListenerRemoved +2 /org/vhostshare/share1/listener/2",
                        line), line
    assert stop(mon, signal.SIGTERM) == 0


@test
def monitor_json(tb):
    mon, mlines = tb.spawn_ctl("monitor", "--json")
    # JSON mode prints no header, so the subscription's start is unknown:
    # export until an Added arrives (each export is a new object).
    exported = set()
    deadline = time.monotonic() + TIMEOUT
    event = None
    while event is None:
        assert time.monotonic() < deadline, "monitor --json printed no Added event"
        out = tb.ctl("export", "--size=4096", "--detach", "--json")
        exported.add(json.loads(out.stdout.splitlines()[0])["uuid"])
        try:
            event = json.loads(mlines.wait_for(r'"event":\s*"Added"', timeout=0.5))
        except AssertionError:
            pass
    assert event["uuid"] in exported and event["type"] == "dma-buf", event
    assert isinstance(event["time_usec"], int) and event["path"].endswith(
        event["uuid"].replace("-", "")), event
    tb.ctl("remove", event["uuid"])
    removed = json.loads(mlines.wait_for(r'"event":\s*"Removed"'))
    assert removed["uuid"] == event["uuid"], removed
    assert stop(mon) == 0


@test
def allocate_and_devices(tb):
    assert json.loads(tb.ctl("devices", "--json").stdout) == []
    assert tb.ctl("devices").stdout == "No devices.\n"
    out = tb.ctl("allocate", "64K", "--device=/dev/dri/card99", expect=4)
    assert "/dev/dri/card99" in out.stderr and "org.vhostshare.share1.Error.NoDevice" in out.stderr
    # Without a DRM device the service hands out a sealed memfd only when asked.
    out = tb.ctl("allocate", "64K", expect=4)
    assert "org.vhostshare.share1.Error.NoDevice" in out.stderr and "memfd" in out.stderr
    info = json.loads(tb.ctl("allocate", "64K", "--device=memfd", "--detach",
                             "--json").stdout.splitlines()[0])
    assert info["size"] == 65536 and info["path"].endswith(info["uuid"].replace("-", ""))
    shown = json.loads(tb.ctl("show", info["uuid"], "--json").stdout)
    assert shown["type"] == "dma-buf" and shown["size"] == 65536 and shown["owner"] == "service"


@test
def held_export_removed_by_someone_else(tb):
    proc, lines = tb.spawn_ctl("export", "--size=4096")
    u = re.search(UUID_RE, lines.wait_for(r"^Exported ")).group(0)
    tb.ctl("remove", u)  # root may remove anything
    assert proc.wait(timeout=TIMEOUT) == 0


@test
def held_export_ends_when_the_service_stops(tb):
    proc, lines = tb.spawn_ctl("export", "--size=4096")
    lines.wait_for(r"^Holding")
    assert tb.stop_service() == 0
    assert proc.wait(timeout=TIMEOUT) == 3


@test
def lookup_timeout_exits_7(tb):
    tb.stop_service()
    tb.start_service("[Service]\nLookupTimeoutMSec=200\n")
    dev, dlines = tb.device("--export=1", "--no-answer")
    u = dlines.wait_for(r"^EXPORTED ").split()[1]
    out = tb.ctl("lookup", u, expect=7)
    assert u in out.stderr and "org.vhostshare.share1.Error.Timeout" in out.stderr, out.stderr


@test
def monitor_sees_the_service_come_and_go(tb):
    tb.stop_service()
    mon, mlines = tb.spawn_ctl("monitor")
    mlines.wait_for(r"^Monitoring")
    tb.start_service()
    assert re.fullmatch(rf"{TIME_RE} ServiceStarted +:1\.\d+", mlines.wait_for(r"ServiceStarted"))
    tb.ctl("export", "--size=4096", "--detach")
    mlines.wait_for(r" Added ")
    assert tb.stop_service() == 0
    mlines.wait_for(r" ServiceStopped ")
    # The monitor outlives the service.
    tb.start_service()
    mlines.wait_for(r" ServiceStarted ")
    assert stop(mon) == 0


COMPLETE = r"""
source /usr/share/bash-completion/bash_completion
source "$1"
shift
COMP_LINE="$*"
COMP_POINT=${#COMP_LINE}
read -ra COMP_WORDS <<<"$COMP_LINE"
[[ $COMP_LINE == *" " ]] && COMP_WORDS+=("")
COMP_CWORD=$((${#COMP_WORDS[@]} - 1))
_vhost_sharectl
printf '%s\n' "${COMPREPLY[@]}"
"""


def complete(tb, line):
    script = os.path.join(vshtest.source_root(), "data", "completion", "vhost-sharectl")
    out = subprocess.run(["bash", "-c", COMPLETE, "complete", script, line], capture_output=True,
                         text=True, timeout=TIMEOUT,
                         env=dict(os.environ, PATH=os.path.dirname(CTL) + ":" + os.environ["PATH"]))
    assert out.returncode == 0, out.stderr
    return sorted(w for w in out.stdout.split("\n") if w)


@test
def bash_completion(tb):
    assert os.path.exists("/usr/share/bash-completion/bash_completion"), \
        "bash-completion is not installed (tools/install-deps)"
    assert complete(tb, "vhost-sharectl ") == sorted(
        ["status", "list", "show", "peers", "listeners", "monitor", "export", "lookup", "remove",
         "attach", "detach", "devices", "allocate", "help"])
    assert "export" in complete(tb, "vhost-sharectl help ")
    assert complete(tb, "vhost-sharectl list --json=") == ["off", "pretty", "short"]
    for option in ("--quiet", "--full", "--utc", "--no-pager", "--no-ask-password", "--verbose"):
        assert option in complete(tb, "vhost-sharectl list --"), option
    assert "--verify" in complete(tb, "vhost-sharectl lookup x --")
    assert "--verify" not in complete(tb, "vhost-sharectl list --")
    assert complete(tb, "vhost-sharectl attach ") == ["accept", "connect", "serve"]
    # Live UUIDs from the service the command line names.
    out = tb.ctl("export", "--size=4096", "--detach")
    u = re.search(UUID_RE, out.stdout).group(0)
    assert complete(tb, f"vhost-sharectl --address={tb.address} show ") == [u]
    assert complete(tb, f"vhost-sharectl --address={tb.address} remove {u[:4]}") == [u]
    # detach: peers' ids and listeners' sockets.
    assert complete(tb, f"vhost-sharectl --address={tb.address} detach /") == [tb.hub]


def translation_env():
    locale_dir = os.path.join(BUILD, "po")
    e = dict(os.environ, LANGUAGE="de", LANG="C.UTF-8", LC_ALL="C.UTF-8",
             TEXTDOMAINDIR=locale_dir)
    return e


@test
def german_translation(tb):
    mo = os.path.join(BUILD, "po", "de", "LC_MESSAGES", "vhost-share.mo")
    assert os.path.exists(mo), f"{mo} was not built"
    e = translation_env()
    out = tb.ctl("list", env=e)
    assert out.stdout == "Keine Objekte.\n", out.stdout
    out = tb.ctl("frob", env=e, expect=2)
    assert "unbekannter Befehl" in out.stderr, out.stderr
    out = tb.ctl("show", random_uuid(), env=e, expect=4)
    assert "kann Objekt" in out.stderr and "org.vhostshare.share1.Error.NotFound" in out.stderr
    out = tb.ctl("--help", env=e)
    assert "Befehle:" in out.stdout, out.stdout
    out = subprocess.run([DAEMON, "--help"], capture_output=True, text=True, env=e,
                         timeout=TIMEOUT)
    assert "Ohne D-Bus laufen" in out.stdout, out.stdout


def same_user_as_the_service():
    """A user's own service on its session bus lets that user export and
    look up (as the demo does for a user who is not root)."""
    tmp = tempfile.TemporaryDirectory(prefix="vhost-share-client-user-")
    procs = []
    try:
        os.chmod(tmp.name, 0o777)
        # Copies the user can reach even when the build tree is private.
        ctl = os.path.join(tmp.name, "vhost-sharectl")
        daemon = os.path.join(tmp.name, "vhost-shared")
        for src, dst in [(CTL, ctl), (DAEMON, daemon)]:
            with open(src, "rb") as fi, open(dst, "wb") as fo:
                fo.write(fi.read())
            os.chmod(dst, 0o755)
        as_user = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"]
        user_env = dict(os.environ, HOME=tmp.name, TMPDIR=tmp.name)
        user_env.pop("DBUS_SYSTEM_BUS_ADDRESS", None)
        bus = subprocess.Popen([*as_user, "dbus-daemon", "--session", "--nofork", "--nopidfile",
                                f"--address=unix:path={tmp.name}/bus", "--print-address=1"],
                               stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
                               env=user_env)
        procs.append(bus)
        address = bus.stdout.readline().strip()
        assert address, "the user's dbus-daemon printed no address"
        config = os.path.join(tmp.name, "vhost-shared.conf")
        open(config, "w").close()
        service = subprocess.Popen([*as_user, daemon, f"--bus-address={address}",
                                    f"--config={config}"],
                                   stdout=sys.stderr, stderr=subprocess.PIPE, env=user_env)
        procs.append(service)
        # "running" comes before the name is owned; "Owning" after.
        Lines(service, service.stderr).wait_for(r"Owning")

        def run(*args, expect=0):
            out = subprocess.run([*as_user, ctl, f"--address={address}", *args],
                                 capture_output=True, text=True, timeout=TIMEOUT, env=user_env)
            assert out.returncode == expect, (args, out)
            return out

        u = re.search(UUID_RE, run("export", "--size=4096", "--detach").stdout).group(0)
        assert "expected pattern" in run("lookup", u, "--verify").stdout
        run("remove", u)
        service.send_signal(signal.SIGTERM)
        assert service.wait(timeout=TIMEOUT) == 0
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
            p.wait(timeout=TIMEOUT)
            for stream in (p.stdout, p.stderr):
                if stream:
                    stream.close()
        tmp.cleanup()


def no_service():
    tb = Testbed(start_service=False)
    try:
        out = tb.ctl("list", expect=3)
        assert "org.freedesktop.DBus.Error.ServiceUnknown" in out.stderr, out.stderr
        out = subprocess.run([CTL, "--address=unix:path=" + os.path.join(tb.dir, "nope"), "list"],
                             capture_output=True, text=True, timeout=TIMEOUT)
        assert out.returncode == 3, out
    finally:
        tb.close()


def main():
    if os.geteuid() != 0:
        # The service lets only root (or its group) export, and one case runs
        # the client as another user.
        print("Bail out! test-client calls privileged methods and must run as root")
        return 1
    cases = [(fn.__name__, lambda fn=fn: with_testbed(fn)) for fn in tests]
    cases += [("no_service_exits_3", no_service),
              ("same_user_as_the_service", same_user_as_the_service)]
    return vshtest.run_tap(cases)


if __name__ == "__main__":
    sys.exit(main())
