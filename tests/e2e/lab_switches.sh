#!/bin/bash
# SPDX-License-Identifier: MIT
# Each switch of the lab does what it says, measured from the client namespace.
# moshman-test: serial (it measures delays and loss rates against fixed bounds)
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "${MOSHMAN_TOP:-$(cd "$(dirname "$0")/../.." && pwd)}/tests/lab/lab.sh"
t_plan 84
lab_start lab_switches

S=$LAB_SERVER_IP P=$LAB_PROXY_IP
now_ms() { echo $(($(date +%s%N) / 1000000)); }
# probe_is NAME WANT IP PORT: lab_tcp_probe gives WANT (open/refused/timeout).
probe_is() {
	local got
	got=$(lab_tcp_probe "$3" "$4" 2)
	if [ "$got" = "$2" ]; then t_ok "$1"; else t_fail "$1" "$3:$4 is $got, not $2"; fi
}
# via NAME: ProxyCommand reaching the server through that proxy.
via() {
	case "$1" in
	socks) echo "nc -X 5 -x $P:$LAB_SOCKS_PORT %h %p" ;;
	socks_auth) echo "ncat --proxy-type socks5 --proxy $P:$LAB_SOCKS_AUTH_PORT --proxy-auth $LAB_SOCKS_USER:$LAB_SOCKS_PASS %h %p" ;;
	http) echo "nc -X connect -x $P:$LAB_HTTP_PORT %h %p" ;;
	ss) echo "nc -X 5 -x $LAB_SS_IP:$LAB_SS_PORT %h %p" ;;
	esac
}
ssh_via() { # ssh_via PROXY|direct: succeeds when `true` runs on the server
	local pc=()
	[ "$1" = direct ] || pc=(-o ProxyCommand="$(via "$1")")
	lab_client timeout 15 $LAB_SSH -o ConnectTimeout=5 "${pc[@]}" "$LAB_USER@$S" true 2>/dev/null </dev/null
}
# wait_dead NAME SECONDS: the tmux session's program ends within SECONDS.
wait_dead() {
	local i
	for i in $(seq 1 $(($2 * 5))); do
		lab_tmux_alive "$1" || return 0
		sleep 0.2
	done
	return 1
}
port_of() {
	case "$1" in socks) echo "$LAB_SOCKS_PORT" ;; socks_auth) echo "$LAB_SOCKS_AUTH_PORT" ;;
	http) echo "$LAB_HTTP_PORT" ;; ss) echo "$LAB_SS_SERVER_PORT" ;; esac
}

# ---- TCP blackhole ----
probe_is "sshd port is open" open "$S" "$LAB_SSH_PORT"
probe_is "a closed server port is refused (RST) at once" refused "$S" 9
lab_blackhole_tcp server
t0=$(now_ms)
probe_is "blackhole server: connect to sshd times out (no RST)" timeout "$S" "$LAB_SSH_PORT"
t_check "blackhole server: the probe really waited (>= 1.9 s)" [ $(($(now_ms) - t0)) -ge 1900 ]
probe_is "blackhole server: every server port is silent" timeout "$S" 9
probe_is "blackhole server: the SOCKS5 proxy still answers" open "$P" "$LAB_SOCKS_PORT"
for p in socks socks_auth http ss; do
	t_check "blackhole server: ssh through $p still works" ssh_via "$p"
done
lab_restore_tcp
probe_is "restore: sshd reachable again" open "$S" "$LAB_SSH_PORT"

for p in socks socks_auth http ss; do
	lab_blackhole_tcp "$p"
	probe_is "blackhole $p: its port times out" timeout "$P" "$(port_of "$p")"
	if ssh_via "$p"; then t_fail "blackhole $p: ssh through it fails"; else t_ok "blackhole $p: ssh through it fails"; fi
	t_check "blackhole $p: direct ssh still works" ssh_via direct
	lab_restore_tcp "$p"
	t_check "restore $p: ssh through it works again" ssh_via "$p"
done
lab_blackhole_tcp all
probe_is "blackhole all: sshd times out" timeout "$S" "$LAB_SSH_PORT"
probe_is "blackhole all: proxies time out" timeout "$P" "$LAB_HTTP_PORT"
lab_restore_tcp
probe_is "restore all: proxies answer again" open "$P" "$LAB_HTTP_PORT"

# An established connection stalls (no RST, nothing closes) and resumes after restore.
# (tmux panes already run in the client namespace: no lab_client there.)
lab_tmux_start tick $LAB_SSH "$LAB_USER@$S" 'i=0; while :; do i=$((i+1)); echo "tick $i"; sleep 0.2; done'
lab_tmux_wait tick 'tick 5' 15 >/dev/null
lab_blackhole_tcp server
sleep 1
last_tick() { lab_tmux_capture tick | grep -o '^tick [0-9]*' | tail -n 1 | cut -d' ' -f2; }
a=$(last_tick)
sleep 2
b=$(last_tick)
t_check "blackhole server: a live ssh stalls" [ "${a:-0}" -gt 0 -a "$a" = "$b" ]
t_check "blackhole server: the live ssh is not closed" lab_tmux_alive tick
lab_restore_tcp
t_check "restore: the live ssh goes on" lab_tmux_wait tick "^tick $((${b:-0} + 10))$" 20
lab_tmux_kill tick

