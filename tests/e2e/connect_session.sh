#!/bin/bash
# SPDX-License-Identifier: MIT
# A running session: the sessions listing and its counters, window size changes,
# Ctrl-^ . , SIGTERM to the supervisor, and a killed supervisor seen as orphaned.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
set -u
. "$MOSHMAN_TOP/tests/lab/lab.sh"
t_plan 17
. "$MOSHMAN_TOP/tests/e2e/connect_common.bash"
connect_setup connect_session
add_host s --predict always

up() { # up TAG: start a session and wait for the remote prompt
	start_moshman "$1" connect s
	lab_tmux_wait "$1" '\$ *$' 30
}

# ---- listing and counters -------------------------------------------------------------
if up live; then
	id=$(last_session)
	lab_tmux_type live 'echo $((6*7))'
	lab_tmux_wait live '^42' 10
	# The supervisor writes its counters to the row every few seconds: wait for them.
	for i in $(seq 1 50); do
		"$M" sessions --json | jq -e --argjson id "$id" '.[] | select(.id == $id) |
			.bytes_up > 0 and .bytes_down > 0' >/dev/null 2>&1 && break
		sleep 0.2
	done
	out=$("$M" sessions)
	echo "$out" | sed 's/^/# /'
	echo "$out" | awk -v id="$id" '$1 == id && $2 == "s" && $3 == "up" && $4 == "udp" { f = 1 } END { exit !f }' &&
		t_ok "sessions lists the live session (id, host, state, path)" ||
		t_fail "sessions lists the live session (id, host, state, path)"
	hdr=$(echo "$out" | head -n 1)
	missing=
	for c in ID HOST STATE PATH PORT SERVER SUPERVISOR CLIENT STARTED RX_MS_AGO UP DOWN RECONNECTS; do
		case " $hdr " in *" $c "*) ;; *) missing="$missing $c" ;; esac
	done
	t_check "sessions table has the columns the issue names" [ -z "$missing" ]
	json=$("$M" sessions --json)
	if echo "$json" | jq -e --argjson id "$id" '.[] | select(.id == $id) |
		.state == "up" and .bytes_up > 0 and .bytes_down > 0 and .last_rx_ms_ago < 4000 and
		.mosh_port > 0 and .server_pid > 0 and .supervisor_pid > 0 and .client_pid > 0 and
		(has("session_key") | not)' >/dev/null; then
		t_ok "sessions --json: counters move, last_rx recent, no key"
	else
		t_fail "sessions --json: counters move, last_rx recent, no key" "$json"
	fi
	sup=$(col supervisor_pid "$id")
	cli=$(col client_pid "$id")
	if tr '\0' '\n' </proc/"$sup"/environ | grep -q '^MOSH_KEY=' ||
		tr '\0' ' ' </proc/"$sup"/cmdline | grep -q "$(col session_key "$id")"; then
		t_fail "the key is not in the supervisor's environment or argv"
	else
		t_ok "the key is not in the supervisor's environment or argv"
	fi
	# Direct UDP: like mosh, no ssh connection stays open once the client runs.
	tcp=$(lab_client ss -tnpH 2>/dev/null | grep "pid=$sup," || true)
	[ -z "$tcp" ] && t_ok "udp transport: the ssh connection is closed after bootstrap" ||
		t_fail "udp transport: the ssh connection is closed after bootstrap" "$tcp"
	tr '\0' ' ' </proc/"$cli"/cmdline | grep -q "$(col session_key "$id")" &&
		t_fail "the key is not in mosh-client's argv" || t_ok "the key is not in mosh-client's argv"
	tr '\0' '\n' </proc/"$cli"/environ | grep -qx 'MOSH_PREDICTION_DISPLAY=always' &&
		t_ok "mosh-client gets MOSH_PREDICTION_DISPLAY from the profile" ||
		t_fail "mosh-client gets MOSH_PREDICTION_DISPLAY from the profile"
	fds=$(ls -l /proc/"$cli"/fd 2>/dev/null | grep -E 'moshman\.db|pipe:' || true)
	[ -z "$fds" ] && t_ok "mosh-client inherits no database or pipe descriptors" ||
		t_fail "mosh-client inherits no database or pipe descriptors" "$fds"
	# Window changes reach the remote side through the client.
	_lab_tmux resize-window -t "=live:" -x 81 -y 23
	# mosh carries the new size over on its own time: ask again until it has (10 s).
	for i in 1 2 3 4 5; do
		lab_tmux_type live 'stty size'
		lab_tmux_wait live '^23 81' 2 >/dev/null 2>&1 && break
	done
	t_check "a window change reaches the remote tty" lab_tmux_wait live '^23 81' 1
	# Ctrl-^ . quits the client, the session ends cleanly.
	lab_tmux_send live C-^ .
	st=$(exit_status live 15)
	[ "$st" = 0 ] && [ "$(col state "$id")" = closed ] && t_ok "Ctrl-^ . ends the session (closed, status 0)" ||
		t_fail "Ctrl-^ . ends the session (closed, status 0)" "status '$st' state $(col state "$id")"
	t_check "Ctrl-^ .: no mosh-server left" no_mosh_servers 15
	lab_tmux_kill live
else
	t_fail "sessions lists the live session (id, host, state, path)" "no session"
fi

# ---- SIGTERM to the supervisor: passed to the client, which ends the session -----------
if up term; then
	id=$(last_session)
	kill -TERM "$(col supervisor_pid "$id")"
	st=$(exit_status term 15)
	[ "$(col state "$id")" = closed ] && [ "$(col session_key "$id")" = "" ] &&
		t_ok "SIGTERM: the client ends, row closed" || t_fail "SIGTERM: the client ends, row closed" "status '$st'"
	t_check "SIGTERM: no mosh-server left" no_mosh_servers 15
	lab_tmux_kill term
fi

# ---- a killed supervisor is noticed by the next reader --------------------------------
if up orphan; then
	id=$(last_session)
	sup=$(col supervisor_pid "$id")
	cli=$(col client_pid "$id")
	srv=$(col server_pid "$id")
	kill -KILL "$sup"
	# Until it is gone or a zombie (both dead to moshman), 5 s at most.
	for i in $(seq 1 50); do _lab_running "$sup" || break; sleep 0.1; done
	out=$("$M" sessions)
	echo "$out" | grep -Eq "^$id +[^ ]+ +orphaned " && t_ok "sessions lists the orphan" ||
		t_fail "sessions lists the orphan" "$out"
	"$M" sessions --json | jq -e --argjson id "$id" '.[] | select(.id == $id) | .state == "orphaned"' >/dev/null &&
		t_ok "the killed supervisor's session shows orphaned" ||
		t_fail "the killed supervisor's session shows orphaned"
	ev=$(events_of "$id" state | tail -n 1)
	case "$ev" in *"supervisor pid $sup is gone"*) t_ok "an event says why" ;; *) t_fail "an event says why" "$ev" ;; esac
	[ "$(col session_key "$id")" = "" ] && t_ok "orphaned: key wiped" || t_fail "orphaned: key wiped"
	# A pid that lives on with another start time is not the supervisor either (unit
	# tested in test_proc); here: the reaper does not touch live sessions.
	# Clean up what the dead supervisor left: its client, which takes the server along.
	kill -TERM "$cli" 2>/dev/null
	no_mosh_servers 15 || lab_server kill -TERM "$srv" 2>/dev/null
	lab_tmux_kill orphan
fi

t_done
