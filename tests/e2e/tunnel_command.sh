#!/bin/bash
# --transport command: the profile's tunnel command (here `moshman tunnel` itself, standing
# in for gost and the like) with its placeholders filled in, supervised: 42 on screen with
# UDP blocked; the command killed (by PID) is restarted and the session goes on.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
set -u
. "$MOSHMAN_TOP/tests/lab/lab.sh"
. "$MOSHMAN_TOP/tests/e2e/connect_common.bash"
. "$MOSHMAN_TOP/tests/e2e/tunnel_common.bash"
connect_setup tunnel_command
lab_block_udp
add_host direct
add_host cmd --transport command --tunnel-command "$M -q tunnel direct --local 127.0.0.1:{{local_port}} --remote 127.0.0.1:{{mosh_port}}"

start_moshman c connect cmd
if lab_tmux_wait c '\$ *$' 30 && lab_tmux_type c 'echo $((6*7))' && lab_tmux_wait c '^42' 15; then
	t_ok "command: 42 on screen"
else
	t_fail "command: 42 on screen"
fi
row=$(q "SELECT state, path FROM sessions WHERE id = $(last_session)")
t_check "command: row up, path command ($row)" [ "$row" = "up|command" ]
cmdline=$(q "SELECT message FROM events WHERE session_id = $(last_session) AND kind = 'command' ORDER BY id LIMIT 1")
echo "# $cmdline"
pid=$(echo "$cmdline" | sed -n 's/.*(pid \([0-9]*\)).*/\1/p')
if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
	kill -TERM -- "-$pid"
	n=0
	for i in $(seq 1 100); do
		n=$(q "SELECT count(*) FROM events WHERE session_id = $(last_session) AND kind = 'command' AND message LIKE 'tunnel command started%'")
		[ "$n" -ge 2 ] && break
		sleep 0.1
	done
	t_check "command killed: restarted" [ "$n" -ge 2 ]
	if echo_after c afterkill 30; then t_ok "command killed: session goes on"; else t_fail "command killed: session goes on"; fi
else
	t_fail "command killed: restarted" "no pid in '$cmdline'"
fi
if tcp_end c; then t_ok "command: exit ends moshman with status 0"; else t_fail "command: exit ends moshman with status 0"; fi
t_check "command: no mosh-server left on the server" no_mosh_servers 10
t_done
