#!/bin/bash
# SPDX-License-Identifier: MIT
# More reconnect events with the session detached (issue 12), the ones of
# tunnel_reconnect.sh and auto_oneway.sh that roam_detached*.sh do not meet:
# - tcp through socks5 (UDP blocked): sshd restarted and the old connection cut, then ten
#   proxy flaps in a row, all with no terminal attached;
# - auto: UDP dropped server to client only while detached: auto moves to tcp, and back
#   to udp once UDP is open again.  (Client to server only is not here: an idle session,
#   attached or not, sends only mosh's heartbeats and keeps receiving the server's, so
#   auto notices that direction only once something is typed; auto_oneway.sh covers it
#   with a typed line.)
# After each event a new terminal of another size attaches, a line typed at once echoes
# within a bound, the same mosh-client runs, the row is up and attached, and Ctrl-^ d
# detaches again; at the end nothing of the session is left on the server.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
set -u
. "$MOSHMAN_TOP/tests/lab/lab.sh"
t_plan 20
. "$MOSHMAN_TOP/tests/e2e/connect_common.bash"
. "$MOSHMAN_TOP/tests/e2e/tunnel_common.bash"
. "$MOSHMAN_TOP/tests/e2e/roam_detached.bash"
rd_setup roam_detached_more
add_host hsocks --transport tcp --proxy "socks5://$LAB_PROXY_IP:$LAB_SOCKS_PORT"
add_host hauto --transport auto

# --- tcp through socks5, detached: sshd restarted, then ten flaps ---
lab_block_udp
if rd_start hsocks tcp; then
	n=$(col reconnects "$RD_ID")
	lab_sshd_restart
	sleep 1
	lab_proxy_kill socks
	lab_proxy_start socks
	t_check "tcp: sshd restarted and the old connection cut, detached: reconnected" \
		wait_reconnects $((n + 1)) 20
	rd_after "tcp: after the sshd restart" 5
	n=$(col reconnects "$RD_ID")
	ok=1
	for i in 1 2 3 4 5 6 7 8 9 10; do
		lab_proxy_kill socks
		sleep 0.3
		lab_proxy_start socks
		wait_reconnects $((n + i)) 20 || { ok=0; break; }
	done
	t_check "tcp: ten proxy flaps in a row, detached: reconnected after each (stopped at $i)" [ $ok = 1 ]
	rd_after "tcp: after ten flaps" 5
	rd_settle "tcp" 1 1
	rd_end
	rd_stop
else
	for i in $(seq 1 11); do t_fail "tcp: not run ($i)" "connect -d failed"; done
fi
lab_unblock_udp

# --- auto, detached: UDP dropped server to client only ---
if rd_start hauto udp; then
	for dir in down; do
		lab_block_udp "$dir"
		t0=$(ms)
		if wait_path tcp 30; then
			echo "# auto: UDP dropped $dir only: on tcp $(($(ms) - t0)) ms later, detached"
			t_ok "auto: UDP dropped $dir only, detached: the path moves to tcp"
		else
			t_fail "auto: UDP dropped $dir only, detached: the path moves to tcp" "path $(col path "$RD_ID")"
		fi
		rd_after "auto: UDP dropped $dir only" 5
		lab_unblock_udp
		t_check "auto: UDP open again after $dir, detached: back to udp" wait_path udp 40
	done
	rd_end
else
	for i in $(seq 1 7); do t_fail "auto: not run ($i)" "connect -d failed"; done
fi
t_done
