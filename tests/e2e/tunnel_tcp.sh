#!/bin/bash
# SPDX-License-Identifier: MIT
# moshman connect --transport tcp with UDP blocked: directly and through SOCKS5, HTTP
# CONNECT and shadowsocks, once with the native relay (moshman on the remote PATH) and
# once with Perl only; the row says path tcp; an idle session's CPU over a minute.  Then
# failed starts: no relay at all, a SIGTERM while the relay hangs, a relay that never
# answers; none leaves a mosh-server behind.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
set -u
. "$MOSHMAN_TOP/tests/lab/lab.sh"
t_plan 37
. "$MOSHMAN_TOP/tests/e2e/connect_common.bash"
. "$MOSHMAN_TOP/tests/e2e/tunnel_common.bash"
connect_setup tunnel_tcp
lab_block_udp
add_host direct
add_host socks --proxy "socks5://$LAB_PROXY_IP:$LAB_SOCKS_PORT"
add_host http --proxy "http://$LAB_PROXY_IP:$LAB_HTTP_PORT"
add_host ss --proxy "socks5h://$LAB_SS_IP:$LAB_SS_PORT"

# relay_used: which relay the newest session's tunnel reported.
relay_used() {
	events_of "$(last_session)" "" | grep -i 'up via tcp' | tail -n 1 |
		sed -n 's/.*(relay \([a-z]*\)).*/\1/p'
}

for relay in native perl; do
	if [ $relay = native ]; then native_relay on; else native_relay off; fi
	for r in direct socks http ss; do
		tag="$r-$relay"
		if tcp_up "$tag" "$r"; then
			t_ok "$tag: echo \$((6*7)) shows 42 over tcp"
		else
			t_fail "$tag: echo \$((6*7)) shows 42 over tcp"
			lab_tmux_kill "$tag"
			continue
		fi
		row=$(q "SELECT state, path, transport FROM sessions WHERE id = $(last_session)")
		used=$(relay_used)
		t_check "$tag: row up, path tcp, relay $relay ($row, $used)" [ "$row" = "up|tcp|tcp" -a "$used" = "$relay" ]
		if [ "$tag" = direct-native ]; then
			# Idle: the supervisor's CPU over a minute, from /proc/PID/stat.
			sp=$(q "SELECT supervisor_pid FROM sessions WHERE id = $(last_session)")
			a=$(awk '{print $14 + $15}' "/proc/$sp/stat")
			sleep 60
			b=$(awk '{print $14 + $15}' "/proc/$sp/stat")
			hz=$(getconf CLK_TCK)
			pct=$(awk "BEGIN{printf \"%.3f\", ($b - $a) * 100 / $hz / 60}")
			echo "# idle supervisor CPU over 60 s: $pct % ($((b - a)) ticks at $hz Hz)"
			t_check "$tag: idle CPU over a minute under 5 % ($pct %)" awk "BEGIN{exit !($pct < 5)}"
		fi
		if tcp_end "$tag"; then t_ok "$tag: exit ends moshman with status 0"; else t_fail "$tag: exit ends moshman with status 0"; fi
	done
done
t_check "no mosh-server left on the server" no_mosh_servers 10

# Neither relay: perl hidden from the login shell as well.
native_relay off
h=$(lab_server_home "$LAB_USER")
printf 'perl() { return 127; }\nexec() { if [ "$1" = perl ]; then echo "perl: command not found" >&2; exit 127; fi; builtin exec "$@"; }\n' >"$h/.bashrc"
chown "$LAB_USER" "$h/.bashrc"
FAIL_TTY=1 fails "no relay" 'no relay could be started on the host.*neither moshman nor perl' direct --transport tcp
t_check "no relay: no mosh-server left on the server" no_mosh_servers 10

# Interrupted while the tunnel starts (both relays hang): SIGTERM ends moshman, and with
# it the mosh-server it had started.
printf 'exec() { case "$1" in perl | moshman) sleep 30; exit 1 ;; esac; builtin exec "$@"; }\n' >"$h/.bashrc"
before=$(q "SELECT coalesce(max(id), 0) FROM sessions")
# On a terminal (script(1) makes one): mosh-client would need it.
lab_client script -qec "$(printf '%q ' timeout 40 "$M" -q connect direct --transport tcp)" \
	/dev/null </dev/null >"$LAB_DIR/connect/term.out" 2>&1 &
bg=$!
# The relay is given 5 s to answer; the signal comes once mosh-server runs, well before.
sup= srv=
for i in $(seq 1 100); do
	sup=$(q "SELECT supervisor_pid FROM sessions WHERE id > $before ORDER BY id DESC LIMIT 1")
	srv=$(lab_server pgrep -u "$LAB_USER" -x mosh-server | head -n 1)
	[ -n "$sup" ] && [ -n "$srv" ] && break
	sleep 0.05
done
sleep 0.3
echo "# supervisor $sup, mosh-server $srv"
[ -n "$sup" ] && kill -TERM "$sup"
wait "$bg"
rc=$?
out=$(tr -d '\r' <"$LAB_DIR/connect/term.out")
echo "# $out"
t_check "SIGTERM while the tunnel starts: exit 1, says so" \
	[ "$rc" = 1 -a -n "$(echo "$out" | grep 'interrupted by signal 15 while connecting')" ]
t_check "SIGTERM while the tunnel starts: no mosh-server left" no_mosh_servers 10
t_check "SIGTERM while the tunnel starts: row failed" \
	[ "$(q "SELECT state FROM sessions WHERE id > $before ORDER BY id DESC LIMIT 1")" = failed ]
# Left alone, a relay that never answers fails the start after 5 s (no silent retries)
# and its mosh-server is ended too.
FAIL_TTY=1 fails "hung relay" '^moshman: tunnel: the relay did not answer within 5 s$' direct --transport tcp
t_check "hung relay: no mosh-server left on the server" no_mosh_servers 10
rm -f "$h/.bashrc"
t_done
