/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* libFuzzer target: a whole back-end-role peer (the bridge). The input plays
 * a VMM front-end: handshake requests on the main socket (a socket it sends
 * becomes the back-end channel), GET_SHARED_OBJECT, and its replies on the
 * channel to the bridge's ADD / REMOVE / LOOKUP, interleaved with table
 * actions that make the bridge announce and look up. Framing and
 * invariants: fuzz-peer-common.h. */

#include "fuzz-peer-common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        static const FuzzPeerSpec spec = {.role = ROLE_BACKEND, .socket_fd_is_channel = true};

        fuzz_peer_run(&spec, data, size);
        return 0;
}
