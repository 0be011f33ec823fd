#!/bin/bash
# SPDX-License-Identifier: MIT
# The local relay follows only mosh-client (issue 11, item 7): another local user flooding
# the relay's port with small datagrams every 5 ms does not change the session's echo
# time (the flood's datagrams do not open under the session key and are counted as
# dropped).  And a udp session gets a real round trip from mosh's own timestamps
# (item 8; the dashboard showed "-" for udp before).
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
set -u
. "$MOSHMAN_TOP/tests/lab/lab.sh"
t_plan 8
. "$MOSHMAN_TOP/tests/e2e/connect_common.bash"
. "$MOSHMAN_TOP/tests/e2e/tunnel_common.bash"
connect_setup relay_follow
add_host direct

# echo_times TAG WORD N: N echoes one after another; prints the median in ms.
echo_times() {
	local i t0 all=
	for i in $(seq 1 "$3"); do
		t0=$(ms)
		echo_after "$1" "$2$i" 10 || { echo 99999; return 1; }
		all="$all $(($(ms) - t0))"
	done
	echo "# $1 $2 echoes (ms):$all" >&2
	printf '%s\n' $all | sort -n | sed -n "$((($3 + 1) / 2))p"
}

start_moshman f connect direct
if lab_tmux_wait f '\$ *$' 30 && lab_tmux_type f 'echo $((6*7))' && lab_tmux_wait f '^42' 15; then
	t_ok "udp: 42 on screen"
else
	t_fail "udp: 42 on screen"
fi
id=$(last_session)
port=$(q "SELECT local_port FROM sessions WHERE id = $id")
cpid=$(client_pid)
# Idle: the heartbeats of both sides rarely answer each other's timestamps; the session
# is still up, not degraded.
sleep 12
t_check "udp, idle 12 s with the key: still up, never degraded" \
	[ "$(q "SELECT state FROM sessions WHERE id = $id")|$(events_of "$id" "" | grep -ic '^degraded')" = "up|0" ]
rtt=$(q "SELECT rtt_ms FROM sessions WHERE id = $id")
echo "# udp round trip from mosh's timestamps: ${rtt} ms"
t_check "udp: the row has a measured round trip (0..500 ms)" [ "${rtt:--1}" -ge 0 -a "${rtt:--1}" -le 500 ]

base=$(echo_times f calm 5)
# The flood: user nobody, in the client namespace, a 40-byte datagram every 5 ms.
lab_client setpriv --reuid=nobody --regid=nogroup --clear-groups perl -MSocket -MTime::HiRes=sleep -e '
	socket(my $s, PF_INET, SOCK_DGRAM, 0) or die "socket: $!";
	my $to = sockaddr_in($ARGV[0], inet_aton("127.0.0.1"));
	my $end = time + 60;
	while (time < $end) { send($s, "x" x 40, 0, $to); sleep 0.005 }' "$port" &
flood=$!
sleep 1
during=$(echo_times f flood 5)
kill "$flood" 2>/dev/null
wait "$flood" 2>/dev/null
echo "# median echo: ${base} ms calm, ${during} ms while user nobody floods the relay port"
t_check "flood: the echo time does not change (median within max(2x, +150 ms) of calm)" \
	[ "$during" -le $((base * 2 > base + 150 ? base * 2 : base + 150)) ]
t_check "flood: the same mosh-client" [ "$(client_pid)" = "$cpid" ]
t_check "flood: the session is up" [ "$(q "SELECT state FROM sessions WHERE id = $id")" = up ]
if tcp_end f; then t_ok "exit ends moshman with status 0"; else t_fail "exit ends moshman with status 0"; fi
t_check "no mosh-server left on the server" no_mosh_servers 10
t_done
