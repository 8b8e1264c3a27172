# SPDX-License-Identifier: LGPL-2.1-or-later
"""Plays systemd's part for restart tests: a NOTIFY_SOCKET receiver that
keeps the file descriptor store as systemd does (FDSTORE=1 with FDNAME=,
FDSTOREREMOVE=1, a duplicate of an fd already stored is dropped), and
starts the next instance with LISTEN_FDS, LISTEN_FDNAMES and LISTEN_PID
(set in the child to its own pid, which exec keeps)."""

import ctypes
import fcntl
import os
import select
import socket
import threading
import time

SYS_KCMP = 312  # x86_64
KCMP_FILE = 0
LISTEN_FDS_START = 3
_libc = ctypes.CDLL(None, use_errno=True)


def same_file(a, b):
    """Whether two fds of ours are one open file (systemd's same_fd())."""
    sa, sb = os.fstat(a), os.fstat(b)
    if (sa.st_dev, sa.st_ino) != (sb.st_dev, sb.st_ino):
        return False
    pid = os.getpid()
    return _libc.syscall(SYS_KCMP, pid, pid, KCMP_FILE, a, b) == 0


class FakeSystemd:
    """The notify socket at dir/notify-fake and the fd store behind it."""

    def __init__(self, directory):
        self.path = os.path.join(directory, "notify-fake")
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC)
        self.sock.bind(self.path)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
        self.store = []  # (name, fd), in the order stored
        self.messages = []  # every state string received
        self.ready = 0  # READY=1 seen since the last start
        self.stored_total = 0
        self.removed_total = 0
        # systemd reads its notify socket all the time: a sender whose
        # datagrams are not read blocks.
        self.lock = threading.Condition()
        self.running = True
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self):
        while self.running:
            readable, _, _ = select.select([self.sock], [], [], 0.05)
            if readable:
                with self.lock:
                    self._drain()

    def names(self):
        with self.lock:
            return [name for name, _ in self.store]

    def record_text(self):
        """The newest state record in the store, as text ("" for none)."""
        with self.lock:
            states = [(int(n[len("state-"):]), fd) for n, fd in self.store
                      if n.startswith("state-")]
            if not states:
                return ""
            fd = max(states)[1]
            return os.pread(fd, os.fstat(fd).st_size, 0).decode()

    def _handle(self, text, fds):
        fields = dict(line.split("=", 1) for line in text.split("\n") if "=" in line)
        self.messages.append(text)
        if fields.get("FDSTORE") == "1":
            name = fields.get("FDNAME", "stored")
            for fd in fds:
                if any(same_file(fd, old) for _, old in self.store):
                    os.close(fd)  # systemd: "Suppressing duplicate fd in fd store"
                    continue
                self.store.append((name, fd))
                self.stored_total += 1
            fds = []
        if fields.get("FDSTOREREMOVE") == "1":
            name = fields.get("FDNAME", "")
            for n, fd in [(n, fd) for n, fd in self.store if n == name]:
                os.close(fd)
                self.removed_total += 1
            self.store = [(n, fd) for n, fd in self.store if n != name]
        for fd in fds:  # fds without FDSTORE=1 are closed by systemd
            os.close(fd)
        if fields.get("READY") == "1":
            self.ready += 1

    def _drain(self):
        """Handles every datagram waiting, in order (the lock held: the
        reader thread and start() both drain)."""
        while True:
            try:
                data, ancdata, _, _ = self.sock.recvmsg(
                    65536, socket.CMSG_SPACE(253 * 4),
                    socket.MSG_CMSG_CLOEXEC | socket.MSG_DONTWAIT)
            except (BlockingIOError, OSError):
                return
            fds = []
            for level, kind, payload in ancdata:
                if level == socket.SOL_SOCKET and kind == socket.SCM_RIGHTS:
                    usable = len(payload) - len(payload) % 4
                    fds.extend(int.from_bytes(payload[i:i + 4], "little")
                               for i in range(0, usable, 4))
            self._handle(data.decode(), fds)
            self.lock.notify_all()

    def wait(self, condition, timeout):
        """Waits until condition() (called with the store locked) holds."""
        with self.lock:
            return self.lock.wait_for(condition, timeout)

    def start(self, argv, env, log=None):
        """Forks and execs argv with the store's fds as LISTEN_FDS (and
        standard error appended to the file log, if given); returns the
        pid. READY=1 is counted afresh."""
        with self.lock:
            # systemd handles everything the old instance sent before it
            # starts the next one.
            self._drain()
            self.ready = 0
            names = [name for name, _ in self.store]
            fds = [fd for _, fd in self.store]
            return self._fork(argv, env, names, fds, log)

    def _fork(self, argv, env, names, fds, log):
        env = dict(env, NOTIFY_SOCKET=self.path)
        env.pop("LISTEN_FDS", None)
        env.pop("LISTEN_FDNAMES", None)
        env.pop("LISTEN_PID", None)
        if fds:
            env["LISTEN_FDS"] = str(len(fds))
            env["LISTEN_FDNAMES"] = ":".join(names)
        pid = os.fork()
        if pid == 0:
            try:
                if log:
                    os.dup2(os.open(log, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644), 2)
                # Out of the way first, then into place from 3 on.
                high = [fcntl.fcntl(fd, fcntl.F_DUPFD, 1024) for fd in fds]
                for i, fd in enumerate(high):
                    os.dup2(fd, LISTEN_FDS_START + i, inheritable=True)
                os.closerange(LISTEN_FDS_START + len(high), 65536)
                env["LISTEN_PID"] = str(os.getpid())
                os.execve(argv[0], argv, env)
            finally:
                os._exit(127)
        return pid

    def close(self):
        self.running = False
        self.thread.join()
        for _, fd in self.store:
            os.close(fd)
        self.store = []
        self.sock.close()
        os.unlink(self.path)
