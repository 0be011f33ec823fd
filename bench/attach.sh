#!/bin/bash
# SPDX-License-Identifier: MIT
# bench/attach.sh BUILD_DIR: the attach layer's costs.
# 1. keystroke to echo: a lab session whose "mosh-client" is a raw-mode echo (so neither
#    the network nor mosh is measured), keys typed through `moshman attach` against the
#    same echo on a pty of its own, alternating, ROUNDS x KEYS each
#    (BENCH_ATTACH_ROUNDS 3, BENCH_ATTACH_KEYS 100).
# 2. attach to a drawn screen: a real session with output on its screen, detached; the
#    time from starting `moshman attach` until that output is on the new terminal.
# Figures, not a test.  Not yet part of bench/run.sh and docs/benchmarks.md.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
set -u
TOP=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${1:-build}
case $BUILD in /*) ;; *) BUILD=$TOP/$BUILD ;; esac
export MOSHMAN_TOP=$TOP MOSHMAN_BIN=$BUILD/moshman
. "$TOP/tests/lab/lab.sh"
. "$TOP/tests/e2e/connect_common.bash"
ROUNDS=${BENCH_ATTACH_ROUNDS:-3}
KEYS=${BENCH_ATTACH_KEYS:-100}
W=$BUILD/bench-attach
mkdir -p "$W"
cc -O2 -Wall -Wextra -o "$W/ptyecho" "$TOP/bench/ptyecho.c" -lutil || exit 1
printf '#!/bin/sh\n[ "$1" = -c ] && { echo 8; exit 0; }\nstty raw -echo\nexec cat\n' >"$W/echo-client"
chmod +x "$W/echo-client"

connect_setup bench_attach
export XDG_RUNTIME_DIR=$LAB_DIR/xdg
mkdir -p "$XDG_RUNTIME_DIR" && chmod 700 "$XDG_RUNTIME_DIR"
add_host b 2>/dev/null
MOSHMAN_MOSH_CLIENT=$W/echo-client lab_client "$M" -q connect -d b </dev/null >/dev/null 2>&1 ||
	{ echo "bench: the session did not start" >&2; exit 1; }
id=$(last_session)
: >"$W/direct" >"$W/attach"
for r in $(seq 1 "$ROUNDS"); do
	"$W/ptyecho" "$KEYS" "$W/echo-client" >>"$W/direct"
	lab_client "$W/ptyecho" "$KEYS" "$M" attach "$id" >>"$W/attach"
done
kill -TERM "$(q "SELECT supervisor_pid FROM sessions WHERE id = $id")" 2>/dev/null

lab_client "$M" -q connect -d b </dev/null >/dev/null 2>&1 || { echo "bench: no real session" >&2; exit 1; }
id=$(last_session)
lab_client "$W/ptyecho" -t 'seq 1 25; echo drawn-$((6*7))\r' "$M" attach "$id" >/dev/null
: >"$W/attach_ms"
for r in $(seq 1 5); do
	lab_client "$W/ptyecho" -u drawn-42 "$M" attach "$id" | awk '{ print int($2 / 1000) }' >>"$W/attach_ms"
done
# 3. idle: wake-ups (context switches) and CPU ticks of the supervisor and mosh-client
#    over 8 s, detached and then attached (a terminal that shows nothing new).
sup=$(q "SELECT supervisor_pid FROM sessions WHERE id = $id")
cli=$(q "SELECT client_pid FROM sessions WHERE id = $id")
cs() { awk '/ctxt_switches/ { s += $2 } END { print s }' /proc/"$1"/status; }
ticks() { awk '{ print $14 + $15 }' /proc/"$1"/stat; }
idle() { # idle LABEL
	local s0 c0 st0 ct0
	s0=$(cs "$sup") c0=$(cs "$cli") st0=$(ticks "$sup") ct0=$(ticks "$cli")
	sleep 8
	echo "$1: supervisor $(($(cs "$sup") - s0)) wake-ups $(($(ticks "$sup") - st0)) ticks, mosh-client $(($(cs "$cli") - c0)) wake-ups $(($(ticks "$cli") - ct0)) ticks (8 s)"
}
sleep 1
idle "idle detached" >"$W/idle"
lab_client "$W/ptyecho" -u never-on-screen "$M" attach "$id" >/dev/null &
holder=$!
sleep 1
idle "idle attached" >>"$W/idle"
wait "$holder"
kill -TERM "$(q "SELECT supervisor_pid FROM sessions WHERE id = $id")" 2>/dev/null
# The median of the rounds' p50 and p90.
med() { awk -v k="$2" '{ for (i = 1; i < NF; i++) if ($i == k) print $(i + 1) }' "$1" | sort -n |
	awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
dp50=$(med "$W/direct" p50) dp90=$(med "$W/direct" p90)
ap50=$(med "$W/attach" p50) ap90=$(med "$W/attach" p90)
echo "pty alone:           p50 ${dp50} us  p90 ${dp90} us  ($ROUNDS x $KEYS keys)"
echo "through attach:      p50 ${ap50} us  p90 ${ap90} us"
echo "added by the layer:  p50 $((ap50 - dp50)) us  p90 $((ap90 - dp90)) us"
echo "attach to a drawn screen (ms, 5 runs): $(sort -n "$W/attach_ms" | tr '\n' ' ')"
cat "$W/idle"
no_mosh_servers 15 >/dev/null 2>&1
