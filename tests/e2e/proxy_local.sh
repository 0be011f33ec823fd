#!/bin/sh
# SPDX-License-Identifier: MIT
# moshman-test: isolate-net
# proxy_connect through real proxies to a real OpenSSH sshd, all on 127.0.0.1:
# microsocks (with and without -u/-P), tinyproxy (with and without BasicAuth), plus fake
# proxies that hang up mid-handshake or never answer.  The client is
# build/tests/test_proxy in its `connect` mode; "connected" followed by sshd's banner
# proves the handshake worked and that the bytes sshd sent right after it were kept.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
set -u

top=${MOSHMAN_TOP:-$(cd "$(dirname "$0")/../.." && pwd)}
build=${MOSHMAN_BUILD:-$top/build}
client=$build/tests/test_proxy
tmp=$(mktemp -d "${TMPDIR:-/tmp}/moshman-proxy-e2e.XXXXXX")
pids=()

cleanup() {
	local p
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done
	for p in "${pids[@]}"; do wait "$p" 2>/dev/null; done
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

. "$top/tests/t.sh"
T_PREFIX=proxy_local
t_plan 21

if [ ! -x "$client" ]; then
	t_fail "setup" "$client not built"
	exit 1
fi

port() { "$client" freeport; }

# wait_port PORT: until something accepts there (10 s at most)
wait_port() {
	local i
	for i in $(seq 1 100); do
		if (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; then return 0; fi
		sleep 0.1
	done
	return 1
}

# start NAME CMD...: run a daemon in the background, output to $tmp/NAME.log
start() {
	local name=$1
	shift
	"$@" >"$tmp/$name.log" 2>&1 &
	pids+=($!)
}

need() {
	if ! command -v "$1" >/dev/null 2>&1 && [ ! -x "$1" ]; then
		t_fail "setup" "$1 is not installed (make deps-test)"
		exit 1
	fi
}
need /usr/sbin/sshd
need microsocks
need tinyproxy

# ---- the target: a real sshd ---------------------------------------------------------
ssh_port=$(port)
ssh-keygen -q -t ed25519 -N '' -f "$tmp/hostkey" >/dev/null
cat >"$tmp/sshd_config" <<CONF
Port $ssh_port
ListenAddress 127.0.0.1
HostKey $tmp/hostkey
PidFile $tmp/sshd.pid
UsePAM no
PasswordAuthentication no
KbdInteractiveAuthentication no
AuthorizedKeysFile none
StrictModes no
LogLevel ERROR
CONF
mkdir -p /run/sshd 2>/dev/null
start sshd /usr/sbin/sshd -D -e -f "$tmp/sshd_config"

# ---- proxies ---------------------------------------------------------------------------
socks=$(port)
socks_auth=$(port)
start microsocks microsocks -i 127.0.0.1 -p "$socks"
start microsocks-auth microsocks -i 127.0.0.1 -p "$socks_auth" -u moshuser -P 'socks pw-S3cret'

http=$(port)
http_auth=$(port)
for v in http http_auth; do
	p=${!v}
	{
		echo "Port $p"
		echo "Listen 127.0.0.1"
		echo "Timeout 30"
		echo "Allow 127.0.0.1"
		echo "ConnectPort $ssh_port"
		echo "MaxClients 20"
		echo "LogLevel Info"
		[ "$v" = http_auth ] && echo "BasicAuth moshuser http-S3cret"
	} >"$tmp/$v.conf"
	start "$v" tinyproxy -d -c "$tmp/$v.conf"
done

# fakes (test_proxy's own, which reap their connections when stopped): one that answers
# the greeting and hangs up after the CONNECT request, one that never answers
hangup=$(port)
silent=$(port)
start hangup "$client" fake close-mid "$hangup"
start silent "$client" fake silent "$silent"

for p in "$ssh_port" "$socks" "$socks_auth" "$http" "$http_auth" "$hangup" "$silent"; do
	if ! wait_port "$p"; then
		t_fail "setup" "nothing listens on 127.0.0.1:$p; logs: $(tail -n 3 "$tmp"/*.log | tr '\n' ' ')"
		exit 1
	fi
done
banner=$(timeout 5 bash -c "exec 3<>/dev/tcp/127.0.0.1/$ssh_port; head -n 1 <&3" | tr -d '\r')


# run_case NAME REGEX SECRET TYPE PHOST PPORT HOST PORT [MS]
# Runs the client with user/password from PUSER/PPASS (empty: none); its stdout must
# match REGEX, and neither it nor the progress lines may contain SECRET.
run_case() {
	local name=$1 want=$2 secret=$3 out
	shift 3
	out=$(MOSHMAN_TEST_PROXY_USER=$PUSER MOSHMAN_TEST_PROXY_PASS=$PPASS \
		timeout 20 "$client" connect "$@" 2>"$tmp/steps" | tr -d '\r')
	if ! printf '%s\n' "$out" | grep -Eq -- "$want"; then
		t_fail "$name" "got '$(printf '%s' "$out" | tr '\n' ' ')', want /$want/"
	elif [ -n "$secret" ] && { cat "$tmp/steps"; printf '%s\n' "$out"; } | grep -qF -- "$secret"; then
		t_fail "$name" "the secret appears in the output"
	else
		t_ok "$name"
	fi
}

connected="^connected
${banner//./\\.}\$"
case "$banner" in
SSH-2.0-OpenSSH*) t_ok "sshd target answers with its banner" ;;
*) t_fail "sshd target answers with its banner" "got '$banner'" ;;
esac

PUSER= PPASS=
run_case "direct to sshd" "$connected" "" none - 0 127.0.0.1 "$ssh_port"
run_case "direct by name (localhost)" "$connected" "" none - 0 localhost "$ssh_port"
run_case "socks5 via microsocks" "$connected" "" socks5 127.0.0.1 "$socks" 127.0.0.1 "$ssh_port"
run_case "socks5h via microsocks sends the name" "$connected" "" socks5h 127.0.0.1 "$socks" localhost "$ssh_port"
run_case "http CONNECT via tinyproxy" "$connected" "" http 127.0.0.1 "$http" 127.0.0.1 "$ssh_port"

PUSER=moshuser PPASS='socks pw-S3cret'
run_case "socks5 with user/password" "$connected" "$PPASS" socks5 127.0.0.1 "$socks_auth" 127.0.0.1 "$ssh_port"
PUSER=moshuser PPASS='wrong-S3cret'
run_case "socks5 wrong password" "^error: proxy rejected username/password" "$PPASS" socks5 127.0.0.1 "$socks_auth" 127.0.0.1 "$ssh_port"
PUSER= PPASS=
run_case "socks5 auth required, none given" "^error: proxy requires authentication we do not have" "" socks5 127.0.0.1 "$socks_auth" 127.0.0.1 "$ssh_port"

PUSER=moshuser PPASS=http-S3cret
run_case "http with Basic auth" "$connected" "$PPASS" http 127.0.0.1 "$http_auth" 127.0.0.1 "$ssh_port"
PUSER=moshuser PPASS=wrong-http-S3cret
run_case "http wrong credentials" "^error: proxy rejected the credentials \\(40[17]" "$PPASS" http 127.0.0.1 "$http_auth" 127.0.0.1 "$ssh_port"
PUSER= PPASS=
run_case "http auth required, none given" "^error: proxy wants authentication \\(407" "" http 127.0.0.1 "$http_auth" 127.0.0.1 "$ssh_port"

closed=$(port)
run_case "socks5 target refused" "^error: proxy refused: connection refused by destination" "" socks5 127.0.0.1 "$socks" 127.0.0.1 "$closed"
run_case "http port not allowed by the proxy" "^error: proxy answered 403" "" http 127.0.0.1 "$http" 127.0.0.1 "$closed"
run_case "socks5 proxy that is an ssh server" "^error: not a SOCKS5 proxy \\(it is an ssh server\\)" "" socks5 127.0.0.1 "$ssh_port" 127.0.0.1 22
run_case "http proxy that is an ssh server" "^error: not an HTTP proxy \\(it is an ssh server" "" http 127.0.0.1 "$ssh_port" 127.0.0.1 22
run_case "proxy hangs up mid-handshake" "^error: socks5 proxy 127\\.0\\.0\\.1:$hangup (closed|reset) the connection during the handshake" "" socks5 127.0.0.1 "$hangup" 127.0.0.1 22
start_s=$(date +%s%N)
run_case "proxy never answers: handshake timeout" "^error: http proxy 127\\.0\\.0\\.1:$silent did not complete the handshake within 1 s" "" http 127.0.0.1 "$silent" 127.0.0.1 22 1000
elapsed=$(( ($(date +%s%N) - start_s) / 1000000 ))
echo "# handshake timeout of 1 s reported after $elapsed ms"
run_case "proxy port refused" "^error: connection to socks5 proxy 127\\.0\\.0\\.1:$closed refused" "" socks5 127.0.0.1 "$closed" 127.0.0.1 22
# A lookup that fails must not ask a DNS server off this machine: only when isolated.
if [ -n "${MOSHMAN_NET_ISOLATED:-}" ]; then
	run_case "unresolvable target" "^error: cannot resolve nohost\\.invalid: " "" none - 0 nohost.invalid 22
	run_case "unresolvable proxy" "^error: cannot resolve proxy nohost\\.invalid: " "" http nohost.invalid 3128 127.0.0.1 22
else
	t_skip "unresolvable target" "needs root to isolate the network"
	t_skip "unresolvable proxy" "needs root to isolate the network"
fi
t_done
