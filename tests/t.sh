# SPDX-License-Identifier: MIT
# The test-line helpers every e2e script shares (tests/lab/lab.sh sources it too).
# POSIX sh, so that scripts run by sh or bash can both source it:
#
#	. "$MOSHMAN_TOP/tests/t.sh"
#	t_plan 3                        # first: how many lines this script will report
#	t_check "the file exists" [ -f "$f" ]
#	if cmp -s a b; then t_ok "same bytes"; else t_fail "same bytes" "a and b differ"; fi
#	t_skip "as another user" "not root"
#	t_done                          # last: exit status 1 if any t_fail ran
#
# docs/testing.md has the rules: one line per case, and a script that reports a number
# of lines other than its plan fails in tests/run.sh.  T_PREFIX, when set, starts every
# name ("cli" gives "ok - cli: NAME").

# t_plan N: the plan line, before any test line.  A case reported in a loop or in either
# branch of an if counts once per line it prints on a normal run.
t_plan() { echo "1..$1"; }
t_ok() { echo "ok - ${T_PREFIX:+$T_PREFIX: }$1"; }
t_fail() {
	echo "not ok - ${T_PREFIX:+$T_PREFIX: }$1${2:+: $2}"
	T_FAILED=$((${T_FAILED:-0} + 1))
}
t_skip() { echo "skip - ${T_PREFIX:+$T_PREFIX: }$1: ${2:-no reason given}"; }
# t_check NAME CMD...: one test line from a command's status; its output goes to stderr.
# One simple command: `t_check N [ "$a" -ge 1 -a "$b" = x ]`, never `t_check N [ ... ] &&
# [ ... ]` (the shell splits that in two and the second half is checked by nobody).
t_check() {
	local _t_name=$1
	shift
	if "$@" >&2; then t_ok "$_t_name"; else t_fail "$_t_name" "failed: $*"; fi
}
# t_done: the exit status for the end of a test script (1 if any t_fail ran).
t_done() { [ "${T_FAILED:-0}" -eq 0 ]; }
# t_fail_files NAME FILE...: t_fail NAME, then each file's content, indented (read by
# people, not counted).
t_fail_files() {
	local _t_name=$1 _t_f
	shift
	t_fail "$_t_name"
	for _t_f in "$@"; do sed 's/^/    /' "$_t_f"; done
}
