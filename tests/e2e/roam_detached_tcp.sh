#!/bin/bash
# SPDX-License-Identifier: MIT
# Roaming and reconnects with the session detached (issue 12), transport tcp through a
# SOCKS5 proxy, UDP blocked: started with `connect -d`, the session meets with no terminal
# attached the events of tunnel_roam.sh and tunnel_reconnect.sh: the client's address
# changes; the supervisor and mosh-client (found by the row's PIDs) frozen 20 s while the
# address changes; the uplink moves to the second interface; all TCP to the proxy dropped
# 12 s; the proxy killed and restarted 5 s later; the remote relay killed by PID.  After
# each a new terminal of another size attaches, a line typed at once echoes within a
# bound (the time is printed), the same mosh-client runs, the row is up and attached, and
# Ctrl-^ d detaches again.  Then exactly one relay, sshd session and mosh-server on the
# server, and none once the session ends.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
set -u
. "$MOSHMAN_TOP/tests/lab/lab.sh"
t_plan 24
. "$MOSHMAN_TOP/tests/e2e/connect_common.bash"
. "$MOSHMAN_TOP/tests/e2e/tunnel_common.bash"
. "$MOSHMAN_TOP/tests/e2e/roam_detached.bash"
rd_setup roam_detached_tcp
lab_block_udp
add_host socks --transport tcp --proxy "socks5://$LAB_PROXY_IP:$LAB_SOCKS_PORT"

# rd_reconnected EV N: the row counts N reconnects (within 20 s); one test line.
rd_reconnected() {
	local t0
	t0=$(ms)
	if wait_reconnects "$2" 20; then
		echo "# $1: reconnected $(($(ms) - t0)) ms later"
		t_ok "$1: the detached session reconnects ($2)"
	else
		t_fail "$1: the detached session reconnects ($2)" "reconnects $(col reconnects "$RD_ID")"
	fi
}

if rd_start socks tcp; then
	lab_client_addr
	rd_after "tcp: address change" 5
	rd_freeze 20
	rd_after "tcp: 20 s frozen with a new address" 8
	lab_uplink 2
	rd_after "tcp: uplink switch" 5
	lab_blackhole_tcp socks
	sleep 12
	lab_restore_tcp socks
	rd_after "tcp: TCP to the proxy dropped 12 s" 5
	n=$(col reconnects "$RD_ID")
	lab_proxy_kill socks
	sleep 5
	lab_proxy_start socks
	rd_reconnected "tcp: proxy killed, restarted 5 s later" $((n + 1))
	rd_after "tcp: proxy killed and restarted" 5
	n=$(col reconnects "$RD_ID")
	rp=$(relay_pids)
	echo "# relays on the server: $(printf '%s ' $rp)"
	# shellcheck disable=SC2086
	[ -n "$rp" ] && lab_server kill $rp
	rd_reconnected "tcp: remote relay killed by PID" $((n + 1))
	rd_after "tcp: remote relay killed" 5
	rd_settle "tcp" 1 1
	rd_end
else
	for i in $(seq 1 23); do t_fail "tcp: not run ($i)" "connect -d failed"; done
fi
t_done
