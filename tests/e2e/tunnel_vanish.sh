#!/bin/bash
# SPDX-License-Identifier: MIT
# A link that vanishes without a FIN (all TCP to the server dropped silently, as after a
# roam or a route gone) must not leave its relay and sshd session on the server: both
# relays (native and Perl) exit after ~30 s without a frame, or ~10 s when their UDP peer
# is silent too (as here: the echo peer only answers), and end the sshd session they
# run under.  Then the TCP comes back: each tunnel is up again with one relay each, and
# nothing else of the lab user is left.  Also: an idle link gets a PING every ~2 s (what
# keeps a live relay from timing out).
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
set -u
. "$MOSHMAN_TOP/tests/lab/lab.sh"
t_plan 11
. "$MOSHMAN_TOP/tests/e2e/connect_common.bash"
. "$MOSHMAN_TOP/tests/e2e/tunnel_common.bash"
connect_setup tunnel_vanish
lab_block_udp
add_host direct
native_relay on
lab_udp_echo_start 7001
PIDS=
stop_all() { local p; for p in $PIDS; do kill "$p" 2>/dev/null; done; PIDS=; }
trap 'stop_all; lab_down' EXIT

# sshd_sessions: server PIDs of the lab user's sshd session processes.
sshd_sessions() {
	lab_server ps -eo pid=,args= | awk -v u="sshd: $LAB_USER" 'index($0, u) { print $1 }'
}

port=7000
for relay in native perl; do
	port=$((port + 10))
	OUT=$LAB_DIR/connect/vanish-$relay.err
	lab_client "$M" -q tunnel direct --local "127.0.0.1:$port" --remote 127.0.0.1:7001 \
		--relay "$relay" 2>"$OUT" &
	tp=$!
	for i in $(seq 1 50); do mp=$(pgrep -P "$tp") && break; sleep 0.1; done
	PIDS="$PIDS ${mp:-}"
	for i in $(seq 1 150); do grep -q '^tunnel: up via tcp' "$OUT" && break; sleep 0.1; done
	t_check "$relay: tunnel up" grep -q "^tunnel: up via tcp (relay $relay)\$" "$OUT"
done
n_relays=$(relay_pids | wc -l)
n_sshd=$(sshd_sessions | wc -l)
t_check "before: two relays ($n_relays) and their sshd sessions ($n_sshd) on the server" \
	[ "$n_relays" = 2 -a "$n_sshd" -ge 2 ]

# An idle link: the client PINGs it every ~2 s; watch the native relay's stdin for 7 s
# (read bytes in /proc/PID/io grow by one 11-byte PING each time).
rp=$(lab_server ps -u "$LAB_USER" -o pid=,args= | awk '/moshman relay/ { print $1; exit }')
rb() { lab_server cat "/proc/$rp/io" 2>/dev/null | awk '/^rchar/ { print $2 }'; }
b0=$(rb)
sleep 7
b1=$(rb)
pings=$(( (${b1:-0} - ${b0:-0}) / 11 ))
t_check "an idle link gets a PING every ~2 s (${pings} frames in 7 s)" [ "$pings" -ge 2 -a "$pings" -le 6 ]

lab_blackhole_tcp server
t0=$(ms)
gone=
for i in $(seq 1 60); do
	if [ -z "$(relay_pids)" ] && [ -z "$(sshd_sessions)" ]; then gone=$(( $(ms) - t0 )); break; fi
	sleep 1
done
echo "# relays and sshd sessions gone $((${gone:-99999} / 1000)).$(( (${gone:-0} % 1000) / 100 )) s after the blackhole"
t_check "blackholed: no relay and no sshd session left within 40 s (${gone:-never} ms)" \
	[ "${gone:-99999}" -le 40000 ]
t_check "they stayed the ~10 s a relay hearing neither side is given (${gone:-never} ms)" \
	[ "${gone:-0}" -ge 8000 ]
lab_server ps -u "$LAB_USER" -o pid=,args= | sed 's/^/# left: /'

lab_restore_tcp
for relay in native perl; do
	OUT=$LAB_DIR/connect/vanish-$relay.err
	for i in $(seq 1 200); do grep -q '^tunnel: up again' "$OUT" && break; sleep 0.1; done
	t_check "$relay: up again once TCP is back" grep -q '^tunnel: up again' "$OUT"
	res=$(lab_client perl "$MOSHMAN_TOP/tests/e2e/tunnel_mixed.pl" 127.0.0.1 \
		$([ $relay = native ] && echo 7010 || echo 7020) 100 4)
	set -- $res
	t_check "$relay: datagrams flow again ($res)" [ "${2:-0}" = 100 ]
done
# Attempts that lost the race are closed; their relays see the end of stdin.
for i in $(seq 1 20); do
	n_relays=$(relay_pids | wc -l)
	[ "$n_relays" = 2 ] && break
	sleep 0.5
done
t_check "after: exactly two relays ($n_relays), one per tunnel" [ "$n_relays" = 2 ]
stop_all
t_done
