#!/bin/bash
# SPDX-License-Identifier: MIT
# --transport command: the profile's tunnel command (here `moshman tunnel` itself, standing
# in for gost and the like) with its placeholders filled in, supervised: 42 on screen with
# UDP blocked; the command killed (by PID) is restarted and the session goes on.  A command
# that fails with a message (coloured, as some tools print it): the message, cleaned, is in
# the session's events and the log, the command is restarted with growing delays, and once
# it works the session comes up.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
set -u
. "$MOSHMAN_TOP/tests/lab/lab.sh"
t_plan 13
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
cmdline=$(events_of "$(last_session)" command | head -n 1)
echo "# $cmdline"
pid=$(echo "$cmdline" | sed -n 's/.*(pid \([0-9]*\)).*/\1/p')
if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
	kill -TERM -- "-$pid"
	t_check "command killed: restarted" command_starts "$(last_session)" 2 10
	if echo_after c afterkill 30; then t_ok "command killed: session goes on"; else t_fail "command killed: session goes on"; fi
else
	t_fail "command killed: restarted" "no pid in '$cmdline'"
fi
if tcp_end c; then t_ok "command: exit ends moshman with status 0"; else t_fail "command: exit ends moshman with status 0"; fi
t_check "command: no mosh-server left on the server" no_mosh_servers 10

# A command that fails with a message until $flag exists, then is the real tunnel.
flag=$LAB_DIR/connect/fakegost.ok
cat >"$LAB_DIR/connect/fakegost" <<EOF
#!/bin/sh
[ -e '$flag' ] && exec '$M' -q tunnel direct --local "127.0.0.1:\$1" --remote "127.0.0.1:\$2"
echo "fakegost: listening on 127.0.0.1:\$1"
printf '\\033[31mfakegost: dial tcp 192.0.2.1:8443: connection refused\\033[0m\\n' >&2
exit 3
EOF
chmod 755 "$LAB_DIR/connect/fakegost"
add_host flaky --transport command --tunnel-command "$LAB_DIR/connect/fakegost {{local_port}} {{mosh_port}}"
export MOSHMAN_LOG=$LAB_DIR/connect/flaky.log
start_moshman f connect flaky
unset MOSHMAN_LOG
exits() { events_of "$(last_session)" command | grep -i '^tunnel command exited'; }
n=0
for i in $(seq 1 200); do
	n=$(exits | wc -l)
	[ "$n" -ge 4 ] && break
	sleep 0.1
done
exits | head -n 4 | sed 's/^/# /'
first=$(exits | head -n 1)
want='tunnel command exited with status 3 after [0-9.]+ s: fakegost: dial tcp 192\.0\.2\.1:8443: connection refused; restarting in [0-9.]+ s'
if printf '%s\n' "$first" | grep -Eqx -- "$want"; then
	t_ok "failing command: its last line is in the exit event"
else
	t_fail "failing command: its last line is in the exit event" "'$first'"
fi
t_check "failing command: no escape sequence in the events" \
	[ "$(for s in $(q "SELECT id FROM sessions"); do events_of "$s" ""; done | grep -c $'\033')" = 0 ]
d1=$(exits | sed -n '1s/.*restarting in \([0-9.]*\) s$/\1/p')
d4=$(exits | sed -n '4s/.*restarting in \([0-9.]*\) s$/\1/p')
if [ "$n" -ge 4 ] && awk -v a="$d1" -v b="$d4" 'BEGIN { exit !(a != "" && b != "" && b > a) }'; then
	t_ok "failing command: restarted with growing delays ($d1 s, then $d4 s)"
else
	t_fail "failing command: restarted with growing delays" "$n exits, delays '$d1' .. '$d4'"
fi
if grep -Eq 'cmdpath: fakegost\[[0-9]+\]: fakegost: listening on 127\.0\.0\.1:[0-9]+$' "$LAB_DIR/connect/flaky.log" &&
	grep -Eq 'cmdpath: fakegost\[[0-9]+\]: fakegost: dial tcp 192\.0\.2\.1:8443: connection refused$' "$LAB_DIR/connect/flaky.log" &&
	! grep -q "$(printf '\033')" "$LAB_DIR/connect/flaky.log"; then
	t_ok "failing command: each line of its output in the log, cleaned"
else
	t_fail "failing command: each line of its output in the log, cleaned" "$(grep -m 3 'cmdpath: fakegost' "$LAB_DIR/connect/flaky.log" | cat -v)"
fi
touch "$flag"
if lab_tmux_wait f '\$ *$' 40 && lab_tmux_type f 'echo $((6*7))' && lab_tmux_wait f '^42' 15; then
	t_ok "failing command: once it works, 42 on screen"
else
	t_fail "failing command: once it works, 42 on screen" "$(lab_tmux_capture f | tail -n 3)"
fi
if tcp_end f; then t_ok "failing command: exit ends moshman with status 0"; else t_fail "failing command: exit ends moshman with status 0"; fi
t_check "failing command: no mosh-server left on the server" no_mosh_servers 10
t_done
