#!/bin/bash
# SPDX-License-Identifier: MIT
# The dashboard switches between live sessions: Enter on a host starts a session and
# attaches, Ctrl-^ d comes back with it running (the Sessions pane says detached), Enter
# on the session attaches again (its screen drawn again, the same mosh-client), and q
# leaves it running, saying so.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
set -u
. "$MOSHMAN_TOP/tests/lab/lab.sh"
t_plan 14
. "$MOSHMAN_TOP/tests/e2e/connect_common.bash"
connect_setup dash_attach
export XDG_RUNTIME_DIR=$LAB_DIR/xdg
mkdir -p "$XDG_RUNTIME_DIR"
chmod 700 "$XDG_RUNTIME_DIR"
add_host labhost

start_moshman dash
lab_tmux_wait dash 'labhost' 10 >/dev/null
lab_tmux_send dash Home
lab_tmux_send dash Enter
if lab_tmux_wait dash '\$ *$' 30; then
	id=$(last_session)
	cli=$(col client_pid "$id")
	lab_tmux_type dash 'echo dash-$((6*7))'
	lab_tmux_wait dash '^dash-42' 10 >/dev/null
	lab_tmux_send dash C-^ d
	t_check "Ctrl-^ d returns to the dashboard, saying the session keeps running" \
		lab_tmux_wait dash "session $id to labhost detached; it keeps running" 10
	[ "$(col state "$id")|$(col attached "$id")" = "up|0" ] &&
		t_ok "the session is up and detached" || t_fail "the session is up and detached"
	lab_tmux_send dash 2
	t_check "the Sessions pane shows it detached" lab_tmux_wait dash 'labhost +up .* detached ' 5
	lab_tmux_send dash Home
	lab_tmux_send dash v
	t_check "v shows the session's events: the detach with its reason" \
		lab_tmux_wait dash 'detach +detached by the user' 5
	lab_tmux_wait dash 'step +authenticated' 1 >/dev/null && t_ok "... and the connection steps" ||
		t_fail "... and the connection steps"
	lab_tmux_send dash Escape
	sleep 0.3
	lab_tmux_send dash Enter
	t_check "Enter on the session attaches: its screen is drawn again" lab_tmux_wait dash '^dash-42' 10
	[ "$(col client_pid "$id")" = "$cli" ] && kill -0 "$cli" && t_ok "the same mosh-client" ||
		t_fail "the same mosh-client"
	[ "$(col attached "$id")" = 1 ] && t_ok "the row says attached" || t_fail "the row says attached"
	lab_tmux_send dash C-^ d
	t_check "Ctrl-^ d returns again" lab_tmux_wait dash "session $id to labhost detached" 10
	lab_tmux_send dash q
	t_check "q says sessions keep running" lab_tmux_wait dash 'They keep running' 10
	lab_tmux_send dash y
	t_check "the dashboard quits" lab_tmux_wait dash '^moshman exited 0' 10
	[ "$(col state "$id")" = up ] && kill -0 "$(col supervisor_pid "$id")" &&
		t_ok "the session still runs after q" || t_fail "the session still runs after q"
	# Back from the command line, and end it.
	start_moshman cli attach "$id"
	if lab_tmux_wait cli '^dash-42' 10; then
		lab_tmux_type cli 'exit'
		[ "$(exit_status cli 15)" = 0 ] && [ "$(col state "$id")" = closed ] &&
			t_ok "attached from the command line, exit ends it" || t_fail "attached from the command line, exit ends it"
	else
		t_fail "attached from the command line, exit ends it"
		kill -TERM "$(col supervisor_pid "$id")" 2>/dev/null
	fi
	t_check "no mosh-server left" no_mosh_servers 15
	lab_tmux_kill cli
else
	t_fail "Enter on a host connects"
fi
lab_tmux_kill dash
t_done
