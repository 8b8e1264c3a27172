#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""libvhostshare-1 from Python through its typelib (GI_TYPELIB_PATH points
at the build tree): the async constructor, objects and their properties
and notifications, fds in and out, the error domain, an async call with a
GFile; and client/examples/track-objects.py, which is written on it.
Against vhost-shared on a private bus. Output is TAP."""

import fcntl
import os
import re
import signal
import subprocess
import sys
import time

import gi

gi.require_version("Gio", "2.0")
gi.require_version("VhostShare", "1")
from gi.repository import Gio, GLib, VhostShare  # noqa: E402

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), os.pardir, "helpers"))
import vshtest  # noqa: E402
from vshtest import TIMEOUT, Lines  # noqa: E402

UUID_RE = r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"


class Testbed(vshtest.PrivateBus):
    def __init__(self):
        super().__init__("vhost-share-lib-gi-")
        self.service = self.start_service()
        self.children = []

    def close(self):
        for proc in self.children:
            if proc.poll() is None:
                proc.kill()
            proc.wait(timeout=TIMEOUT)
        code = vshtest.stop_service(self.service)
        super().close()
        assert code == 0, f"vhost-shared exited with {code}"


def sealed_memfd(size, data=b"python"):
    fd = os.memfd_create("gi-lib-test", os.MFD_CLOEXEC | os.MFD_ALLOW_SEALING)
    os.ftruncate(fd, size)
    os.pwrite(fd, data, 0)
    fcntl.fcntl(fd, fcntl.F_ADD_SEALS, fcntl.F_SEAL_SHRINK | fcntl.F_SEAL_GROW)
    return fd


def iterate_until(done, what):
    ctx = GLib.MainContext.default()
    deadline = time.monotonic() + TIMEOUT
    while not done() and time.monotonic() < deadline:
        ctx.iteration(False) or time.sleep(0.001)
    assert done(), f"{what} did not happen within {TIMEOUT}s"


def finish(start):
    """Runs an async call: start(callback); returns the callback's result."""
    results = []
    start(lambda source, result: results.append(result))
    iterate_until(lambda: results, "the async call")
    return results[0]


def new_client(tb):
    result = finish(lambda cb: VhostShare.Client.new_for_address(tb.address, None, cb))
    return VhostShare.Client.new_finish(result)


tests, test = vshtest.registry()


@test
def objects_and_properties(tb):
    client = new_client(tb)
    assert client.props.name_owner.startswith(":")
    assert client.props.version == client.get_version() != ""
    assert client.list_objects() == []
    events = []
    client.connect("object-added", lambda c, o: events.append(("added", o.props.uuid)))
    client.connect("object-removed", lambda c, o: events.append(("removed", o.props.uuid)))

    fd = sealed_memfd(8192)
    uuid = client.export_fd_sync(fd, None, None)
    iterate_until(lambda: ("added", uuid) in events, "object-added")
    obj = client.get_object(uuid)
    assert isinstance(obj, VhostShare.Object) and isinstance(obj, VhostShare.Item)
    assert obj.props.object_type == "dma-buf"
    assert obj.props.size == 8192
    assert obj.props.exporter == "memfd"
    assert obj.props.owner_bus_name == client.props.connection.get_unique_name()
    assert obj.props.object_path.endswith(uuid.replace("-", ""))
    iterate_until(lambda: client.props.object_count == 1, "ObjectCount 1")

    counts = []
    obj.connect("notify::lookup-count", lambda o, p: counts.append(o.props.lookup_count))
    got = client.lookup_sync(uuid, None)
    assert os.pread(got, 6, 0) == b"python"
    assert os.fstat(got).st_ino == obj.props.inode
    os.close(got)
    iterate_until(lambda: counts == [1], "notify::lookup-count")

    client.remove_sync(uuid, None)
    iterate_until(lambda: ("removed", uuid) in events, "object-removed")
    assert client.get_object(uuid) is None
    os.close(fd)


@test
def errors_are_the_domain(tb):
    client = VhostShare.Client.new_for_address_sync(tb.address, None)
    fd = sealed_memfd(4096)
    uuid = client.export_fd_sync(fd, None, None)
    try:
        client.export_fd_sync(fd, uuid, None)
        raise AssertionError("a second export of the UUID succeeded")
    except GLib.Error as e:
        assert e.matches(VhostShare.Error.quark(), VhostShare.Error.EXISTS), e
        assert uuid in e.message and not e.message.startswith("GDBus"), e.message
    try:
        client.lookup_sync("11111111-2222-4333-8444-555555555555", None)
        raise AssertionError("a lookup of an unknown UUID succeeded")
    except GLib.Error as e:
        assert e.matches(VhostShare.Error.quark(), VhostShare.Error.NOT_FOUND), e
    os.close(fd)


