#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""What an administrator sees of vhost-shared (issue 17, the service side):
its log (plain on a pipe, priorities under the journal, a line per ADD,
REMOVE and refusal, one line at stop), the labels of objects and peers,
the Manager's status properties, the LookedUp signal and --print-config.
On private buses with the shipped policy; output is TAP."""

import fcntl
import os
import re
import shlex
import subprocess
import sys
import tempfile
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
PROPERTIES = "org.freedesktop.DBus.Properties"
DEVICE = os.path.join(vshtest.build_root(), "service", "vhost-share-device")
DAEMON = os.path.join(vshtest.build_root(), "service", "vhost-shared")
UUID1 = "0b5c4f1e-2a3d-4e5f-8a9b-0c1d2e3f4a5b"

tests, test = vshtest.registry()


def sealed_memfd(size):
    fd = os.memfd_create("admin-test", os.MFD_CLOEXEC | os.MFD_ALLOW_SEALING)
    os.ftruncate(fd, size)
    fcntl.fcntl(fd, fcntl.F_ADD_SEALS, fcntl.F_SEAL_SHRINK | fcntl.F_SEAL_GROW)
    return fd


class Testbed(vshtest.PrivateBus):
    """dbus-daemon + vhost-shared accepting back-ends at self.hub, its
    output in a file (self.log)."""

    def __init__(self, *args, journal=False, config_text=""):
        super().__init__("vhost-share-admin-")
        self.hub = os.path.join(self.dir, "hub.sock")
        self.log_path = os.path.join(self.dir, "service.log")
        self.log = open(self.log_path, "w")
        self.children = []
        env = {}
        if journal:
            # What systemd does for a unit logging to the journal: the
            # stream's device and inode in JOURNAL_STREAM.
            st = os.fstat(self.log.fileno())
            env["JOURNAL_STREAM"] = f"{st.st_dev}:{st.st_ino}"
        wrapper = shlex.split(os.environ.get("VHOST_SHARE_DAEMON_WRAPPER", ""))
        self.service = self.start_service(f"--accept={self.hub}", *args, stderr=self.log,
                                          env=env, config_text=config_text, wrapper=wrapper,
                                          timeout=TIMEOUT * (10 if wrapper else 1))
        self.conn = self.connect()

    def connect(self):
        flags = (Gio.DBusConnectionFlags.AUTHENTICATION_CLIENT
                 | Gio.DBusConnectionFlags.MESSAGE_BUS_CONNECTION)
        return Gio.DBusConnection.new_for_address_sync(self.address, flags, None, None)

    def call(self, method, args, reply_type, fds=None, conn=None):
        fd_list = Gio.UnixFDList.new_from_array([os.dup(fd) for fd in fds]) if fds else None
        result, out_fds = (conn or self.conn).call_with_unix_fd_list_sync(
            NAME, ROOT, MANAGER, method, args, GLib.VariantType.new(reply_type),
            Gio.DBusCallFlags.NONE, int(TIMEOUT * 1000), fd_list, None)
        for i in range(out_fds.get_length() if out_fds else 0):
            os.close(out_fds.get(i))
        return result.unpack()

    def get(self, path, iface, prop):
        (value,) = self.conn.call_sync(NAME, path, PROPERTIES, "Get",
                                       GLib.Variant("(ss)", (iface, prop)), None, 0,
                                       int(TIMEOUT * 1000), None).unpack()
        return value

    def device(self, *args):
        proc = subprocess.Popen([DEVICE, f"--connect={self.hub}", *args],
                                stdout=subprocess.DEVNULL, stderr=sys.stderr)
        self.children.append(proc)
        return proc

    def lines(self):
        with open(self.log_path) as f:
            return f.read().splitlines()

    def wait_log(self, pattern):
        """The first line of the service's log matching pattern (a regex)."""
        deadline = time.monotonic() + TIMEOUT
        while True:
            for line in self.lines():
                if re.search(pattern, line):
                    return line
            if time.monotonic() > deadline:
                raise AssertionError(f"no line matching {pattern!r}; log:\n"
                                     + "\n".join(self.lines()))
            time.sleep(0.01)

    def stop(self):
        code = vshtest.stop_service(self.service, timeout=TIMEOUT * 10)
        self.service = None
        return code

    def close(self):
        for proc in self.children:
            if proc.poll() is None:
                proc.kill()
            proc.wait(timeout=TIMEOUT)
        self.conn.close_sync(None)
        code = self.stop() if self.service else 0
        self.log.close()
        super().close()
        assert code == 0, f"vhost-shared exited with {code}"

    def kill(self):
        for proc in self.children:
            proc.kill()
        if self.service:
            self.service.kill()
            self.service.wait()
        super().kill()


