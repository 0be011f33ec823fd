#!/bin/bash
# SPDX-License-Identifier: MIT
# Persistent sessions: detach with Ctrl-^ d, the terminal killed, attach from a terminal
# of another size (the screen drawn again, the same shell and mosh-client), a terminal
# closed while attached, two attaches (the second wins), another user refused, Ctrl-^ .
# through the attach layer, connect -d over tcp, and the events and sessions listings.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
set -u
. "$MOSHMAN_TOP/tests/lab/lab.sh"
t_plan 37
. "$MOSHMAN_TOP/tests/e2e/connect_common.bash"
connect_setup attach
add_host s
# The run's own socket directory (exported before any tmux session copies the env).
export XDG_RUNTIME_DIR=$LAB_DIR/xdg
mkdir -p "$XDG_RUNTIME_DIR"
chmod 700 "$XDG_RUNTIME_DIR"

alive() { kill -0 "$1" 2>/dev/null; }
# shell_pid TAG: the number echo $$ printed last on TAG's screen.
shell_pid() {
	lab_tmux_type "$1" 'echo pid=$$'
	lab_tmux_wait "$1" '^pid=[0-9]+' 10 >/dev/null || return 1
	lab_tmux_capture "$1" | sed -n 's/^pid=\([0-9][0-9]*\).*/\1/p' | tail -n 1
}
event_has() { # event_has ID KIND PATTERN
	events_of "$1" "$2" | grep -Eq -- "$3"
}

