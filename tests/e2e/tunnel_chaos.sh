#!/bin/bash
# SPDX-License-Identifier: MIT
# Chaos on the tcp transport (through a SOCKS5 proxy, UDP blocked), or with
# CHAOS_TRANSPORT=auto on auto (tests/e2e/auto_chaos.sh; the same proxy for its tunnel,
# UDP open): for CHAOS_S seconds (120 here; `make soak` runs 600 of each) random events
# follow each other: the client's address changes, client-side processes frozen a few
# seconds (a short suspend) with a new address, all TCP to the server dropped a few
# seconds, the proxy killed and restarted; on auto also UDP blocked a few seconds (both
# ways, or one way: client to server or back) and all traffic cut at once.
# Meanwhile a script types 2,000 numbered lines into `cat > FILE` on the server.
# Afterwards FILE holds every line exactly once, in order, the same mosh-client runs, and
# the session is up.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
set -u
. "$MOSHMAN_TOP/tests/lab/lab.sh"
t_plan 7
. "$MOSHMAN_TOP/tests/e2e/connect_common.bash"
. "$MOSHMAN_TOP/tests/e2e/tunnel_common.bash"
TRANSPORT=${CHAOS_TRANSPORT:-tcp}
connect_setup "chaos_$TRANSPORT"
case $TRANSPORT in
tcp) lab_block_udp ;;
auto) ;;
*) echo "tunnel_chaos: CHAOS_TRANSPORT is tcp or auto, not '$TRANSPORT'" >&2; exit 2 ;;
esac
add_host socks --proxy "socks5://$LAB_PROXY_IP:$LAB_SOCKS_PORT"
CHAOS_S=${CHAOS_S:-120}
LINES=${CHAOS_LINES:-2000}
FILE=chaos-$$.txt
TYPER=
trap '[ -n "$TYPER" ] && kill "$TYPER" 2>/dev/null; lab_thaw $(lab_tmux_procs m 2>/dev/null) 2>/dev/null; lab_down' EXIT

# session_up: the session on TRANSPORT through the proxy, at a prompt that computes.
session_up() {
	start_moshman m connect socks --transport "$TRANSPORT"
	lab_tmux_wait m '\$ *$' 30 && lab_tmux_type m 'echo $((6*7))' && lab_tmux_wait m '^42' 15
}
t_check "session up over $TRANSPORT via socks5" session_up
cpid=$(client_pid)
lab_tmux_type m "cat > $FILE"
sleep 1

# The typer: LINES lines spread over CHAOS_S seconds.
gap=$(awk -v s="$CHAOS_S" -v n="$LINES" 'BEGIN { printf "%.3f", s / n }')
( for i in $(seq 1 "$LINES"); do lab_tmux_type m "n$i"; sleep "$gap"; done ) &
TYPER=$!

RANDOM=$$
end=$(( $(ms) + CHAOS_S * 1000 ))
count_roam=0 count_freeze=0 count_bh=0 count_kill=0 count_udp=0 count_cut=0
kinds=4
[ "$TRANSPORT" = auto ] && kinds=6
while [ "$(ms)" -lt "$end" ]; do
	sleep $((2 + RANDOM % 6))
	case $((RANDOM % kinds)) in
	0)
		lab_client_addr >/dev/null
		count_roam=$((count_roam + 1))
		;;
	1)
		procs=$(lab_tmux_procs m)
		lab_freeze $procs
		lab_client_addr >/dev/null
		sleep $((2 + RANDOM % 5))
		lab_thaw $procs
		count_freeze=$((count_freeze + 1))
		;;
	2)
		lab_blackhole_tcp server
		sleep $((2 + RANDOM % 8))
		lab_restore_tcp server
		count_bh=$((count_bh + 1))
		;;
	3)
		lab_proxy_kill socks
		sleep $((1 + RANDOM % 3))
		lab_proxy_start socks
		count_kill=$((count_kill + 1))
		;;
	4)
		udp_way=$(echo on up down | cut -d' ' -f$((1 + RANDOM % 3)))
		lab_block_udp "$udp_way"
		sleep $((3 + RANDOM % 8))
		lab_unblock_udp
		count_udp=$((count_udp + 1))
		;;
	5)
		lab_block_udp
		lab_blackhole_tcp server
		sleep $((2 + RANDOM % 8))
		lab_restore_tcp server
		lab_unblock_udp
		count_cut=$((count_cut + 1))
		;;
	esac
done
echo "# events: $count_roam roams, $count_freeze freezes, $count_bh blackholes, $count_kill proxy kills, $count_udp UDP blocks, $count_cut all cut"
wait "$TYPER"
TYPER=
# Every line reaches the server once the link is back; then end cat.
t_check "the last line (n$LINES) is on the screen within 60 s" fast_wait m "^n$LINES\$" 60
sleep 2
lab_tmux_send m C-d
sleep 2
got=$(lab_server_home "$LAB_USER")/$FILE
seq -f 'n%.0f' 1 "$LINES" >"$LAB_DIR/connect/chaos-want"
if cmp -s "$LAB_DIR/connect/chaos-want" "$got"; then
	t_ok "FILE holds all $LINES lines exactly once, in order"
else
	t_fail "FILE holds all $LINES lines exactly once, in order" \
		"$(wc -l <"$got" 2>/dev/null) lines; first difference: $(cmp "$LAB_DIR/connect/chaos-want" "$got" 2>&1 | head -n 1)"
	diff "$LAB_DIR/connect/chaos-want" "$got" | head -n 20 | sed 's/^/# /'
fi
t_check "the same mosh-client ($cpid), still running" [ "$(client_pid)" = "$cpid" -a -d "/proc/$cpid" ]
t_check "the session is up" wait_state up 30
r=$(reconnects)
echo "# reconnects: $r"
t_check "the session ends cleanly" tcp_end m
t_check "no mosh-server left" no_mosh_servers 15
t_done