@test
def async_file_and_allocate(tb):
    client = new_client(tb)
    path = os.path.join(tb.dir, "frame.bin")
    with open(path, "wb") as f:
        f.write(bytes(range(256)) * 16)
    result = finish(lambda cb: client.export_file(Gio.File.new_for_path(path), None, None, cb))
    uuid = client.export_file_finish(result)
    fd = client.lookup_sync(uuid, None)
    assert os.pread(fd, 5000, 0) == bytes(range(256)) * 16
    os.close(fd)

    uuid2, fd2 = client.allocate_sync(4096, "memfd", None)
    assert re.fullmatch(UUID_RE, uuid2) and os.fstat(fd2).st_size >= 4096
    os.close(fd2)


@test
def example_tracks_objects(tb):
    script = os.path.join(vshtest.source_root(), "client", "examples", "track-objects.py")
    state = os.path.join(tb.dir, "state")
    os.makedirs(state)
    stale = "11111111-2222-4333-8444-555555555555"
    open(os.path.join(state, stale), "w").close()
    holder = VhostShare.Client.new_for_address_sync(tb.address, None)
    fd = sealed_memfd(4096)
    before = holder.export_fd_sync(fd, None, None)
    holder.disown_sync(before, None)

    proc = subprocess.Popen(["/usr/bin/python3", script, state, f"--address={tb.address}"],
                            stdout=subprocess.PIPE, stderr=sys.stderr)
    tb.children.append(proc)
    lines = Lines(proc)
    lines.wait_for(r"^watching$")
    assert f"added {before} type=dma-buf owner=/ size=4096" in lines.lines, lines.lines
    assert f"removed {stale}" in lines.lines, lines.lines
    assert sorted(os.listdir(state)) == [before]

    exporter = VhostShare.Client.new_for_address_sync(tb.address, None)
    u = exporter.export_fd_sync(fd, None, None)
    line = lines.wait_for(rf"^added {u} ")
    assert re.fullmatch(rf"added {u} type=dma-buf owner=:1\.\d+ size=4096", line), line
    with open(os.path.join(state, u)) as f:
        fields = dict(x.rstrip("\n").split("=", 1) for x in f)
    assert fields["uuid"] == u and fields["size"] == "4096" and fields["exporter"] == "memfd"
    assert fields["path"] == "/org/vhostshare/share1/object/" + u.replace("-", "")

    exporter.props.connection.close_sync(None)
    lines.wait_for(rf"^removed {u}$")
    assert sorted(os.listdir(state)) == [before]
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=TIMEOUT) == 0
    os.close(fd)


INSTALLED_PY = """
import gi
gi.require_version("VhostShare", "1")
from gi.repository import VhostShare
client = VhostShare.Client.new_for_address_sync(ADDRESS, None)
print(VhostShare.__file__ if hasattr(VhostShare, "__file__") else "", client.props.version)
"""

INSTALLED_C = """
#include <vhost-share.h>
int main(int argc, char **argv)
{
        g_autoptr(GError) error = NULL;
        g_autoptr(VhostShareClient) c = vhost_share_client_new_for_address_sync(argv[1], NULL, &error);

        g_print("%s %s\\n", c ? vhost_share_client_get_version(c) : error->message, VHOST_SHARE_VERSION);
        return c ? 0 : 1;
}
"""

INSTALLED_VALA = """
int main(string[] args) {
    try {
        var c = new VhostShare.Client.for_address_sync(args[1], null);
        print("%s\\n", c.version);
        return 0;
    } catch (Error e) {
        printerr("%s\\n", e.message);
        return 1;
    }
}
"""


