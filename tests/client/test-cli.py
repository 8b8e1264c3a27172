#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""vhost-sharectl's command-line habits, those of systemd's tools: every
option form (--opt=value, --opt value, bundled short options, --), sizes
with IEC units in both programs, no verb = list, help and VERB --help,
--json=pretty|short|off, -q, -l, --utc, tables (headers, empty tables,
number formats, unknown ids), and errors: no service and activation failure
exit 3, access denied exit 5 naming what is needed, every error message
translated with no English left in the German one. Output is TAP."""

import json
import os
import pty
import re
import signal
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), os.pardir, "helpers"))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import vshtest  # noqa: E402
from vshtest import TIMEOUT  # noqa: E402
from ctltest import (BUILD, CTL, DEVICE, UUID_RE, Testbed, random_uuid, stop,  # noqa: E402
                     with_testbed)

tests, test = vshtest.registry()

VERBS = ["status", "list", "show", "peers", "listeners", "monitor", "export", "lookup", "remove", "attach",
         "detach", "devices", "allocate"]


def german():
    return dict(os.environ, LANGUAGE="de", LANG="C.UTF-8", LC_ALL="C.UTF-8",
                TEXTDOMAINDIR=os.path.join(BUILD, "po"))


def exported_uuid(out):
    return re.search(UUID_RE, out.stdout).group(0)


@test
def option_forms(tb):
    addr = tb.address
    # --opt=value and --opt value, for the global and the verb options.
    for args in (["--address", addr, "list"], [f"--address={addr}", "list"]):
        out = subprocess.run([CTL, *args], capture_output=True, text=True, timeout=TIMEOUT)
        assert out.returncode == 0, out
    for form in (["--size=4K"], ["--size", "4K"]):
        u = exported_uuid(tb.ctl("export", *form, "--detach"))
        assert json.loads(tb.ctl("show", u, "--json").stdout)["size"] == 4096
    u = random_uuid()
    tb.ctl("export", "--size=4096", "--uuid", u, "--detach")
    dst = os.path.join(tb.dir, "out")
    for form in (["-o", dst], [f"-o{dst}"], ["--output", dst], [f"--output={dst}"]):
        os.unlink(dst) if os.path.exists(dst) else None
        tb.ctl("lookup", u, *form)
        assert os.path.getsize(dst) == 4096, form
    out = tb.ctl("allocate", "64K", "--device", "/dev/dri/card99", expect=4)
    assert "/dev/dri/card99" in out.stderr, out.stderr
    # --json's mode: =MODE, or the next word when it is one.
    for form in (["--json=short"], ["--json", "short"], ["--json"]):
        out = tb.ctl("show", u, *form)
        assert len(out.stdout.splitlines()) == 1 and json.loads(out.stdout)["uuid"] == u, form
    for form in (["--json=pretty"], ["--json", "pretty"]):
        out = tb.ctl("show", u, *form)
        assert len(out.stdout.splitlines()) > 3 and json.loads(out.stdout)["uuid"] == u, form
    for form in (["--json=off"], ["--json", "off"]):
        assert tb.ctl("show", u, *form).stdout.startswith(u + "\n"), form
    # Bundled short options.
    assert u in tb.ctl("list", "-ql").stdout
    raw = subprocess.run(tb.ctl_args("lookup", u, "-qo-"), capture_output=True, timeout=TIMEOUT)
    assert raw.returncode == 0 and len(raw.stdout) == 4096, raw
    # --: what follows is an argument, even when it starts with a dash.
    dash = os.path.join(tb.dir, "-payload")
    with open(dash, "wb") as f:
        f.write(b"x" * 100)
    out = subprocess.run([CTL, f"--address={addr}", "export", "--detach", "--json", "--",
                          "-payload"], capture_output=True, text=True, timeout=TIMEOUT,
                         cwd=tb.dir)
    assert out.returncode == 0 and json.loads(out.stdout)["size"] == 100, out
    out = subprocess.run([CTL, f"--address={addr}", "export", "--detach", "-payload"],
                         capture_output=True, text=True, timeout=TIMEOUT, cwd=tb.dir)
    assert out.returncode == 2, out
    tb.ctl("show", "--", u)
    # Accepted, and nothing to do: no pager here.
    tb.ctl("--no-pager", "list")
    tb.ctl("list", "--no-pager", "--full", "-l", "--utc", "--quiet", "-q")


@test
def option_errors_name_the_option(tb):
    cases = [
        (["--json=bogus", "list"], r'"bogus".*pretty, short or off'),
        (["--system=1", "list"], r'option "--system" takes no argument'),
        (["list", "--no-legend=yes"], r'option "--no-legend" takes no argument'),
        (["list", "--size"], r'option "--size" needs an argument'),
        (["--size"], r'option "--size" needs an argument'),
        (["export", "--uuid"], r'option "--uuid" needs an argument'),
        (["lookup", "-o"], r'option "-o" needs an argument'),
        (["--address"], r'option "--address" needs an argument'),
        (["list", "--size=4096"], r'option "--size" does not apply to "list"'),
        (["--bogus", "list"], r'unknown option "--bogus"'),
        (["list", "-x"], r'unknown option "-x"'),
        (["export", "--size=99999999999999999999"],
         r'size "99999999999999999999" is too large'),
        (["export", "--size=1P"], r'invalid size "1P"'),
        (["export", "--size=1.5M"], r'invalid size "1\.5M"'),
        (["export", "--size=0"], r'size 0'),
        (["allocate", "99999999999999999999K"], r'is too large'),
    ]
    for args, pattern in cases:
        out = tb.ctl(*args, expect=2)
        assert re.search(pattern, out.stderr), (args, out.stderr)
        assert out.stderr.isprintable() or out.stderr[:-1].isprintable(), (args, out.stderr)
        assert out.stdout == "", (args, out.stdout)


@test
def sizes_take_iec_units(tb):
    for text, size in [("1k", 1024), ("1K", 1024), ("2KiB", 2048), ("1m", 1 << 20),
                       ("1M", 1 << 20), ("1MiB", 1 << 20), ("4096", 4096), ("4096B", 4096)]:
        info = json.loads(tb.ctl("export", f"--size={text}", "--detach", "--json").stdout
                          .splitlines()[0])
        assert info["size"] == size, (text, info)
        info = json.loads(tb.ctl("allocate", text, "--device=memfd", "--detach",
                                 "--json").stdout.splitlines()[0])
        assert info["size"] == size, (text, info)
    # The device takes the same sizes.
    for text, size in [("1M", 1 << 20), ("8k", 8192), ("3KiB", 3072)]:
        dev, lines = tb.device("--export=1", f"--size={text}")
        line = lines.wait_for(r"^(EXPORTED|ERROR)")
        assert line.split()[:1] == ["EXPORTED"] and int(line.split()[2]) == size, (text, line)
        stop(dev, signal.SIGTERM)
    for text, pattern in [("2G", "at most 1 GiB"), ("99999999999999999999", "too large"),
                          ("1.5M", "invalid size"), ("0", "at least 1 byte")]:
        out = subprocess.run([DEVICE, f"--connect={tb.hub}", f"--size={text}"],
                             capture_output=True, text=True, timeout=TIMEOUT)
        assert out.returncode == 2 and pattern in out.stderr, (text, out)


@test
def no_verb_lists_and_help(tb):
    u = exported_uuid(tb.ctl("export", "--size=4096", "--detach"))
    assert tb.ctl().stdout == tb.ctl("list").stdout
    assert u in tb.ctl("-q").stdout
    general = tb.ctl("--help").stdout
    assert tb.ctl("help").stdout == general
    assert tb.ctl("-h").stdout == general
    for verb in VERBS:
        assert re.search(rf"^  {verb}\b", general, re.M), verb
        page = tb.ctl(verb, "--help").stdout
        assert tb.ctl("help", verb).stdout == page, verb
        assert page.startswith(f"Usage: vhost-sharectl [OPTIONS...] {verb}"), page
        assert page != general, verb
    export = tb.ctl("export", "--help").stdout
    assert "--size" in export and "--uuid" in export and "--detach" in export, export
    assert "--verify" not in export and "--device" not in export, export
    listing = tb.ctl("list", "-h").stdout
    assert "--json" in listing and "--no-legend" in listing and "--size" not in listing, listing
    # Help for a verb needs no service and ignores the rest of the line.
    out = subprocess.run([CTL, "--address=unix:path=/nonexistent", "show", "--help"],
                         capture_output=True, text=True, timeout=TIMEOUT)
    assert out.returncode == 0 and out.stdout.startswith("Usage:"), out
    out = tb.ctl("help", "frob", expect=2)
    assert 'unknown command "frob"' in out.stderr, out.stderr
    out = tb.ctl("--help", env=german())
    assert "Befehle:" in out.stdout
    assert tb.ctl("export", "--help", env=german()).stdout.startswith("Aufruf:")


@test
def json_shapes(tb):
    dev, lines = tb.device("--export=1")
    lines.wait_for(r"^DONE")
    u = exported_uuid(tb.ctl("export", "--size=4096", "--detach"))
    for verb in ("list", "peers", "listeners", "devices"):
        short = tb.ctl(verb, "--json=short").stdout
        pretty = tb.ctl(verb, "--json=pretty").stdout
        assert short.endswith("\n") and len(short.splitlines()) == 1, (verb, short)
        assert json.loads(short) == json.loads(pretty), verb
        assert isinstance(json.loads(short), list), verb
        if json.loads(short):
            assert len(pretty.splitlines()) > 2 and "\n  " in pretty, (verb, pretty)
    shown = tb.ctl("show", u, "--json=pretty").stdout
    assert json.loads(shown)["uuid"] == u and shown.count("\n") > 3, shown
    looked = tb.ctl("lookup", u, "--json=pretty", "--verify").stdout
    assert json.loads(looked)["verified"] is True and looked.count("\n") > 3, looked
    info = tb.ctl("export", "--size=1K", "--detach", "--json=pretty").stdout
    assert json.loads(info)["size"] == 1024, info
    # A connecting peer is in the table before it is known who it is:
    # unknown uid and pid are null, not 4294967295 and 0.
    peers = json.loads(tb.ctl("peers", "--json").stdout)
    assert peers[0]["pid"] == dev.pid and isinstance(peers[0]["uid"], int), peers
    sock = os.path.join(tb.dir, "nobody-listens.sock")
    mon, mlines = tb.spawn_ctl("monitor", "--json")
    deadline = time.monotonic() + TIMEOUT
    added = None
    while added is None:
        assert time.monotonic() < deadline, "monitor --json printed no PeerAdded"
        attached = tb.ctl("attach", "connect", sock).stdout
        try:
            added = json.loads(mlines.wait_for(r'"event":\s*"PeerAdded"', timeout=0.5))
        except AssertionError:
            # monitor was not subscribed yet; a second connect peer on the
            # same socket would be refused (Exists), so start over.
            tb.ctl("detach", re.search(r"/org/vhostshare/share1/peer/\d+", attached).group(0))
    props = added["properties"]
    assert props["Uid"] is None and props["Pid"] is None, added
    assert props["Features"] == 0, added
    for p in json.loads(tb.ctl("peers", "--json").stdout):
        if p["socket_path"] == sock:
            assert p["uid"] is None and p["pid"] is None, p
    rows = [line.split() for line in tb.ctl("peers").stdout.splitlines()[1:-2]]
    assert any(r[-1] == sock and r[-2] == "-" for r in rows), rows
    assert stop(mon) == 0


@test
def tables_read_as_columns(tb):
    dev, lines = tb.device("--export=2")
    lines.wait_for(r"^DONE")
    out = tb.ctl("peers").stdout.splitlines()
    header = out[0].split()
    assert header == ["ID", "NAME", "ROLE", "STATE", "SHARING", "EXPORTED", "PID", "SOCKET"], out
    row = out[1].split()
    # One word per column: the name holds no socket path, no spaces.
    assert len(row) == len(header), out
    assert re.fullmatch(r"back-end#\d+", row[1]), row
    assert row[2:] == ["back-end", "ready", "yes", "2", str(dev.pid), tb.hub], row
    listed = tb.ctl("list").stdout.splitlines()
    assert all(re.fullmatch(r"back-end#\d+", line.split()[2])
               for line in listed[1:-2]), listed
    # detach takes the name as the table shows it.
    tb.ctl("detach", row[1])
    lines.wait_for(r"^DISCONNECTED")
    # An empty table: a line saying so, no blank line; nothing with
    # --no-legend or -q.
    assert tb.ctl("peers").stdout == "No peers.\n"
    assert tb.ctl("list").stdout == "No objects.\n"
    assert tb.ctl("devices").stdout == "No devices.\n"
    for flag in ("--no-legend", "-q", "--quiet"):
        assert tb.ctl("list", flag).stdout == "", flag
    assert tb.ctl("list", env=german()).stdout == "Keine Objekte.\n"
    # Non-empty: header, rows, then a blank line and the count.
    tb.ctl("export", "--size=4096", "--detach")
    out = tb.ctl("list").stdout
    assert out.endswith("\n\n1 object listed.\n") and not out.startswith("\n"), out
    assert len(tb.ctl("list", "-q").stdout.splitlines()) == 1


@test
def feature_bits_in_hex_and_modes_in_octal(tb):
    mon, mlines = tb.spawn_ctl("monitor")
    mlines.wait_for(r"^Monitoring")
    dev, lines = tb.device("--export=1")
    lines.wait_for(r"^DONE")
    line = mlines.wait_for(r" PeerChanged .*Features=")
    for name, value in re.findall(r" (Features|ProtocolFeatures)=(\S+)", line):
        assert re.fullmatch(r"0x[0-9a-f]+", value), line
    sock = os.path.join(tb.dir, "vmm.sock")
    tb.ctl("attach", "serve", sock)
    line = mlines.wait_for(r" ListenerAdded ")
    mode = re.search(r" Mode=(\S+)", line).group(1)
    assert re.fullmatch(r"0[0-7]{3}", mode), line
    assert stop(mon) == 0


def tz_env(tz):
    return dict(os.environ, TZ=tz)


@test
def local_time_unless_utc(tb):
    listener = json.loads(tb.ctl("listeners", "--json").stdout)[0]
    created = listener["created_usec"] / 1e6
    # A zone with a half-hour offset and no daylight saving time.
    env = tz_env("Asia/Kolkata")
    assert os.path.exists("/usr/share/zoneinfo/Asia/Kolkata"), "tzdata is not installed"
    local = time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(created + 5.5 * 3600))
    utc = time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(created))
    row = tb.ctl("listeners", "--no-legend", env=env).stdout
    assert local in row and utc not in row, (local, row)
    row = tb.ctl("listeners", "--no-legend", "--utc", env=env).stdout
    assert utc in row, (utc, row)
    u = exported_uuid(tb.ctl("export", "--size=4096", "--detach"))
    shown = tb.ctl("show", u, env=env).stdout
    assert re.search(r"Created: +\S+ \S+ IST$", shown, re.M), shown
    shown = tb.ctl("show", u, "--utc", env=env).stdout
    assert re.search(r"Created: +\S+ \S+ UTC$", shown, re.M), shown


@test
def long_cells_ellipsized_on_a_terminal_unless_full(tb):
    sock = os.path.join(tb.dir, "a-rather-long-socket-name-" + "x" * 30 + ".sock")
    tb.ctl("attach", "serve", sock)

    def on_tty(*args):
        primary, secondary = pty.openpty()
        proc = subprocess.Popen(tb.ctl_args(*args), stdout=secondary, stderr=secondary,
                                env=dict(os.environ, COLUMNS="80"))
        os.close(secondary)
        data = b""
        while True:
            try:
                chunk = os.read(primary, 65536)
            except OSError:
                break
            if not chunk:
                break
            data += chunk
        os.close(primary)
        assert proc.wait(timeout=TIMEOUT) == 0
        return data.decode().replace("\r\n", "\n")

    cut = on_tty("listeners")
    assert all(len(line) <= 80 for line in cut.splitlines()), cut
    assert "…" in cut and sock not in cut, cut
    full = on_tty("listeners", "--full")
    assert sock in full, full
    # Not a terminal: nothing is cut.
    assert sock in tb.ctl("listeners").stdout


ACTIVATION_BUS = """<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <listen>unix:path={dir}/bus</listen>
  <auth>EXTERNAL</auth>
  <servicedir>{dir}/services</servicedir>
  <policy context="default">
    <allow user="*"/>
    <allow send_destination="*" eavesdrop="true"/>
    <allow eavesdrop="true"/>
    <allow own="*"/>
  </policy>
