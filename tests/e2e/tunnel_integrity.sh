#!/bin/bash
# SPDX-License-Identifier: MIT
# moshman tunnel to a UDP echo server on the host: 100,000 datagrams of random sizes
# 1..2048 come back unmerged, unsplit and unchanged (length and MD5 per datagram), once
# straight through and once with a flap (the proxy killed and restarted) in the middle:
# loss is allowed across the flap, corruption never.  Also: the state lines (degraded
# during a short stall, then up), and strict ADDR:PORT validation.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
set -u
. "$MOSHMAN_TOP/tests/lab/lab.sh"
t_plan 17
. "$MOSHMAN_TOP/tests/e2e/connect_common.bash"
. "$MOSHMAN_TOP/tests/e2e/tunnel_common.bash"
connect_setup tunnel_integrity
lab_block_udp
add_host socks --proxy "socks5://$LAB_PROXY_IP:$LAB_SOCKS_PORT"
native_relay on
lab_udp_echo_start 7001
N=${TUNNEL_BLAST_COUNT:-100000}
BLAST=$MOSHMAN_TOP/tests/e2e/tunnel_blast.pl
OUT=$LAB_DIR/connect/tunnel.err
TPID= MPID=
stop_tunnel() { [ -n "$MPID" ] && kill "$MPID" 2>/dev/null; [ -n "$TPID" ] && wait "$TPID" 2>/dev/null; TPID= MPID=; }
trap 'stop_tunnel; lab_down' EXIT

# Validation first (no lab needed, but cheap).
for bad in "localhost:53" "127.0.0.1" "127.0.0.1:0" "127.0.0.1:65536" "::1:53" "1.2.3:5" "[::1]53"; do
	out=$("$M" tunnel socks --local 127.0.0.1:7000 --remote "$bad" 2>&1)
	rc=$?
	t_check "--remote '$bad' refused with status 2 and a reason" [ "$rc" = 2 -a -n "$out" ]
	echo "# $out"
done

lab_client "$M" -q tunnel socks --local 127.0.0.1:7000 --remote 127.0.0.1:7001 2>"$OUT" &
TPID=$!
# lab_client runs in a subshell; its child (ip netns exec, which execs) is moshman.
for i in $(seq 1 50); do MPID=$(pgrep -P "$TPID") && break; sleep 0.1; done
for i in $(seq 1 100); do grep -q '^tunnel: up via tcp' "$OUT" && break; sleep 0.1; done
t_check "tunnel: 'up via tcp (relay native)' on stderr" grep -q '^tunnel: up via tcp (relay native)$' "$OUT"

res=$(lab_client timeout 300 perl "$BLAST" 127.0.0.1 7000 "$N")
echo "# straight: $res"
set -- $res
t_check "straight: $N datagrams sent, none bad (merged, split or changed)" [ "${2:-0}" = "$N" -a "${8:-1}" = 0 ]
t_check "straight: at least 99.9 % came back (${4:-0} of $N)" [ "${4:-0}" -ge $((N - N / 1000)) ]

MARK=$LAB_DIR/connect/half
rm -f "$MARK"
lab_client timeout 300 perl "$BLAST" 127.0.0.1 7000 "$N" "$MARK" >"$LAB_DIR/connect/blast2" &
BP=$!
for i in $(seq 1 600); do [ -e "$MARK" ] && break; sleep 0.1; done
n0=$(grep -c '^tunnel: up again' "$OUT")
lab_proxy_kill socks
sleep 0.5
lab_proxy_start socks
for i in $(seq 1 200); do [ "$(grep -c '^tunnel: up again' "$OUT")" -gt "$n0" ] && break; sleep 0.1; done
wait "$BP"
res=$(cat "$LAB_DIR/connect/blast2")
echo "# with a flap: $res"
set -- $res
t_check "flap: $N datagrams sent, none bad" [ "${2:-0}" = "$N" -a "${8:-1}" = 0 ]
t_check "flap: most came back (${4:-0} of $N)" [ "${4:-0}" -ge $((N * 9 / 10)) ]
t_check "flap: 'link dead ... reconnecting' then 'up again after X s (reconnect 1)'" grep -Eq '^tunnel: up again after [0-9.]+ s \(reconnect 1\)$' "$OUT"
# Degraded and back: a 5 s stall (shorter than the ~7 s that declares the link dead)
# while datagrams keep going out: the remote relay stopped with SIGSTOP, so TCP itself
# stays healthy and the replies flow as soon as it goes on (after a TCP blackhole,
# TCP's retransmission backoff could hold them past the dead-link time).  sshd's listener
# is stopped too: otherwise a new connection beside the silent link would take over
# within ~2 s (make-before-break) and there would be nothing to see.
lab_udp_probe 127.0.0.1 7000 1800 500 >/dev/null &   # 9 s of datagrams, 5 ms apart
PP=$!
sleep 1
rp=$(relay_pids)
lp=$(lab_sshd_pid)
lab_server kill -STOP $lp
[ -n "$rp" ] && lab_server kill -STOP $rp
sleep 5
[ -n "$rp" ] && lab_server kill -CONT $rp
lab_server kill -CONT $lp
for i in $(seq 1 100); do grep -q '^tunnel: up: replies again' "$OUT" && break; sleep 0.1; done
wait "$PP"
t_check "a 5 s stall (relay '$rp'): 'tunnel: degraded: no reply for ... while the client sends'" \
	grep -Eq '^tunnel: degraded: no reply for [0-9.]+ s while the client sends$' "$OUT"
t_check "then 'tunnel: up: replies again'" grep -q '^tunnel: up: replies again' "$OUT"
t_check "the PING that waited out the stall is not taken for a slow link" \
	[ "$(grep -c '^tunnel: degraded: round trip' "$OUT")" = 0 ]
sed 's/^/# /' "$OUT"
kill "$MPID"
wait "$TPID"
rc=$?
TPID= MPID=
t_check "SIGTERM ends moshman tunnel with status 0" [ "$rc" = 0 ]
t_done