# ---- udp: detach, kill the terminal, attach from another size ---------------------------
start_moshman a1 connect s
if lab_tmux_wait a1 '\$ *$' 30; then
	id=$(last_session)
	sup=$(col supervisor_pid "$id")
	cli=$(col client_pid "$id")
	pid1=$(shell_pid a1)
	lab_tmux_type a1 'echo marker-$((40+2))'
	lab_tmux_wait a1 '^marker-42' 10 >/dev/null
	[ "$(col attached "$id")" = 1 ] && t_ok "connect: the row says attached" ||
		t_fail "connect: the row says attached" "attached=$(col attached "$id")"
	lab_tmux_send a1 C-^ d
	st=$(exit_status a1 10)
	lab_tmux_capture a1 | grep -q "detached from session $id (s); it keeps running: moshman attach $id" &&
		[ "$st" = 0 ] && t_ok "Ctrl-^ d detaches with one line, status 0" ||
		t_fail "Ctrl-^ d detaches with one line, status 0" "status '$st': $(lab_tmux_capture a1 | grep moshman)"
	lab_tmux_kill a1
	sleep 1
	row=$(q "SELECT state, attached, attach_changed_at > 0 FROM sessions WHERE id = $id")
	[ "$row" = "up|0|1" ] && alive "$sup" && alive "$cli" &&
		t_ok "detached and terminal killed: session up, supervisor and mosh-client alive" ||
		t_fail "detached and terminal killed: session up, supervisor and mosh-client alive" "row $row"
	event_has "$id" detach 'detached by the user' && t_ok "the detach is an event with its reason" ||
		t_fail "the detach is an event with its reason"
	out=$("$M" sessions)
	echo "$out" | sed 's/^/# /'
	echo "$out" | awk -v id="$id" '$1 == id && $3 == "up" && $(NF-1) == "detached" { f = 1 } END { exit !f }' &&
		"$M" sessions --json | jq -e --argjson id "$id" '.[] | select(.id == $id) |
			.attached == false and .attach_changed_at > 0' >/dev/null &&
		t_ok "sessions (and --json) show the session detached" ||
		t_fail "sessions (and --json) show the session detached"

	# scan: a detached session whose supervisor lives is live, never a kill target.
	srv=$(col server_pid "$id")
	js=$(lab_client timeout 60 "$M" scan s --json 2>/dev/null)
	jq -e --argjson p "$srv" '.[0].servers[] | select(.pid == $p) |
		.class == "ours-live" and (.candidate | not) and (.candidate_detached | not)' <<<"$js" >/dev/null &&
		t_ok "scan: the detached session's mosh-server is ours-live, not a target" ||
		t_fail "scan: the detached session's mosh-server is ours-live, not a target" \
			"$(jq -c '.[0].servers' <<<"$js")"

	# Another size; nothing typed: the earlier output is drawn again at once.
	t0=$(ms)
	attach_in a2 40 120 attach s
	if lab_tmux_wait a2 '^marker-42' 10; then
		t_ok "attach by host from a 120x40 terminal: the earlier output is on screen ($(( $(ms) - t0 - 500 )) ms)"
	else
		t_fail "attach by host from a 120x40 terminal: the earlier output is on screen"
	fi
	pid2=$(shell_pid a2)
	[ -n "$pid1" ] && [ "$pid1" = "$pid2" ] && t_ok "the same shell (pid $pid2)" ||
		t_fail "the same shell" "before '$pid1' after '$pid2'"
	[ "$(col client_pid "$id")" = "$cli" ] && alive "$cli" && t_ok "the same mosh-client (pid $cli)" ||
		t_fail "the same mosh-client"
	lab_tmux_type a2 'stty size'
	t_check "mosh-client's terminal took the new size (40 120)" lab_tmux_wait a2 '^40 120' 10

	# The terminal closed while attached: the session stays.
	lab_tmux_kill a2
	sleep 1
	[ "$(col state "$id")|$(col attached "$id")" = "up|0" ] && alive "$cli" &&
		event_has "$id" detach 'terminal went away' &&
		t_ok "terminal closed while attached: session up, detached (the terminal went away)" ||
		t_fail "terminal closed while attached: session up, detached" "$(col state "$id")|$(col attached "$id")"

	# Ctrl-^ Ctrl-Z: mosh's suspend gives the local shell back; here that is a detach,
	# and the session keeps running (mosh-client continued by the supervisor).
	attach_in z1 30 100 attach "$id"
	lab_tmux_wait z1 '^marker-42' 10 >/dev/null
	lab_tmux_send z1 C-^ C-z
	if lab_tmux_wait z1 "detached from session $id \(s\): mosh-client was suspended" 10 &&
		[ "$(exit_status z1 5)" = 0 ]; then
		t_ok "Ctrl-^ Ctrl-Z reaches mosh-client, which suspends: the terminal is let go, status 0"
	else
		t_fail "Ctrl-^ Ctrl-Z reaches mosh-client, which suspends: the terminal is let go, status 0"
	fi
	sleep 0.5
	[ "$(awk '{print $3}' /proc/"$cli"/stat 2>/dev/null)" != T ] && [ "$(col state "$id")" = up ] &&
		t_ok "after the suspend mosh-client runs on, the session is up" ||
		t_fail "after the suspend mosh-client runs on, the session is up" "$(cat /proc/"$cli"/stat 2>/dev/null)"
	lab_tmux_kill z1

	# Two attaches: the second takes over, the first says why.
	attach_in a3 30 100 attach "$id"
	lab_tmux_wait a3 '^marker-42' 10 >/dev/null
	attach_in a4 30 100 attach "$id"
	if lab_tmux_wait a3 'attached from another terminal' 10 && [ "$(exit_status a3 5)" = 0 ]; then
		t_ok "a second attach takes over; the first exits 0 saying why"
	else
		t_fail "a second attach takes over; the first exits 0 saying why"
	fi
	t_check "same size as before: the screen is drawn again at once (SIGCONT to mosh-client)" \
		lab_tmux_wait a4 '^marker-42' 5
	lab_tmux_type a4 'echo second-$((1+1))'
	t_check "the second terminal drives the session" lab_tmux_wait a4 '^second-2' 10
	lab_tmux_kill a3

	# Another user: the directory keeps them out; past it, the uid check does.
	sock=$(ls "$XDG_RUNTIME_DIR"/moshman/session-"$id"-*.sock 2>/dev/null | head -n 1)
	hello='\001\000\005\001\000\030\000\120'
	out=$(printf "$hello" | runuser -u "$LAB_OTHER_USER" -- socat -t 2 - UNIX-CONNECT:"$sock" 2>&1)
	case "$out" in *"Permission denied"*) t_ok "another user cannot reach the socket (directory 0700)" ;;
		*) t_fail "another user cannot reach the socket (directory 0700)" "$out" ;; esac
	chmod 711 "$XDG_RUNTIME_DIR" "$XDG_RUNTIME_DIR/moshman"
	chmod 777 "$sock"
	n=$(printf "$hello" | runuser -u "$LAB_OTHER_USER" -- socat -t 2 - UNIX-CONNECT:"$sock" 2>/dev/null | wc -c)
	chmod 700 "$XDG_RUNTIME_DIR" "$XDG_RUNTIME_DIR/moshman"
	chmod 700 "$sock"
	[ "$n" = 0 ] && lab_tmux_alive a4 && [ "$(col attached "$id")" = 1 ] &&
		t_ok "another user's connection is dropped (SO_PEERCRED), the attached terminal keeps it" ||
		t_fail "another user's connection is dropped (SO_PEERCRED)" "$n bytes back"

	# Ctrl-^ . goes through the attach layer to mosh-client, which quits.
	lab_tmux_send a4 C-^ .
	st=$(exit_status a4 15)
	[ "$st" = 0 ] && [ "$(col state "$id")" = closed ] &&
		t_ok "Ctrl-^ . through the attach layer quits mosh-client; row closed, status 0" ||
		t_fail "Ctrl-^ . through the attach layer quits mosh-client" "status '$st' state $(col state "$id")"
	t_check "Ctrl-^ .: no mosh-server left" no_mosh_servers 15
	gone() { local i; for i in $(seq 1 30); do alive "$1" || return 0; sleep 0.1; done; return 1; }
	t_check "the supervisor ended with the session" gone "$sup"
	[ -z "$(ls "$XDG_RUNTIME_DIR"/moshman/ 2>/dev/null)" ] && t_ok "its socket is removed" ||
		t_fail "its socket is removed" "$(ls "$XDG_RUNTIME_DIR"/moshman/)"
	lab_tmux_kill a4

	out=$("$M" events "$id")
	echo "$out" | sed 's/^/# /'
	echo "$out" | grep -Eq ' attach +attached' && echo "$out" | grep -Eq ' detach +detached by the user' &&
		echo "$out" | grep -Eq ' state +closed|mosh-client exited' &&
		t_ok "events lists attaches, detaches and the end" || t_fail "events lists attaches, detaches and the end"
	"$M" events "$id" --json | jq -e 'map(select(.kind == "attach")) | length >= 3' >/dev/null &&
		t_ok "events --json" || t_fail "events --json"
