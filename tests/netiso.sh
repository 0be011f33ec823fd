#!/bin/sh
# SPDX-License-Identifier: MIT
# netiso.sh CMD...: run CMD in a fresh network namespace that has only loopback, so
# nothing it resolves or connects to can leave the machine.  The test runner uses it when
# it runs as root (unshare needs it); MOSHMAN_NET_ISOLATED=1 tells the test.
exec unshare -n sh -c 'ip link set lo up && MOSHMAN_NET_ISOLATED=1 exec "$@"' sh "$@"
