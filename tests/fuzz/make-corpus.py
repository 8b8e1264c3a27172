#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Writes the seed corpus of fuzz-vu-message into the directory given.

Each seed is one mode byte (see fuzz-vu-message.c) followed by the bytes a
peer would send: valid messages of the common ids, truncated and malformed
ones. Run again after changing the seeds; the files are checked in."""

import struct
import sys
from pathlib import Path

FE, BE = 0, 1
REPLY = 2
VERSION, F_REPLY, F_NEED_REPLY = 0x1, 0x4, 0x8
UUID = bytes.fromhex("1234567890ab4cde8f0123456789abcd")


def mode(channel=FE, reply=False, fds=0, chunk=0):
    return bytes([channel | (REPLY if reply else 0) | (fds << 2) | (chunk << 6)])


def msg(request, flags, payload=b"", size=None):
    if size is None:
        size = len(payload)
    return struct.pack("<III", request, flags, size) + payload


def u64(v):
    return struct.pack("<Q", v)


SEEDS = {
    "get-features": mode() + msg(1, VERSION | F_NEED_REPLY),
    "get-features-reply": mode(reply=True) + msg(1, VERSION | F_REPLY, u64((1 << 30) | (1 << 32))),
    "set-protocol-features": mode() + msg(16, VERSION | F_NEED_REPLY, u64(0x40429)),
    "handshake-fragmented": mode(chunk=1)
    + msg(1, VERSION)
    + msg(15, VERSION)
    + msg(16, VERSION, u64(0x40429))
    + msg(17, VERSION),
    "set-vring-call-fd": mode(fds=1) + msg(13, VERSION, u64(0)),
    "set-backend-req-fd": mode(fds=1) + msg(21, VERSION | F_NEED_REPLY),
    "set-mem-table-2": mode(fds=2, chunk=2)
    + msg(5, VERSION, struct.pack("<II", 2, 0) + bytes(range(64))),
    "get-shared-object-qemu": mode() + msg(41, VERSION | F_NEED_REPLY),
    "get-shared-object": mode() + msg(41, VERSION | F_NEED_REPLY, UUID),
    "get-shared-object-reply-fd": mode(reply=True, fds=1) + msg(41, VERSION | F_REPLY, UUID),
    "shared-object-add": mode(BE) + msg(6, VERSION | F_NEED_REPLY, UUID),
    "shared-object-remove": mode(BE) + msg(7, VERSION, UUID),
    "shared-object-lookup": mode(BE, chunk=3) + msg(8, VERSION | F_NEED_REPLY, UUID),
    "shared-object-lookup-reply-fd": mode(BE, reply=True, fds=1) + msg(8, VERSION | F_REPLY, u64(0)),
    "truncated-header": mode() + msg(1, VERSION)[:5],
    "truncated-payload": mode(BE) + msg(6, VERSION, UUID)[:22],
    "too-many-fds": mode(fds=12) + msg(5, VERSION, struct.pack("<II", 0, 0)),
    "bad-version": mode() + msg(1, 0x2),
    "size-over-cap": mode() + msg(25, VERSION, size=0xFFFFFFFF),
}


def main():
    out = Path(sys.argv[1] if len(sys.argv) > 1 else "corpus/vu-message")
    out.mkdir(parents=True, exist_ok=True)
    for name, data in SEEDS.items():
        (out / name).write_bytes(data)


if __name__ == "__main__":
    main()
