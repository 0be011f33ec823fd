#!/bin/bash
# SPDX-License-Identifier: MIT
# Roaming with the session detached (issue 12), transport auto: started with `connect -d`
# on udp, the session meets with no terminal attached the events of roam_udp.sh (the
# client's address changes; the supervisor and mosh-client, found by the row's PIDs,
# frozen 20 s while the address changes; the uplink moves to the second interface).
# Then an outage while attached: UDP is blocked, a line is typed, and the terminal is
# killed at once (a hangup: the session detaches itself); auto moves to tcp with nobody
# attached, and a later attach shows the line typed during the outage.  Last, all TCP to
# the server dropped 12 s while auto is on tcp.  After each event a new terminal of
# another size attaches, a line typed at once echoes within a bound (the time is
# printed), the same mosh-client runs, the row is up and attached, and Ctrl-^ d detaches
# again.  Then nothing stray on the server.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
set -u
. "$MOSHMAN_TOP/tests/lab/lab.sh"
t_plan 24
. "$MOSHMAN_TOP/tests/e2e/connect_common.bash"
. "$MOSHMAN_TOP/tests/e2e/tunnel_common.bash"
. "$MOSHMAN_TOP/tests/e2e/roam_detached.bash"
rd_setup roam_detached_auto
# On udp: roam_udp.sh's bound; on tcp: tunnel_roam.sh's.
BOUND=${ROAM_BOUND:-3}
add_host hauto --transport auto
# The first relay start on the server hangs 7 s, so the standby tunnel's start fails (its
# relay does not answer within 5 s), as when the client roams during the start; the
# session is on UDP meanwhile and the tunnel must be rebuilt, else auto has no way left
# once UDP goes (the outage below).  Non-interactive ssh commands read ~/.bashrc.
home=$(lab_server_home "$LAB_USER")
printf '%s\n' 'case $BASH_EXECUTION_STRING in *--port*) [ -e ~/.slow-relay ] && { rm -f ~/.slow-relay; sleep 7; } ;; esac' >"$home/.bashrc"
touch "$home/.slow-relay"
chown "$LAB_USER" "$home/.bashrc" "$home/.slow-relay"

if rd_start hauto udp; then
	for i in $(seq 1 250); do
		events_of "$RD_ID" reconnect | grep -q '^up again' && break
		sleep 0.1
	done
	ev=$(events_of "$RD_ID" | grep -E '^(tunnel|reconnect)'$'\t' | tr '\t\n' ': ' )
	echo "# standby tunnel: $ev"
	if [ ! -e "$home/.slow-relay" ] && events_of "$RD_ID" reconnect | grep -q '^link dead (the relay did not answer' &&
		events_of "$RD_ID" reconnect | grep -q '^up again'; then
		t_ok "auto: a standby tunnel whose start failed (the relay silent 7 s) is rebuilt"
	else
		t_fail "auto: a standby tunnel whose start failed (the relay silent 7 s) is rebuilt" "$ev"
	fi
	lab_client_addr
	rd_after "auto: address change to $LAB_CLIENT_IP" "$BOUND"
	rd_freeze 20
	rd_after "auto: 20 s frozen, address changed to $LAB_CLIENT_IP meanwhile" "$BOUND"
	lab_uplink 2
	rd_after "auto: uplink switch" "$BOUND"

	# The outage begins while attached; the terminal dies during it.
	if rd_open; then
		rd_typed "auto: before the outage" "$BOUND"
	else
		t_fail "auto: before the outage: attached from a new terminal, a line typed at once echoes within $BOUND s" "no attach"
	fi
	lab_block_udp
	lab_tmux_type "$RD_TAG" 'echo during-$((3+3))'
	lab_tmux_kill "$RD_TAG"
	if rd_wait_attached 0 5 && [ "$(col state "$RD_ID")" != closed ] && rd_alive &&
		events_of "$RD_ID" detach | grep -q 'the terminal went away'; then
		t_ok "auto: terminal killed during the outage: detached (the terminal went away), the session lives"
	else
		t_fail "auto: terminal killed during the outage: detached (the terminal went away), the session lives" \
			"$(q "SELECT state, attached FROM sessions WHERE id = $RD_ID") $(events_of "$RD_ID" detach | tail -n 1)"
	fi
	t0=$(ms)
	if wait_path tcp 20; then
		echo "# auto: udp -> tcp $(($(ms) - t0)) ms after UDP was blocked, detached"
		t_ok "auto: with nobody attached, UDP blocked: the path moves to tcp"
	else
		t_fail "auto: with nobody attached, UDP blocked: the path moves to tcp"
	fi
	if rd_open; then
		t_check "auto: attached later: the line typed during the outage ran (on screen)" \
			lab_tmux_wait "$RD_TAG" '^during-6' 10
		rd_typed "auto: after the outage, on tcp" 5
	else
		t_fail "auto: attached later: the line typed during the outage ran (on screen)" "no attach"
		t_fail "auto: after the outage, on tcp: attached from a new terminal, a line typed at once echoes within 5 s" "no attach"
	fi
	rd_same "auto: after the outage"
	rd_detach "auto: after the outage"

	lab_blackhole_tcp server
	sleep 12
	lab_restore_tcp server
	rd_after "auto on tcp: TCP to the server dropped 12 s" 5
	rd_settle "auto" 1 1
	rd_end
else
	for i in $(seq 1 23); do t_fail "auto: not run ($i)" "connect -d failed"; done
fi
t_done