else
	t_fail "connect s" "no prompt"
	lab_tmux_kill a1
fi

# ---- tcp, started detached ---------------------------------------------------------------
out=$(lab_client timeout 60 "$M" connect -d s --transport tcp </dev/null 2>&1)
rc=$?
id=$(last_session)
echo "$out" | sed 's/^/# /'
[ "$rc" = 0 ] && echo "$out" | grep -q "session $id (s) is up, detached; attach with: moshman attach $id" &&
	[ "$(col state "$id")|$(col path "$id")|$(col attached "$id")" = "up|tcp|0" ] &&
	t_ok "connect -d --transport tcp without a terminal: up, detached, says how to attach" ||
	t_fail "connect -d --transport tcp: up, detached" "rc $rc row $(col state "$id")|$(col path "$id")"
attach_in t1 24 80 attach "$id"
if lab_tmux_wait t1 '\$ *$' 15; then
	lab_tmux_type t1 'echo tcp-$((6*7))'
	t_check "tcp: attached, the shell answers" lab_tmux_wait t1 '^tcp-42' 10
	lab_tmux_send t1 C-^ d
	[ "$(exit_status t1 10)" = 0 ] && t_ok "tcp: detached" || t_fail "tcp: detached"
	lab_tmux_kill t1
	# The link is rebuilt while nobody is attached, and the session is fine after.
	rc0=$(col reconnects "$id")
	lab_client "$M" reconnect "$id" >/dev/null 2>&1
	for i in $(seq 1 100); do
		[ "$(col reconnects "$id")" -gt "$rc0" ] && [ "$(col state "$id")" = up ] && break
		sleep 0.2
	done
	[ "$(col reconnects "$id")" -gt "$rc0" ] && [ "$(col state "$id")" = up ] &&
		t_ok "tcp: moshman reconnect rebuilds a detached session's tunnel" ||
		t_fail "tcp: moshman reconnect rebuilds a detached session's tunnel" \
			"reconnects $(col reconnects "$id") state $(col state "$id")"
	attach_in t2 30 100 attach
	lab_tmux_wait t2 '^tcp-42' 10 >/dev/null && t_ok "tcp: attach without an argument finds it, screen redrawn" ||
		t_fail "tcp: attach without an argument finds it, screen redrawn"
	lab_tmux_type t2 'exit'
	st=$(exit_status t2 15)
	[ "$st" = 0 ] && [ "$(col state "$id")" = closed ] && t_ok "tcp: exit ends the session (closed, status 0)" ||
		t_fail "tcp: exit ends the session" "status '$st' state $(col state "$id")"
	t_check "tcp: no mosh-server left" no_mosh_servers 15
	lab_tmux_kill t2
