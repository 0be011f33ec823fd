#!/bin/bash
# SPDX-License-Identifier: MIT
# Honest session endings (issue 13), against real sshd and mosh in the lab:
# - mosh-client SIGKILLed, or the supervisor SIGTERMed after the terminal closed (which only
#   detaches), on a live udp and a live tcp session
#   (and a tcp session of a user whose login shell is tcsh):
#   within 5 s no mosh-server of that session runs, and the row is closed saying why;
# - mosh-server SIGKILLed on the host (udp, tcp, auto): within 10 s the session ends with one
#   line naming the cause in the user's terminal, the row is closed with that reason,
#   nothing of moshman's left running for it;
# - a tcp session ended (SIGTERM) during a TCP blackhole: the row says orphaned
#   (the supervisor keeps trying, so scan does not offer the server to clean meanwhile);
#   after the network returns the server is stopped (row closed) or cleaned;
# - moshman kill on a live session: row closed, server gone; killed twice during a
#   blackhole: the supervisor gives up, the row stays orphaned, and once the network is
#   back scan calls the server ours-orphaned and the default clean kills it.
# (A supervisor SIGKILLed: its server is ours-orphaned and cleaned: tests/e2e/scan_lab.sh.)
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
set -u
. "$MOSHMAN_TOP/tests/lab/lab.sh"
t_plan 47
. "$MOSHMAN_TOP/tests/e2e/connect_common.bash"
. "$MOSHMAN_TOP/tests/e2e/tunnel_common.bash"
connect_setup session_endings
# A session younger than this may still be getting its client: 5 s, not scan's 60 s.
export MOSHMAN_SCAN_STARTING_S=5
add_host u
add_host t --transport tcp
add_host a --transport auto

