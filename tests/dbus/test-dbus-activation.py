#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""D-Bus activation without systemd: a private system-like bus whose
servicedir holds the built activation file starts vhost-shared on the
first call to org.vhostshare.share1, as dbus-daemon does on a machine
without systemd. Output is TAP."""

import configparser
import os
import signal
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

tests, test = vshtest.registry()


def activation_file():
    """The built activation file's [D-BUS Service] section."""
    parser = configparser.ConfigParser(interpolation=None)
    parser.optionxform = str
    parser.read(os.path.join(vshtest.build_root(), "data", "org.vhostshare.share1.service"))
    return parser["D-BUS Service"]


@test
def the_activation_file_runs_the_installed_daemon():
    section = activation_file()
    exec_line = section["Exec"].split()
    assert exec_line[0].startswith("/") and exec_line[0].endswith("/sbin/vhost-shared"), exec_line
    assert exec_line[1:] == ["--system"], exec_line
    assert section["Name"] == NAME
    assert section["SystemdService"] == "vhost-shared.service"
    assert section["User"] == "root"


def wait_gone(pid):
    deadline = time.monotonic() + TIMEOUT
    while os.path.exists(f"/proc/{pid}"):
        assert time.monotonic() < deadline, f"activated vhost-shared (pid {pid}) did not exit"
        time.sleep(0.01)


@test
def the_first_call_starts_the_service():
    services = None
    bus = None
    pid = 0
    try:
        # The bus reads the activation file at start, from a directory
        # named in its configuration.
        services = tempfile.TemporaryDirectory(prefix="vhost-share-activation-")
        config = os.path.join(services.name, "vhost-shared.conf")
        with open(config, "w"):
            pass
        section = activation_file()
        # The same file with the build tree's daemon: the arguments stay
        # ("--system": dbus-daemon says which bus in DBUS_SYSTEM_BUS_ADDRESS),
        # plus an empty configuration instead of the machine's.
        args = section["Exec"].split()[1:]
        daemon = os.path.join(vshtest.build_root(), "service", "vhost-shared")
        with open(os.path.join(services.name, NAME + ".service"), "w") as f:
            f.write("[D-BUS Service]\n")
            f.write(f"Name={section['Name']}\n")
            f.write(f"Exec={daemon} {' '.join(args)} --config={config}\n")
            f.write(f"User={section['User']}\n")
            f.write(f"SystemdService={section['SystemdService']}\n")
        os.chmod(services.name, 0o755)
        bus = vshtest.PrivateBus("vhost-share-activation-bus-",
                                 extra=f"  <servicedir>{services.name}</servicedir>\n")
        conn = Gio.DBusConnection.new_for_address_sync(
            bus.address, Gio.DBusConnectionFlags.AUTHENTICATION_CLIENT
            | Gio.DBusConnectionFlags.MESSAGE_BUS_CONNECTION, None, None)
        (has_owner,) = conn.call_sync("org.freedesktop.DBus", "/org/freedesktop/DBus",
                                      "org.freedesktop.DBus", "NameHasOwner",
                                      GLib.Variant("(s)", (NAME,)), None, 0, -1, None).unpack()
        assert not has_owner, "something owns the name before the first call"
        (version,) = conn.call_sync(NAME, ROOT, "org.freedesktop.DBus.Properties", "Get",
                                    GLib.Variant("(ss)", (MANAGER, "Version")), None, 0,
                                    int(TIMEOUT * 1000), None).unpack()
        assert version, "no Version from the activated service"
        (pid,) = conn.call_sync("org.freedesktop.DBus", "/org/freedesktop/DBus",
                                "org.freedesktop.DBus", "GetConnectionUnixProcessID",
                                GLib.Variant("(s)", (NAME,)), None, 0, -1, None).unpack()
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            cmdline = f.read().split(b"\0")
        assert cmdline[0].decode() == daemon, cmdline
        conn.close_sync(None)
        os.kill(pid, signal.SIGTERM)
        wait_gone(pid)
        pid = 0
    finally:
        if pid:
            os.kill(pid, signal.SIGKILL)
        if bus:
            bus.close()
        if services:
            services.cleanup()


if __name__ == "__main__":
    sys.exit(vshtest.run_tap([(t.__name__, t) for t in tests]))
