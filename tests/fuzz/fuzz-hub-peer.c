/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* libFuzzer target: a whole front-end-role peer of the hub. The input plays
 * a vhost-user back-end: its answers to the hub's handshake on the main
 * socket, its SHARED_OBJECT requests on the back-end channel the hub hands
 * over, with fds of every kind attached, interleaved with the table actions
 * of a bus client. Framing and invariants: fuzz-peer-common.h. */

#include "fuzz-peer-common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        static const FuzzPeerSpec spec = {.role = ROLE_FRONTEND};

        fuzz_peer_run(&spec, data, size);
        return 0;
}
