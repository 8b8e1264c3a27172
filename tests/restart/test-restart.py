#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""vhost-shared restarted under a stand-in for systemd (fake_systemd.py:
the notify socket, the fd store, LISTEN_FDS): across a SIGTERM and across
a SIGKILL, every object comes back with its metadata and the same bytes,
listeners from the command line and from AddPeer serve again, objects of
a bus client that left meanwhile are purged, and after 100 restarts the
store, the fds and the memory are where they were. Output is TAP."""

import os
import queue
import re
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time
import uuid as uuid_mod

import gi

gi.require_version("Gio", "2.0")
from gi.repository import Gio, GLib  # noqa: E402

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), os.pardir, "helpers"))
import fake_systemd  # noqa: E402
import vshtest  # noqa: E402
from vshtest import TIMEOUT  # noqa: E402

NAME = "org.vhostshare.share1"
ROOT = "/" + NAME.replace(".", "/")
MANAGER, OBJECT, LISTENER = (f"{NAME}.{i}" for i in ("Manager", "Object", "Listener"))
# What must be the same after a restart (CreatedTimestamp included).
KEPT = ("Uuid", "Type", "OwnerBusName", "Size", "Exporter", "Name", "Device", "Allocator",
        "Inode", "InodeDevice", "CreatedTimestamp", "LookupCount")
GET_FEATURES = 1
VHOST_USER_VERSION = 0x1
VHOST_USER_REPLY = 0x4

tests, test = vshtest.registry()


def sealed_memfd(data):
    fd = os.memfd_create("restart-test", os.MFD_CLOEXEC | os.MFD_ALLOW_SEALING)
    os.write(fd, data)
    import fcntl
    fcntl.fcntl(fd, fcntl.F_ADD_SEALS, fcntl.F_SEAL_SHRINK | fcntl.F_SEAL_GROW | fcntl.F_SEAL_WRITE)
    return fd


class Testbed(vshtest.PrivateBus):
    """dbus-daemon, the fake systemd, vhost-shared --fd-store."""

    def __init__(self, *args, config_text=""):
        super().__init__("vhost-share-restart-")
        self.fake = fake_systemd.FakeSystemd(self.dir)
        self.config = config = os.path.join(self.dir, "vhost-shared.conf")
        self.log = os.path.join(self.dir, "service.log")
        with open(config, "w") as f:
            f.write(config_text)
        self.accept = os.path.join(self.dir, "accept.sock")
        self.serve = os.path.join(self.dir, "serve.sock")
        self.argv = [os.path.join(self.build, "service", "vhost-shared"),
                     f"--bus-address={self.address}", f"--config={config}", "--fd-store",
                     
                     f"--accept={self.accept}", f"--serve={self.serve}", *args]
        self.pid = None
        self.start()

    def start(self):
        self.pid = self.fake.start(self.argv, os.environ, log=self.log)
        assert self.fake.wait(lambda: self.fake.ready, TIMEOUT), "no READY=1 in time"
        self.conn_wait_owner()

    def conn_wait_owner(self):
        conn = self.connect()
        deadline = time.monotonic() + TIMEOUT
        while time.monotonic() < deadline:
            has, = conn.call_sync("org.freedesktop.DBus", "/org/freedesktop/DBus",
                                  "org.freedesktop.DBus", "NameHasOwner",
                                  GLib.Variant("(s)", (NAME,)), None, 0, -1, None).unpack()
            if has:
                conn.close_sync(None)
                return
        raise AssertionError("the service did not own its name in time")

    def stop(self, sig):
        os.kill(self.pid, sig)
        _, status = os.waitpid(self.pid, 0)
        self.pid = None
        return status

    def restart(self, sig=signal.SIGTERM):
        status = self.stop(sig)
        if sig == signal.SIGTERM:
            assert os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0, f"exit status {status}"
        # The fake reads everything the old instance sent before it starts
        # the next one, as systemd does (FakeSystemd.start()).
        self.start()

    def reload(self, config_text):
        """Writes the configuration, SIGHUP, and waits for READY=1 after
        RELOADING=1; returns the log lines the reload wrote."""
        with open(self.config, "w") as f:
            f.write(config_text)
        with open(self.log) as f:
            start = len(f.read())
        with self.fake.lock:
            seen = len(self.fake.messages)
        os.kill(self.pid, signal.SIGHUP)

        def reloaded():
            after = self.fake.messages[seen:]
            marks = [i for i, m in enumerate(after) if m.startswith("RELOADING=1")]
            return marks and any("READY=1" in m for m in after[marks[0]:])
        assert self.fake.wait(reloaded, TIMEOUT), "no RELOADING=1, READY=1 in time"
        with open(self.log) as f:
            return f.read()[start:]

    def connect(self):
        flags = (Gio.DBusConnectionFlags.AUTHENTICATION_CLIENT
                 | Gio.DBusConnectionFlags.MESSAGE_BUS_CONNECTION)
        return Gio.DBusConnection.new_for_address_sync(self.address, flags, None, None)

    def close(self):
        if self.pid:
            self.stop(signal.SIGTERM)
        self.fake.close()
        super().close()

    def kill(self):
        """After a failure: the service's log for the reader, then away."""
        if self.pid:
            self.stop(signal.SIGKILL)
        if os.path.exists(self.log):
            with open(self.log) as f:
                sys.stderr.write(f.read())
        self.fake.close()
        super().kill()