def run(fn, *args, **kw):
    tb = Testbed(*args, **kw)
    try:
        fn(tb)
    except BaseException:
        sys.stderr.write("service log:\n" + "\n".join(tb.lines()) + "\n")
        tb.kill()
        raise
    tb.close()


# ---- the log ----

@test
def log_is_plain_text_outside_the_journal():
    def case(tb):
        lines = tb.lines()
        assert any(re.match(r"vhost-shared \S+ running$", line) for line in lines), lines
        prefixed = [line for line in lines if re.match(r"<\d>", line)]
        assert not prefixed, f"priority prefixes on a pipe: {prefixed}"
    run(case)


@test
def log_has_priorities_under_the_journal_and_a_line_per_add_remove_refusal():
    def case(tb):
        dev = tb.device(f"--uuid={UUID1}", "--export=1")
        add = tb.wait_log(rf"ADD {UUID1}$")
        assert re.match(rf"<7>back-end#\d+[^:]*: ADD {UUID1}$", add), add
        # The same UUID from a second back-end: refused (first writer wins), at info.
        tb.device(f"--uuid={UUID1}", "--export=1")
        refused = tb.wait_log(rf"ADD {UUID1} refused")
        assert re.match(rf"<6>back-end#\d+[^:]*: ADD {UUID1} refused: ", refused), refused
        dev.terminate()
        dev.wait(timeout=TIMEOUT)
        tb.wait_log(r"^<\d>back-end#\d+[^:]*: .*(closed|gone|hung up|disconnected)")
    run(case, "--verbose", journal=True)


@test
def log_at_stop_says_the_service_stops_not_that_clients_left():
    def case(tb):
        other = tb.connect()
        fd = sealed_memfd(4096)
        tb.call("Export", GLib.Variant("(hs)", (0, "")), "(so)", [fd])
        tb.call("Export", GLib.Variant("(hs)", (0, "")), "(so)", [fd], conn=other)
        os.close(fd)
        assert tb.stop() == 0
        lines = tb.lines()
        gone = [line for line in lines if "is gone" in line]
        assert not gone, f"clients reported gone at stop: {gone}"
        assert any("stopping: released the 2 object(s) of 2 bus client(s)" in line
                   for line in lines), lines
        other.close_sync(None)
    run(case)


# ---- labels ----

def object_path(uuid):
    return f"{ROOT}/object/{uuid.replace('-', '')}"


def my_comm():
    with open("/proc/self/comm") as f:
        return f.read().strip()


@test
def objects_say_what_they_are_and_whose():
    def case(tb):
        fd = sealed_memfd(8192)
        uuid, path = tb.call("Export", GLib.Variant("(hs)", (0, "")), "(so)", [fd])
        os.close(fd)
        assert tb.get(path, OBJECT, "BufferType") == "memfd"
        assert tb.get(path, OBJECT, "Size") == 8192
        assert tb.get(path, OBJECT, "OwnerPid") == os.getpid()
        assert tb.get(path, OBJECT, "OwnerUid") == os.geteuid()
        assert tb.get(path, OBJECT, "OwnerCommand") == my_comm()
        # Handed over: the service owns it now, and says so.
        tb.call("Disown", GLib.Variant("(s)", (uuid,)), "()")
        assert tb.get(path, OBJECT, "OwnerPid") == tb.service.pid
        assert tb.get(path, OBJECT, "OwnerCommand") == "vhost-shared"

        # A back-end's object: no buffer type until someone holds a buffer,
        # the back-end's process from its socket.
        dev = tb.device(f"--uuid={UUID1}", "--export=1")
        tb.wait_log(rf"ADD {UUID1}")
        path = object_path(UUID1)
        assert tb.get(path, OBJECT, "Type") == "vhost-device"
        assert tb.get(path, OBJECT, "BufferType") == ""
        assert tb.get(path, OBJECT, "OwnerPid") == dev.pid
        assert tb.get(path, OBJECT, "OwnerUid") == 0
        assert tb.get(path, OBJECT, "OwnerCommand") == os.path.basename(DEVICE)[:15]
    run(case, "--verbose")


