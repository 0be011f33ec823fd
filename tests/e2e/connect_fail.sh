#!/bin/bash
# SPDX-License-Identifier: MIT
# moshman connect's failures: each exits 1 with one clear line, leaves its session row
# failed (with the reason as an event) or makes none, and leaves no process behind.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
set -u
. "$MOSHMAN_TOP/tests/lab/lab.sh"
t_plan 62
. "$MOSHMAN_TOP/tests/e2e/connect_common.bash"
connect_setup connect_fail

# A fake proxy in the client namespace: PROG is perl code run for each connection.
FAKE_PIDS=
fake_proxy() {
	lab_client perl -MIO::Socket::INET -e '
		my $s = IO::Socket::INET->new(LocalAddr => "127.0.0.1", LocalPort => $ARGV[0],
		    Listen => 5, ReuseAddr => 1) or die;
		while (my $c = $s->accept) { my $b; sysread($c, $b, 512); eval $ARGV[1]; close $c }
	' "$1" "$2" </dev/null >/dev/null 2>&1 &
	FAKE_PIDS="$FAKE_PIDS $!"
	for i in $(seq 1 50); do
		lab_client perl -MIO::Socket::INET -e 'exit !IO::Socket::INET->new("127.0.0.1:$ARGV[0]")' "$1" && return 0
		sleep 0.05
	done
}
cleanup_fakes() { for p in $FAKE_PIDS; do kill "$p" 2>/dev/null; done; }
trap 'cleanup_fakes; lab_down' EXIT

NOROW=1 fails "unknown profile" "no host profile named 'nosuch'" nosuch

# Transport command without a tunnel command in the profile says so (usage error, nothing
# recorded); the transports themselves are tested in tunnel_*.sh.
add_host later
before=$(q "SELECT count(*) FROM sessions")
out=$("$M" connect later --transport command 2>&1)
rc=$?
[ "$rc" = 2 ] && echo "$out" | grep -q "transport 'command' needs --tunnel-command.*host edit later" &&
	[ "$(q "SELECT count(*) FROM sessions")" = "$before" ] &&
	t_ok "--transport command without a tunnel command: exit 2, says so" ||
	t_fail "--transport command without a tunnel command: exit 2, says so" "rc $rc: $out"
out=$("$M" connect later --hostkey-policy maybe 2>&1)
[ $? = 2 ] && t_ok "bad --hostkey-policy: exit 2" || t_fail "bad --hostkey-policy: exit 2" "$out"

add_host noresolve --host no-such-host.invalid
fails "host does not resolve" "no-such-host.invalid" noresolve

add_host refused --port 1
fails "connection refused" "refused" refused

add_host proxydown --proxy "socks5://127.0.0.1:9"
fails "proxy not listening" "refused|proxy" proxydown

add_host proxyrefuses --port 1 --proxy "socks5://$LAB_PROXY_IP:$LAB_SOCKS_PORT"
fails "proxy refuses the target" "proxy" proxyrefuses

add_host needauth --proxy "socks5://$LAB_PROXY_IP:$LAB_SOCKS_AUTH_PORT"
fails "proxy wants auth we lack" "auth|username|method" needauth

add_host badauth --proxy "socks5://$LAB_SOCKS_USER:wrong@$LAB_PROXY_IP:$LAB_SOCKS_AUTH_PORT"
fails "proxy auth wrong" "rejected|username|password" badauth

add_host httpnoauth --port 1 --proxy "http://$LAB_PROXY_IP:$LAB_HTTP_PORT"
fails "http proxy refuses the target" "proxy|HTTP|40|50" httpnoauth

fake_proxy 7001 'syswrite($c, "HTTP/1.1 200 OK\r\n\r\nSSH-garbage\r\n")'
add_host garbage --proxy "http://127.0.0.1:7001"
fails "peer speaks garbage" "ssh|banner|protocol|garbage|failed" garbage

fake_proxy 7002 'syswrite($c, "\x05\x00")'
add_host midclose --proxy "socks5://127.0.0.1:7002"
fails "proxy closes mid-handshake" "clos|proxy" midclose

fake_proxy 7003 'syswrite($c, "\x16\x03\x01garbage\r\n\r\n")'
add_host socksgarbage --proxy "socks5://127.0.0.1:7003"
fails "proxy speaks garbage" "proxy|SOCKS|socks" socksgarbage

# A key the password user does not accept, and no terminal to ask for a password.
add_host authfails --user "$LAB_PW_USER"
fails "auth fails" "authentication failed" authfails

add_host noserver --server-command /nonexistent/mosh-server
FAIL_TTY=1 fails "mosh-server missing" "mosh-server not found" noserver

# Without -q the steps come first, then the one line that says what went wrong.
lab_client script -qec "$(printf '%q ' timeout 40 "$M" connect noserver)" /dev/null \
	</dev/null >"$LAB_DIR/connect/progress.out" 2>&1
out=$(tr -d '\r' <"$LAB_DIR/connect/progress.out")
if echo "$out" | grep -q '^moshman: ssh handshake\.\.\.$' &&
	echo "$out" | grep -q '^moshman: host key ok (SHA256:' &&
	echo "$out" | grep -q '^moshman: auth publickey' &&
	echo "$out" | tail -n 1 | grep -q 'mosh-server not found'; then
	t_ok "progress lines on stderr without -q, the error last"
else
	t_fail "progress lines on stderr without -q, the error last" "$out"
fi

add_host badlocale --locale LC_ALL=C
FAIL_TTY=1 fails "locale rejected" "locale" badlocale

# Reached through a proxy under a name that means this machine here: no UDP path.  The
# mosh-server already started is ended at once, not left waiting for a client.
add_host noudp --host localhost --port "$LAB_JUMP_PORT" --proxy "socks5h://$LAB_SS_IP:$LAB_SS_PORT" \
	--known-hosts "$LAB_DIR/connect/kh_noudp" --hostkey-policy accept-new
FAIL_TTY=1 fails "no UDP path to the host" "cannot reach localhost over UDP" noudp
t_check "no UDP path: the fresh mosh-server was ended" no_mosh_servers 3

add_host noclient
MOSHMAN_MOSH_CLIENT=/nonexistent/mosh-client FAIL_TTY=1 fails "mosh-client missing" \
	"cannot run /nonexistent/mosh-client here; install mosh" noclient
t_check "mosh-client missing: no mosh-server was started" no_mosh_servers 1

add_host notty
fails "no terminal for mosh-client" "needs a terminal" notty

# Shell injection through a profile field: host add refuses it; a value slipped into the
# database behind its back is still one quoted word on the remote side.
mark=/tmp/moshman-injected-$LAB_ID
out=$("$M" host add inj --host "$LAB_SERVER_IP" --locale "LANG=C.UTF-8'; touch $mark; '" 2>&1)
[ $? = 2 ] && t_ok "host add refuses a locale with shell syntax" ||
	t_fail "host add refuses a locale with shell syntax" "$out"
add_host inject
q "INSERT INTO host_locales (host_id, pos, setting) SELECT id, 0, 'LANG=C.UTF-8''; touch $mark; ''' FROM hosts WHERE name = 'inject'"
q "INSERT INTO host_locales (host_id, pos, setting) SELECT id, 1, '\$(touch $mark)' FROM hosts WHERE name = 'inject'"
FAIL_TTY=1 fails "locale with shell injection" "locale|mosh-server" inject
if lab_server test -e "$mark"; then
	t_fail "the injected command did not run on the server"
	lab_server rm -f "$mark"
else
	t_ok "the injected command did not run on the server"
fi
t_check "no mosh-server left after the failures" no_mosh_servers 5

t_done
