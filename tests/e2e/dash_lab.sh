#!/bin/bash
# SPDX-License-Identifier: MIT
# The dashboard against the lab: Enter on a host connects with no question asked, the
# session runs in the same terminal (42 on screen), `exit` brings the dashboard back with
# the session shown closed, the Sessions pane shows a live session's health, and r there
# rebuilds a live session's link.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
set -u
. "$MOSHMAN_TOP/tests/lab/lab.sh"
t_plan 28
. "$MOSHMAN_TOP/tests/e2e/connect_common.bash"
connect_setup dash_lab
# The classifier calls servers younger than this "starting" (60 s by default): shorten it.
export MOSHMAN_SCAN_STARTING_S=5

add_host labhost
add_host other --port 1 # never connected: only to have two rows

start_moshman dash
if lab_tmux_wait dash 'labhost' 10; then t_ok "dashboard lists the lab host"; else t_fail "dashboard lists the lab host"; fi
# Select labhost (sorted: recent, then name: labhost is first) and connect.
lab_tmux_send dash Home
lab_tmux_send dash Enter
if lab_tmux_wait dash '\$ *$' 30; then t_ok "Enter connects without a question"; else t_fail "Enter connects without a question"; fi
lab_tmux_type dash 'echo $((6*7))'
if lab_tmux_wait dash '^42' 10; then t_ok "the session runs in this terminal: 42"; else t_fail "the session runs in this terminal: 42"; fi
id=$(last_session)
[ "$(q "SELECT state FROM sessions WHERE id = $id")" = up ] && t_ok "the session row is up" || t_fail "the session row is up"
lab_tmux_type dash 'exit'
if lab_tmux_wait dash 'Sessions \(0 live\)' 15; then t_ok "exit returns to the dashboard"; else t_fail "exit returns to the dashboard"; fi
if lab_tmux_wait dash 'labhost +closed' 5; then t_ok "the session is shown closed"; else t_fail "the session is shown closed"; fi
[ "$(q "SELECT state FROM sessions WHERE id = $id")" = closed ] && t_ok "the row is closed" || t_fail "the row is closed"
[ "$(q "SELECT session_key IS NULL FROM sessions WHERE id = $id")" = 1 ] && t_ok "its key is wiped" || t_fail "its key is wiped"
no_mosh_servers 10 && t_ok "no mosh-server left" || t_fail "no mosh-server left"
[ "$(q "SELECT last_used_at > 0 FROM hosts WHERE name = 'labhost'")" = 1 ] && t_ok "last used recorded" || t_fail "last used recorded"

# Inside tmux, t opens the session in a new window and the dashboard stays.
lab_tmux_send dash Home
lab_tmux_send dash t
i=0
while [ $i -lt 50 ]; do
	win=$(_lab_tmux list-windows -t "=dash" -F '#{window_index} #{window_name}' | awk '$2 == "labhost" { print $1 }' | head -n 1)
	[ -n "$win" ] && break
	sleep 0.1; i=$((i + 1))
done
if [ -n "$win" ]; then t_ok "the window is named after the host"; else t_fail "the window is named after the host"; fi
i=0
while [ $i -lt 150 ] && ! _lab_tmux capture-pane -p -t "=dash:$win" 2>/dev/null | grep -q '\$ *$'; do sleep 0.2; i=$((i + 1)); done
_lab_tmux send-keys -t "=dash:$win" -l 'echo $((6*7))'; _lab_tmux send-keys -t "=dash:$win" Enter
i=0
while [ $i -lt 50 ] && ! _lab_tmux capture-pane -p -t "=dash:$win" 2>/dev/null | grep -q '^42'; do sleep 0.2; i=$((i + 1)); done
if _lab_tmux capture-pane -p -t "=dash:$win" | grep -q '^42'; then t_ok "the session in the window works"; else t_fail "the session in the window works"; fi
_lab_tmux select-window -t "=dash:0"
if lab_tmux_wait dash 'opened in a new tmux window' 10; then t_ok "the dashboard stays, saying so"; else t_fail "the dashboard stays, saying so"; fi
# q asks only about the sessions the dashboard knows to be live: wait until it shows it
# (it reads the database every few seconds).
lab_tmux_wait dash 'Sessions \(1 live\)' 10 >/dev/null
lab_tmux_send dash q
if lab_tmux_wait dash 'still run' 10; then t_ok "q asks while a session started here runs"; else t_fail "q asks while a session started here runs"; fi
lab_tmux_send dash n
_lab_tmux send-keys -t "=dash:$win" -l 'exit'; _lab_tmux send-keys -t "=dash:$win" Enter
i=0
while [ $i -lt 75 ] && [ "$(q "SELECT count(*) FROM sessions WHERE ended_at = 0")" != 0 ]; do sleep 0.2; i=$((i + 1)); done
[ "$(q "SELECT count(*) FROM sessions WHERE ended_at = 0")" = 0 ] && t_ok "the window's session ended" || t_fail "the window's session ended"

