#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""virt-manager's building block: the shared objects of one virtual machine.

Given the vhost-user socket paths of a libvirt domain (on the command line,
or read from its XML: `virsh dumpxml DOMAIN | vm-objects.py --domain-xml -`),
finds the service's vhost-user peers on those sockets and prints the objects
they own, then follows them live through libvhostshare-1: peers of the VM
that come and go, objects that appear and leave. One line per fact:

  peer PATH ROLE STATE SOCKET
  object UUID TYPE SIZE PEER
  watching
  added UUID TYPE SIZE PEER / removed UUID
  peer-added PATH ... / peer-removed PATH / peer-state PATH STATE

Usage: vm-objects.py [--domain-xml FILE] [SOCKET...] [--system | --session |
--address=ADDRESS] [--once]
Runs until SIGINT or SIGTERM (exit 0), or lists and exits with --once.
"""

import argparse
import signal
import sys
import xml.etree.ElementTree as ET

import gi

gi.require_version("Gio", "2.0")
gi.require_version("VhostShare", "1")
from gi.repository import Gio, GLib, VhostShare  # noqa: E402


def domain_sockets(xml_text):
    """The UNIX socket paths of a domain's vhost-user devices: every
    <source type='unix' path='...'/> under <devices> (interfaces, disks,
    filesystems, video and the rest that speak vhost-user)."""
    root = ET.fromstring(xml_text)
    devices = root.find("devices")
    if devices is None:
        return set()
    return {s.get("path") for s in devices.iter("source")
            if s.get("type") == "unix" and s.get("path")}


class VmObjects:
    def __init__(self, client, sockets):
        self.client = client
        self.sockets = sockets
        self.peers = {}  # object path -> handler id of its notify::state
        self.objects = set()  # UUIDs shown: their removal is ours whatever went first

    def is_ours(self, peer):
        return peer.props.socket_path in self.sockets

    def describe_object(self, obj):
        return f"{obj.props.uuid} {obj.props.object_type} {obj.props.size} {obj.props.owner}"

    def add_peer(self, peer, prefix):
        path = peer.props.object_path
        print(f"{prefix} {path} {peer.props.role} {peer.props.state} {peer.props.socket_path}",
              flush=True)
        self.peers[path] = peer.connect(
            "notify::state", lambda p, _: print(f"peer-state {path} {p.props.state}", flush=True))

    def on_peer_added(self, client, peer):
        if self.is_ours(peer):
            self.add_peer(peer, "peer-added")

    def on_peer_removed(self, client, peer):
        handler = self.peers.pop(peer.props.object_path, None)
        if handler is not None:
            peer.disconnect(handler)
            print(f"peer-removed {peer.props.object_path}", flush=True)

    def on_object_added(self, client, obj):
        if obj.props.owner in self.peers:
            self.objects.add(obj.props.uuid)
            print(f"added {self.describe_object(obj)}", flush=True)

    def on_object_removed(self, client, obj):
        if obj.props.uuid in self.objects:
            self.objects.discard(obj.props.uuid)
            print(f"removed {obj.props.uuid}", flush=True)

    def start(self):
        self.client.connect("peer-added", self.on_peer_added)
        self.client.connect("peer-removed", self.on_peer_removed)
        self.client.connect("object-added", self.on_object_added)
        self.client.connect("object-removed", self.on_object_removed)
        for peer in self.client.list_peers():
            if self.is_ours(peer):
                self.add_peer(peer, "peer")
        for obj in self.client.list_objects():
            if obj.props.owner in self.peers:
                self.objects.add(obj.props.uuid)
                print(f"object {self.describe_object(obj)}", flush=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("sockets", nargs="*", metavar="SOCKET")
    parser.add_argument("--domain-xml", metavar="FILE",
                        help="a libvirt domain's XML (- for standard input)")
    parser.add_argument("--once", action="store_true", help="list and exit")
    bus = parser.add_mutually_exclusive_group()
    bus.add_argument("--system", action="store_true", help="the system bus (default)")
    bus.add_argument("--session", action="store_true", help="the session bus")
    bus.add_argument("--address", help="the bus at ADDRESS")
    args = parser.parse_args()

    sockets = set(args.sockets)
    if args.domain_xml:
        with (sys.stdin if args.domain_xml == "-" else open(args.domain_xml)) as f:
            sockets |= domain_sockets(f.read())
    if not sockets:
        parser.error("no vhost-user socket given")

    try:
        if args.address:
            client = VhostShare.Client.new_for_address_sync(args.address, None)
        else:
            kind = Gio.BusType.SESSION if args.session else Gio.BusType.SYSTEM
            client = VhostShare.Client.new_sync(kind, None)
    except GLib.Error as e:
        print(f"vm-objects: {e.message}", file=sys.stderr)
        return 1
    VmObjects(client, sockets).start()
    if args.once:
        return 0
    print("watching", flush=True)
    loop = GLib.MainLoop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        GLib.unix_signal_add(GLib.PRIORITY_DEFAULT, sig, loop.quit)
    client.props.connection.connect("closed", lambda *a: loop.quit())
    loop.run()
    return 0


if __name__ == "__main__":
    sys.exit(main())
