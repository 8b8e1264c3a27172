#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Authorization through polkit: python-dbusmock's polkitd template plays
polkitd on a private system bus; an unprivileged caller (nobody, not in
the privileged group) is allowed, denied or challenged as polkit says,
root never asks, and the question names the caller's bus name and says
whether the call allows interaction. Output is TAP."""

import fcntl
import json
import os
import pwd
import subprocess
import sys
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
POLKIT = "org.freedesktop.PolicyKit1"
POLKIT_PATH = "/org/freedesktop/PolicyKit1/Authority"
POLKIT_IFACE = "org.freedesktop.PolicyKit1.Authority"
MOCK_IFACE = "org.freedesktop.DBus.Mock"
MANAGE_OBJECTS = "org.vhostshare.share1.manage-objects"
MANAGE_PEERS = "org.vhostshare.share1.manage-peers"
ACCESS_DENIED = "org.vhostshare.share1.Error.AccessDenied"
INTERACTIVE = "org.freedesktop.DBus.Error.InteractiveAuthorizationRequired"
UUID = "7d1e2f3a-4b5c-4d6e-8f70-8192a3b4c5d6"

# polkitd may own its name and be called by anyone on this bus, as on a
# real system bus.
POLKIT_POLICY = f"""  <policy context="default">
    <allow own="{POLKIT}"/>
    <allow send_destination="{POLKIT}"/>
  </policy>
"""

# What an unprivileged caller runs: one method call, its outcome as JSON.
CALLER = r"""
import json, sys
from gi.repository import Gio, GLib
address, method, args, signature, interactive = sys.argv[1:6]
conn = Gio.DBusConnection.new_for_address_sync(
    address, Gio.DBusConnectionFlags.AUTHENTICATION_CLIENT
    | Gio.DBusConnectionFlags.MESSAGE_BUS_CONNECTION, None, None)
flags = Gio.DBusCallFlags.ALLOW_INTERACTIVE_AUTHORIZATION if interactive == "1" else 0
try:
    result, fds = conn.call_with_unix_fd_list_sync(
        "org.vhostshare.share1", "/org/vhostshare/share1", "org.vhostshare.share1.Manager",
        method, GLib.Variant(signature, tuple(json.loads(args))), None, flags, 30000, None, None)
    print(json.dumps({"ok": True, "name": conn.get_unique_name()}))
except GLib.Error as e:
    print(json.dumps({"ok": False, "error": Gio.DBusError.get_remote_error(e) or "",
                      "message": e.message, "name": conn.get_unique_name()}))