# An orphan: a session whose supervisor and mosh-client die.  R rescans, the Remote
# servers pane shows it, x kills it after the confirmation, and it is gone on the server.
start_moshman orph connect labhost
if lab_tmux_wait orph '\$ *$' 30; then
	oid=$(last_session)
	osrv=$(q "SELECT server_pid FROM sessions WHERE id = $oid")
	kill -KILL "$(q "SELECT supervisor_pid FROM sessions WHERE id = $oid")" \
		"$(q "SELECT client_pid FROM sessions WHERE id = $oid")"
	# mosh-server marks its utmp line detached 30 s after it last heard the client; until
	# then the classifier does not call it a target.
	for i in $(seq 1 50); do
		lab_server who | grep -q "(mosh \[$osrv\])" && break
		sleep 1
	done
	lab_tmux_send dash 1
	lab_tmux_send dash Home
	lab_tmux_send dash R
	if lab_tmux_wait dash "ours-orphaned +$osrv " 30; then t_ok "R rescans: the orphan is listed"; else t_fail "R rescans: the orphan is listed"; fi
	if lab_tmux_wait dash "orphaned" 5; then t_ok "the session shows orphaned"; else t_fail "the session shows orphaned"; fi
	lab_tmux_send dash 3
	# Select the orphan's row: its place among the listed servers.
	row=$(lab_tmux_capture dash | sed -n '/CLASS  *PID  *PORT/,$p' | tail -n +2 | grep -En "ours-orphaned +$osrv " | cut -d: -f1)
	lab_tmux_send dash Home
	for i in $(seq 2 "${row:-1}"); do lab_tmux_send dash j; done
	lab_tmux_send dash x
	if lab_tmux_wait dash "Kill these mosh-servers" 5 && lab_tmux_capture dash | grep -q "pid $osrv  port [0-9]*  age .*ours-orphaned"; then
		t_ok "x asks, showing pid, port, age and class"
	else
		t_fail "x asks, showing pid, port, age and class" "row ${row:-?}"; lab_tmux_capture dash | sed "s/^/#  | /"
	fi
	lab_tmux_send dash Enter
	if lab_tmux_wait dash "kill on labhost: .*killed" 40; then t_ok "the kill reports in the status line"; else t_fail "the kill reports in the status line"; fi
	gone=1
	for i in $(seq 1 50); do
		lab_mosh_servers | awk '{ print $1 }' | grep -qx "$osrv" || { gone=0; break; }
		sleep 0.2
	done
	[ $gone = 0 ] && t_ok "the orphan's mosh-server is gone on the server" || t_fail "the orphan's mosh-server is gone on the server"
	[ "$(q "SELECT state FROM sessions WHERE id = $oid")" = killed ] && t_ok "its row is killed" || t_fail "its row is killed"
	save_dash() { [ "${MOSHMAN_UPDATE_DOCS:-}" = 1 ] && lab_tmux_capture dash > "$MOSHMAN_TOP/docs/screens/$1.txt"; return 0; }
	save_dash servers-after-kill
else
	t_fail "R rescans: the orphan is listed" "the orphan's session never started"
fi
lab_tmux_kill orph

# A failing connect comes back to the dashboard after showing why.
lab_tmux_send dash 1
lab_tmux_send dash Home
lab_tmux_send dash j
lab_tmux_send dash Enter
if lab_tmux_wait dash 'press Enter to return' 20; then t_ok "a failed connect shows its error and waits"; else t_fail "a failed connect shows its error and waits"; fi
lab_tmux_send dash Enter
if lab_tmux_wait dash 'connect other failed' 10; then t_ok "then the dashboard is back with the failure in the status line"; else t_fail "then the dashboard is back with the failure in the status line"; fi

# r on a live session in the Sessions pane rebuilds its link (here the tunnel): the
# reconnects go up and the same mosh-client runs on.
start_moshman rtcp connect labhost --transport tcp
if lab_tmux_wait rtcp '\$ *$' 30; then
	rid=$(last_session)
	rc0=$(q "SELECT reconnects FROM sessions WHERE id = $rid")
	rcpid=$(q "SELECT client_pid FROM sessions WHERE id = $rid")
	lab_tmux_send dash 2
	lab_tmux_send dash Home
	lab_tmux_wait dash 'labhost +up +tcp' 10 >/dev/null
	lab_tmux_send dash r
	if lab_tmux_wait dash "session $rid \(labhost, tcp\): supervisor pid [0-9]+ asked to reconnect" 10; then
		t_ok "r on a live session asks its supervisor to reconnect"
	else
		t_fail "r on a live session asks its supervisor to reconnect"; lab_tmux_capture dash | grep -v '^ *$' | tail -n 1 | sed "s/^/#  | /"
	fi
	i=0
	while [ $i -lt 75 ] && [ "$(q "SELECT reconnects > $rc0 AND state = 'up' FROM sessions WHERE id = $rid")" != 1 ]; do sleep 0.2; i=$((i + 1)); done
	[ "$(q "SELECT reconnects > $rc0 AND state = 'up' FROM sessions WHERE id = $rid")" = 1 ] && t_ok "r: reconnects went up, the session is up" || t_fail "r: reconnects went up, the session is up"
	kill -0 "$rcpid" && t_ok "r: the same mosh-client runs" || t_fail "r: the same mosh-client runs"
	lab_tmux_type rtcp 'exit'
	i=0
	while [ $i -lt 75 ] && [ "$(q "SELECT ended_at > 0 FROM sessions WHERE id = $rid")" != 1 ]; do sleep 0.2; i=$((i + 1)); done
	[ "$(q "SELECT state FROM sessions WHERE id = $rid")" = closed ] && t_ok "r: exit still closes the session" || t_fail "r: exit still closes the session"
else
	t_fail "r on a live session asks its supervisor to reconnect" "the tcp session never started"
fi
lab_tmux_kill rtcp
lab_tmux_send dash 1
lab_tmux_wait dash 'Sessions \(0 live\)' 10 >/dev/null
lab_tmux_send dash q
if lab_tmux_wait dash 'moshman exited 0' 10; then t_ok "q quits"; else t_fail "q quits"; fi
t_done