@test
def allocate_without_a_drm_device_refuses_unless_memfd_is_asked_for():
    def case(tb):
        # Whatever devices this machine has: never a memfd unless asked
        # for; without a card node or udmabuf, the named error.
        try:
            _, path, _ = tb.call("Allocate", GLib.Variant("(ts)", (4096, "")), "(soh)")
            assert tb.get(path, OBJECT, "BufferType") == "dma-buf"
            assert tb.get(path, OBJECT, "Allocator") in ("drm-dumb", "udmabuf")
        except GLib.Error as e:
            assert "org.vhostshare.share1.Error.NoDevice" in e.message, e.message
            assert '"memfd"' in e.message, e.message
        uuid, path, _ = tb.call("Allocate", GLib.Variant("(ts)", (4096, "memfd")), "(soh)")
        assert tb.get(path, OBJECT, "BufferType") == "memfd"
        assert tb.get(path, OBJECT, "Allocator") == "memfd"
    run(case)


# ---- status ----

@test
def manager_status_properties():
    def case(tb):
        before = time.time()
        start = tb.get(ROOT, MANAGER, "StartTimestamp")
        assert 0 < start / 1e6 <= before, start
        assert tb.get(ROOT, MANAGER, "BytesHeld") == 0
        assert tb.get(ROOT, MANAGER, "ListenerCount") == 1  # --accept
        assert tb.get(ROOT, MANAGER, "PrivilegedGroup") == "operators"
        limits = tb.get(ROOT, MANAGER, "Limits")
        assert limits["MaxObjectsPerClient"] == 7, limits
        assert limits["MaxBytesTotal"] == 3 << 20, limits
        assert limits["LookupTimeoutMSec"] == 250, limits
        fd = sealed_memfd(12288)
        tb.call("Export", GLib.Variant("(hs)", (0, "")), "(so)", [fd])
        os.close(fd)
        assert tb.get(ROOT, MANAGER, "BytesHeld") == 12288
        (props,) = tb.conn.call_sync(NAME, ROOT, PROPERTIES, "GetAll", GLib.Variant("(s)", (MANAGER,)),
                                     None, 0, int(TIMEOUT * 1000), None).unpack()
        for name in ["Version", "ObjectCount", "PeerCount", "StartTimestamp", "BytesHeld",
                     "ListenerCount", "PrivilegedGroup", "Limits"]:
            assert name in props, f"GetAll lacks {name}"
    run(case, config_text="[Service]\nMaxObjectsPerClient=7\nMaxBytesTotal=3M\n"
        "LookupTimeoutMSec=250\n[DBus]\nPrivilegedGroup=operators\n")


# ---- the configuration ----

@test
def print_config_shows_every_key_and_reads_back_the_same():
    with tempfile.TemporaryDirectory(prefix="vhost-share-config-") as d:
        conf = os.path.join(d, "a.conf")
        with open(conf, "w") as f:
            f.write("[Service]\nMaxPeers=9\nMaxBytesTotal=3M\nSocketMode=0640\n"
                    "[Socket /run/x.sock]\nAllowedUids=0 1\n[DBus]\nPrivilegedGroup=ops\n")
        out = subprocess.run([DAEMON, f"--config={conf}", "--serve=/run/q.sock,queues=2",
                              "--lookup-timeout-ms=300", "--print-config"],
                             capture_output=True, text=True, timeout=TIMEOUT)
        assert out.returncode == 0, out.stderr
        text = out.stdout
        for line in ["MaxPeers=9", "MaxBytesTotal=3145728", "SocketMode=0640",
                     "LookupTimeoutMSec=300", "MaxObjectsPerClient=1024", "AllowedUids=0 1",
                     "Serve=/run/q.sock,queues=2,device-id=4,reply-ack=yes;",
                     "PrivilegedGroup=ops", "[Socket /run/x.sock]"]:
            assert line in text.splitlines(), f"{line!r} not in:\n{text}"
        # Every key the example shows is printed (set or as a comment).
        example = os.path.join(vshtest.source_root(), "data", "vhost-shared.conf.example")
        with open(example) as f:
            keys = set(re.findall(r"^#?([A-Z]\w+)=", f.read(), re.M))
        printed = set(re.findall(r"^#?([A-Z]\w+)=", text, re.M))
        assert keys == printed, f"missing {keys - printed}, extra {printed - keys}"
        again = os.path.join(d, "b.conf")
        with open(again, "w") as f:
            f.write(text)
        out2 = subprocess.run([DAEMON, f"--config={again}", "--print-config"],
                              capture_output=True, text=True, timeout=TIMEOUT)
        assert out2.returncode == 0 and out2.stdout == text, out2.stdout + out2.stderr


if __name__ == "__main__":
    sys.exit(vshtest.run_tap([(t.__name__, t) for t in tests]))