"""

tests, test = vshtest.registry()


class Testbed(vshtest.PrivateBus):
    """dbus-daemon, the polkitd mock, vhost-shared; an object UUID exported
    by root for the callers to look up."""

    def __init__(self):
        super().__init__("vhost-share-polkit-", extra=POLKIT_POLICY)
        os.chmod(self.dir, 0o755)  # nobody reaches the bus socket
        self.polkit = subprocess.Popen(
            [sys.executable, "-m", "dbusmock", "--system", "--template", "polkitd"],
            env=dict(os.environ, DBUS_SYSTEM_BUS_ADDRESS=self.address),
            stdout=subprocess.DEVNULL, stderr=sys.stderr)
        self.conn = Gio.DBusConnection.new_for_address_sync(
            self.address, Gio.DBusConnectionFlags.AUTHENTICATION_CLIENT
            | Gio.DBusConnectionFlags.MESSAGE_BUS_CONNECTION, None, None)
        self.wait_polkit()
        self.service = self.start_service()
        fd = os.memfd_create("polkit-test", os.MFD_CLOEXEC | os.MFD_ALLOW_SEALING)
        os.ftruncate(fd, 4096)
        fcntl.fcntl(fd, fcntl.F_ADD_SEALS, fcntl.F_SEAL_SHRINK | fcntl.F_SEAL_GROW)
        fd_list = Gio.UnixFDList.new_from_array([fd])
        self.conn.call_with_unix_fd_list_sync(NAME, ROOT, MANAGER, "Export",
                                              GLib.Variant("(hs)", (0, UUID)), None, 0,
                                              int(TIMEOUT * 1000), fd_list, None)

    def wait_polkit(self):
        deadline = time.monotonic() + TIMEOUT
        while True:
            (owned,) = self.conn.call_sync("org.freedesktop.DBus", "/org/freedesktop/DBus",
                                           "org.freedesktop.DBus", "NameHasOwner",
                                           GLib.Variant("(s)", (POLKIT,)), None, 0, -1,
                                           None).unpack()
            if owned:
                return
            assert time.monotonic() < deadline, "the polkitd mock did not start"
            assert self.polkit.poll() is None, "the polkitd mock exited (python3-dbusmock?)"
            time.sleep(0.02)

    def mock(self, method, args=None):
        return self.conn.call_sync(POLKIT, POLKIT_PATH, MOCK_IFACE, method, args, None, 0,
                                   int(TIMEOUT * 1000), None).unpack()

    def checks(self):
        """The CheckAuthorization() calls polkit got: (subject, action, flags)."""
        (calls,) = self.mock("GetMethodCalls", GLib.Variant("(s)", ("CheckAuthorization",)))
        return [(args[0], args[1], args[3]) for _, args in calls]

    def call_as_nobody(self, method, signature, args, interactive=False):
        nobody = pwd.getpwnam("nobody")
        out = subprocess.run(
            ["setpriv", f"--reuid={nobody.pw_uid}", f"--regid={nobody.pw_gid}", "--clear-groups",
             sys.executable, "-c", CALLER, self.address, method, json.dumps(args), signature,
             "1" if interactive else "0"],
            capture_output=True, text=True, timeout=TIMEOUT)
        assert out.returncode == 0, out.stderr
        return json.loads(out.stdout)

    def close(self):
        code = vshtest.stop_service(self.service)
        self.conn.close_sync(None)
        self.polkit.terminate()
        self.polkit.wait(timeout=TIMEOUT)
        super().close()
        assert code == 0, f"vhost-shared exited with {code}"

    def kill(self):
        self.service.kill()
        self.service.wait()
        self.polkit.kill()
        self.polkit.wait()
        super().kill()


def run(fn):
    tb = Testbed()
    try:
        fn(tb)
    except BaseException:
        tb.kill()
        raise
    tb.close()


@test
def polkit_allows_an_unprivileged_caller():
    def case(tb):
        tb.mock("SetAllowed", GLib.Variant("(as)", ([MANAGE_OBJECTS],)))
        got = tb.call_as_nobody("Lookup", "(s)", [UUID])
        assert got["ok"], got
        # The question named the caller by its bus name, and the action.
        checks = tb.checks()
        assert len(checks) == 1, checks
        (kind, details), action, flags = checks[0]
        assert kind == "system-bus-name" and details == {"name": got["name"]}, checks
        assert action == MANAGE_OBJECTS and flags == 0, checks
        # The other action is polkit's to allow too.
        got = tb.call_as_nobody("RemovePeer", "(o)", [ROOT + "/peer/1"])
        assert not got["ok"] and got["error"] == ACCESS_DENIED, got
        assert MANAGE_PEERS in got["message"], got
    run(case)


@test
def polkit_denies():
    def case(tb):
        got = tb.call_as_nobody("Lookup", "(s)", [UUID])
        assert not got["ok"] and got["error"] == ACCESS_DENIED, got
        assert MANAGE_OBJECTS in got["message"], got
        got = tb.call_as_nobody("AddPeer", "(ss)", ["connect", "/nonexistent/x.sock"])
        assert not got["ok"] and got["error"] == ACCESS_DENIED, got
        assert [c[1] for c in tb.checks()] == [MANAGE_OBJECTS, MANAGE_PEERS]
    run(case)


@test
def polkit_challenges_interactive_authorization():
    def case(tb):
        # polkit would ask for a password (auth_admin_keep): not authorized,
        # a challenge.
        tb.mock("AddMethod", GLib.Variant("(sssss)", (
            POLKIT_IFACE, "CheckAuthorization", "(sa{sv})sa{ss}us", "(bba{ss})",
            "ret = (False, True, {})")))
        got = tb.call_as_nobody("Lookup", "(s)", [UUID])
        assert not got["ok"] and got["error"] == INTERACTIVE, got
        # The call allows interaction: polkit is told so (and, with no
        # agent to prompt, still says no).
        got = tb.call_as_nobody("Lookup", "(s)", [UUID], interactive=True)
        assert not got["ok"] and got["error"] == ACCESS_DENIED, got
        assert [c[2] for c in tb.checks()] == [0, 1]
    run(case)


@test
def the_shipped_policy_and_rule_name_the_actions():
    import xml.etree.ElementTree as ET
    data = os.path.join(vshtest.build_root(), "data")
    actions = {a.get("id"): a for a in ET.parse(
        os.path.join(data, "org.vhostshare.share1.policy")).getroot().iter("action")}
    assert set(actions) == {MANAGE_OBJECTS, MANAGE_PEERS}, actions
    for action in actions.values():
        defaults = action.find("defaults")
        assert defaults.find("allow_active").text == "auth_admin_keep"
        assert defaults.find("allow_inactive").text == "no"
        assert defaults.find("allow_any").text == "no"
        assert action.find("description").text and action.find("message").text
    with open(os.path.join(data, "org.vhostshare.share1.rules")) as f:
        rules = f.read()
    for action in actions:
        assert f'"{action}"' in rules, action
    assert 'subject.isInGroup("' in rules and "polkit.Result.YES" in rules, rules


@test
def root_never_asks_polkit():
    def case(tb):
        _, fds = tb.conn.call_with_unix_fd_list_sync(
            NAME, ROOT, MANAGER, "Lookup", GLib.Variant("(s)", (UUID,)), None, 0,
            int(TIMEOUT * 1000), None, None)
        for i in range(fds.get_length()):
            os.close(fds.get(i))
        assert tb.checks() == [], tb.checks()
    run(case)


@test
def the_client_lets_polkit_ask_unless_no_ask_password():
    """vhost-sharectl allows interactive authorization on its calls, so
    polkit may prompt through the user's agent; --no-ask-password takes the
    permission back, and the challenge then says a password is needed."""
    ctl = os.path.join(vshtest.build_root(), "client", "vhost-sharectl")
    nobody = pwd.getpwnam("nobody")

    def sharectl(*args, lang="C"):
        env = dict(os.environ, LANGUAGE=lang, LANG="C.UTF-8", LC_ALL="C.UTF-8",
                   TEXTDOMAINDIR=os.path.join(vshtest.build_root(), "po"))
        return subprocess.run(
            ["setpriv", f"--reuid={nobody.pw_uid}", f"--regid={nobody.pw_gid}",
             "--clear-groups", ctl, f"--address={tb_address[0]}", *args],
            capture_output=True, text=True, timeout=TIMEOUT, env=env)

    tb_address = []

    def case(tb):
        tb_address.append(tb.address)
        tb.mock("AddMethod", GLib.Variant("(sssss)", (
            POLKIT_IFACE, "CheckAuthorization", "(sa{sv})sa{ss}us", "(bba{ss})",
            "ret = (False, True, {})")))
        asked = sharectl("lookup", UUID)
        assert asked.returncode == 5 and ACCESS_DENIED in asked.stderr, asked
        refused = sharectl("--no-ask-password", "lookup", UUID)
        assert refused.returncode == 5 and INTERACTIVE in refused.stderr, refused
        assert "a password would be needed" in refused.stderr, refused.stderr
        assert "--no-ask-password" in refused.stderr, refused.stderr
        german = sharectl("--no-ask-password", "remove", UUID, lang="de")
        assert german.returncode == 5 and "Passwort" in german.stderr, german.stderr
        # AllowUserInteraction (1) only where the client allowed it.
        assert [c[2] for c in tb.checks()] == [1, 0, 0], tb.checks()
    run(case)


if __name__ == "__main__":
    sys.exit(vshtest.run_tap([(t.__name__, t) for t in tests]))
