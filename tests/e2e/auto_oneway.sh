#!/bin/bash
# SPDX-License-Identifier: MIT
# Transport auto judges UDP by both directions (issue 11, item 8): with only
# client-to-server UDP dropped, mosh-server's heartbeats still arrive but answer nothing
# (no timestamp reply), so auto moves to tcp; with only server-to-client dropped, nothing
# arrives.  Each time a line typed at once arrives within the same bound as with UDP
# blocked both ways (measured first, in the same session), and auto comes back to udp
# once UDP works again.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
set -u
. "$MOSHMAN_TOP/tests/lab/lab.sh"
t_plan 17
. "$MOSHMAN_TOP/tests/e2e/connect_common.bash"
. "$MOSHMAN_TOP/tests/e2e/tunnel_common.bash"
connect_setup auto_oneway
add_host direct --transport auto

start_moshman ow connect direct
if lab_tmux_wait ow '\$ *$' 30 && lab_tmux_type ow 'echo $((6*7))' && lab_tmux_wait ow '^42' 15; then
	t_ok "auto: 42 on screen"
else
	t_fail "auto: 42 on screen"
fi
t_check "auto: on udp" wait_path udp 10
# Idle heartbeats 3 s apart form no unanswered train: auto stays on udp.
sleep 12
t_check "auto, idle 12 s: still on udp, no path switch" \
	[ "$(q "SELECT path FROM sessions WHERE id = $(last_session)")|$(events_of "$(last_session)" path | wc -l)" = "udp|0" ]
cpid=$(client_pid)
both=
for dir in both up down; do
	sleep 2
	t0=$(ms)
	if [ "$dir" = both ]; then lab_block_udp; else lab_block_udp "$dir"; fi
	if echo_after ow "blocked$dir" 30; then
		dt=$(($(ms) - t0))
		echo "# UDP blocked $dir: the typed line arrived after $dt ms"
		[ "$dir" = both ] && both=$dt
		t_ok "UDP blocked $dir: a line typed at once arrives"
	else
		dt=99999
		t_fail "UDP blocked $dir: a line typed at once arrives"
	fi
	t_check "UDP blocked $dir: auto is on tcp" wait_path tcp 5
	if [ "$dir" != both ]; then
		lim=$((${both:-0} * 3 / 2 > ${both:-0} + 2000 ? ${both:-0} * 3 / 2 : ${both:-0} + 2000))
		t_check "UDP blocked $dir only: within the two-way bound (${dt} <= ${lim} ms)" [ "$dt" -le "$lim" ]
	fi
	lab_unblock_udp
	t_check "UDP open again after $dir: back to udp" wait_path udp 40
done
ev=$(events_of "$(last_session)" path ' | ')
echo "# path events: $ev"
t_check "the same mosh-client throughout" [ "$(client_pid)" = "$cpid" ]
if tcp_end ow; then t_ok "exit ends moshman with status 0"; else t_fail "exit ends moshman with status 0"; fi
t_check "no mosh-server left on the server" no_mosh_servers 10
t_done
