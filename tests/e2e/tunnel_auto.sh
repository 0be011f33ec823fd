#!/bin/bash
# SPDX-License-Identifier: MIT
# --transport auto: starts on direct UDP when UDP works; UDP blocked mid-session moves it
# to the tunnel and the session goes on; UDP reopened moves it back.  Each switch is a
# "path" event with its reason; the row's path follows.  With UDP blocked from the start
# it comes up on tcp.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
set -u
. "$MOSHMAN_TOP/tests/lab/lab.sh"
t_plan 18
. "$MOSHMAN_TOP/tests/e2e/connect_common.bash"
. "$MOSHMAN_TOP/tests/e2e/tunnel_common.bash"
connect_setup tunnel_auto
add_host direct --transport auto

path_events() { events_of "$(last_session)" path ' | '; }

start_moshman au connect direct
if lab_tmux_wait au '\$ *$' 30 && lab_tmux_type au 'echo $((6*7))' && lab_tmux_wait au '^42' 15; then
	t_ok "auto: 42 on screen"
else
	t_fail "auto: 42 on screen"
fi
sleep 3
t_check "auto: starts on udp with UDP open" [ "$(q "SELECT path FROM sessions WHERE id = $(last_session)")" = udp ]
cpid=$(client_pid)
t0=$(ms)
lab_block_udp
if wait_path tcp 20; then
	echo "# udp -> tcp after $(awk "BEGIN{printf \"%.1f\", ($(ms) - $t0) / 1000}") s"
	t_ok "auto: UDP blocked mid-session -> path tcp"
else
	t_fail "auto: UDP blocked mid-session -> path tcp"
fi
if echo_after au ontcp 20; then t_ok "auto: the session goes on over tcp"; else t_fail "auto: the session goes on over tcp"; fi
t0=$(ms)
lab_unblock_udp
if wait_path udp 40; then
	echo "# tcp -> udp after $(awk "BEGIN{printf \"%.1f\", ($(ms) - $t0) / 1000}") s"
	t_ok "auto: UDP reopened -> back to udp"
else
	t_fail "auto: UDP reopened -> back to udp"
fi
if echo_after au backonudp 20; then t_ok "auto: the session goes on over udp"; else t_fail "auto: the session goes on over udp"; fi
ev=$(path_events)
echo "# path events: $ev"
case "$ev" in *"udp -> tcp: UDP silent for"*"tcp -> udp: UDP answers again"*) t_ok "auto: both switches are events with reasons" ;;
*) t_fail "auto: both switches are events with reasons" "$ev" ;; esac
t_check "auto: same mosh-client throughout" [ "$(client_pid)" = "$cpid" ]
if tcp_end au; then t_ok "auto: exit ends moshman with status 0"; else t_fail "auto: exit ends moshman with status 0"; fi

# UDP blocked before the session: auto comes up on tcp.
lab_block_udp
start_moshman ab connect direct
if lab_tmux_wait ab '\$ *$' 30 && lab_tmux_type ab 'echo $((6*7))' && lab_tmux_wait ab '^42' 15; then
	t_ok "auto, UDP blocked from the start: 42 on screen"
else
	t_fail "auto, UDP blocked from the start: 42 on screen"
fi
t_check "auto, UDP blocked from the start: path tcp" wait_path tcp 10
echo "# path events: $(path_events)"
# A forced reconnect on auto while the tunnel carries the session: UDP is probed at once
# (still blocked, so it stays on tcp), the tunnel is rebuilt, the same mosh-client goes on.
cpid=$(client_pid)
r0=$(q "SELECT reconnects FROM sessions WHERE id = $(last_session)")
out=$("$M" reconnect direct 2>&1)
echo "# reconnect: $out"
case "$out" in *"rebuilding the tunnel"*) t_ok "auto on tcp: moshman reconnect says what it does" ;;
*) t_fail "auto on tcp: moshman reconnect says what it does" "$out" ;; esac
t_check "auto on tcp: the forced reconnect is counted" wait_reconnects $((${r0:-0} + 1)) 15
if echo_after ab forced 20; then t_ok "auto on tcp: the session goes on after it"; else t_fail "auto on tcp: the session goes on after it"; fi
t_check "auto on tcp: still tcp, same mosh-client" [ "$(q "SELECT path FROM sessions WHERE id = $(last_session)")|$(client_pid)" = "tcp|$cpid" ]
t_check "auto on tcp: the request is an event" [ -n "$(events_of "$(last_session)" "" | grep -ixF 'reconnect requested: probing UDP now and rebuilding the tunnel')" ]
if tcp_end ab; then t_ok "auto, UDP blocked: exit ends moshman with status 0"; else t_fail "auto, UDP blocked: exit ends moshman with status 0"; fi
t_check "no mosh-server left on the server" no_mosh_servers 10
t_done
