#!/bin/sh
# SPDX-License-Identifier: MIT
# The test runner behind `make check`: unit programs, end-to-end scripts, fuzz smoke runs.
# usage: tests/run.sh BUILD_DIR [NAME_FILTER...]
# Every test program prints a plan line "1..N" first, then one line per case: "ok - NAME",
# "not ok - NAME: why" or "skip - NAME: why" (docs/testing.md).  A program that dies
# without saying so counts as one failure, and so does one that reports another number
# of lines than its plan.  MOSHMAN_JOBS=N (default 1; 2 when CI is set) runs N e2e
# scripts and fuzz smoke runs side by side; a script with the line
# "# moshman-test: serial" runs alone.  The durations come at the end; the last line is
# the summary "N passed, N failed, N skipped".
set -u
build=${1:?usage: tests/run.sh BUILD_DIR [FILTER...]}
shift
filter="$*"
top=$(cd "$(dirname "$0")/.." && pwd)
build=$(cd "$build" && pwd)
export MOSHMAN_BIN="$build/moshman" MOSHMAN_TOP="$top" MOSHMAN_BUILD="$build"
if [ -n "${CI:-}" ]; then jobs=${MOSHMAN_JOBS:-2}; else jobs=${MOSHMAN_JOBS:-1}; fi
case "$jobs" in '' | *[!0-9]* | 0) echo "run.sh: MOSHMAN_JOBS must be a number >= 1" >&2; exit 2 ;; esac
pass=0 fail=0 skip=0
tmp=$(mktemp -d "${TMPDIR:-/tmp}/moshman-test.XXXXXX")
children=
trap 'rm -rf "$tmp"' EXIT
# Interrupted: stop the pool's subshells and their timeout(1)s (which stop their tests),
# by PID.
stop_children() {
	for c in $children; do
		c=${c#*:}
		for g in $(ps -o pid= --ppid "$c" 2>/dev/null); do kill "$g" 2>/dev/null; done
		kill "$c" 2>/dev/null
	done
}
trap 'stop_children; exit 130' INT TERM

# Unit tests, and e2e scripts that say "# moshman-test: isolate-net", run in a fresh
# network namespace with only loopback: whatever they resolve or connect to cannot leave
# the machine (a lookup of nohost.invalid fails here instead of asking a DNS server).
# Without root or unshare they run as they are, and MOSHMAN_NET_ISOLATED stays unset so
# the cases that need isolation skip.
net_isolated=0
if [ "$(id -u)" = 0 ] && command -v unshare >/dev/null 2>&1 && command -v ip >/dev/null 2>&1 &&
	unshare -n true 2>/dev/null; then
	net_isolated=1
fi
iso=
[ "$net_isolated" = 1 ] && iso="sh $top/tests/netiso.sh"

wanted() {
	[ -z "$filter" ] && return 0
	for f in $filter; do case "$1" in *"$f"*) return 0 ;; esac; done
	return 1
}

now_ms() { date +%s%3N; }
secs() { printf '%d.%d' $(($1 / 1000)) $(($1 % 1000 / 100)); }

# run_one KEY NAME TIMEOUT CMD...: runs one program; its output and the runner's verdict
# lines go to $tmp/KEY.out, "TIER PASS FAIL SKIP MS NAME" to $tmp/KEY.res.
run_one() {
	local key name limit o t0 rc ms p f s n plan why
	key=$1 name=$2 limit=$3
	shift 3
	o=$tmp/$key.out
	t0=$(now_ms)
	echo "# $name" >"$o"
	timeout -k 10 "$limit" "$@" >>"$o" 2>&1 </dev/null 3>&-
	rc=$?
	ms=$(($(now_ms) - t0))
	p=$(grep -c '^ok - ' "$o")
	f=$(grep -c '^not ok - ' "$o")
	s=$(grep -c '^skip - ' "$o")
	n=$((p + f + s))
	plan=$(sed -n 's/^1\.\.\([0-9][0-9]*\)$/\1/p' "$o" | head -n 1)
	{
		if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
			if [ "$rc" -eq 124 ] || [ "$rc" -eq 137 ]; then why="timed out after $limit s"; else why="exited with status $rc"; fi
			echo "not ok - $name: $why"
		fi
		if [ "$rc" -eq 0 ] && [ "$n" -eq 0 ]; then
			echo "not ok - $name: ran no test"
		elif [ "$rc" -eq 0 ] && [ "$p" -eq 0 ] && [ "$f" -eq 0 ]; then
			: # skipped as a whole (not root...): the plan does not apply
		elif [ -z "$plan" ]; then
			echo "not ok - $name: no plan line (1..N) before its results; reported $n"
		elif [ "$plan" -ne "$n" ]; then
			echo "not ok - $name: planned $plan, reported $n"
		fi
	} >"$tmp/$key.verdict"
	cat "$tmp/$key.verdict" >>"$o"
	f=$((f + $(grep -c '^not ok - ' "$tmp/$key.verdict")))
	echo "${key%%-*} $p $f $s $ms $name" >"$tmp/$key.res"
}

