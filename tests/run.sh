#!/bin/sh
# The test runner behind `make check`: unit programs, end-to-end scripts, fuzz smoke runs.
# usage: tests/run.sh BUILD_DIR [NAME_FILTER...]
# Every test prints lines "ok - NAME", "not ok - NAME" or "skip - NAME: why"; a program
# that dies without saying so counts as one failure.  The last line is the summary.
set -u
build=${1:?usage: tests/run.sh BUILD_DIR [FILTER...]}
shift
filter="$*"
top=$(cd "$(dirname "$0")/.." && pwd)
build=$(cd "$build" && pwd)
export MOSHMAN_BIN="$build/moshman" MOSHMAN_TOP="$top" MOSHMAN_BUILD="$build"
pass=0 fail=0 skip=0
out=$(mktemp "${TMPDIR:-/tmp}/moshman-test.XXXXXX")
trap 'rm -f "$out"' EXIT INT TERM

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

# run_one NAME TIMEOUT CMD...
run_one() {
	name=$1 limit=$2
	shift 2
	wanted "$name" || return 0
	echo "# $name"
	timeout -k 10 "$limit" "$@" >"$out" 2>&1 </dev/null
	rc=$?
	cat "$out"
	p=$(grep -c '^ok - ' "$out")
	f=$(grep -c '^not ok - ' "$out")
	s=$(grep -c '^skip - ' "$out")
	if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
		if [ "$rc" -eq 124 ] || [ "$rc" -eq 137 ]; then why="timed out after $limit s"; else why="exited with status $rc"; fi
		echo "not ok - $name: $why"
		f=1
	fi
	if [ "$rc" -eq 0 ] && [ $((p + f + s)) -eq 0 ]; then
		echo "not ok - $name: ran no test"
		f=1
	fi
	pass=$((pass + p)) fail=$((fail + f)) skip=$((skip + s))
}

for t in "$build"/tests/test_*; do
	[ -x "$t" ] || continue
	run_one "$(basename "$t")" 300 $iso "$t"
done

for t in "$top"/tests/e2e/*.sh; do
	[ -f "$t" ] || continue
	if grep -q '^# moshman-test: isolate-net' "$t"; then
		run_one "e2e/$(basename "$t" .sh)" 900 $iso sh "$t"
	else
		run_one "e2e/$(basename "$t" .sh)" 900 sh "$t"
	fi
done

if [ -z "${MOSHMAN_NO_FUZZ:-}" ]; then
	for t in "$build"/fuzz/fuzz_*; do
		[ -x "$t" ] || continue
		n=$(basename "$t")
		wanted "$n" || continue
		echo "# $n (smoke)"
		corpus="$top/tests/fuzz/corpus/$n"
		# New inputs go to a scratch directory, never into the repository's seeds.
		scratch=$(mktemp -d "${TMPDIR:-/tmp}/moshman-fuzz.XXXXXX")
		if [ -d "$corpus" ]; then set -- "$scratch" "$corpus"; else set -- "$scratch"; fi
		if timeout 120 "$t" -runs=30000 -max_total_time=15 "$@" >"$out" 2>&1 </dev/null; then
			echo "ok - fuzz smoke: $n"; pass=$((pass + 1))
		else
			tail -n 30 "$out"; echo "not ok - fuzz smoke: $n"; fail=$((fail + 1))
		fi
		rm -rf "$scratch"
	done
fi

echo "$pass passed, $fail failed, $skip skipped"
[ "$fail" -eq 0 ]