else
	t_fail "tcp: attached, the shell answers"
	lab_tmux_kill t1
	kill -TERM "$(col supervisor_pid "$id")" 2>/dev/null
fi

# ---- the hook for ending a detached session from outside: SIGTERM to its supervisor ----
out=$(lab_client timeout 60 "$M" -q connect -d s </dev/null 2>&1)
id=$(last_session)
sup=$(col supervisor_pid "$id")
if [ "$(col state "$id")" = up ]; then
	kill -TERM "$sup"
	for i in $(seq 1 75); do [ "$(col state "$id")" = closed ] && break; sleep 0.2; done
	[ "$(col state "$id")|$(col session_key "$id")" = "closed|" ] &&
		t_ok "SIGTERM to a detached session's supervisor ends it cleanly (row closed, key wiped)" ||
		t_fail "SIGTERM to a detached session's supervisor ends it cleanly" "$(col state "$id")"
	t_check "SIGTERM, detached: no mosh-server left" no_mosh_servers 15
else
	t_fail "SIGTERM to a detached session's supervisor ends it cleanly" "connect -d: $out"
fi

# ---- a supervisor killed outright leaves its socket; the next session removes it -------
lab_client timeout 60 "$M" -q connect -d s </dev/null >/dev/null 2>&1
id=$(last_session)
sup=$(col supervisor_pid "$id")
srv=$(col server_pid "$id")
kill -KILL "$sup"
stale=$XDG_RUNTIME_DIR/moshman/session-$id-$sup.sock
[ -S "$stale" ] || t_fail "a killed supervisor leaves its socket (precondition)"
lab_client timeout 60 "$M" -q connect -d s </dev/null >/dev/null 2>&1
id2=$(last_session)
[ ! -e "$stale" ] && [ "$(col state "$id2")" = up ] && t_ok "the next session removes a dead supervisor's socket" ||
	t_fail "the next session removes a dead supervisor's socket" "$(ls "$XDG_RUNTIME_DIR/moshman")"
kill -TERM "$(col supervisor_pid "$id2")"
# The killed one's mosh-client lost its terminal and quits, but with its relay gone it
# cannot tell its server: that one is an orphan (moshman clean's job); end it here.
lab_server kill -TERM "$srv" 2>/dev/null
t_check "no mosh-server left after both" no_mosh_servers 20

out=$("$M" attach 2>&1 </dev/null)
[ $? = 1 ] && echo "$out" | grep -q "needs a terminal" && t_ok "attach without a terminal: one line, status 1" ||
	t_fail "attach without a terminal: one line, status 1" "$out"
out=$(lab_client script -qec "$M attach nosuch" /dev/null </dev/null 2>&1 | tr -d '\r')
echo "$out" | grep -q "no running session 'nosuch'" && t_ok "attach to nothing says so" ||
	t_fail "attach to nothing says so" "$out"

t_done
