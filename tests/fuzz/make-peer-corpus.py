#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Writes the seed corpora of fuzz-hub-peer, fuzz-bridge-peer and
fuzz-bus-args under the directory given (corpus/<target>/).

The peer seeds follow the framing of fuzz-peer-common.h: a configuration
byte, then chunks (op, len, bytes). They walk the real conversations (the
hub's handshake answered by a back-end, ADD / LOOKUP / REMOVE with the
GET_SHARED_OBJECT round trip, a VMM driving the bridge) and the hostile
variants the fault tests also cover. Run again after changing the seeds;
the files are checked in."""

import struct
import sys
from pathlib import Path

VERSION, REPLY, NEED_REPLY = 0x1, 0x4, 0x8
UUID = bytes.fromhex("1234567890ab4cde8f0123456789abcd")
UUID2 = bytes.fromhex("00112233445566778899aabbccddeeff")
PF = 1 | 8 | 32 | 1024 | (1 << 18)  # MQ REPLY_ACK BACKEND_REQ BACKEND_SEND_FD SHARED_OBJECT
FEATURES = (1 << 30) | (1 << 32)

MAIN, CHAN, ACTION, HANGUP = 0, 1, 2, 3
FD = {"none": 0, "memfd": 1, "memfd-unsealed": 2, "memfd-empty": 3, "eventfd": 4,
      "pipe": 5, "socket": 6, "devnull": 7, "tmpfile": 8, "directory": 9, "epoll": 10,
      "timerfd": 11, "flood": 12, "overflow": 13, "two": 14}
EXPORT, REMOVE, LOOKUP = 0, 1, 2


def msg(request, flags, payload=b"", size=None):
    return struct.pack("<III", request, flags, len(payload) if size is None else size) + payload


def u64(v):
    return struct.pack("<Q", v)


def reply(request, payload=b""):
    return msg(request, VERSION | REPLY, payload)


def chunk(where, data, fd="none", peer=0):
    assert len(data) < 256
    return bytes([where | (FD[fd] << 2) | (peer << 6), len(data)]) + data


def action(what, uuid):
    return bytes([ACTION, what]) + uuid


def hangup(peer=0, how=0):
    """how: 0 close the channel, 1 close both sockets, 2 stop reading the
    channel, 3 stop reading the main socket."""
    return bytes([HANGUP | (how << 2) | (peer << 6), 0])


# ---- the hub: the input is a back-end ----

def hub_handshake(pf=PF, queues=True, peer=0):
    out = (chunk(MAIN, reply(1, u64(FEATURES)), peer=peer)
           + chunk(MAIN, reply(15, u64(pf)), peer=peer))
    if pf & 1 and queues:
        out += chunk(MAIN, reply(17, u64(1)), peer=peer)
    if pf & 32 and pf & 8:
        out += chunk(MAIN, reply(21, u64(0)), peer=peer)
    return out


def be(request, flags, payload=b"", fd="none", peer=0):
    return chunk(CHAN, msg(request, flags, payload), fd, peer)


TWO_PEERS = b"\x80"


HUB = {
    "handshake": b"\0" + hub_handshake(),
    "handshake-no-mq": b"\0" + hub_handshake(PF & ~1),
    "handshake-no-reply-ack": b"\0" + hub_handshake(PF & ~8),
    "handshake-no-shared-object": b"\0" + hub_handshake(PF & ~(1 << 18))
    + be(6, VERSION | NEED_REPLY, UUID),
    "handshake-no-protocol-features": b"\0" + chunk(MAIN, reply(1, u64(1 << 32))),
    "handshake-refused": b"\0" + chunk(MAIN, reply(1, u64(FEATURES)))
    + chunk(MAIN, reply(15, u64(PF))) + chunk(MAIN, reply(17, u64(1)))
    + chunk(MAIN, reply(21, u64(1))),
    "add-lookup-get": b"\0" + hub_handshake()
    + be(6, VERSION | NEED_REPLY, UUID)
    + be(8, VERSION | NEED_REPLY, UUID)
    + chunk(MAIN, reply(41, UUID), "memfd")
    + be(7, VERSION | NEED_REPLY, UUID),
    "add-lookup-get-no-fd": b"\0" + hub_handshake()
    + be(6, VERSION, UUID) + be(8, VERSION | NEED_REPLY, UUID)
    + chunk(MAIN, reply(41)),
    "get-twice": b"\0" + hub_handshake()
    + be(6, VERSION | NEED_REPLY, UUID) + be(8, VERSION | NEED_REPLY, UUID)
    + chunk(MAIN, reply(41, UUID), "memfd") + chunk(MAIN, reply(41, UUID), "memfd"),
    "get-wrong-id": b"\0" + hub_handshake()
    + be(6, VERSION | NEED_REPLY, UUID) + be(8, VERSION | NEED_REPLY, UUID)
    + chunk(MAIN, reply(40, u64(0)), "memfd"),
    "get-never-hangup": b"\0" + hub_handshake()
    + be(6, VERSION | NEED_REPLY, UUID) + be(8, VERSION | NEED_REPLY, UUID) + hangup(),
    "lookup-rust-vmm": b"\0" + hub_handshake() + action(EXPORT, UUID2)
    + be(8, VERSION | NEED_REPLY, UUID2, "memfd"),
    "lookup-unknown": b"\0" + hub_handshake() + be(8, VERSION | NEED_REPLY, UUID2),
    "quota": b"\x01" + hub_handshake()
    + b"".join(be(6, VERSION | NEED_REPLY, bytes([i]) + UUID[1:]) for i in range(4)),
    "pending-lookups": b"\x00" + hub_handshake()
    + be(6, VERSION | NEED_REPLY, UUID)
    + b"".join(be(8, VERSION | NEED_REPLY, UUID) for i in range(4))
    + action(LOOKUP, UUID) + action(LOOKUP, UUID),
    "remove-not-owner": b"\0" + hub_handshake() + action(EXPORT, UUID2)
    + be(7, VERSION | NEED_REPLY, UUID2) + be(6, VERSION | NEED_REPLY, UUID2),
    "fd-flood": b"\0" + hub_handshake() + be(6, VERSION | NEED_REPLY, UUID, "flood")
    + be(8, VERSION | NEED_REPLY, UUID, "overflow"),
    "malformed-version": b"\0" + hub_handshake() + be(6, 2 | NEED_REPLY, UUID),
    "malformed-size": b"\0" + hub_handshake() + chunk(CHAN, msg(6, VERSION, UUID[:8])),
    "malformed-reply": b"\0" + chunk(MAIN, msg(1, VERSION, u64(FEATURES))),
    "partial-header": b"\0" + hub_handshake() + chunk(CHAN, msg(6, VERSION, UUID)[:7]),
    "unsupported-request": b"\0" + hub_handshake() + be(2, VERSION | NEED_REPLY)
    + be(9, VERSION | NEED_REPLY, bytes(40)),
    "chan-hangup": b"\0" + hub_handshake() + be(6, VERSION, UUID) + hangup(),
    # Two back-ends (configuration bit 7): one exports, the other imports.
    "two-peers-round-trip": TWO_PEERS + hub_handshake() + hub_handshake(peer=1)
    + be(6, VERSION | NEED_REPLY, UUID)
    + be(8, VERSION | NEED_REPLY, UUID, peer=1)
    + chunk(MAIN, reply(41, UUID), "memfd"),
    "two-peers-exporter-dies": TWO_PEERS + hub_handshake() + hub_handshake(peer=1)
    + be(6, VERSION | NEED_REPLY, UUID) + be(8, VERSION | NEED_REPLY, UUID, peer=1)
    + hangup(peer=0, how=1),
    # Finding 5: the importer stops reading, then the exporter dies with its
    # GET outstanding: failing the lookup fails the importer from inside the
    # exporter's teardown.
    "finding-5-importer-deaf-exporter-dies": TWO_PEERS + hub_handshake()
    + hub_handshake(peer=1) + be(6, VERSION | NEED_REPLY, UUID)
    + be(8, VERSION | NEED_REPLY, UUID, peer=1) + hangup(peer=1, how=2)
    + hangup(peer=0, how=1),
    "two-peers-importer-deaf-answer": TWO_PEERS + hub_handshake() + hub_handshake(peer=1)
    + be(6, VERSION | NEED_REPLY, UUID) + be(8, VERSION | NEED_REPLY, UUID, peer=1)
    + hangup(peer=1, how=2) + chunk(MAIN, reply(41, UUID), "memfd"),
    "main-deaf": b"\0" + hub_handshake() + be(6, VERSION | NEED_REPLY, UUID)
    + hangup(how=3) + action(LOOKUP, UUID),
}

# ---- the bridge: the input is a VMM ----


def fe(request, flags=VERSION, payload=b"", fd="none"):
    return chunk(MAIN, msg(request, flags, payload), fd)


def bridge_handshake(pf=PF, channel="socket"):
    return (fe(1) + fe(2, VERSION, u64(FEATURES)) + fe(15) + fe(16, VERSION, u64(pf))
            + fe(17) + fe(21, VERSION | NEED_REPLY, fd=channel) + fe(3))


BRIDGE = {
    "handshake": b"\0" + bridge_handshake(),
    "handshake-no-reply-ack": b"\0" + bridge_handshake(PF & ~8),
    "export-announce-ack": b"\0" + action(EXPORT, UUID) + bridge_handshake()
    + chunk(CHAN, reply(6, u64(0))) + action(REMOVE, UUID) + chunk(CHAN, reply(7, u64(0))),
    "announce-refused": b"\0" + bridge_handshake() + action(EXPORT, UUID)
    + chunk(CHAN, reply(6, u64(1))),
    "get-shared-object": b"\0" + action(EXPORT, UUID) + bridge_handshake()
    + fe(41, VERSION | NEED_REPLY, UUID) + fe(41, VERSION | NEED_REPLY, UUID2),
    "get-shared-object-qemu": b"\0" + action(EXPORT, UUID) + bridge_handshake()
    + fe(41, VERSION | NEED_REPLY),
    "upstream-lookup": b"\0" + bridge_handshake() + action(LOOKUP, UUID2)
    + chunk(CHAN, reply(8, u64(0)), "memfd"),
    "upstream-lookup-no-fd": b"\0" + bridge_handshake() + action(LOOKUP, UUID2)
    + chunk(CHAN, reply(8, u64(0))),
    "upstream-lookup-refused": b"\0" + bridge_handshake() + action(LOOKUP, UUID2)
    + chunk(CHAN, reply(8, u64(1))),
    "upstream-wrong-reply": b"\0" + bridge_handshake() + action(LOOKUP, UUID2)
    + chunk(CHAN, reply(6, u64(0)), "memfd"),
    "upstream-lookup-hangup": b"\0" + bridge_handshake() + action(LOOKUP, UUID2) + hangup(),
    "vrings": b"\0" + bridge_handshake() + fe(8, VERSION, struct.pack("<II", 0, 256))
    + fe(12, VERSION, u64(0), "eventfd") + fe(13, VERSION, u64(0), "eventfd")
    + fe(14, VERSION, u64(0x100)) + fe(18, VERSION, struct.pack("<II", 0, 1)),
    "mem-table": b"\0" + bridge_handshake()
    + fe(5, VERSION, struct.pack("<II", 2, 0) + bytes(64), "two"),
    "fd-flood": b"\0" + bridge_handshake() + fe(13, VERSION, u64(0), "flood")
    + fe(13, VERSION, u64(1), "overflow"),
    "second-channel": b"\0" + bridge_handshake() + fe(21, VERSION | NEED_REPLY, fd="socket")
    + action(EXPORT, UUID),
    "malformed": b"\0" + bridge_handshake() + fe(41, 3, UUID) + fe(99),
    # Finding 1 (fuzz-bridge-peer): a "channel" that is not a socket makes the
    # first announcement fail and close the peer while the table is still
    # being announced; the next announcement used the freed back-end.
    "finding-1-channel-not-a-socket": b"\0" + action(EXPORT, UUID) + action(EXPORT, UUID2)
    + action(EXPORT, bytes(range(1, 17))) + bridge_handshake(channel="eventfd"),
    "two-vmms": TWO_PEERS + bridge_handshake() + action(EXPORT, UUID)
    + b"".join(chunk(MAIN, msg(r, f, p), fd, peer=1) for r, f, p, fd in [
        (1, VERSION, b"", "none"), (15, VERSION, b"", "none"),
        (16, VERSION, u64(PF), "none"), (21, VERSION | NEED_REPLY, b"", "socket")])
    + chunk(CHAN, reply(6, u64(0))) + hangup(peer=0, how=1) + action(REMOVE, UUID),
    # Finding 6: the VMM stops reading, then hands over its channel asking
    # for an ack; the ack cannot be sent, the peer is dropped from inside the
    # back-end's request handler, which then used the freed back-end.
    "finding-6-vmm-deaf-at-channel": b"\0" + fe(1) + fe(2, VERSION, u64(FEATURES)) + fe(15)
    + fe(16, VERSION, u64(PF)) + fe(17) + hangup(how=3)
    + fe(21, VERSION | NEED_REPLY, fd="socket"),
    "reset-owner": b"\0" + bridge_handshake() + fe(4) + fe(34) + fe(39, VERSION, u64(15))
    + fe(40, VERSION | NEED_REPLY),
}

# ---- D-Bus arguments: mode byte (fd kind | seals << 4) + the string ----

SEAL, SHRINK, GROW, WRITE = 0x10, 0x20, 0x40, 0x80
BUS = {
    "uuid": bytes([1 | SHRINK | GROW]) + b"12345678-90ab-4cde-8f01-23456789abcd",
    "uuid-hex": bytes([1 | SHRINK | GROW | SEAL]) + b"1234567890ab4cde8f0123456789abcd",
    "uuid-upper": bytes([1]) + b"12345678-90AB-4CDE-8F01-23456789ABCD",
    "uuid-nil": bytes([2]) + b"00000000-0000-0000-0000-000000000000",
    "uuid-max": bytes([3]) + b"ffffffff-ffff-ffff-ffff-ffffffffffff",
    "uuid-braces": bytes([4]) + b"{12345678-90ab-4cde-8f01-23456789abcd}",
    "uuid-bad-char": bytes([5]) + b"12345678-90ab-4cde-8f01-23456789abcg",
    "uuid-dashes-moved": bytes([6]) + b"1234567-890ab-4cde-8f01-23456789abcd",
    "empty": bytes([7]),
    "fdinfo": bytes([8]) + b"pos:\t0\nflags:\t02\nsize:\t4096\ncount:\t1\nexp_name:\tudmabuf\nname:\tframe\n",
    "fdinfo-long": bytes([9]) + b"exp_name:\t" + b"x" * 200 + b"\nsize:\t99999999999999999999999\n",
    "memfd-shrink-only": bytes([1 | SHRINK]) + b"name",
    "memfd-all-seals": bytes([1 | SHRINK | GROW | WRITE | SEAL]) + b"frame-0",
    "memfd-empty": bytes([3 | SHRINK | GROW]) + b"empty",
    "memfd-long-name": bytes([1 | SHRINK | GROW]) + b"n" * 240,
    "eventfd": bytes([4]) + b"x",
    "pipe": bytes([5]),
    "socket": bytes([6]),
    "devnull": bytes([7]),
    "tmpfile": bytes([8]),
    "directory": bytes([9]),
    "epoll": bytes([10]),
    "timerfd": bytes([11]),
    "closed": bytes([0]),
    # Object paths (RemovePeer's argument, the path of every call to a child)
    # and AddPeer's arguments: the same string goes to every parser.
    "path-object": bytes([7]) + b"/org/vhostshare/share1/object/1234567890ab4cde8f0123456789abcd",
    "path-object-upper": bytes([5]) + b"/org/vhostshare/share1/object/1234567890AB4CDE8F0123456789ABCD",
    "path-object-31": bytes([6]) + b"/org/vhostshare/share1/object/1234567890ab4cde8f0123456789abc",
    "path-peer": bytes([8]) + b"/org/vhostshare/share1/peer/7",
    "path-peer-leading-zero": bytes([9]) + b"/org/vhostshare/share1/peer/07",
    "path-peer-overflow": bytes([10]) + b"/org/vhostshare/share1/peer/18446744073709551616",
    "path-device": bytes([11]) + b"/org/vhostshare/share1/device/card0",
    "path-device-alias": bytes([4]) + b"/org/vhostshare/share1/device/card_30",
    "role-connect": bytes([2]) + b"connect",
    "socket-path": bytes([3 | SHRINK | GROW]) + b"/run/vhost-share/backend.sock",
    "socket-path-long": bytes([7]) + b"/" + b"s" * 120,
}


def write(root, name, seeds):
    d = root / name
    d.mkdir(parents=True, exist_ok=True)
    for k, v in seeds.items():
        (d / k).write_bytes(v)


def main():
    root = Path(sys.argv[1] if len(sys.argv) > 1 else Path(__file__).parent / "corpus")
    write(root, "hub-peer", HUB)
    write(root, "bridge-peer", BRIDGE)
    write(root, "bus-args", BUS)


if __name__ == "__main__":
    main()
