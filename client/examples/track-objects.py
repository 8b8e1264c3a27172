#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Orchestration example: mirror vhost-shared's table into a directory.

Reacts to the manager's Added and Removed signals: for every shared object
it writes STATE_DIR/UUID (key=value lines: uuid, type, owner, size,
exporter, path) and deletes the file when the object goes, printing one line
per change. A VM manager could use the same pattern to start a consumer
when a buffer appears or to clean up when it goes.

Objects that exist before the script starts are picked up too: it
subscribes first, then lists the table, so nothing falls between the two.

Usage: track-objects.py STATE_DIR [--system | --session | --address=ADDRESS]
Runs until SIGINT or SIGTERM (exit 0).
"""

import argparse
import os
import signal
import sys

import gi

gi.require_version("Gio", "2.0")
from gi.repository import Gio, GLib  # noqa: E402

NAME = "org.vhostshare.share1"
ROOT = "/org/vhostshare/share1"
MANAGER = "org.vhostshare.share1.Manager"
OBJECT = "org.vhostshare.share1.Object"


def connect(args):
    if args.address:
        flags = (Gio.DBusConnectionFlags.AUTHENTICATION_CLIENT
                 | Gio.DBusConnectionFlags.MESSAGE_BUS_CONNECTION)
        return Gio.DBusConnection.new_for_address_sync(args.address, flags, None, None)
    kind = Gio.BusType.SESSION if args.session else Gio.BusType.SYSTEM
    return Gio.bus_get_sync(kind, None)


class Tracker:
    def __init__(self, conn, state_dir):
        self.conn = conn
        self.dir = state_dir
        os.makedirs(state_dir, exist_ok=True)

    def properties(self, path):
        reply = self.conn.call_sync(NAME, path, "org.freedesktop.DBus.Properties", "GetAll",
                                    GLib.Variant("(s)", (OBJECT,)),
                                    GLib.VariantType.new("(a{sv})"), Gio.DBusCallFlags.NONE,
                                    5000, None)
        return reply.unpack()[0]

    def added(self, uuid, path):
        try:
            props = self.properties(path)
        except GLib.Error as e:
            # Gone again before we asked: Removed follows.
            print(f"added {uuid} (vanished: {e.message})", flush=True)
            return
        owner = props.get("OwnerBusName") or props.get("Owner", "/")
        fields = {"uuid": uuid, "type": props.get("Type", ""), "owner": owner,
                  "size": props.get("Size", 0), "exporter": props.get("Exporter", ""),
                  "path": path}
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

    def on_signal(self, conn, sender, path, iface, member, params):
        if member == "Added":
            uuid, obj_path, _type = params.unpack()
            self.added(uuid, obj_path)
        elif member == "Removed":
            uuid, _path = params.unpack()
            self.removed(uuid)

    def start(self):
        self.conn.signal_subscribe(NAME, MANAGER, None, ROOT, None,
                                   Gio.DBusSignalFlags.NONE, self.on_signal)
        # Objects that were there before we subscribed.
        reply = self.conn.call_sync(NAME, ROOT, MANAGER, "ListObjects", None,
                                    GLib.VariantType.new("(a(sso))"), Gio.DBusCallFlags.NONE,
                                    5000, None)
        present = set()
        for uuid, _type, path in reply.unpack()[0]:
            present.add(uuid)
            self.added(uuid, path)
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
        conn = connect(args)
        Tracker(conn, args.state_dir).start()
    except GLib.Error as e:
        print(f"track-objects: {e.message}", file=sys.stderr)
        return 1
    conn.connect("closed", lambda *a: loop.quit())
    loop.run()
    return 0


if __name__ == "__main__":
    sys.exit(main())
