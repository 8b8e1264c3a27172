#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Runs test-client-lib-gjs.js (libvhostshare-1 from GJS) against
vhost-shared on a private bus and passes its TAP on; fails when gjs is
missing (tools/install-deps installs it)."""

import os
import shutil
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), os.pardir, "helpers"))
import vshtest  # noqa: E402
from vshtest import TIMEOUT  # noqa: E402


def main():
    gjs = shutil.which("gjs")
    if not gjs:
        print("Bail out! gjs is not installed (tools/install-deps)")
        return 1
    script = os.path.join(os.path.dirname(os.path.abspath(__file__)), "test-client-lib-gjs.js")
    bus = vshtest.PrivateBus("vhost-share-lib-gjs-")
    service = bus.start_service()
    try:
        env = dict(os.environ, VHOST_SHARE_TEST_ADDRESS=bus.address, VHOST_SHARE_TEST_DIR=bus.dir)
        out = subprocess.run([gjs, "-m", script], env=env, stdout=subprocess.PIPE,
                             stderr=sys.stderr, text=True, timeout=TIMEOUT * 4)
        sys.stdout.write(out.stdout)
        code = out.returncode
    finally:
        status = vshtest.stop_service(service)
        bus.close()
    if status != 0:
        print(f"# vhost-shared exited with {status}")
        return 1
    return code


if __name__ == "__main__":
    sys.exit(main())
