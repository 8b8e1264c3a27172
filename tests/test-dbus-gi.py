#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""A GNOME-style consumer of vhost-shared: Gio.DBusObjectManagerClient on a
private bus (a dbus-daemon with the shipped policy) sees shared objects and
peers appear and disappear, with their properties, as a desktop tool
would. Output is TAP."""

import fcntl
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import traceback

import gi

gi.require_version("Gio", "2.0")
from gi.repository import Gio, GLib  # noqa: E402

NAME = "org.vhostshare.share1"
ROOT = "/org/vhostshare/share1"
MANAGER = "org.vhostshare.share1.Manager"
OBJECT = "org.vhostshare.share1.Object"
PEER = "org.vhostshare.share1.Peer"
TIMEOUT = 10.0

BUS_CONFIG = """<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>system</type>
  <listen>unix:path={dir}/bus</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow user="*"/>
    <deny own="*"/>
    <deny send_type="method_call"/>
    <allow send_type="signal"/>
    <allow send_requested_reply="true" send_type="method_return"/>
    <allow send_requested_reply="true" send_type="error"/>
    <allow receive_type="method_call"/>
    <allow receive_type="method_return"/>
    <allow receive_type="error"/>
    <allow receive_type="signal"/>
    <allow send_destination="org.freedesktop.DBus" send_interface="org.freedesktop.DBus"/>
  </policy>
  <include>{policy}</include>
</busconfig>
"""


def env(name):
    value = os.environ.get(name)
    if not value:
        print(f"Bail out! {name} is not set (run through meson test)")
        sys.exit(1)
    return value


class Testbed:
    """dbus-daemon + vhost-shared in a temporary directory."""

    def __init__(self):
        build = env("VHOST_SHARE_BUILD_ROOT")
        self.tmp = tempfile.TemporaryDirectory(prefix="vhost-share-gi-")
        self.dir = self.tmp.name
        conf = os.path.join(self.dir, "bus.conf")
        with open(conf, "w") as f:
            f.write(BUS_CONFIG.format(dir=self.dir,
                                      policy=os.path.join(build, "data", "org.vhostshare.share1.conf")))
        self.bus = subprocess.Popen(["dbus-daemon", "--nofork", "--nopidfile", "--print-address=1",
                                     f"--config-file={conf}"], stdout=subprocess.PIPE,
                                    stderr=sys.stderr, text=True)
        self.address = self.bus.stdout.readline().strip()
        assert self.address, "dbus-daemon printed no address"

        notify = os.path.join(self.dir, "notify")
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        sock.bind(notify)
        sock.settimeout(TIMEOUT)
        config = os.path.join(self.dir, "vhost-shared.conf")
        open(config, "w").close()
        self.service = subprocess.Popen(
            [os.path.join(build, "service", "vhost-shared"), f"--bus-address={self.address}",
             f"--config={config}"],
            env=dict(os.environ, NOTIFY_SOCKET=notify), stdout=sys.stderr, stderr=sys.stderr)
        deadline = time.monotonic() + TIMEOUT
        while True:
            sock.settimeout(max(0.01, deadline - time.monotonic()))
            try:
                msg = sock.recv(4096).decode()
            except socket.timeout:
                raise AssertionError("vhost-shared did not send READY=1 in time")
            if "READY=1" in msg.split("\n"):
                break
        sock.close()

    def connect(self):
        flags = (Gio.DBusConnectionFlags.AUTHENTICATION_CLIENT
                 | Gio.DBusConnectionFlags.MESSAGE_BUS_CONNECTION)
        return Gio.DBusConnection.new_for_address_sync(self.address, flags, None, None)

    def close(self):
        self.service.send_signal(signal.SIGTERM)
        code = self.service.wait(timeout=TIMEOUT)
        self.bus.terminate()
        self.bus.wait(timeout=TIMEOUT)
        self.tmp.cleanup()
        assert code == 0, f"vhost-shared exited with {code}"


def sealed_memfd(size):
    fd = os.memfd_create("gi-test", os.MFD_CLOEXEC | os.MFD_ALLOW_SEALING)
    os.ftruncate(fd, size)
    os.pwrite(fd, b"gnome", 0)
    fcntl.fcntl(fd, fcntl.F_ADD_SEALS, fcntl.F_SEAL_SHRINK | fcntl.F_SEAL_GROW)
    return fd


def call(conn, method, args, reply_type, fds=None):
    # The list takes the fds it is given: hand it duplicates.
    fd_list = Gio.UnixFDList.new_from_array([os.dup(fd) for fd in fds]) if fds else None
    result, _ = conn.call_with_unix_fd_list_sync(
        NAME, ROOT, MANAGER, method, args, GLib.VariantType.new(reply_type),
        Gio.DBusCallFlags.NONE, int(TIMEOUT * 1000), fd_list, None)
    return result.unpack()


class Watcher:
    """Records the object manager's object-added/-removed, in order."""

    def __init__(self, manager):
        self.manager = manager
        self.events = []
        manager.connect("object-added", lambda m, o: self.events.append(("added", o.get_object_path())))
        manager.connect("object-removed", lambda m, o: self.events.append(("removed", o.get_object_path())))

    def wait_for(self, event):
        ctx = GLib.MainContext.default()
        deadline = time.monotonic() + TIMEOUT
        while event not in self.events:
            if time.monotonic() > deadline:
                raise AssertionError(f"no {event} within {TIMEOUT}s; saw {self.events}")
            ctx.iteration(False) or time.sleep(0.001)
        return True