# ---- UDP ----
lab_udp_echo_start 7777
t_check "UDP echo works (20 of 20)" [ "$(lab_udp_probe "$S" 7777 20)" = 20 ]
lab_block_udp
t_check "block UDP: no echo comes back" [ "$(lab_udp_probe "$S" 7777 20 500)" = 0 ]
t_check "block UDP: TCP still works" ssh_via direct
lab_unblock_udp
t_check "unblock UDP: echo works again" [ "$(lab_udp_probe "$S" 7777 20)" = 20 ]

# ---- loss ----
lab_loss 30
got=$(lab_udp_probe "$S" 7777 200 1000)
echo "# loss 30 % each way: $got of 200 echoes came back (expect about 98)"
t_check "loss 30: some but not all of 200 echoes are lost" [ "$got" -ge 50 -a "$got" -le 150 ]
# TCP's own retransmissions carry a session through loss, but each SYN round trip is lost
# with 1-(1-p)^2 and ssh gives up connecting after ConnectTimeout: at 30 % a 10 s timeout
# failed about once in fifteen runs.  Checked at 10 % with 30 s (five SYN tries, about
# 0.19^5 = 0.03 % to fail), which still shows that loss leaves TCP working.
lab_loss 10
t_check "loss 10: ssh (TCP) still gets through" lab_client timeout 90 $LAB_SSH -o ConnectTimeout=30 "$LAB_USER@$S" true
lab_loss 0
t_check "loss 0: all 200 come back" [ "$(lab_udp_probe "$S" 7777 200 1000)" = 200 ]
if lab_loss 101 2>/dev/null || lab_loss x 2>/dev/null; then t_fail "lab_loss rejects bad values"; else t_ok "lab_loss rejects bad values"; fi

# ---- proxy kill / start ----
for p in socks socks_auth http ss; do
	lab_tmux_start "live_$p" $LAB_SSH -o ProxyCommand="$(via "$p")" "$LAB_USER@$S" 'echo up; exec sleep 600'
	lab_tmux_wait "live_$p" '^up$' 20 >/dev/null
	lab_proxy_kill "$p"
	if lab_proxy_alive "$p"; then t_fail "kill $p: the process is gone"; else t_ok "kill $p: the process is gone"; fi
	[ "$p" = ss ] || probe_is "kill $p: its port refuses" refused "$P" "$(port_of "$p")"
	t_check "kill $p: a connection through it dies" wait_dead "live_$p" 10
	if ssh_via "$p"; then t_fail "kill $p: new ssh through it fails"; else t_ok "kill $p: new ssh through it fails"; fi
	lab_proxy_start "$p"
	t_check "start $p: ssh through it works again" ssh_via "$p"
	lab_tmux_kill "live_$p"
done
lab_proxy_kill ss_local
t_check "kill ss_local: the client-side SOCKS port refuses" \
	[ "$(lab_client timeout 2 bash -c "exec 3<>/dev/tcp/$LAB_SS_IP/$LAB_SS_PORT" 2>/dev/null && echo open)" = "" ]
lab_proxy_start ss_local
t_check "start ss_local: ssh through shadowsocks again" ssh_via ss

# ---- sshd restart ----
lab_tmux_start keep $LAB_SSH "$LAB_USER@$S" 'echo connected; exec sleep 600'
lab_tmux_wait keep '^connected$' 20 >/dev/null
old=$(lab_sshd_pid)
lab_sshd_restart
new=$(lab_sshd_pid)
t_check "sshd restart: a new listener" [ -n "$new" -a "$new" != "$old" ]
if lab_server kill -0 "$old" 2>/dev/null; then t_fail "sshd restart: the old listener is gone"; else t_ok "sshd restart: the old listener is gone"; fi
t_check "sshd restart: new logins work" ssh_via direct
t_check "sshd restart: an open session lives on" lab_tmux_alive keep

# ---- delay ----
base=$(lab_udp_rtt "$S" 7777)
lab_delay_start u client udp 127.0.0.1:9777 "$S:7777" 150
slow=$(lab_udp_rtt 127.0.0.1 9777)
echo "# UDP round trip direct ${base} ms, through a 150 ms delay forwarder ${slow} ms"
t_check "delay udp 150 ms: round trip >= 300 ms" [ "$slow" -ge 300 -a "$slow" -lt 1500 ]
lab_delay_start t client tcp 127.0.0.1:2200 "$S:$LAB_SSH_PORT" 100
t0=$(now_ms)
t_check "delay tcp 100 ms: ssh through the forwarder works" \
	lab_client timeout 30 $LAB_SSH_BASE -p 2200 -o HostKeyAlias="[$S]:$LAB_SSH_PORT" "$LAB_USER@127.0.0.1" true
