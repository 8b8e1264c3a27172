#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""vhost-share-viewer for real: under Xvfb, with its own session bus (for
the accessibility bus), watching vhost-shared on a private bus. The test
exports and removes objects over D-Bus (through libvhostshare-1) and reads
the window through the accessibility tree (AT-SPI, pyatspi): the rows
appear and go; a peer shows up in the Peers page; the search filters; an
error of the service reaches the window as a readable message; a
screenshot of the running window is taken (ImageMagick) and its size
checked. Output is TAP."""

import os
import re
import shutil
import signal
import struct
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), os.pardir, "helpers"))
import vshtest  # noqa: E402
from vshtest import TIMEOUT  # noqa: E402

WIDTH, HEIGHT = 1280, 800  # the window is 1260x720 at the origin


def need(program):
    path = shutil.which(program)
    assert path, f"{program} is not installed (tools/install-deps)"
    return path


class Desktop:
    """Xvfb and a session bus of our own, and the service on a private bus."""

    def __init__(self):
        self.procs = []
        self.tmp = tempfile.TemporaryDirectory(prefix="vhost-share-viewer-")
        self.dir = self.tmp.name
        self.bus = vshtest.PrivateBus("vhost-share-viewer-bus-")
        self.service = self.bus.start_service()
        r, w = os.pipe()
        self.xvfb = self.spawn([need("Xvfb"), "-displayfd", str(w), "-screen", "0",
                                f"{WIDTH}x{HEIGHT}x24", "-nolisten", "tcp", "-noreset"],
                               pass_fds=(w,))
        os.close(w)
        with os.fdopen(r) as f:
            display = f.readline().strip()
        assert display, "Xvfb printed no display number"
        self.display = f":{display}"
        # What it starts (the accessibility bus and registry, which also
        # generates the test's mouse events) gets this display.
        session = self.spawn([need("dbus-daemon"), "--session", "--nofork", "--nopidfile",
                              "--print-address=1", f"--address=unix:path={self.dir}/session"],
                             stdout=subprocess.PIPE, text=True,
                             env=dict(os.environ, DISPLAY=self.display))
        self.session = session.stdout.readline().strip()
        assert self.session, "the session dbus-daemon printed no address"
        self.env = dict(os.environ, DISPLAY=self.display, DBUS_SESSION_BUS_ADDRESS=self.session,
                        GDK_BACKEND="x11", GSK_RENDERER="cairo", GTK_A11Y="atspi",
                        XDG_RUNTIME_DIR=self.dir, HOME=self.dir, LANGUAGE="C", LC_ALL="C.UTF-8",
                        GSETTINGS_BACKEND="memory", NO_AT_BRIDGE="0")
        # pyatspi finds the accessibility bus through this process's session bus.
        os.environ.update(DISPLAY=self.display, DBUS_SESSION_BUS_ADDRESS=self.session)

    def spawn(self, argv, **kw):
        kw.setdefault("stdout", sys.stderr)
        proc = subprocess.Popen(argv, stderr=sys.stderr, **kw)
        self.procs.append(proc)
        return proc

    def viewer(self, *args):
        exe = os.path.join(vshtest.build_root(), "client", "viewer", "vhost-share-viewer")
        return self.spawn([exe, f"--address={self.bus.address}", *args], env=self.env)

    def close(self):
        for proc in reversed(self.procs):
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
                try:
                    proc.wait(timeout=TIMEOUT)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()
        code = vshtest.stop_service(self.service) if self.service else 0
        self.bus.close()
        self.tmp.cleanup()
        assert code == 0, f"vhost-shared exited with {code}"



import gi  # noqa: E402

gi.require_version("Atspi", "2.0")
gi.require_version("VhostShare", "1")
from gi.repository import Atspi, GLib, VhostShare  # noqa: E402


def until(fn, what, timeout=TIMEOUT):
    """Polls fn() (AT-SPI has no change signal we can wait on here) until it
    returns something true, or fails with what and the last value."""
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        try:
            last = fn()
        except GLib.Error as e:  # a node went away while we read it
            last = e
        else:
            if last:
                return last
        time.sleep(0.05)
    raise AssertionError(f"{what}: not within {timeout}s (last: {last!r})")


def nodes(node, role=None):
    """node and everything below it (depth first), optionally of a role."""
    found = []
    stack = [node]
    while stack:
        n = stack.pop()
        if role is None or n.get_role_name() == role:
            found.append(n)
        stack.extend(n.get_child_at_index(i) for i in reversed(range(n.get_child_count())))
    return found


class Window:
    def __init__(self, desktop):
        self.proc = desktop.viewer()
        self.app = until(self.find_app, "the viewer on the accessibility bus")
        self.frame = until(lambda: nodes(self.app, "frame"), "the viewer's window")[0]

    def find_app(self):
        d = Atspi.get_desktop(0)
        for i in range(d.get_child_count()):
            a = d.get_child_at_index(i)
            if a is not None and a.get_name() == "vhost-share-viewer" and \
                    a.get_process_id() == self.proc.pid:
                return a
        return None

    def labels(self, root=None):
        return [n.get_name() for n in nodes(root or self.app, "label")]

    def rows(self, table):
        """The texts of the rows of tree table number table (0 objects, 1
        peers, 2 devices), the header row left out."""
        t = nodes(self.frame, "tree table")[table]
        return [[n.get_name() for n in nodes(r, "label")] for r in nodes(t, "table row")[1:]]

    def cell_rows(self, table, text):
        return [r for r in self.rows(table) if text in r]

    def button(self, name):
        for b in nodes(self.app, "push button"):
            if b.get_name().endswith(name):
                return b
        raise AssertionError(f"no button {name!r}")

    def press(self, name):
        self.button(name).do_action(0)

    def tab(self, name):
        for t in nodes(self.frame, "page tab"):
            if t.get_name() == name:
                return t
        raise AssertionError(f"no page tab {name!r}")


def sealed_memfd(size):
    import fcntl
    fd = os.memfd_create("viewer-test", os.MFD_CLOEXEC | os.MFD_ALLOW_SEALING)
    os.ftruncate(fd, size)
    fcntl.fcntl(fd, fcntl.F_ADD_SEALS, fcntl.F_SEAL_SHRINK | fcntl.F_SEAL_GROW)
    return fd


def png_size(path):
    with open(path, "rb") as f:
        head = f.read(24)
    assert head[:8] == b"\x89PNG\r\n\x1a\n", f"{path} is no PNG"
    return struct.unpack(">II", head[16:24])


tests, test = vshtest.registry()


@test
def status_shows_the_service(d, w, client):
    until(lambda: [t for t in w.labels() if t.startswith("vhost-shared 0.1.0 on the bus at ")
                   and t.endswith(": 0 objects, 0 peers")], "the status line")


@test
def rows_appear_and_go(d, w, client):
    fd = sealed_memfd(4096)
    a = client.export_fd_sync(fd, None, None)
    b = client.export_fd_sync(fd, None, None)
    row = until(lambda: w.cell_rows(0, a), f"a row of {a}")[0]
    until(lambda: w.cell_rows(0, b), f"a row of {b}")
    # UUID, type, owner as comm[pid] (user), size, exporter, lookups, age
    assert row[1] == "dma-buf" and row[3] == "4.1\u00a0kB" and row[4] == "memfd" and row[5] == "0", row
    until(lambda: re.fullmatch(rf"python3\[{os.getpid()}\] \(root\)", w.cell_rows(0, a)[0][2]),
          "the owner as comm[pid] (user)")
    os.close(client.lookup_sync(a, None))
    until(lambda: w.cell_rows(0, a)[0][5] == "1", "the lookup count")
    client.remove_sync(a, None)
    until(lambda: not w.cell_rows(0, a), f"the row of {a} gone")
    assert w.cell_rows(0, b), "the other row went too"
    until(lambda: [t for t in w.labels() if t.endswith(": 1 objects, 0 peers")], "the count")
    os.close(fd)
    d.objects = [b]


@test
def search_filters(d, w, client):
    fd = sealed_memfd(8192)
    c = client.export_fd_sync(fd, None, None)
    os.close(fd)
    until(lambda: w.cell_rows(0, c), f"a row of {c}")
    before = len(w.rows(0))
    assert before >= 2, w.rows(0)
    entry = [n for n in nodes(w.frame, "entry") if n.get_name() == "Search"][0]
    entry.set_text_contents(c[:13])
    until(lambda: [r[0] for r in w.rows(0)] == [c], "only the matching row")
    entry.set_text_contents("")
    until(lambda: len(w.rows(0)) == before, "all rows back")


@test
def peers_page(d, w, client):
    sock = os.path.join(d.dir, "dev.sock")
    dev = d.spawn([os.path.join(vshtest.build_root(), "service", "vhost-share-device"),
                   f"--listen={sock}", "--export=1"], stdout=subprocess.PIPE, text=True)
    assert dev.stdout.readline().startswith("LISTENING"), "the device did not listen"
    client.add_peer_sync("connect", sock, None)
    row = until(lambda: [r for r in w.rows(1) if r and r[2] == "ready"], "a ready peer")[0]
    assert row[1] == "back-end" and "shared objects" in row[3], row
    assert re.fullmatch(rf"vhost-share-dev\[{dev.pid}\] \(root\)", row[4]), row
    until(lambda: [r for r in w.rows(0) if r[1] == "vhost-device"], "the device's object")


@test
def error_is_readable(d, w, client):
    w.press("Attach Socket…")
    dialog = until(lambda: [n for n in nodes(w.app, "dialog")] or
                   [n for n in nodes(w.app, "alert")], "the attach dialog")[0]
    entry = until(lambda: [n for n in nodes(dialog, "text") if n.get_name() == "Socket path"],
                  "the socket path entry")[0]
    entry.set_text_contents("relative.sock")
    [b for b in nodes(dialog, "push button") if b.get_name().endswith("Attach")][0].do_action(0)
    # The service's InvalidArgs, as a sentence and the service's own words.
    until(lambda: [t for t in w.labels() if t.startswith(
        "Cannot attach the socket: The service refused an argument. (")], "the error message")


@test
def details_of_the_selected_row(d, w, client):
    """A click on a row (through the accessibility bus's mouse) shows every
    property of that object in the detail pane, and Remove removes it."""
    table = nodes(w.frame, "tree table")[0]
    row = [r for r in nodes(table, "table row")[1:]
           if [n.get_name() for n in nodes(r, "label")][1] == "dma-buf"][0]
    uuid = nodes(row, "label")[0].get_name()
    # GTK 4 knows window coordinates only; without a window manager the
    # window sits at the screen's origin.
    ext = row.get_extents(Atspi.CoordType.WINDOW)
    print(f"# row at {ext.x},{ext.y} {ext.width}x{ext.height}")
    Atspi.generate_mouse_event(ext.x + 20, ext.y + ext.height // 2, "b1c")
    until(lambda: [t for t in w.labels() if t == uuid] and "Uuid" in w.labels() and
          "LookupCount" in w.labels(), "the detail pane")
    d.selected = uuid


@test
def screenshot(d, w, client):
    path = os.path.join(d.dir, "viewer.png")
    subprocess.run([need("import"), "-display", d.display, "-window", "root", path],
                   check=True, timeout=TIMEOUT, env=d.env)
    assert png_size(path) == (WIDTH, HEIGHT), png_size(path)
    colors = subprocess.run([need("identify"), "-format", "%k", path], capture_output=True,
                            text=True, check=True, timeout=TIMEOUT).stdout
    # A drawn window, not an empty screen.
    assert int(colors) > 50, f"only {colors} colours"
    keep = os.environ.get("VHOST_SHARE_SCREENSHOT")
    if keep:
        subprocess.run(["convert", path, "-crop", "1260x720+0+0", "+repage", keep], check=True)


@test
def remove_through_the_window(d, w, client):
    """The Remove button removes the selected object: the row goes."""
    uuid = d.selected
    w.press("Remove Object")
    until(lambda: not w.cell_rows(0, uuid), f"the row of {uuid} gone")
    until(lambda: [t for t in w.labels() if t.endswith(": 2 objects, 1 peers")], "the count")


@test
def service_goes_away(d, w, client):
    """The service stops: its rows go and the status line says so."""
    assert vshtest.stop_service(d.service) == 0
    d.service = None
    until(lambda: not w.rows(0) and not w.rows(1), "the rows gone")
    until(lambda: [t for t in w.labels() if t.startswith("vhost-shared is not running on the bus")],
          "the status line")


def main():
    d = Desktop()
    try:
        w = Window(d)
        client = VhostShare.Client.new_for_address_sync(d.bus.address, None)
        status = vshtest.run_tap([(fn.__name__, lambda fn=fn: fn(d, w, client)) for fn in tests])
        w.proc.terminate()
        assert w.proc.wait(timeout=TIMEOUT) == 0, "the viewer did not exit cleanly"
    except BaseException:
        d.close()
        raise
    d.close()
    return status


if __name__ == "__main__":
    sys.exit(main())
