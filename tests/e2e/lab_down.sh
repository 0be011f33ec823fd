#!/bin/bash
# SPDX-License-Identifier: MIT
# lab_down leaves nothing behind: no namespace, process, nft table, tmux server or
# directory of the run, checked by the names and PIDs the lab recorded.  Two labs can run
# side by side without seeing each other.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "${MOSHMAN_TOP:-$(cd "$(dirname "$0")/../.." && pwd)}/tests/lab/lab.sh"
t_plan 17
lab_start lab_down

# Fill the lab with everything that can be running: sessions, orphans, helpers.
lab_tmux_start m mosh --ssh="$LAB_SSH" "$LAB_USER@$LAB_SERVER_IP"
lab_tmux_wait m '\$ ?$' 30 >/dev/null
lab_tmux_start s $LAB_SSH "$LAB_USER@$LAB_SERVER_IP" 'exec sleep 600'
lab_udp_echo_start 7777
lab_delay_start d client udp 127.0.0.1:9777 "$LAB_SERVER_IP:7777" 50
lab_block_udp
lab_loss 5
lab_client sleep 600 2>/dev/null &
stray=$!
sleep 1

# A second lab at the same time, in a subshell: other names, other addresses, no mixing.
other=$(
	LAB_DIR=
	lab_up >/dev/null 2>&1 || exit 1
	echo "$LAB_ID $LAB_CLIENT_NS $LAB_NET $(lab_mosh_servers | wc -l)"
	lab_down
)
set -- $other
t_check "a second lab comes up beside the first" [ $# = 4 ]
t_check "the second lab has its own id and namespaces" [ "${1:-}" != "$LAB_ID" -a "${2:-}" != "$LAB_CLIENT_NS" ]
t_check "the second lab's server does not see the first one's mosh-server" [ "${4:-x}" = 0 ]
t_check "the second lab is gone again" [ ! -e "/run/netns/${2:-none}" ]
t_check "the first lab still works after the second went down" \
	lab_client timeout 20 $LAB_SSH "$LAB_USER@$LAB_SERVER_IP" true

# What there is to find afterwards.
id=$LAB_ID dir=$LAB_DIR cns=$LAB_CLIENT_NS sns=$LAB_SERVER_NS table=$LAB_NFT_TABLE
pids="$(cat "$LAB_DIR"/run/*.hpid "$LAB_DIR"/run/*.cpid 2>/dev/null | tr '\n' ' ')"
pids="$pids $(lab_tmux_pane_pid m) $(lab_tmux_pane_pid s) $stray"
# Server-side processes as the host sees them (every one in the server's PID namespace).
ns=$(readlink "/proc/$LAB_SERVER_INIT/ns/pid")
for p in /proc/[0-9]*; do
	[ "$(readlink "$p/ns/pid" 2>/dev/null)" = "$ns" ] && pids="$pids ${p#/proc/}"
done
n=$(echo $pids | wc -w)
t_check "the lab had recorded processes to check ($n)" [ "$n" -ge 15 ]
t_check "each namespace had the run's nft table" eval \
	"ip netns exec $LAB_CLIENT_NS nft list tables | grep -q $LAB_NFT_TABLE && ip netns exec $LAB_SERVER_NS nft list tables | grep -q $LAB_NFT_TABLE"
mosh_n=$(lab_mosh_servers | wc -l)
t_check "the lab had a mosh-server running" [ "$mosh_n" -ge 1 ]

lab_down
wait "$stray" 2>/dev/null

alive=
for p in $pids; do
	# A zombie is dead; only a process that still runs counts.
	st=$(awk '/^State:/ {print $2}' "/proc/$p/status" 2>/dev/null)
	[ -n "$st" ] && [ "$st" != Z ] && alive="$alive $p($(cat "/proc/$p/comm" 2>/dev/null))"
done
t_check "no recorded process survives lab_down" [ -z "$alive" ]
[ -z "$alive" ] || echo "# still running:$alive" >&2
t_check "no namespace survives" [ ! -e "/run/netns/$cns" -a ! -e "/run/netns/$sns" ]
t_check "ip netns knows neither namespace" eval "! ip netns list | grep -q -e '$cns' -e '$sns'"
t_check "no nft table of the run on the host" eval "! nft list tables 2>/dev/null | grep -q '$table'"
t_check "no tmux server: the socket is gone" [ ! -e "$dir/tmux.sock" ]
t_check "the run's directory is gone" [ ! -e "$dir" ]
t_check "no process of the run is left anywhere (by the run's id)" \
	eval "! ps -eo args= | grep -v grep | grep -q 'moshlab\\.$id'"
t_check "lab_down twice is harmless" lab_down
lab_up
t_check "lab_up after lab_down makes a new lab" [ -n "$LAB_ID" -a "$LAB_ID" != "$id" ]
t_done
