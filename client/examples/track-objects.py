#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Orchestration example: mirror vhost-shared's table into a directory.

Follows the service through libvhostshare-1 (GObject Introspection,
namespace VhostShare): for every shared object it writes STATE_DIR/UUID
(key=value lines: uuid, type, owner, size, exporter, path) and deletes the
file when the object goes, printing one line per change. A VM manager could
use the same pattern to start a consumer when a buffer appears or to clean
up when it goes.

Objects that exist before the script starts are picked up too: the client
lists what the service has when it is made and announces every change
after that, so nothing falls between the two.

Usage: track-objects.py STATE_DIR [--system | --session | --address=ADDRESS]
Runs until SIGINT or SIGTERM (exit 0).
"""

import argparse
import os
import signal
import sys

import gi

gi.require_version("Gio", "2.0")
gi.require_version("VhostShare", "1")
from gi.repository import Gio, GLib, VhostShare  # noqa: E402


def connect(args):
    if args.address:
        return VhostShare.Client.new_for_address_sync(args.address, None)
    kind = Gio.BusType.SESSION if args.session else Gio.BusType.SYSTEM
    return VhostShare.Client.new_sync(kind, None)


class Tracker:
    def __init__(self, client, state_dir):
        self.client = client
        self.dir = state_dir
        os.makedirs(state_dir, exist_ok=True)

    def added(self, obj):
        uuid = obj.props.uuid
        owner = obj.props.owner_bus_name or obj.props.owner
        fields = {"uuid": uuid, "type": obj.props.object_type, "owner": owner,
                  "size": obj.props.size, "exporter": obj.props.exporter,
                  "path": obj.props.object_path}
        tmp = os.path.join(self.dir, "." + uuid)
        with open(tmp, "w") as f:
            f.writelines(f"{k}={v}\n" for k, v in fields.items())
        os.replace(tmp, os.path.join(self.dir, uuid))  # readers never see half a file
        print(f"added {uuid} type={fields['type']} owner={owner} size={fields['size']}",
              flush=True)

    def removed(self, uuid):
        try:
            os.unlink(os.path.join(self.dir, uuid))
        except FileNotFoundError:
            pass
        print(f"removed {uuid}", flush=True)

    def start(self):
        self.client.connect("object-added", lambda _c, obj: self.added(obj))
        self.client.connect("object-removed", lambda _c, obj: self.removed(obj.props.uuid))
        present = set()
        for obj in self.client.list_objects():
            present.add(obj.props.uuid)
            self.added(obj)
        # Files of objects that went while we were not watching.
        for name in os.listdir(self.dir):
            if not name.startswith(".") and name not in present:
                self.removed(name)
        print("watching", flush=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[1])
    parser.add_argument("state_dir")
    bus = parser.add_mutually_exclusive_group()
    bus.add_argument("--system", action="store_true", help="the system bus (default)")
    bus.add_argument("--session", action="store_true", help="the session bus")
    bus.add_argument("--address", help="the bus at ADDRESS")
    args = parser.parse_args()

    loop = GLib.MainLoop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        GLib.unix_signal_add(GLib.PRIORITY_DEFAULT, sig, loop.quit)
    try:
        client = connect(args)
        Tracker(client, args.state_dir).start()
    except GLib.Error as e:
        print(f"track-objects: {e.message}", file=sys.stderr)
        return 1
    client.props.connection.connect("closed", lambda *a: loop.quit())
    loop.run()
    return 0


if __name__ == "__main__":
    sys.exit(main())
