#!/bin/bash
# The dashboard against the lab: Enter on a host connects with no question asked, the
# session runs in the same terminal (42 on screen), `exit` brings the dashboard back with
# the session shown closed, and the Sessions pane shows a live session's health.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
set -u
. "$MOSHMAN_TOP/tests/lab/lab.sh"
. "$MOSHMAN_TOP/tests/e2e/connect_common.bash"
connect_setup dash_lab

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
sleep 1
win=$(_lab_tmux list-windows -t "=dash" -F '#{window_index} #{window_name}' | awk '$2 == "labhost" { print $1 }' | head -n 1)
if [ -n "$win" ]; then t_ok "the window is named after the host"; else t_fail "the window is named after the host"; fi
i=0
while [ $i -lt 150 ] && ! _lab_tmux capture-pane -p -t "=dash:$win" 2>/dev/null | grep -q '\$ *$'; do sleep 0.2; i=$((i + 1)); done
_lab_tmux send-keys -t "=dash:$win" -l 'echo $((6*7))'; _lab_tmux send-keys -t "=dash:$win" Enter
sleep 1
if _lab_tmux capture-pane -p -t "=dash:$win" | grep -q '^42'; then t_ok "the session in the window works"; else t_fail "the session in the window works"; fi
_lab_tmux select-window -t "=dash:0"
if lab_tmux_wait dash 'opened in a new tmux window' 10; then t_ok "the dashboard stays, saying so"; else t_fail "the dashboard stays, saying so"; fi
lab_tmux_send dash q
if lab_tmux_wait dash 'still run' 10; then t_ok "q asks while a session started here runs"; else t_fail "q asks while a session started here runs"; fi
lab_tmux_send dash n
_lab_tmux send-keys -t "=dash:$win" -l 'exit'; _lab_tmux send-keys -t "=dash:$win" Enter
i=0
while [ $i -lt 75 ] && [ "$(q "SELECT count(*) FROM sessions WHERE ended_at = 0")" != 0 ]; do sleep 0.2; i=$((i + 1)); done
[ "$(q "SELECT count(*) FROM sessions WHERE ended_at = 0")" = 0 ] && t_ok "the window's session ended" || t_fail "the window's session ended"

# A failing connect comes back to the dashboard after showing why.
lab_tmux_send dash j
lab_tmux_send dash Enter
if lab_tmux_wait dash 'press Enter to return' 20; then t_ok "a failed connect shows its error and waits"; else t_fail "a failed connect shows its error and waits"; fi
lab_tmux_send dash Enter
if lab_tmux_wait dash 'connect other failed' 10; then t_ok "then the dashboard is back with the failure in the status line"; else t_fail "then the dashboard is back with the failure in the status line"; fi
lab_tmux_send dash q
if lab_tmux_wait dash 'moshman exited 0' 10; then t_ok "q quits"; else t_fail "q quits"; fi
t_done