def call(conn, method, args, reply_type, fds=None):
    fd_list = Gio.UnixFDList.new_from_array([os.dup(fd) for fd in fds]) if fds else None
    result, out_fds = conn.call_with_unix_fd_list_sync(
        NAME, ROOT, MANAGER, method, args, GLib.VariantType.new(reply_type),
        Gio.DBusCallFlags.NONE, int(TIMEOUT * 1000), fd_list, None)
    return result.unpack(), out_fds


def lookup_bytes(conn, uuid, size):
    (index,), fds = call(conn, "Lookup", GLib.Variant("(s)", (uuid,)), "(h)")
    fd = fds.get(index)
    try:
        return os.pread(fd, size, 0)
    finally:
        os.close(fd)


def properties(conn, path, interface):
    result = conn.call_sync(NAME, path, "org.freedesktop.DBus.Properties", "GetAll",
                            GLib.Variant("(s)", (interface,)), None, 0, int(TIMEOUT * 1000),
                            None)
    return result.unpack()[0]


def objects(conn):
    """uuid -> the properties that must survive."""
    (listed,), _ = call(conn, "ListObjects", None, "(a(sso))")
    return {uuid: {k: v for k, v in properties(conn, path, OBJECT).items() if k in KEPT}
            for uuid, _, path in listed}


def listeners(conn):
    nodes = conn.call_sync(NAME, ROOT + "/listener", "org.freedesktop.DBus.Introspectable",
                           "Introspect", None, None, 0, -1, None).unpack()[0]
    paths = [ROOT + "/listener/" + line.split('"')[1]
             for line in nodes.splitlines() if "<node name=" in line]
    return {properties(conn, p, LISTENER)["SocketPath"]: p for p in paths}


def served(path, we_are_vmm):
    """Whether the service speaks vhost-user on path: as our front-end it
    asks us GET_FEATURES; as our back-end it answers ours."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
        s.settimeout(TIMEOUT)
        s.connect(path)
        if we_are_vmm:
            s.sendall(struct.pack("<III", GET_FEATURES, VHOST_USER_VERSION, 0))
            request, flags, size = struct.unpack("<III", s.recv(12))
            return request == GET_FEATURES and flags & VHOST_USER_REPLY and size == 8
        request, flags, size = struct.unpack("<III", s.recv(12))
        return request == GET_FEATURES and not flags & VHOST_USER_REPLY


def populate(bed):
    """Objects of every kind and an AddPeer listener; returns what to
    compare: (client connection, contents, object properties, extra path)."""
    conn = bed.connect()
    contents = {}
    for size in (4096, 65536, 3 * 4096):
        data = os.urandom(size)
        fd = sealed_memfd(data)
        (uuid, _), _ = call(conn, "Export", GLib.Variant("(hs)", (0, "")), "(so)", [fd])
        os.close(fd)
        contents[uuid] = data
    first = sorted(contents)[0]
    call(conn, "Disown", GLib.Variant("(s)", (first,)), "()")
    for _ in range(2):
        assert lookup_bytes(conn, first, len(contents[first])) == contents[first]
    (uuid, _, index), fds = call(conn, "Allocate", GLib.Variant("(ts)", (8192, "memfd")), "(soh)")
    os.close(fds.get(index))
    extra = os.path.join(bed.dir, "added.sock")
    call(conn, "AddPeer", GLib.Variant("(ss)", ("accept", extra)), "(o)")
    return conn, contents, objects(conn), extra


def check_back(bed, conn, contents, before, extra):
    after = objects(conn)
    assert after == before, f"objects differ:\nbefore {before}\nafter  {after}"
    for uuid, data in contents.items():
        assert lookup_bytes(conn, uuid, len(data)) == data, f"{uuid}: other bytes"
    paths = listeners(conn)
    for path in (bed.accept, bed.serve, extra):
        assert path in paths, f"no listener for {path}: {sorted(paths)}"
    assert served(bed.accept, False), "the --accept socket does not serve"
    assert served(extra, False), "the AddPeer socket does not serve"
    assert served(bed.serve, True), "the --serve socket does not serve"


def record_settled(bed, before):
    """The store's record names every object with its lookup count."""
    text = bed.fake.record_text()
    return text.count("[Object ") == len(before) and text.count("Lookups=2") == 1