t1=$(now_ms)
echo "# ssh login through a 100 ms TCP delay: $((t1 - t0)) ms"
t_check "delay tcp 100 ms: the login took several round trips (>= 800 ms)" [ $((t1 - t0)) -ge 800 ]
lab_delay_stop t
lab_delay_stop u
# ---- roaming: one-way UDP, address change, uplink switch, freeze ----
# udp_in SIDE: UDP datagrams that side's stack has received so far (its own netns counter).
udp_in() {
	local run=lab_client
	[ "$1" = server ] && run=lab_server
	$run awk '/^Udp:/ { if (n++) print $2 }' /proc/net/snmp
}
for dir in up down; do
	lab_block_udp "$dir"
	s0=$(udp_in server) c0=$(udp_in client)
	got=$(lab_udp_probe "$S" 7777 10 500)
	ds=$(($(udp_in server) - s0)) dc=$(($(udp_in client) - c0))
	echo "# block udp $dir: $got echoes, server took in $ds, client $dc"
	if [ "$dir" = up ]; then
		t_check "block udp up: nothing reaches the server" [ "$got" = 0 -a "$ds" = 0 ]
	else
		t_check "block udp down: the server hears, the client gets nothing back" [ "$got" = 0 -a "$ds" -ge 10 -a "$dc" = 0 ]
	fi
	lab_unblock_udp
done
t_check "unblock after one-way: echo works again" [ "$(lab_udp_probe "$S" 7777 10)" = 10 ]
# from_ip: the client address the server sees for a new ssh login.
from_ip() { lab_client timeout 15 $LAB_SSH -o ConnectTimeout=5 "$LAB_USER@$S" 'echo ${SSH_CONNECTION%% *}' </dev/null 2>/dev/null; }
lab_tmux_start tick $LAB_SSH "$LAB_USER@$S" 'i=0; while :; do i=$((i+1)); echo "tick $i"; sleep 0.2; done'
lab_tmux_wait tick 'tick 5' 15 >/dev/null
old=$LAB_CLIENT_IP
lab_client_addr
t_check "client_addr: a new address ($old -> $LAB_CLIENT_IP)" [ "$LAB_CLIENT_IP" != "$old" ]
t_check "client_addr: the old address is gone" [ -z "$(lab_client ip -4 -o addr show to "$old/32")" ]
t_check "client_addr: new logins come from the new address" [ "$(from_ip)" = "$LAB_CLIENT_IP" ]
t_check "client_addr: UDP echo from the new address" [ "$(lab_udp_probe "$S" 7777 10)" = 10 ]
a=$(last_tick)
sleep 2
t_check "client_addr: a connection from the old address stalls" [ "${a:-0}" -gt 0 -a "$a" = "$(last_tick)" ]
lab_tmux_kill tick
lab_uplink 2
t_check "uplink 2: logins come from uplink 2's address" [ "$(from_ip)" = "$LAB_CLIENT2_IP" ]
t_check "uplink 2: proxies reachable through it" ssh_via socks
old=$LAB_CLIENT2_IP
lab_client_addr
t_check "uplink 2: an address change there keeps the route" [ "$(from_ip)" = "$LAB_CLIENT2_IP" -a "$LAB_CLIENT2_IP" != "$old" ]
lab_uplink 1
t_check "uplink 1: back on the first address" [ "$(from_ip)" = "$LAB_CLIENT_IP" ]
t_check "uplink 1: UDP echo" [ "$(lab_udp_probe "$S" 7777 10)" = 10 ]
lab_tmux_start tick bash -c '"$@"; sleep 600' sh $LAB_SSH "$LAB_USER@$S" 'i=0; while :; do i=$((i+1)); echo "tick $i"; sleep 0.2; done'
lab_tmux_wait tick 'tick 5' 15 >/dev/null
tree=$(lab_tmux_procs tick)
# shellcheck disable=SC2086
lab_freeze $tree
sleep 0.5
a=$(last_tick)
sleep 1.5
t_check "freeze: the frozen ssh prints nothing ($(echo $tree | wc -w) processes)" [ "${a:-0}" -gt 0 -a "$a" = "$(last_tick)" ]
# shellcheck disable=SC2086
lab_thaw $tree
t_check "thaw: it goes on" lab_tmux_wait tick "^tick $((${a:-0} + 5))$" 10
lab_tmux_kill tick
lab_udp_echo_stop 7777
t_done