</busconfig>
"""


def activation_bus(tmp):
    """A bus that activates org.vhostshare.share1 with a program that fails."""
    os.makedirs(os.path.join(tmp, "services"))
    with open(os.path.join(tmp, "services", "org.vhostshare.share1.service"), "w") as f:
        f.write("[D-BUS Service]\nName=org.vhostshare.share1\nExec=/bin/false\n")
    conf = os.path.join(tmp, "bus.conf")
    with open(conf, "w") as f:
        f.write(ACTIVATION_BUS.format(dir=tmp))
    bus = subprocess.Popen(["dbus-daemon", "--nofork", "--nopidfile", "--print-address=1",
                            f"--config-file={conf}"], stdout=subprocess.PIPE, text=True)
    return bus, bus.stdout.readline().strip()


def no_english_in(german_text, english_text):
    """The words of a German message that are also in the English one, but
    for names (paths, UUIDs, D-Bus names, the program, the group)."""
    def words(text):
        return {w for w in re.findall(r"[A-Za-zÄÖÜäöüß]{3,}", re.sub(
            r"\S*[./:#()\"]\S*|vhost-\S+|" + UUID_RE, " ", text))}
    names = {"root", "Bus", "bus", "share", "vhost", "systemctl", "start", "status", "DRM"}
    return words(german_text) & words(english_text) - names


def check_german(run, args, code, must=(), args_de=None):
    en = run(args, None)
    de = run(args_de or args, german())
    assert en.returncode == code and de.returncode == code, (args, en, de)
    assert en.stderr != de.stderr, (args, en.stderr)
    common = no_english_in(de.stderr, en.stderr)
    assert not common, (args, common, de.stderr, en.stderr)
    for word in must:
        assert word in de.stderr, (args, word, de.stderr)
    return en, de


@test
def no_service_exits_3(tb):
    tb.stop_service()

    def run(args, env):
        return tb.ctl(*args, env=env, expect=None)

    for args in (["list"], ["peers"], ["export", "--size=4096"], ["show", random_uuid()]):
        en, de = check_german(run, args, 3, must=["vhost-shared"])
        assert "is vhost-shared running?" in en.stderr, en.stderr
        assert "Rejected" not in en.stderr
    # Activation that fails (a bus without systemd and a broken Exec=).
    with tempfile.TemporaryDirectory(prefix="vhost-share-cli-activation-") as tmp:
        bus, address = activation_bus(tmp)
        try:
            def run_activating(args, env):
                return subprocess.run([CTL, f"--address={address}", *args], capture_output=True,
                                      text=True, timeout=TIMEOUT, env=env)
            en, de = check_german(run_activating, ["peers"], 3)
            assert "is vhost-shared running?" in en.stderr, en.stderr
            assert "could not be started" in en.stderr, en.stderr
            assert "Launch helper" not in en.stderr and "ChildExited" in en.stderr, en.stderr
        finally:
            bus.terminate()
            bus.wait(timeout=TIMEOUT)
            bus.stdout.close()
    tb.start_service()


def privileged_group():
    with open(os.path.join(BUILD, "data", "org.vhostshare.share1.conf")) as f:
        return re.search(r'<policy group="([^"]+)">', f.read()).group(1)


@test
def access_denied_exits_5_and_names_what_is_needed(tb):
    group = privileged_group()
    u = exported_uuid(tb.ctl("export", "--size=4096", "--detach"))

    def run(args, env):
        return tb.ctl(*args, env=env, expect=None, user=65534)

    for args in (["export", "--size=4096"], ["remove", u], ["lookup", u],
                 ["attach", "accept", os.path.join(tb.dir, "x.sock")], ["detach", "1"],
                 ["allocate", "4K"]):
        en, de = check_german(run, args, 5, must=[group])
        assert f'root or membership of the group "{group}"' in en.stderr, en.stderr
        assert "Rejected send message" not in en.stderr and "matched rules" not in en.stderr
        assert len(en.stderr.splitlines()) == 1, en.stderr
    # Reading stays open.
    tb.ctl("list", user=65534)


@test
def every_service_error_translated(tb):
    """Each error the service returns, in English and in German."""
    tb.stop_service()
    tb.start_service("[Service]\nLookupTimeoutMSec=200\n")
    # A back-end that did not answer is dropped: one for each language.
    slow = []
    for _ in range(2):
        dev, lines = tb.device("--export=1", "--no-answer")
        slow.append(lines.wait_for(r"^EXPORTED ").split()[1])
    taken = exported_uuid(tb.ctl("export", "--size=4096", "--detach"))
    holder, hlines = tb.spawn_ctl("export", "--size=4096")
    hlines.wait_for(r"^Holding")

    def run(args, env):
        return tb.ctl(*args, env=env, expect=None)

    cases = [
        (["show", random_uuid()], 4, "NotFound"),
        (["export", "--size=4096", f"--uuid={taken}"], 6, "Exists"),
        (["lookup", slow[0]], 7, "Timeout"),
        (["allocate", "4K", "--device=/dev/dri/card99"], 4, "NoDevice"),
        (["attach", "connect", "/" + "x" * 200], None, None),
        (["attach", "accept", tb.hub], 6, "Exists"),
        (["detach", "listener/99"], 4, None),
        (["detach", "4242"], 4, "NotFound"),
    ]
    for args, code, name in cases:
        args_de = ["lookup", slow[1]] if args[1:] == [slow[0]] else None
        if code is None:
            code = run(args, None).returncode
            assert code != 0, args
        en, de = check_german(run, args, code, args_de=args_de)
        if name:
            assert f"(org.vhostshare.share1.Error.{name})" in de.stderr, de.stderr
        assert len(de.stderr.splitlines()) == 1, de.stderr
    # --verbose adds what the service said, on a line of its own.
    out = tb.ctl("-v", "show", random_uuid(), expect=4)
    assert len(out.stderr.splitlines()) == 2, out.stderr
    stop(holder)


def every_error_name_has_a_message():
    """Each error name of bus-names.h has its line in ctl-error.c's table,
    so none reaches the user as the service's English text."""
    source = vshtest.source_root()
    with open(os.path.join(source, "service", "shared", "bus-names.h")) as f:
        names = re.findall(r"^#define (BUS_ERROR_\w+) BUS_ERROR_PREFIX", f.read(), re.M)
    with open(os.path.join(source, "client", "ctl-error.c")) as f:
        table = f.read()
    assert len(names) >= 14, names
    missing = [n for n in names if not re.search(rf"\{{{n}, ", table)]
    assert not missing, f"no message in client/ctl-error.c for {missing}"


def main():
    if os.geteuid() != 0:
        print("Bail out! test-cli calls privileged methods and must run as root")
        return 1
    cases = [(fn.__name__, lambda fn=fn: with_testbed(fn)) for fn in tests]
    cases.append(("every_error_name_has_a_message", every_error_name_has_a_message))
    return vshtest.run_tap(cases)


if __name__ == "__main__":
    sys.exit(main())
