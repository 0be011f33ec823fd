#!/bin/bash
# SPDX-License-Identifier: MIT
# The chaos run of tunnel_chaos.sh on the auto transport (issue 11): roams, freezes,
# blackholes, proxy kills, UDP blocked both ways or one way, and all traffic cut, while
# 2,000 numbered lines are typed; every line arrives once, in order.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
CHAOS_TRANSPORT=auto exec bash "$MOSHMAN_TOP/tests/e2e/tunnel_chaos.sh"