def object_manager(conn):
    return Gio.DBusObjectManagerClient.new_sync(
        conn, Gio.DBusObjectManagerClientFlags.NONE, NAME, ROOT, None, None, None)


tests = []


def test(fn):
    tests.append(fn)
    return fn


@test
def objects_appear_and_disappear(tb):
    conn = tb.connect()
    manager = object_manager(conn)
    assert manager.get_name_owner(), "the object manager sees no owner"
    assert manager.get_objects() == [], "objects before any export"
    watcher = Watcher(manager)

    fd = sealed_memfd(4096)
    uuid, path = call(conn, "Export", GLib.Variant("(hs)", (0, "")), "(so)", [fd])
    watcher.wait_for(("added", path))
    obj = manager.get_object(path)
    iface = obj.get_interface(OBJECT)
    assert iface is not None, f"{path} has no {OBJECT}"
    assert iface.get_cached_property("Uuid").unpack() == uuid
    assert iface.get_cached_property("Type").unpack() == "dma-buf"
    assert iface.get_cached_property("Size").unpack() == 4096
    assert iface.get_cached_property("OwnerBusName").unpack() == conn.get_unique_name()

    # LookupCount changes arrive as PropertiesChanged on the proxy.
    changed = []
    iface.connect("g-properties-changed", lambda p, c, i: changed.append(c.unpack()))
    call(conn, "Lookup", GLib.Variant("(s)", (uuid,)), "(h)")
    ctx = GLib.MainContext.default()
    deadline = time.monotonic() + TIMEOUT
    while not changed and time.monotonic() < deadline:
        ctx.iteration(False) or time.sleep(0.001)
    assert changed and changed[0].get("LookupCount") == 1, f"LookupCount change: {changed}"

    call(conn, "Remove", GLib.Variant("(s)", (uuid,)), "()")
    watcher.wait_for(("removed", path))
    assert manager.get_object(path) is None
    os.close(fd)


@test
def client_leaving_takes_its_objects(tb):
    conn = tb.connect()
    manager = object_manager(conn)
    watcher = Watcher(manager)
    other = tb.connect()
    fd = sealed_memfd(8192)
    uuid, path = call(other, "Export", GLib.Variant("(hs)", (0, "")), "(so)", [fd])
    watcher.wait_for(("added", path))
    other.close_sync(None)
    watcher.wait_for(("removed", path))
    assert watcher.events.count(("added", path)) == 1
    assert watcher.events.count(("removed", path)) == 1
    os.close(fd)


@test
def peers_appear_and_disappear(tb):
    conn = tb.connect()
    manager = object_manager(conn)
    watcher = Watcher(manager)
    sock = os.path.join(tb.dir, "nobody-listens.sock")
    (peer,) = call(conn, "AddPeer", GLib.Variant("(ss)", ("connect", sock)), "(o)")
    watcher.wait_for(("added", peer))
    iface = manager.get_object(peer).get_interface(PEER)
    assert iface.get_cached_property("Role").unpack() == "back-end"
    assert iface.get_cached_property("SocketPath").unpack() == sock
    assert iface.get_cached_property("State").unpack() == "connecting"
    call(conn, "RemovePeer", GLib.Variant("(o)", (peer,)), "()")
    watcher.wait_for(("removed", peer))


print(f"1..{len(tests)}")
failed = 0
for i, fn in enumerate(tests, 1):
    tb = None
    try:
        tb = Testbed()
        fn(tb)
        tb.close()
        tb = None
        print(f"ok {i} {fn.__name__}")
    except Exception as e:  # report every failure, keep going
        failed += 1
        for line in traceback.format_exc().splitlines():
            print("# " + line)
        print(f"not ok {i} {fn.__name__}")
    finally:
        if tb:
            tb.service.kill()
            tb.bus.kill()
            tb.service.wait()
            tb.bus.wait()
            tb.tmp.cleanup()
    sys.stdout.flush()
sys.exit(1 if failed else 0)
