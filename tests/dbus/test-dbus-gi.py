#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""A GNOME-style consumer of vhost-shared: Gio.DBusObjectManagerClient on a
private bus (a dbus-daemon with the shipped policy) sees shared objects and
peers appear and disappear, with their properties, as a desktop tool
would. Output is TAP."""

import fcntl
import os
import sys
import time

import gi

gi.require_version("Gio", "2.0")
from gi.repository import Gio, GLib  # noqa: E402

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), os.pardir, "helpers"))
import vshtest  # noqa: E402
from vshtest import TIMEOUT  # noqa: E402

NAME = "org.vhostshare.share1"
ROOT = "/org/vhostshare/share1"
MANAGER = "org.vhostshare.share1.Manager"
OBJECT = "org.vhostshare.share1.Object"
PEER = "org.vhostshare.share1.Peer"


class Testbed(vshtest.PrivateBus):
    """dbus-daemon + vhost-shared in a temporary directory."""

    def __init__(self):
        super().__init__("vhost-share-gi-")
        self.service = self.start_service()

    def connect(self):
        flags = (Gio.DBusConnectionFlags.AUTHENTICATION_CLIENT
                 | Gio.DBusConnectionFlags.MESSAGE_BUS_CONNECTION)
        return Gio.DBusConnection.new_for_address_sync(self.address, flags, None, None)

    def close(self):
        code = vshtest.stop_service(self.service)
        super().close()
        assert code == 0, f"vhost-shared exited with {code}"

    def kill(self):
        self.service.kill()
        self.service.wait()
        super().kill()


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


def iterate_until(done):
    """Runs the default main context until done() or TIMEOUT; returns done()."""
    ctx = GLib.MainContext.default()
    deadline = time.monotonic() + TIMEOUT
    while not done() and time.monotonic() < deadline:
        ctx.iteration(False) or time.sleep(0.001)
    return done()


class Watcher:
    """Records the object manager's object-added/-removed, in order."""

    def __init__(self, manager):
        self.manager = manager
        self.events = []
        manager.connect("object-added", lambda m, o: self.events.append(("added", o.get_object_path())))
        manager.connect("object-removed", lambda m, o: self.events.append(("removed", o.get_object_path())))

    def wait_for(self, event):
        if not iterate_until(lambda: event in self.events):
            raise AssertionError(f"no {event} within {TIMEOUT}s; saw {self.events}")
        return True


def object_manager(conn):
    return Gio.DBusObjectManagerClient.new_sync(
        conn, Gio.DBusObjectManagerClientFlags.NONE, NAME, ROOT, None, None, None)


tests, test = vshtest.registry()


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
    iterate_until(lambda: changed)
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
    # Nobody listens there: it waits, saying why and until when.
    assert iterate_until(lambda: iface.get_cached_property("State").unpack() == "waiting")
    assert iface.get_cached_property("LastError").unpack() == "connect: No such file or directory"
    assert iface.get_cached_property("NextRetryTimestamp").unpack() > 0
    call(conn, "RemovePeer", GLib.Variant("(o)", (peer,)), "()")
    watcher.wait_for(("removed", peer))


def run(fn):
    tb = Testbed()
    try:
        fn(tb)
        tb.close()
    except BaseException:
        tb.kill()  # also after a close that failed half-way
        raise


sys.exit(vshtest.run_tap([(fn.__name__, lambda fn=fn: run(fn)) for fn in tests]))
