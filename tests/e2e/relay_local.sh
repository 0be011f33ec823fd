#!/bin/sh
# SPDX-License-Identifier: MIT
# The remote relays without ssh: `moshman relay` and the embedded Perl relay each run
# locally on pipes, driven by tests/e2e/relay/driver.pl, which plays the supervisor and,
# with a UDP echo server on 127.0.0.1, mosh-server.  Cases: the handshake, 100,000
# datagrams of 1..2048 bytes back intact (RELAY_COUNT to change), PING/PONG, CLOSE, stdin
# EOF, garbage, oversized frames, version mismatch, foreign senders dropped, a refused
# port, an IPv6 peer, byte-at-a-time input, a blocked reader, and idle CPU.
# moshman-test: isolate-net
set -u
bin=${MOSHMAN_BIN:?}
top=${MOSHMAN_TOP:?}
driver="$top/tests/e2e/relay/driver.pl"
count=${RELAY_COUNT:-100000}
tmp=$(mktemp -d "${TMPDIR:-/tmp}/relay_local.XXXXXX")
trap 'rm -rf "$tmp"' EXIT INT TERM
. "$top/tests/t.sh"
T_PREFIX=relay_local
# 2 + 5 usage cases + 16 cases for each of the 2 relays + 5 login shells
t_plan 46

# drive LIMIT RELAY CASE [COUNT]: the driver prints its own line; a driver that dies or
# hangs without one still counts as a failure.
drive() {
	limit=$1
	shift
	timeout -k 5 "$limit" perl "$driver" "$bin" "$@" >"$tmp/out" 2>"$tmp/err"
	rc=$?
	cat "$tmp/out"
	if ! grep -q '^\(not \)\{0,1\}ok - ' "$tmp/out"; then
		t_fail "$1: $2: driver exited $rc without a verdict: $(tail -n 3 "$tmp/err" | tr '\n' ' ')"
	elif [ "$rc" -ne 0 ]; then
		T_FAILED=$((${T_FAILED:-0} + 1))
	fi
}

if "$bin" relay --print-perl | cmp -s - "$top/src/link/relay.pl"; then
	t_ok "--print-perl prints src/link/relay.pl"
else
	t_fail "--print-perl differs from src/link/relay.pl"
fi
if perl -c "$top/src/link/relay.pl" >/dev/null 2>&1; then t_ok "relay.pl compiles"; else t_fail "relay.pl does not compile"; fi

# Usage errors exit 2 and say why, before any output on stdout.
usage_case() { # name expected-substring args...
	name=$1 want=$2
	shift 2
	out=$("$bin" relay "$@" 2>&1 </dev/null >"$tmp/stdout")
	rc=$?
	if [ "$rc" -eq 2 ] && [ ! -s "$tmp/stdout" ] && case $out in *"$want"*) true ;; *) false ;; esac; then
		t_ok "usage: $name"
	else
		t_fail "usage: $name: exit $rc, said '$out'"
	fi
}
usage_case "no port" "--port is required"
usage_case "port 0" "--port must be 1..65535" --port 0
usage_case "unknown version" "protocol version 9 is not supported" --port 5 --proto 9
usage_case "host name" "numeric IPv4 or IPv6" --port 5 --host localhost
usage_case "stray argument" "unexpected argument" --port 5 extra

for relay in native perl; do
	for c in hello ping close eof garbage-handshake garbage-frame garbage-random oversize \
	    version foreign refused ipv6 trickle backpressure idle silent; do
		drive 120 "$relay" "$c"
	done
	drive 600 "$relay" integrity "$count"
done

# The loader must reach perl unchanged through whatever login shell the user has: each
# one `make deps-test` installs (a missing one fails).
for sh in bash dash fish csh tcsh; do
	if ! command -v "$sh" >/dev/null 2>&1; then
		t_fail "perl under $sh: hello" "$sh is not installed (make deps-test)"
		continue
	fi
	RELAY_SHELL=$sh RELAY_LABEL="perl under $sh" drive 60 perl hello
done

t_done