srv_alive() { lab_server kill -0 "$1" 2>/dev/null; }
srv_gone() { ! srv_alive "$1"; }
# gone_ms PID SECONDS: prints the ms it took for server PID to go, fails after SECONDS.
gone_ms() {
	local t0 i
	t0=$(ms)
	for i in $(seq 1 $(($2 * 20))); do
		srv_alive "$1" || { echo $(($(ms) - t0)); return 0; }
		sleep 0.05
	done
	return 1
}
row_of() { q "SELECT state FROM sessions WHERE id = $1"; }
reason_of() { events_of "$1" state | tail -n 1; }
wait_row() {
	local i
	for i in $(seq 1 $(($3 * 10))); do
		[ "$(row_of "$1")" = "$2" ] && return 0
		sleep 0.1
	done
	return 1
}
# session_up TAG PROFILE: a session in tmux, 42 on screen.
session_up() {
	start_moshman "$1" connect "$2"
	lab_tmux_wait "$1" '\$ *$' 30 && lab_tmux_type "$1" 'echo $((6*7))' &&
		lab_tmux_wait "$1" '^42' 15
}
# all_true CMD... [-- CMD...]: every command succeeds.
all_true() {
	local c=()
	for w in "$@" --; do
		if [ "$w" = -- ]; then
			[ ${#c[@]} -eq 0 ] || "${c[@]}" || return 1
			c=()
		else
			c+=("$w")
		fi
	done
}
# ended_with SID STATE REGEX...: the row is in STATE and its last state event matches
# every REGEX.
ended_with() {
	local sid=$1 st=$2 r
	shift 2
	[ "$(row_of "$sid")" = "$st" ] || return 1
	r=$(reason_of "$sid")
	for re in "$@"; do grep -Eq -- "$re" <<<"$r" || return 1; done
}
# gone_here PID...: none of these local processes runs (after a short grace).
gone_here() {
	local i p left
	for i in $(seq 1 20); do
		left=
		for p in "$@"; do [ -n "$p" ] && kill -0 "$p" 2>/dev/null && left="$left $p"; done
		[ -z "$left" ] && return 0
		sleep 0.1
	done
	echo "still running:$left"
	return 1
}

# ---- mosh-client SIGKILLed -----------------------------------------------------------
for p in u t; do
	tag=ck$p
	if ! session_up $tag $p; then
		t_fail "$p: client killed: session up"
		lab_tmux_kill $tag
		continue
	fi
	sid=$(last_session)
	spid=$(col server_pid "$sid")
	kill -9 "$(col client_pid "$sid")"
	if took=$(gone_ms "$spid" 5); then
		t_ok "$p: mosh-client SIGKILLed: its mosh-server gone within 5 s ($took ms)"
	else
		t_fail "$p: mosh-client SIGKILLed: its mosh-server gone within 5 s" "pid $spid runs"
	fi
	wait_row "$sid" closed 5
	r=$(reason_of "$sid")
	echo "# $p: $(row_of "$sid"): $r"
	t_check "$p: client killed: row closed, saying signal 9 and that the server stopped" \
		ended_with "$sid" closed "signal 9" "stopped|already gone"
	lab_tmux_kill $tag
done

# The stop script through a tcsh login shell (shquote_script hands it to sh intact).
add_host c --user "$LAB_CSH_USER" --transport tcp
start_moshman ckc connect c
if lab_tmux_wait ckc '> *$' 30 >/dev/null; then
	sid=$(last_session)
	spid=$(col server_pid "$sid")
	kill -9 "$(col client_pid "$sid")"
	if took=$(gone_ms "$spid" 5); then
		t_ok "tcsh: mosh-client SIGKILLed: its mosh-server gone within 5 s ($took ms)"
	else
		t_fail "tcsh: mosh-client SIGKILLed: its mosh-server gone within 5 s" "pid $spid runs"
	fi
	wait_row "$sid" closed 5
	t_check "tcsh: row closed, the server stopped" ended_with "$sid" closed "signal 9" "stopped"
else
	t_fail "tcsh: session up" "$(lab_tmux_capture ckc | tail -n 3)"
fi
lab_tmux_kill ckc

# ---- the terminal closed (it detaches), then SIGTERM to the supervisor ----------------------
for p in u t; do
	tag=hu$p
	if ! session_up $tag $p; then
		t_fail "$p: hangup: session up"
		lab_tmux_kill $tag
		continue
	fi
	sid=$(last_session)
	spid=$(col server_pid "$sid")
	sup=$(col supervisor_pid "$sid")
	lab_tmux_kill $tag
	sleep 1
	t_check "$p: terminal closed: the session runs on, detached" \
		[ "$(row_of "$sid")" = up -a "$(col attached "$sid")" = 0 ]
	t_check "$p: terminal closed: its mosh-server still runs" srv_alive "$spid"
	kill -TERM "$sup"
	if took=$(gone_ms "$spid" 5); then
		t_ok "$p: SIGTERM: its mosh-server gone within 5 s ($took ms)"
	else
		t_fail "$p: SIGTERM: its mosh-server gone within 5 s" "pid $spid runs"
	fi
	wait_row "$sid" closed 5
	echo "# $p: $(row_of "$sid"): $(reason_of "$sid")"
	t_check "$p: SIGTERM: row closed, saying moshman was asked to stop" \
		ended_with "$sid" closed "asked to stop"
done

# ---- mosh-server SIGKILLed on the host --------------------------------------------------
for p in u t a; do
	tag=sk$p
	if ! session_up $tag $p; then
		t_fail "$p: server killed: session up"
		lab_tmux_kill $tag
		continue
	fi
	sid=$(last_session)
	spid=$(col server_pid "$sid")
	cpid=$(col client_pid "$sid")
	sup=$(col supervisor_pid "$sid")
	t0=$(ms)
	lab_server kill -9 "$spid"
	if lab_tmux_wait $tag "^moshman: session $sid .*mosh-server ended on the host" 10; then
		t_ok "$p: mosh-server SIGKILLed: one line in the terminal names the cause ($(($(ms) - t0)) ms)"
	else
		t_fail "$p: mosh-server SIGKILLed: one line in the terminal names the cause" "$(lab_tmux_capture $tag | tail -n 5)"
	fi
	lab_tmux_capture $tag | grep "^moshman: session $sid" | sed 's/^/# /'
	n=$(lab_tmux_capture $tag | grep -c "^moshman: session $sid")
	t_check "$p: server killed: exactly one such line" [ "$n" = 1 ]
	r=$(reason_of "$sid")
	echo "# $p: $(row_of "$sid"): $r"
	t_check "$p: server killed: row closed with the reason" \
		ended_with "$sid" closed "mosh-server ended on the host" "pid $spid is gone"
	t_check "$p: server killed: supervisor and mosh-client gone" gone_here "$sup" "$cpid"
	t_check "$p: server killed: no relay left on the host" [ -z "$(relay_pids)" ]
	lab_tmux_kill $tag
done

# ---- SIGTERM during a TCP blackhole (the terminal detached first) ---------------------------------------------
if session_up bh t; then
	sid=$(last_session)
	spid=$(col server_pid "$sid")
	sup=$(col supervisor_pid "$sid")
	lab_blackhole_tcp server
	sleep 1
	lab_tmux_kill bh
	kill -TERM "$sup"
	if wait_row "$sid" orphaned 15; then
		t_ok "blackhole + SIGTERM: row orphaned while the server cannot be reached"
	else
		t_fail "blackhole + SIGTERM: row orphaned while the server cannot be reached" "$(row_of "$sid")"
	fi
	echo "# $(reason_of "$sid")"
	t_check "blackhole + SIGTERM: the supervisor lives on, trying" kill -0 "$sup"
	lab_restore_tcp server
	if took=$(gone_ms "$spid" 30); then
		t_ok "blackhole + SIGTERM: network back: the supervisor stops the server ($took ms)"
	else
		lab_client timeout 60 "$M" clean t --yes >&2
		t_fail "blackhole + SIGTERM: network back: the supervisor stops the server"
	fi
	wait_row "$sid" closed 5
	echo "# $(reason_of "$sid")"
	t_check "blackhole + SIGTERM: row closed once the server is gone" [ "$(row_of "$sid")" = closed ]
	sleep 0.5
	t_check "blackhole + SIGTERM: supervisor gone" gone_here "$sup"
else
	t_fail "blackhole + SIGTERM: session up"
	lab_tmux_kill bh
fi
# ---- moshman kill --------------------------------------------------------------------------
if session_up kl u; then
	sid=$(last_session)
	spid=$(col server_pid "$sid")
	out=$(lab_client timeout 30 "$M" kill "$sid" 2>&1)
	rc=$?
	echo "# kill: $out"
	t_check "kill: exits 0 and says the session is closed" [ "$rc" = 0 -a -n "$(grep "^session $sid (u): closed" <<<"$out")" ]
	t_check "kill: its mosh-server is gone" srv_gone "$spid"
	t_check "kill: row closed, saying moshman kill" ended_with "$sid" closed "moshman kill"
	t_check "kill: moshman in the terminal exited" lab_tmux_wait kl '^moshman exited [0-9]+' 5
else
	t_fail "kill: session up"
fi
lab_tmux_kill kl
out=$(lab_client "$M" kill "$sid" 2>&1)
rc=$?
t_check "kill of an ended session: exit 1 with why ($out)" [ "$rc" = 1 -a -n "$(grep "is closed: nothing to kill" <<<"$out")" ]

# Killed during a blackhole, then killed again (stop waiting): orphaned, the supervisor
# exits, and once the network is back the default clean ends the server.
if session_up kb t; then
	sid=$(last_session)
	spid=$(col server_pid "$sid")
	sup=$(col supervisor_pid "$sid")
	lab_blackhole_tcp server
	# Once the tunnel has called the link dead, nothing is sent into the old connection
	# (which would deliver the stop when the network returns).
	t_check "kill during a blackhole: the tunnel notices the outage" wait_row "$sid" reconnecting 20
	out=$(lab_client timeout 30 "$M" kill "$sid" 2>&1)
	echo "# kill: $out"
	t_check "kill during a blackhole: row orphaned, supervisor still trying" all_true \
		wait_row "$sid" orphaned 15 -- kill -0 "$sup"
	t_check "sessions: the row shows orphaned/stopping meanwhile" \
		grep -Eq "^$sid +t +orphaned/stopping " <<<"$("$M" sessions)"
	out=$(lab_client timeout 30 "$M" kill "$sid" 2>&1)
	echo "# kill again: $out"
	t_check "kill again: the supervisor stops waiting and exits, row orphaned" all_true \
		gone_here "$sup" -- [ "$(row_of "$sid")" = orphaned ]
	echo "# $(reason_of "$sid")"
	lab_restore_tcp server
	t_check "network back: the server still runs (nobody stopped it)" srv_alive "$spid"
	# mosh-server's utmp mark says "detached" 30 s after it last heard its client (the
	# old connection may deliver the client's last datagrams when the network returns);
	# until then scan does not offer it (a client might still be there).
	for i in $(seq 1 25); do
		sj=$(lab_client timeout 60 "$M" scan t --json 2>/dev/null)
		cls=$(jq -r --argjson p "$spid" '.[0].servers[] | select(.pid == $p) | "\(.class) \(.candidate)"' <<<"$sj")
		[ "$cls" = "ours-orphaned true" ] && break
		sleep 3
	done
	echo "# $(jq -c --argjson p "$spid" '.[0].servers[] | select(.pid == $p) | {class, candidate, why}' <<<"$sj")"
	t_check "scan: the server is ours-orphaned and a default target ($cls)" [ "$cls" = "ours-orphaned true" ]
	lab_client timeout 60 "$M" clean t --yes 2>&1 | sed 's/^/# clean: /'
	t_check "default clean kills it" srv_gone "$spid"
else
	t_fail "kill during a blackhole: session up"
fi
lab_tmux_kill kb

t_check "no mosh-server left on the server" no_mosh_servers 10
t_done