@test
def installed_tree(tb):
    """What `meson install` puts down works on its own: Python through the
    installed typelib, C through the installed header and pkg-config file,
    Vala through the installed .vapi (nothing of the build tree on the
    paths)."""
    dest = os.path.join(tb.dir, "dest")
    out = subprocess.run(["meson", "install", "-C", vshtest.build_root(), "--no-rebuild",
                          "--quiet", "--destdir", dest], capture_output=True, text=True,
                         timeout=TIMEOUT * 4)
    assert out.returncode == 0, out.stdout + out.stderr
    prefix = subprocess.run(["meson", "introspect", "--buildoptions", vshtest.build_root()],
                            capture_output=True, text=True, check=True, timeout=TIMEOUT).stdout
    opts = {o["name"]: o["value"] for o in __import__("json").loads(prefix)}
    root = dest + opts["prefix"]
    libdir = os.path.join(root, opts["libdir"])
    env = {k: v for k, v in os.environ.items() if k not in ("GI_TYPELIB_PATH", "LD_LIBRARY_PATH")}
    env.update(GI_TYPELIB_PATH=os.path.join(libdir, "girepository-1.0"), LD_LIBRARY_PATH=libdir)
    out = subprocess.run(["/usr/bin/python3", "-c", INSTALLED_PY.replace("ADDRESS", repr(tb.address))],
                         env=env, capture_output=True, text=True, timeout=TIMEOUT)
    assert out.returncode == 0 and out.stdout.split()[-1] == "0.1.0", out.stdout + out.stderr

    src = os.path.join(tb.dir, "installed.c")
    with open(src, "w") as f:
        f.write(INSTALLED_C)
    # The installed .pc names the real prefix: a copy names the staging one.
    pcdir = os.path.join(tb.dir, "pkgconfig")
    os.makedirs(pcdir)
    with open(os.path.join(libdir, "pkgconfig", "vhost-share-1.pc")) as f:
        pc = f.read().replace(f"prefix={opts['prefix']}\n", f"prefix={root}\n", 1)
    with open(os.path.join(pcdir, "vhost-share-1.pc"), "w") as f:
        f.write(pc)
    env["PKG_CONFIG_PATH"] = pcdir
    flags = subprocess.run(["pkg-config", "--cflags", "--libs", "vhost-share-1"],
                           env=env, capture_output=True, text=True, check=True,
                           timeout=TIMEOUT).stdout.split()
    exe = os.path.join(tb.dir, "installed")
    out = subprocess.run(["cc", "-o", exe, src, *flags], env=env, capture_output=True, text=True,
                         timeout=TIMEOUT * 2)
    assert out.returncode == 0, out.stderr
    out = subprocess.run([exe, tb.address], env=env, capture_output=True, text=True,
                         timeout=TIMEOUT)
    assert out.returncode == 0 and out.stdout == "0.1.0 0.1.0\n", out.stdout + out.stderr

    vala = os.path.join(tb.dir, "installed.vala")
    with open(vala, "w") as f:
        f.write(INSTALLED_VALA)
    vapidir = os.path.join(root, opts["datadir"], "vala", "vapi")
    out = subprocess.run(["valac", f"--vapidir={vapidir}", "--pkg=vhost-share-1",
                          "-X", "-w", "-o", exe + "-vala", vala], env=env, capture_output=True,
                         text=True, timeout=TIMEOUT * 4, cwd=tb.dir)
    assert out.returncode == 0, out.stdout + out.stderr
    out = subprocess.run([exe + "-vala", tb.address], env=env, capture_output=True, text=True,
                         timeout=TIMEOUT)
    assert out.returncode == 0 and out.stdout == "0.1.0\n", out.stdout + out.stderr


def start_device(tb, name, *args):
    """vhost-share-device listening at tb.dir/name.sock, with its stdout."""
    sock = os.path.join(tb.dir, f"{name}.sock")
    proc = subprocess.Popen([os.path.join(vshtest.build_root(), "service", "vhost-share-device"),
                             f"--listen={sock}", *args], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, stderr=sys.stderr)
    tb.children.append(proc)
    lines = Lines(proc)
    lines.wait_for(r"^LISTENING")
    return sock, proc, lines


DOMAIN_XML = """<domain type='kvm'>
  <name>guest</name>
  <devices>
    <disk type='file'><source file='/var/lib/libvirt/images/guest.qcow2'/></disk>
    <interface type='vhostuser'>
      <source type='unix' path='{sock}' mode='server'/>
      <model type='virtio'/>
    </interface>
  </devices>
</domain>
"""


@test
def example_vm_objects(tb):
    """vm-objects.py lists and follows the objects of the peers on a
    domain's sockets, and only those."""
    client = VhostShare.Client.new_for_address_sync(tb.address, None)
    mine, dev, dev_lines = start_device(tb, "vm", "--export=2", "--commands")
    other, _, other_lines = start_device(tb, "other", "--export=1")
    peer = client.add_peer_sync("connect", mine, None)
    client.add_peer_sync("connect", other, None)
    ours = [re.search(UUID_RE, dev_lines.wait_for(r"^EXPORTED ")).group(0) for _ in range(2)]
    theirs = re.search(UUID_RE, other_lines.wait_for(r"^EXPORTED ")).group(0)
    xml = os.path.join(tb.dir, "guest.xml")
    with open(xml, "w") as f:
        f.write(DOMAIN_XML.format(sock=mine))
    script = os.path.join(vshtest.source_root(), "client", "examples", "vm-objects.py")

    proc = subprocess.Popen(["/usr/bin/python3", script, f"--domain-xml={xml}",
                             f"--address={tb.address}"], stdout=subprocess.PIPE,
                            stderr=sys.stderr)
    tb.children.append(proc)
    lines = Lines(proc)
    lines.wait_for(r"^watching$")
    assert f"peer {peer} back-end ready {mine}" in lines.lines, lines.lines
    for u in ours:
        assert f"object {u} vhost-device 0 {peer}" in lines.lines, lines.lines
    assert not [line for line in lines.lines if theirs in line], lines.lines

    dev.stdin.write(b"export\n")
    dev.stdin.flush()
    new = re.search(UUID_RE, dev_lines.wait_for(r"^EXPORTED ")).group(0)
    lines.wait_for(rf"^added {new} vhost-device 0 {peer}$")
    client.remove_peer_sync(peer, None)
    lines.wait_for(rf"^peer-removed {peer}$")
    for u in ours + [new]:
        if f"removed {u}" not in lines.lines:  # or after the peer
            lines.wait_for(rf"^removed {u}$")
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=TIMEOUT) == 0


def run(fn):
    tb = Testbed()
    try:
        fn(tb)
    except BaseException:
        tb.close()
        raise
    tb.close()


if __name__ == "__main__":
    sys.exit(vshtest.run_tap([(fn.__name__, lambda fn=fn: run(fn)) for fn in tests]))