def across(sig):
    bed = Testbed()
    try:
        conn, contents, before, extra = populate(bed)
        if sig == signal.SIGKILL:
            # No goodbye: only what the store holds at that moment counts.
            assert bed.fake.wait(lambda: record_settled(bed, before), TIMEOUT)
        bed.restart(sig)
        check_back(bed, conn, contents, before, extra)
        # And the client that still holds them can remove its own.
        mine = [u for u, p in before.items() if p["OwnerBusName"] == conn.get_unique_name()]
        assert mine, "no object owned by the client"
        call(conn, "Remove", GLib.Variant("(s)", (mine[0],)), "()")
        conn.close_sync(None)
    except BaseException:
        bed.kill()
        raise
    bed.close()


@test
def objects_and_listeners_across_sigterm():
    across(signal.SIGTERM)


@test
def objects_and_listeners_across_sigkill():
    across(signal.SIGKILL)


@test
def objects_of_a_client_gone_meanwhile_are_purged():
    bed = Testbed()
    try:
        stays, leaves = bed.connect(), bed.connect()
        uuids = {}
        for name, conn in (("stays", stays), ("leaves", leaves)):
            fd = sealed_memfd(os.urandom(4096))
            (uuids[name], _), _ = call(conn, "Export", GLib.Variant("(hs)", (0, "")), "(so)",
                                       [fd])
            os.close(fd)
        status = bed.stop(signal.SIGTERM)
        assert os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0
        leaves.close_sync(None)
        bed.start()
        back = objects(stays)
        assert uuids["stays"] in back, "the object of the client still there is gone"
        assert back[uuids["stays"]]["OwnerBusName"] == stays.get_unique_name()
        assert uuids["leaves"] not in back, "the object of the client that left is back"
        stays.close_sync(None)
    except BaseException:
        bed.kill()
        raise
    bed.close()


