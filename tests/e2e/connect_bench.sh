#!/bin/bash
# SPDX-License-Identifier: MIT
# Bootstrap time, moshman connect against the mosh wrapper, side by side on the lab (UDP
# open, direct ssh, key auth): from starting the program to the remote prompt and to a
# typed `echo $((6*7))` showing 42.  Five runs each, alternating; medians are printed as
# "# bootstrap ..." lines (figures, not pass/fail).  Each run must work: that is tested.
# moshman-test: serial (a benchmark: other tests beside it would skew the figures)
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
set -u
. "$MOSHMAN_TOP/tests/lab/lab.sh"
t_plan 2
. "$MOSHMAN_TOP/tests/e2e/connect_common.bash"
connect_setup connect_bench
add_host b
RUNS=${CONNECT_BENCH_RUNS:-5}

# one NAME CMD...: prints "PROMPT_MS ANSWER_MS" or fails.
one() {
	local name=$1 t0 t1 t2
	shift
	t0=$(ms)
	lab_tmux_start "$name" "$@" || return 1
	fast_wait "$name" '\$ *$' 30 >/dev/null 2>&1 || return 1
	t1=$(ms)
	lab_tmux_type "$name" 'echo $((6*7))'
	fast_wait "$name" '^42' 10 >/dev/null 2>&1 || return 1
	t2=$(ms)
	lab_tmux_type "$name" exit
	for i in $(seq 1 100); do lab_tmux_alive "$name" || break; sleep 0.1; done
	lab_tmux_kill "$name"
	no_mosh_servers 10 2>/dev/null
	echo "$((t1 - t0)) $((t2 - t0))"
}

median() { sort -n | awk '{ v[NR] = $1 } END { if (NR) print v[int((NR + 1) / 2)] }'; }

: >"$LAB_DIR/bench.moshman"
: >"$LAB_DIR/bench.mosh"
okm=0 okw=0
for r in $(seq 1 "$RUNS"); do
	if x=$(one "m$r" "$M" -q connect b); then echo "$x" >>"$LAB_DIR/bench.moshman"; okm=$((okm + 1)); fi
	if x=$(one "w$r" mosh --ssh="$LAB_SSH" "$LAB_USER@$LAB_SERVER_IP"); then
		echo "$x" >>"$LAB_DIR/bench.mosh"; okw=$((okw + 1))
	fi
done
[ "$okm" = "$RUNS" ] && t_ok "moshman connected in all $RUNS timed runs" ||
	t_fail "moshman connected in all $RUNS timed runs" "$okm of $RUNS"
[ "$okw" = "$RUNS" ] && t_ok "mosh wrapper connected in all $RUNS timed runs" ||
	t_fail "mosh wrapper connected in all $RUNS timed runs" "$okw of $RUNS"
for w in moshman mosh; do
	p=$(cut -d' ' -f1 "$LAB_DIR/bench.$w" | median)
	a=$(cut -d' ' -f2 "$LAB_DIR/bench.$w" | median)
	echo "# bootstrap $w: median of $(wc -l <"$LAB_DIR/bench.$w") runs: to prompt ${p:-?} ms, to 42 on screen ${a:-?} ms (runs: $(cut -d' ' -f2 "$LAB_DIR/bench.$w" | tr '\n' ' '))"
done

t_done
