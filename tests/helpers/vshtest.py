# SPDX-License-Identifier: LGPL-2.1-or-later
"""What the Python tests share: the build and source trees from meson's
environment, a private bus run with the shipped policy, vhost-shared started
on it (waiting for READY=1), and the TAP output. Tests import it from
tests/helpers."""

import os
import re
import select
import signal
import socket
import subprocess
import sys
import tempfile
import time
import traceback

# The one deadline of the Python tests, in seconds: how long any single wait
# may take before the test fails. The same as TEST_TIMEOUT_MS of the C tests
# (tests/helpers/test-timeout.h).
TIMEOUT = 30.0

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
{extra}</busconfig>
"""


def env(name):
    """The variable tests/meson.build sets; without it the test cannot run."""
    value = os.environ.get(name)
    if not value:
        print(f"Bail out! {name} is not set (run through meson test)")
        sys.exit(1)
    return value


def build_root():
    return env("VHOST_SHARE_BUILD_ROOT")


def source_root():
    return env("VHOST_SHARE_SOURCE_ROOT")


def registry():
    """The list of tests and the decorator that appends to it, in order."""
    tests = []

    def test(fn):
        tests.append(fn)
        return fn

    return tests, test


def run_tap(cases):
    """Runs (name, fn) cases, each to the end whatever the others did, and
    prints TAP; returns the exit status."""
    print(f"1..{len(cases)}")
    failed = 0
    for i, (name, fn) in enumerate(cases, 1):
        try:
            fn()
            print(f"ok {i} {name}")
        except Exception:  # report every failure, keep going
            failed += 1
            for line in traceback.format_exc().splitlines():
                print("# " + line)
            print(f"not ok {i} {name}")
        sys.stdout.flush()
    return 1 if failed else 0


class PrivateBus:
    """A dbus-daemon configured as a system bus with the built policy, in a
    new temporary directory (self.dir) that holds its socket. extra is more
    of the bus configuration (a servicedir, a policy for a mock service)."""

    def __init__(self, prefix, extra=""):
        self.build = build_root()
        self.tmp = tempfile.TemporaryDirectory(prefix=prefix)
        self.dir = self.tmp.name
        conf = os.path.join(self.dir, "bus.conf")
        with open(conf, "w") as f:
            f.write(BUS_CONFIG.format(dir=self.dir, policy=os.path.join(
                self.build, "data", "org.vhostshare.share1.conf"), extra=extra))
        self.bus = subprocess.Popen(["dbus-daemon", "--nofork", "--nopidfile", "--print-address=1",
                                     f"--config-file={conf}"], stdout=subprocess.PIPE,
                                    stderr=sys.stderr, text=True)
        self.address = self.bus.stdout.readline().strip()
        assert self.address, "dbus-daemon printed no address"

    def start_service(self, *args, config_text="", wrapper=(), timeout=TIMEOUT, stderr=None,
                      env=None):
        """vhost-shared on this bus with a configuration file holding
        config_text, returned once it sent READY=1 (within timeout). Its
        output goes to stderr (a file; default the test's stderr), env is
        added to its environment."""
        notify = os.path.join(self.dir, "notify")
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        sock.bind(notify)
        config = os.path.join(self.dir, "vhost-shared.conf")
        with open(config, "w") as f:
            f.write(config_text)
        service = subprocess.Popen(
            [*wrapper, os.path.join(self.build, "service", "vhost-shared"),
             f"--bus-address={self.address}", f"--config={config}", *args],
            env=dict(os.environ, NOTIFY_SOCKET=notify, **(env or {})),
            stdout=stderr or sys.stderr, stderr=stderr or sys.stderr)
        try:
            deadline = time.monotonic() + timeout
            while True:
                sock.settimeout(max(0.01, deadline - time.monotonic()))
                try:
                    msg = sock.recv(4096).decode()
                except socket.timeout:
                    raise AssertionError("vhost-shared did not send READY=1 in time")
                except BlockingIOError:
                    continue
                if "READY=1" in msg.split("\n"):
                    return service
        finally:
            sock.close()
            os.unlink(notify)

    def close(self):
        self.bus.terminate()
        self.bus.wait(timeout=TIMEOUT)
        self.bus.stdout.close()
        self.tmp.cleanup()

    def kill(self):
        """After a failure: no waiting for anyone to finish in order."""
        self.bus.kill()
        self.bus.wait()
        self.bus.stdout.close()
        self.tmp.cleanup()


def stop_service(service, timeout=TIMEOUT):
    """SIGTERM, then its exit status."""
    service.send_signal(signal.SIGTERM)
    return service.wait(timeout=timeout)


class Lines:
    """A child's stdout, read line by line with deadlines."""

    def __init__(self, proc, stream=None):
        self.proc = proc
        self.stream = stream if stream is not None else proc.stdout
        self.buf = b""
        self.lines = []

    def _fill(self, deadline):
        fd = self.stream.fileno()
        while b"\n" not in self.buf:
            left = deadline - time.monotonic()
            if left <= 0:
                return False
            ready, _, _ = select.select([fd], [], [], left)
            if not ready:
                return False
            chunk = os.read(fd, 65536)
            if not chunk:
                return False
            self.buf += chunk
        return True

    def wait_for(self, pattern, timeout=TIMEOUT):
        """Returns the first new line matching pattern (a regex)."""
        deadline = time.monotonic() + timeout
        while True:
            if not self._fill(deadline):
                raise AssertionError(f"no line matching {pattern!r} in time; got {self.lines!r}")
            line, self.buf = self.buf.split(b"\n", 1)
            line = line.decode()
            self.lines.append(line)
            if re.search(pattern, line):
                return line
