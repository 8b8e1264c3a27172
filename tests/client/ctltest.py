# SPDX-License-Identifier: LGPL-2.1-or-later
"""What the vhost-sharectl tests share: the programs of the build tree, a
child's output read line by line with deadlines, and the testbed (a private
bus with the shipped policy and vhost-shared accepting back-ends)."""

import os
import re
import shlex
import signal
import subprocess
import sys
import time
import uuid as uuidlib

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), os.pardir, "helpers"))
import vshtest  # noqa: E402
from vshtest import TIMEOUT, Lines  # noqa: E402,F401


UUID_RE = r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"
TIME_RE = r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{6}"

BUILD = vshtest.build_root()
CTL = os.path.join(BUILD, "client", "vhost-sharectl")
DAEMON = os.path.join(BUILD, "service", "vhost-shared")
DEVICE = os.path.join(BUILD, "service", "vhost-share-device")


class Testbed(vshtest.PrivateBus):
    """dbus-daemon + vhost-shared (accepting back-ends) in a temporary directory."""

    def __init__(self, start_service=True):
        super().__init__("vhost-share-client-")
        # An unprivileged client must reach the bus socket (access tests).
        os.chmod(self.dir, 0o755)
        self.hub = os.path.join(self.dir, "hub.sock")
        self.service = None
        self.children = []
        if start_service:
            self.start_service()

    def start_service(self, config_text=""):
        # meson test --setup valgrinddaemon runs the daemon under valgrind.
        wrapper = shlex.split(os.environ.get("VHOST_SHARE_DAEMON_WRAPPER", ""))
        self.service = super().start_service(f"--accept={self.hub}", config_text=config_text,
                                             wrapper=wrapper,
                                             timeout=TIMEOUT * (10 if wrapper else 1))

    def ctl_args(self, *args):
        return [CTL, f"--address={self.address}", *args]

    def ctl(self, *args, env=None, expect=0, user=None):
        cmd = self.ctl_args(*args)
        if user is not None:
            cmd = ["setpriv", f"--reuid={user}", f"--regid={user}", "--clear-groups", *cmd]
        out = subprocess.run(cmd, capture_output=True, text=True, timeout=TIMEOUT,
                             env=env)
        if expect is not None:
            assert out.returncode == expect, (
                f"{args}: exit {out.returncode}, expected {expect}\n"
                f"stdout: {out.stdout}\nstderr: {out.stderr}")
        return out

    def spawn(self, cmd, **kw):
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=sys.stderr, **kw)
        self.children.append(proc)
        return proc, Lines(proc)

    def spawn_ctl(self, *args):
        return self.spawn(self.ctl_args(*args))

    def device(self, *args):
        return self.spawn([DEVICE, f"--connect={self.hub}", *args])

    def stop_service(self):
        code = vshtest.stop_service(self.service, timeout=TIMEOUT * 10)
        self.service = None
        return code

    def close(self):
        for proc in self.children:
            if proc.poll() is None:
                proc.kill()
            proc.wait(timeout=TIMEOUT)
            proc.stdout.close()
        code = self.stop_service() if self.service else 0
        super().close()
        assert code == 0, f"vhost-shared exited with {code}"


def stop(proc, sig=signal.SIGINT):
    proc.send_signal(sig)
    return proc.wait(timeout=TIMEOUT)


def random_uuid():
    return str(uuidlib.uuid4())


# A UUID nobody holds: looking it up makes a LookedUp event and nothing else.
SYNC_UUID = "00000000-0000-4000-8000-00000000c0de"


def json_monitor_listening(tb, lines):
    """Returns once `monitor --json`, which prints no header, listens: a
    lookup of SYNC_UUID is repeated until its LookedUp shows (later copies
    of it may still come; skip SYNC_UUID's events)."""
    deadline = time.monotonic() + TIMEOUT
    while True:
        tb.ctl("lookup", SYNC_UUID, expect=4)
        try:
            lines.wait_for(SYNC_UUID, timeout=0.5)
            return
        except AssertionError:
            assert time.monotonic() < deadline, "monitor --json showed no event"


def with_testbed(fn):
    """Runs fn(tb) on a fresh Testbed, closed afterwards: one test case."""
    tb = Testbed()
    try:
        fn(tb)
    finally:
        tb.close()