class Lines:
    """A child's output lines, read by a thread as they come."""

    def __init__(self, pipe):
        self.queue = queue.Queue()
        self.seen = []
        threading.Thread(target=self._read, args=(pipe,), daemon=True).start()

    def _read(self, pipe):
        for line in pipe:
            self.queue.put(line.rstrip("\n"))
        self.queue.put(None)

    def wait_for(self, pattern):
        deadline = time.monotonic() + TIMEOUT
        while True:
            try:
                line = self.queue.get(timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                raise AssertionError(f"no line matching {pattern!r}; saw {self.seen}")
            if line is None:
                raise AssertionError(f"output ended before {pattern!r}; saw {self.seen}")
            self.seen.append(line)
            if re.search(pattern, line):
                return line


@test
def sharectl_export_and_monitor_go_on_across_a_restart():
    bed = Testbed()
    ctl = os.path.join(bed.build, "client", "vhost-sharectl")
    children = []

    def spawn(*args, stderr=sys.stderr):
        proc = subprocess.Popen([ctl, f"--address={bed.address}", *args], text=True,
                                stdout=subprocess.PIPE, stderr=stderr,
                                env=dict(os.environ, LC_ALL="C"))
        children.append(proc)
        return proc, Lines(proc.stdout)

    try:
        monitor, monitor_lines = spawn("monitor")
        monitor_lines.wait_for("^Monitoring ")
        exporter, exporter_lines = spawn("export", "--size=64K")
        uuid = re.match(r"^Exported (\S+) ", exporter_lines.wait_for("^Exported ")).group(1)
        exporter_lines.wait_for("^Holding it")
        bed.restart()
        monitor_lines.wait_for("ServiceStopped")
        monitor_lines.wait_for("ServiceStarted")
        out = subprocess.run([ctl, f"--address={bed.address}", "lookup", uuid, "--verify"],
                             capture_output=True, text=True, timeout=TIMEOUT)
        assert out.returncode == 0 and "expected pattern" in out.stdout, out
        assert exporter.poll() is None, "the exporter gave up its object"
        # The monitor goes on with the new instance's events.
        fd = sealed_memfd(os.urandom(4096))
        conn = bed.connect()
        (added, _), _ = call(conn, "Export", GLib.Variant("(hs)", (0, "")), "(so)", [fd])
        os.close(fd)
        monitor_lines.wait_for(f"Added.*{added}")
        conn.close_sync(None)
        # Interrupted, the exporter removes its object from the new instance.
        exporter.send_signal(signal.SIGINT)
        exporter_lines.wait_for(f"^Removed {uuid}\\.$")
        assert exporter.wait(timeout=TIMEOUT) == 0
        out = subprocess.run([ctl, f"--address={bed.address}", "show", uuid],
                             capture_output=True, text=True, timeout=TIMEOUT)
        assert out.returncode == 4, out
        assert monitor.poll() is None, "the monitor stopped"
        monitor.send_signal(signal.SIGINT)
        monitor.wait(timeout=TIMEOUT)
    except BaseException:
        for proc in children:
            proc.kill()
        bed.kill()
        raise
    for proc in children:
        proc.wait(timeout=TIMEOUT)
    bed.close()


def refused(path):
    """The service closes a connection it does not accept at once."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
        s.settimeout(TIMEOUT)
        s.connect(path)
        return s.recv(12) == b""


def export(conn, size):
    fd = sealed_memfd(os.urandom(size))
    try:
        (uuid, _), _ = call(conn, "Export", GLib.Variant("(hs)", (0, "")), "(so)", [fd])
        return uuid
    finally:
        os.close(fd)


@test
def sighup_reloads_limits_and_socket_rules():
    bed = Testbed(config_text="[Service]\nMaxBytesTotal=8K\n")
    try:
        conn = bed.connect()
        export(conn, 8192)
        try:
            export(conn, 4096)
            raise AssertionError("MaxBytesTotal=8K let 12 KiB in")
        except GLib.Error as e:
            assert "QuotaExceeded" in e.message or "quota" in e.message.lower(), e.message
        assert served(bed.accept, False)

        log = bed.reload(f"[Service]\nMaxBytesTotal=1M\n[Socket {bed.accept}]\n"
                         "AllowedUids=65534\n")
        assert "reload: [Service] MaxBytesTotal: 8192 -> 1048576" in log, log
        assert f"reload: {bed.accept} accepts only its AllowedUids= list now" in log, log
        export(conn, 4096)  # the new total applies at once
        assert refused(bed.accept), "uid 0 still accepted on the socket limited to 65534"
        assert served(bed.serve, True), "the other socket changed too"

        log = bed.reload("[Service]\nMaxBytesTotal=1M\n")
        assert f"reload: {bed.accept} accepts any uid now" in log, log
        assert served(bed.accept, False)
        log = bed.reload("[Service]\nMaxBytesTotal=1M\n")
        assert "reload: nothing changed" in log, log
        # A broken file changes nothing.
        log = bed.reload("[Service]\nMaxBytesTotal=lots\n")
        assert "reload: keeping the configuration in force" in log, log
        export(conn, 4096)
        conn.close_sync(None)
    except BaseException:
        bed.kill()
        raise
    bed.close()


@test
def one_buffer_under_two_uuids_survives_restarts():
    # systemd keeps one copy of an open file however often it is stored:
    # both entries must name that one fd, before and after a restart.
    bed = Testbed()
    try:
        conn = bed.connect()
        data = os.urandom(8192)
        fd = sealed_memfd(data)
        uuids = []
        for _ in range(2):
            (uuid, _), _ = call(conn, "Export", GLib.Variant("(hs)", (0, "")), "(so)", [fd])
            uuids.append(uuid)
        os.close(fd)
        for sig in (signal.SIGTERM, signal.SIGTERM, signal.SIGKILL, signal.SIGTERM):
            if sig == signal.SIGKILL:
                assert bed.fake.wait(lambda: bed.fake.record_text().count("[Object ") == 2,
                                     TIMEOUT)
            bed.restart(sig)
            for uuid in uuids:
                assert lookup_bytes(conn, uuid, len(data)) == data, f"{uuid} lost after {sig}"
        assert sum(n.startswith("obj-") for n in bed.fake.names()) == 1, bed.fake.names()
        conn.close_sync(None)
    except BaseException:
        bed.kill()
        raise
    bed.close()


@test
def a_lookup_in_flight_at_sigterm_gets_an_answer():
    # An exporter that never answers GET_SHARED_OBJECT: the bus caller's
    # Lookup is open when SIGTERM comes. It must get the service's error,
    # not a lost reply, and the stop must not wait for the lookup deadline.
    bed = Testbed("--lookup-timeout-ms=20000")
    device = os.path.join(bed.build, "service", "vhost-share-device")
    uuid = "0b7a4c1e-5d2f-4e11-9a3b-00000000000a"
    mute = subprocess.Popen([device, f"--connect={bed.accept}", "--export=1", f"--uuid={uuid}",
                             "--no-answer"], stdout=subprocess.PIPE, stderr=sys.stderr, text=True)
    try:
        lines = Lines(mute.stdout)
        lines.wait_for("^EXPORTED ")
        conn = bed.connect()
        replies = []
        conn.call_with_unix_fd_list(
            NAME, ROOT, MANAGER, "Lookup", GLib.Variant("(s)", (uuid,)),
            GLib.VariantType.new("(h)"), Gio.DBusCallFlags.NONE, int(TIMEOUT * 1000), None, None,
            lambda c, res, *_: replies.append(res), None)
        ctx = GLib.MainContext.default()
        lines.wait_for(f"^ASKED {uuid}")
        began = time.monotonic()
        status = bed.stop(signal.SIGTERM)
        took = time.monotonic() - began
        assert os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0, status
        deadline = time.monotonic() + TIMEOUT
        while not replies and time.monotonic() < deadline:
            ctx.iteration(False) or time.sleep(0.001)
        assert replies, "no answer to the Lookup"
        try:
            conn.call_with_unix_fd_list_finish(replies[0])
            raise AssertionError("the Lookup of a mute exporter succeeded")
        except GLib.Error as e:
            assert "org.vhostshare.share1.Error" in e.message, e.message
            assert "NoReply" not in e.message, e.message
        assert took < 5, f"the stop took {took:.1f} s (the lookup deadline is 20 s)"
        with open(bed.log) as f:
            log = f.read()
        assert "waiting up to 500 ms for 1 lookup(s) and the answers in flight" in log, log
        conn.close_sync(None)
        bed.start()  # for close()
    except BaseException:
        mute.kill()
        bed.kill()
        raise
    mute.kill()
    mute.wait(timeout=TIMEOUT)
    bed.close()


class Device:
    """vhost-share-device driven by --commands, its output lines read."""

    def __init__(self, *args):
        self.proc = subprocess.Popen(
            [os.path.join(vshtest.build_root(), "service", "vhost-share-device"), "--commands",
             *args],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=sys.stderr, text=True)
        self.lines = Lines(self.proc.stdout)

    def send(self, line):
        self.proc.stdin.write(line + "\n")
        self.proc.stdin.flush()

    def command(self, line, expect):
        self.send(line)
        return self.lines.wait_for(expect)

    def close(self):
        self.proc.kill()
        self.proc.wait(timeout=TIMEOUT)


def kept_connection(sig):
    with tempfile.TemporaryDirectory(prefix="vhost-share-dev-") as tmp:
        listen = os.path.join(tmp, "dev.sock")
        devices = []
        bed = None
        try:
            dev_b = Device(f"--listen={listen}")  # the service connects to it
            devices.append(dev_b)
            dev_b.lines.wait_for("^LISTENING ")
            bed = Testbed(f"--connect={listen}")
            dev_a = Device(f"--connect={bed.accept}")  # it connects to the service
            devices.append(dev_a)
            for d in devices:
                d.lines.wait_for("^READY")
            ua = dev_a.command("export", "^EXPORTED ").split()[1]
            ub = dev_b.command("export", "^EXPORTED ").split()[1]
            if sig == signal.SIGKILL:
                assert bed.fake.wait(lambda: bed.fake.record_text().count("[Peer ") == 2 and
                                     ua.replace("-", "") in bed.fake.record_text() and
                                     ub.replace("-", "") in bed.fake.record_text(), TIMEOUT)
            bed.restart(sig)
            # The next requests are served by the new instance, on the same
            # connections: imports both ways, a new export, a remove.
            dev_a.command(f"import {ub}", f"^IMPORTED {ub}")
            dev_b.command(f"import {ua}", f"^IMPORTED {ua}")
            uc = dev_a.command("export", "^EXPORTED ").split()[1]
            dev_b.command(f"import {uc}", f"^IMPORTED {uc}")
            dev_a.command(f"remove {ua}", f"^REMOVED {ua}")
            dev_b.command(f"import {ua}", f"^IMPORT-FAILED {ua}")
            for d in devices:
                assert not any(line.startswith("DISCONNECTED") for line in d.lines.seen), \
                    d.lines.seen
            with open(bed.log) as f:
                log = f.read()
            assert log.count("connection kept across the restart") == 2, log
        except BaseException:
            for d in devices:
                d.close()
            if bed:
                bed.kill()
            raise
        for d in devices:
            d.close()
        bed.close()


@test
def back_ends_keep_their_connections_across_sigterm():
    kept_connection(signal.SIGTERM)


@test
def back_ends_keep_their_connections_across_sigkill():
    kept_connection(signal.SIGKILL)


@test
def back_ends_under_load_lose_no_request_across_sigterm():
    # Four back-ends in rounds: each exports (ADD), the first three import
    # their neighbour's object (LOOKUP, served by a GET_SHARED_OBJECT the
    # neighbour answers after 100 ms) and each removes its own (REMOVE), the
    # requests of a phase in flight together. SIGTERM comes while 18
    # imports are in flight or still being sent: every request gets its answer (from the old
    # instance or the new one), none fails, nobody is disconnected.
    bed = Testbed()
    devices = []
    failures = re.compile("^(DISCONNECTED|EXPORT-REFUSED|IMPORT-FAILED|REMOVE-REFUSED|ERROR)")
    try:
        for _ in range(4):
            devices.append(Device(f"--connect={bed.accept}", "--get-delay-ms=100"))
        for d in devices:
            d.lines.wait_for("^READY")
        restarter = None
        for round_ in range(8):
            for d in devices:
                d.send("export")
            uuids = [d.lines.wait_for("^(EXPORTED|EXPORT-REFUSED|DISCONNECTED) ").split()[1]
                     for d in devices]
            # Round 3 sends each import six times at once: the back-ends keep
            # sending while the service stops.
            repeat = 6 if round_ == 3 else 1
            # A chain, not a ring: lookups that wait on each other in a
            # circle are refused at once (EDEADLK, docs/security.md), so the
            # last back-end only exports.
            importers = devices[:-1]
            for i, d in enumerate(importers):
                for _ in range(repeat):
                    d.send(f"import {uuids[i + 1]}")
            if round_ == 3:
                for d in devices[1:]:  # the exporters are asked: lookups are in flight
                    d.lines.wait_for("^ASKED ")
                restarter = threading.Thread(target=bed.restart)
                restarter.start()
            for i, d in enumerate(importers):
                u = uuids[i + 1]
                for _ in range(repeat):
                    d.lines.wait_for(f"^(IMPORTED|IMPORT-FAILED) {u}|^DISCONNECTED")
            for d, u in zip(devices, uuids):
                d.send(f"remove {u}")
            for d, u in zip(devices, uuids):
                d.lines.wait_for(f"^(REMOVED|REMOVE-REFUSED) {u}|^DISCONNECTED")
        restarter.join(TIMEOUT)
        assert not restarter.is_alive(), "the restart did not finish"
        for d in devices:
            bad = [line for line in d.lines.seen if failures.match(line)]
            assert not bad, f"failed requests: {bad}"
        with open(bed.log) as f:
            log = f.read()
        assert "lookup(s) and the answers in flight" in log, log
        assert "the requests in flight are answered" in log, log
        assert log.count("connection kept across the restart") == 4, log
    except BaseException:
        for d in devices:
            d.close()
        bed.kill()
        raise
    for d in devices:
        d.close()
    bed.close()


class Vmm:
    """A minimal vhost-user front-end (a VMM) on the service's --serve
    socket: the handshake QEMU does (features, protocol features with
    SHARED_OBJECT and REPLY_ACK, the back-end channel, one ring's
    eventfds), its channel read and acked by a thread, GET_SHARED_OBJECT."""

    SET_FEATURES, SET_OWNER, SET_VRING_KICK, SET_VRING_CALL = 2, 3, 12, 13
    GET_PROTOCOL_FEATURES, SET_PROTOCOL_FEATURES, SET_BACKEND_REQ_FD = 15, 16, 21
    GET_SHARED_OBJECT = 41
    NEED_REPLY = 0x8
    # REPLY_ACK, BACKEND_REQ, BACKEND_SEND_FD, SHARED_OBJECT
    PROTOCOL = (1 << 3) | (1 << 5) | (1 << 10) | (1 << 18)
    ADD, REMOVE = 6, 7

    def __init__(self, path):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(TIMEOUT)
        self.sock.connect(path)
        self.channel, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        self.events = queue.Queue()  # ("ADD" | "REMOVE", uuid) or ("HANGUP", None)
        features = self.ask(GET_FEATURES)
        self.send(self.SET_FEATURES, struct.pack("<Q", features))
        offered = self.ask(self.GET_PROTOCOL_FEATURES)
        self.protocol = offered & self.PROTOCOL
        self.send(self.SET_PROTOCOL_FEATURES, struct.pack("<Q", self.protocol))
        self.send(self.SET_OWNER, b"", ack=True)
        self.rings = [os.eventfd(0, os.EFD_CLOEXEC) for _ in range(2)]
        self.send(self.SET_VRING_KICK, struct.pack("<Q", 0), [self.rings[0]], ack=True)
        self.send(self.SET_VRING_CALL, struct.pack("<Q", 0), [self.rings[1]], ack=True)
        self.send(self.SET_BACKEND_REQ_FD, b"", [theirs.fileno()], ack=True)
        theirs.close()
        self.reader = threading.Thread(target=self.read_channel, daemon=True)
        self.reader.start()

    def send(self, request, payload, fds=None, ack=False):
        flags = VHOST_USER_VERSION | (self.NEED_REPLY if ack else 0)
        data = struct.pack("<III", request, flags, len(payload)) + payload
        anc = ([(socket.SOL_SOCKET, socket.SCM_RIGHTS, struct.pack(f"{len(fds)}i", *fds))]
               if fds else [])
        self.sock.sendmsg([data], anc)
        if ack:
            assert self.reply(request)[0] == 0, f"request {request} refused"

    def reply(self, request):
        head = self.recv_exact(12)
        got, flags, size = struct.unpack("<III", head)
        assert got == request and flags & VHOST_USER_REPLY, (got, flags, request)
        payload = self.recv_exact(size) if size else b""
        return struct.unpack("<Q", payload) if size == 8 else (payload,)

    def recv_exact(self, n):
        data = b""
        while len(data) < n:
            more = self.sock.recv(n - len(data))
            assert more, "the service hung up on the VMM"
            data += more
        return data

    def ask(self, request):
        self.sock.sendall(struct.pack("<III", request, VHOST_USER_VERSION, 0))
        return self.reply(request)[0]

    def read_channel(self):
        while True:
            try:
                head = self.channel.recv(12, socket.MSG_WAITALL)
            except OSError:
                head = b""
            if len(head) < 12:
                self.events.put(("HANGUP", None))
                return
            request, flags, size = struct.unpack("<III", head)
            payload = self.channel.recv(size, socket.MSG_WAITALL) if size else b""
            if request in (self.ADD, self.REMOVE):
                kind = "ADD" if request == self.ADD else "REMOVE"
                self.events.put((kind, str(uuid_mod.UUID(bytes=payload[:16]))))
            if flags & self.NEED_REPLY:
                self.channel.sendall(struct.pack("<IIIQ", request, VHOST_USER_VERSION
                                                 | VHOST_USER_REPLY, 8, 0))

    def wait_event(self, timeout=TIMEOUT):
        return self.events.get(timeout=timeout)

    def get(self, uuid):
        """GET_SHARED_OBJECT: the fd answered (None when refused)."""
        payload = uuid_mod.UUID(uuid).bytes
        self.sock.sendall(struct.pack("<III", self.GET_SHARED_OBJECT, VHOST_USER_VERSION,
                                      len(payload)) + payload)
        msg, anc, _, _ = self.sock.recvmsg(12 + 16, socket.CMSG_SPACE(4 * 4))
        assert len(msg) == 12 + 16, f"short GET answer {msg!r}"
        request, flags, size = struct.unpack("<III", msg[:12])
        assert request == self.GET_SHARED_OBJECT and flags & VHOST_USER_REPLY, msg
        fds = [fd for lvl, typ, data in anc if typ == socket.SCM_RIGHTS
               for fd in struct.unpack(f"{len(data) // 4}i", data)]
        return fds[0] if fds else None

    def close(self):
        self.sock.close()
        self.channel.close()
        for fd in self.rings:
            os.close(fd)


def export_bytes(conn, data):
    fd = sealed_memfd(data)
    (uuid, _), _ = call(conn, "Export", GLib.Variant("(hs)", (0, "")), "(so)", [fd])
    os.close(fd)
    return uuid


def vmm_kept(sig):
    bed = Testbed()
    vmm = None
    try:
        conn = bed.connect()
        first = os.urandom(4096)
        ua = export_bytes(conn, first)
        vmm = Vmm(bed.serve)
        assert vmm.wait_event() == ("ADD", ua), "the VMM was not told of the first object"
        # Another client's object, and that client leaves while the service
        # is down: purged at start, so the restored bridge withdraws it.
        other = bed.connect()
        gone = export_bytes(other, os.urandom(4096))
        assert vmm.wait_event() == ("ADD", gone)
        if sig == signal.SIGKILL:
            assert bed.fake.wait(lambda: "[Bridge " in bed.fake.record_text() and
                                 gone.replace("-", "") in bed.fake.record_text(), TIMEOUT)
        bed.stop(sig)
        other.close_sync(None)
        bed.start()
        assert vmm.wait_event() == ("REMOVE", gone), "what went meanwhile was not withdrawn"
        second = os.urandom(8192)
        ub = export_bytes(conn, second)
        assert vmm.wait_event() == ("ADD", ub), "an export after the restart was not announced"
        for uuid, data in ((ua, first), (ub, second)):
            fd = vmm.get(uuid)
            assert fd is not None, f"GET {uuid} refused after the restart"
            assert os.pread(fd, len(data), 0) == data, f"GET {uuid}: other bytes"
            os.close(fd)
        # And once more: the kept connection is stored again under the
        # same names (the store keeps one name per open file).
        bed.restart(signal.SIGTERM)
        fd = vmm.get(ub)
        assert fd is not None and os.pread(fd, len(second), 0) == second, "second restart"
        os.close(fd)
        assert vmm.events.empty(), f"unexpected on the channel: {vmm.events.get()}"
        with open(bed.log) as f:
            log = f.read()
        assert log.count("connection kept across the restart") == 2, log
        conn.close_sync(None)
    except BaseException:
        bed.kill()
        raise
    finally:
        if vmm:
            vmm.close()
    bed.close()


@test
def a_vmm_keeps_its_connection_across_sigterm():
    vmm_kept(signal.SIGTERM)


@test
def a_vmm_keeps_its_connection_across_sigkill():
    vmm_kept(signal.SIGKILL)


def log_text(bed):
    with open(bed.log) as f:
        return f.read()


@test
def qemu_keeps_its_connection_across_sigterm():
    """QEMU 10 (a vhost-user-rng-pci device on the --serve socket, stopped
    with -S: its handshake done, its back-end channel set) through a
    SIGTERM restart: it neither exits nor connects again, and acks the ADD
    of an object exported after the restart on the kept channel."""
    qemu_exe = shutil.which("qemu-system-x86_64")
    assert qemu_exe, "qemu-system-x86_64 (QEMU 10) is needed: tools/install-deps"
    bed = Testbed()
    qemu = None
    try:
        qemu = subprocess.Popen(
            [qemu_exe, "-machine", "q35,accel=tcg", "-m", "64M", "-nodefaults", "-nographic",
             "-S", "-chardev", f"socket,id=c0,path={bed.serve}",
             "-device", "vhost-user-rng-pci,chardev=c0"],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        assert bed.fake.wait(lambda: "ready, shared objects negotiated" in log_text(bed),
                             TIMEOUT), log_text(bed)
        conn = bed.connect()
        ua = export_bytes(conn, os.urandom(4096))
        assert bed.fake.wait(lambda: f"front-end acked ADD {ua}" in log_text(bed), TIMEOUT)
        bed.restart(signal.SIGTERM)
        ub = export_bytes(conn, os.urandom(4096))
        assert bed.fake.wait(lambda: f"front-end acked ADD {ub}" in log_text(bed), TIMEOUT), \
            "QEMU did not ack an ADD after the restart:\n" + log_text(bed)
        log = log_text(bed)
        assert log.count("connection kept across the restart") == 1, log
        assert log.count("): connected (pid") == 1, "QEMU connected again:\n" + log
        assert qemu.poll() is None, f"QEMU exited: {qemu.stderr.read().decode()}"
        conn.close_sync(None)
    except BaseException:
        bed.kill()
        raise
    finally:
        if qemu:
            qemu.kill()
            qemu.wait(timeout=TIMEOUT)
    bed.close()


@test
def a_back_end_with_a_later_id_is_kept_across_two_restarts():
    """A restored peer gets the next free id: its sockets must stay in the
    store under names that do not depend on it (systemd keeps one name per
    open file), or the second restart loses the connection."""
    bed = Testbed()
    devices = []
    try:
        first = Device(f"--connect={bed.accept}")
        devices.append(first)
        first.lines.wait_for("^READY")
        first.close()  # back-end#1 goes: the next one is back-end#2
        dev = Device(f"--connect={bed.accept}")
        devices.append(dev)
        dev.lines.wait_for("^READY")
        dev.command("export", "^EXPORTED ")
        for _ in range(2):
            bed.restart(signal.SIGTERM)
            dev.command("export", "^EXPORTED ")
        assert not any(line.startswith("DISCONNECTED") for line in dev.lines.seen), \
            dev.lines.seen
        log = log_text(bed)
        assert log.count("connection kept across the restart") == 2, log
    except BaseException:
        for d in devices:
            d.close()
        bed.kill()
        raise
    for d in devices:
        d.close()
    bed.close()


def process_fds(pid):
    return len(os.listdir(f"/proc/{pid}/fd"))


def process_rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def quiet_counts(bed):
    """(store, service, test) fds once no fd is on its way: the same three
    readings in a row (a record in flight is an fd on each side)."""
    readings = []
    deadline = time.monotonic() + TIMEOUT
    while time.monotonic() < deadline:
        readings.append((len(bed.fake.names()), process_fds(bed.pid), process_fds(os.getpid())))
        if len(readings) >= 3 and len(set(readings[-3:])) == 1:
            return readings[-1]
        time.sleep(0.02)
    raise AssertionError(f"fd counts never settled: {readings[-5:]}")


@test
def a_hundred_restarts_end_at_the_baseline():
    bed = Testbed()
    try:
        conn, contents, before, extra = populate(bed)
        bed.restart()
        base = quiet_counts(bed)
        base_rss = process_rss_kib(bed.pid)
        began = time.monotonic()
        for i in range(99):
            bed.restart(signal.SIGKILL if i % 2 else signal.SIGTERM)
        took = time.monotonic() - began
        now = quiet_counts(bed)
        rss = process_rss_kib(bed.pid)
        print(f"# after 100 restarts: store {now[0]} fds (first {base[0]}), service {now[1]} "
              f"fds (first {base[1]}), RSS {rss} KiB (first {base_rss} KiB), stored "
              f"{bed.fake.stored_total}, removed {bed.fake.removed_total}; {took / 99 * 1000:.0f} ms "
              "per restart")
        assert now == base, f"fds (store, service, test) {now} != {base}"
        # Each instance is a new process: its memory must not grow with
        # what earlier ones left in the store.
        assert rss < base_rss + 2048, f"RSS {rss} KiB, first instance {base_rss} KiB"
        check_back(bed, conn, contents, before, extra)
        conn.close_sync(None)
    except BaseException:
        bed.kill()
        raise
    bed.close()


if __name__ == "__main__":
    sys.exit(vshtest.run_tap([(fn.__name__, fn) for fn in tests]))
