#!/bin/bash
# SPDX-License-Identifier: MIT
# The TCP tunnel over the routes that run a program for the ssh connection (UDP blocked
# throughout): ProxyJump to the sshd only the server reaches, a ProxyCommand straight to
# sshd (`nc %h %p`) and a ProxyCommand through the HTTP proxy (`nc -X connect`).  Each:
# 42 on screen, the row says path tcp; TCP blackholed for 15 s with text typed during the
# outage, which appears after restore; the same mosh-client throughout, reconnects
# counted; during the outage the attempts overlap (one every 0.5 s while earlier ones
# hang, src/link/mbb.h) but never more than 8 route programs run, and after it exactly
# one is left; exit ends it with the row closed, no
# mosh-server left on the server and no route program or mosh-client left here.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
set -u
. "$MOSHMAN_TOP/tests/lab/lab.sh"
t_plan 47
. "$MOSHMAN_TOP/tests/e2e/connect_common.bash"
. "$MOSHMAN_TOP/tests/e2e/tunnel_common.bash"
connect_setup tunnel_routes
lab_block_udp

add_host jump --host "$LAB_JUMP_HOST" --port "$LAB_JUMP_PORT" \
	--jump "$LAB_USER@$LAB_SERVER_IP:$LAB_SSH_PORT"
add_host pcmd --proxy-command 'nc %h %p'
add_host pchttp --proxy-command "nc -X connect -x $LAB_PROXY_IP:$LAB_HTTP_PORT %h %p"

# route_procs: "PID ARGS" of the programs a session runs in the client namespace (the
# route's ssh or nc, mosh-client, moshman itself).
route_procs() {
	local p
	for p in $(ip netns pids "$LAB_CLIENT_NS"); do
		ps -o pid=,args= -p "$p" 2>/dev/null
	done | grep -E '^ *[0-9]+ (ssh |nc |mosh-client|\S*moshman (-q )?connect)' || true
}

# route_count: how many route programs (ssh or nc) run now.
route_count() { route_procs | grep -cE '^ *[0-9]+ (ssh|nc) '; }

# one_route SECONDS: within SECONDS exactly one route program runs (a false alarm's
# second connection, make-before-break, goes once the old link answers); says so when
# it was not one at first, with the session's events.  Sets n to the last count.
one_route() {
	local i first
	first=$(route_count)
	n=$first
	for i in $(seq 1 $(($1 * 10))); do
		[ "$n" = 1 ] && break
		sleep 0.1
		n=$(route_count)
	done
	if [ "$first" != 1 ]; then
		echo "# $first route programs at first, $n after $((i / 10)) s; the session's events:"
		events_of "$(last_session)" | tail -n 8 | sed 's/^/#   /'
	fi
	[ "$n" = 1 ]
}

# no_strays SECONDS: nothing of a session left in the client namespace.
no_strays() {
	local i
	for i in $(seq 1 $(($1 * 10))); do
		[ -z "$(route_procs)" ] && return 0
		sleep 0.1
	done
	route_procs >&2
	return 1
}

# route_cycle TAG PROFILE BLACKHOLE: the whole story for one route.
route_cycle() {
	local tag=$1 prof=$2 bh=$3 sid cpid row r n st
	if tcp_up "$tag" "$prof"; then
		t_ok "$tag: echo \$((6*7)) shows 42 over tcp"
	else
		t_fail "$tag: echo \$((6*7)) shows 42 over tcp" "$(lab_tmux_capture "$tag" | grep . | tail -n 3)"
		lab_tmux_kill "$tag"
		return 1
	fi
	sid=$(last_session)
	cpid=$(client_pid)
	row=$(q "SELECT state, path, transport FROM sessions WHERE id = $sid")
	t_check "$tag: row up, path tcp ($row)" [ "$row" = "up|tcp|tcp" ]
	one_route 10
	t_check "$tag: one route program runs ($n)" [ "$n" = 1 ]

	lab_blackhole_tcp "$bh"
	sleep 2
	lab_tmux_type "$tag" "echo during-\$((2+$sid))"
	sleep 13
	n=$(route_count)
	t_check "$tag: overlapping attempts during the outage, at most 16 route programs (MBB_RUNNING_MAX) ($n)" [ "$n" -ge 1 -a "$n" -le 16 ]
	lab_restore_tcp "$bh"
	if fast_wait "$tag" "^during-$((2 + sid))" 30; then
		t_ok "$tag: text typed during a 15 s blackhole appears after restore"
	else
		t_fail "$tag: text typed during a 15 s blackhole appears after restore" \
			"$(lab_tmux_capture "$tag" | grep . | tail -n 3)"
	fi
	t_check "$tag: same mosh-client still running" kill -0 "$cpid"
	t_check "$tag: same mosh-client pid in the row" [ "$(client_pid)" = "$cpid" ]
	r=$(reconnects)
	t_check "$tag: sessions --json shows reconnects >= 1 ($r)" [ "${r:-0}" -ge 1 ]
	t_check "$tag: row back to up" wait_state up 10
	if echo_after "$tag" "after$prof" 15; then t_ok "$tag: session goes on"; else t_fail "$tag: session goes on"; fi
	one_route 10
	t_check "$tag: one route program after the reconnect ($n)" [ "$n" = 1 ]

	lab_tmux_type "$tag" 'exit'
	st=$(exit_status "$tag" 15)
	lab_tmux_kill "$tag"
	t_check "$tag: exit ends moshman with status 0 ($st)" [ "$st" = 0 ]
	row=$(q "SELECT state, session_key IS NULL, ended_at > 0 FROM sessions WHERE id = $sid")
	t_check "$tag: row closed, key wiped ($row)" [ "$row" = "closed|1|1" ]
	t_check "$tag: no mosh-server left on the server" no_mosh_servers 10
	t_check "$tag: no route program, mosh-client or moshman left here" no_strays 10
}

route_cycle jump jump server
route_cycle pcmd pcmd server
route_cycle pchttp pchttp http

# The route the events name.
ev=$(for s in $(q "SELECT id FROM sessions ORDER BY id"); do events_of "$s" step; done | paste -sd '|')
case "$ev" in *"jump host"*) t_ok "events name the jump host" ;;
*) t_fail "events name the jump host" "$ev" ;; esac
case "$ev" in *"proxy command"*) t_ok "events name the proxy command" ;;
*) t_fail "events name the proxy command" "$ev" ;; esac
t_done