# report KEY: print a finished program's output, in one piece, and count its lines.
report() {
	local tier p f s ms name
	cat "$tmp/$1.out"
	read -r tier p f s ms name <"$tmp/$1.res"
	pass=$((pass + p)) fail=$((fail + f)) skip=$((skip + s))
	echo "$ms $tier $name" >>"$tmp/durations"
}

# The pool: at most $jobs programs at once.  A finished one writes its key to a FIFO,
# so the runner sleeps in read(2) until one is done.
mkfifo "$tmp/done"
exec 3<>"$tmp/done"
running=0
reap() {
	read -r k <&3
	running=$((running - 1))
	# Forget its PID: once reaped, the number may belong to anyone.
	left=
	for c in $children; do
		if [ "${c%%:*}" = "$k" ]; then wait "${c#*:}" 2>/dev/null; else left="$left $c"; fi
	done
	children=$left
	report "$k"
}
# start KEY NAME TIMEOUT CMD...: in the pool (or right here when jobs is 1).
start() {
	if [ "$jobs" -eq 1 ]; then
		run_one "$@"
		report "$1"
		return
	fi
	while [ "$running" -ge "$jobs" ]; do reap; done
	(
		run_one "$@"
		echo "$1" >&3
	) &
	children="$children $1:$!"
	running=$((running + 1))
}
drain() { while [ "$running" -gt 0 ]; do reap; done; }
# alone KEY NAME TIMEOUT CMD...: after everything in the pool is done.
alone() {
	drain
	run_one "$@"
	report "$1"
}

tier_start=$(now_ms)
i=0
for t in "$build"/tests/test_*; do
	[ -x "$t" ] || continue
	n=$(basename "$t")
	wanted "$n" || continue
	i=$((i + 1))
	alone "unit-$i" "$n" 300 $iso "$t"
done
unit_wall=$(($(now_ms) - tier_start))

tier_start=$(now_ms)
serial=
for t in "$top"/tests/e2e/*.sh; do
	[ -f "$t" ] || continue
	n="e2e/$(basename "$t" .sh)"
	wanted "$n" || continue
	i=$((i + 1))
	if grep -q '^# moshman-test: serial' "$t" && [ "$jobs" -gt 1 ]; then
		serial="$serial $t"
		continue
	fi
	if grep -q '^# moshman-test: isolate-net' "$t"; then
		start "e2e-$i" "$n" 900 $iso sh "$t"
	else
		start "e2e-$i" "$n" 900 sh "$t"
	fi
done
for t in $serial; do
	i=$((i + 1))
	if grep -q '^# moshman-test: isolate-net' "$t"; then
		alone "e2e-$i" "e2e/$(basename "$t" .sh)" 900 $iso sh "$t"
	else
		alone "e2e-$i" "e2e/$(basename "$t" .sh)" 900 sh "$t"
	fi
done
drain
e2e_wall=$(($(now_ms) - tier_start))

tier_start=$(now_ms)
if [ -z "${MOSHMAN_NO_FUZZ:-}" ]; then
	for t in "$build"/fuzz/fuzz_*; do
		[ -x "$t" ] && [ -f "$t" ] || continue
		n=$(basename "$t")
		wanted "$n" || continue
		i=$((i + 1))
		start "fuzz-$i" "$n (smoke)" 120 sh "$top/tests/fuzz/smoke.sh" "$t"
	done
	drain
fi
fuzz_wall=$(($(now_ms) - tier_start))

# Durations: each program, slowest first, then each tier (the sum of its programs, and
# the wall-clock time it took with $jobs side by side).
if [ -s "$tmp/durations" ]; then
	echo "# durations, slowest first:"
	sort -rn "$tmp/durations" | while read -r ms tier name; do
		printf '#   %8s s  %s\n' "$(secs "$ms")" "$name"
	done
	for tier in unit e2e fuzz; do
		sum=$(awk -v t="$tier" '$2 == t { s += $1 } END { print s + 0 }' "$tmp/durations")
		cnt=$(awk -v t="$tier" '$2 == t { n++ } END { print n + 0 }' "$tmp/durations")
		[ "$cnt" -gt 0 ] || continue
		eval "wall=\$${tier}_wall"
		printf '# tier %-4s %3d programs: %s s (wall %s s, %d at once)\n' "$tier" "$cnt" \
		    "$(secs "$sum")" "$(secs "$wall")" "$([ "$tier" = unit ] && echo 1 || echo "$jobs")"
	done
fi
echo "$pass passed, $fail failed, $skip skipped"
[ "$fail" -eq 0 ]
