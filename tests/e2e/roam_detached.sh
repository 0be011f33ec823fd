#!/bin/bash
# SPDX-License-Identifier: MIT
# Roaming with the session detached (issue 12's "every roaming and reconnect test still
# passes with sessions detached"), transport udp: started with `connect -d`, the session
# meets each event of roam_udp.sh with no terminal attached: the client's address changes;
# the supervisor and mosh-client (found by the row's PIDs, under no terminal) frozen 20 s
# while the address changes; the uplink moves to the second interface and back.  After
# each a new terminal of another size attaches, a line typed at once echoes within a
# bound (the time is printed), the same mosh-client runs, the row is up and attached, and
# Ctrl-^ d detaches again.  Then nothing stray on the server.  tcp: roam_detached_tcp.sh;
# auto, and a terminal killed during an outage: roam_detached_auto.sh.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
set -u
. "$MOSHMAN_TOP/tests/lab/lab.sh"
t_plan 17
. "$MOSHMAN_TOP/tests/e2e/connect_common.bash"
. "$MOSHMAN_TOP/tests/e2e/tunnel_common.bash"
. "$MOSHMAN_TOP/tests/e2e/roam_detached.bash"
rd_setup roam_detached
# The echo bound, as roam_udp.sh's (plain mosh: ~0.2 s in this lab; room for load).
BOUND=${ROAM_BOUND:-3}
add_host hudp --transport udp

if rd_start hudp udp; then
	lab_client_addr
	rd_after "udp: address change to $LAB_CLIENT_IP" "$BOUND"
	rd_freeze 20
	rd_after "udp: 20 s frozen, address changed to $LAB_CLIENT_IP meanwhile" "$BOUND"
	lab_uplink 2
	rd_after "udp: uplink switch to uplink 2" "$BOUND"
	lab_uplink 1
	rd_after "udp: uplink switch back to uplink 1" "$BOUND"
	ev=$(events_of "$RD_ID" network ' | ')
	echo "# network events: $ev"
	case "$ev" in *"network changed: source address"*"frozen"*) t_ok "udp: the detached supervisor saw the roam and the freeze (events)" ;;
	*) t_fail "udp: the detached supervisor saw the roam and the freeze (events)" "$ev" ;; esac
	rd_settle "udp" 0 0
	rd_end
else
	for i in $(seq 1 16); do t_fail "udp: not run ($i)" "connect -d failed"; done
fi
t_done
