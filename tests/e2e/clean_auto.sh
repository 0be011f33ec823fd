#!/bin/bash
# SPDX-License-Identifier: MIT
# moshman connect and orphans (about 50 s): connecting to a host reports the orphaned
# sessions the database knows there; with the profile's --auto-clean it kills their
# servers itself, in the background, by the rules of `clean NAME --yes`, and leaves the
# new session and everything else alone.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
set -u
. "$MOSHMAN_TOP/tests/lab/lab.sh"
t_plan 6
. "$MOSHMAN_TOP/tests/e2e/connect_common.bash"
connect_setup clean_auto
export MOSHMAN_SCAN_STARTING_S=20
add_host s

alive() { lab_server kill -0 "$1" 2>/dev/null; }

# An orphan: a session whose supervisor and client are SIGKILLed.
start_moshman orph connect s
if ! lab_tmux_wait orph '\$ *$' 30 >/dev/null 2>&1; then
	t_fail "an orphan is made" "no session"
	exit 1
fi
O_ID=$(last_session)
O=$(q "SELECT server_pid FROM sessions WHERE id = $O_ID")
kill -KILL "$(q "SELECT supervisor_pid FROM sessions WHERE id = $O_ID")" \
	"$(q "SELECT client_pid FROM sessions WHERE id = $O_ID")"
# A live session that must survive the auto-clean.
start_moshman live connect s
lab_tmux_wait live '\$ *$' 30 >/dev/null 2>&1
L=$(q "SELECT server_pid FROM sessions WHERE id = $(last_session)")
echo "# orphan $O (session $O_ID), live $L"

# Without a terminal connect stops before mosh-server starts, after the report.
out=$(lab_client setsid -w timeout 30 "$M" connect s </dev/null 2>&1)
echo "$out" | sed 's/^/# connect: /'
grep -q "s has 1 orphaned session (mosh-server pid $O); 'moshman clean s' kills it" <<<"$out" &&
	t_ok "connect reports the host's orphaned session" || t_fail "connect reports the host's orphaned session"
alive "$O" && t_ok "without auto-clean nothing is killed" || t_fail "without auto-clean nothing is killed"

# mosh-server marks the orphan's utmp line detached 30 s after it last heard a client;
# until then clean would not kill it.
for i in $(seq 1 50); do
	lab_server who | grep -q "(mosh \[$O\])" && break
	sleep 1
done
"$M" host edit s --auto-clean >&2
out=$(lab_client setsid -w timeout 30 "$M" connect s </dev/null 2>&1)
echo "$out" | sed 's/^/# connect: /'
grep -q "auto-clean kills it in the background" <<<"$out" &&
	t_ok "connect with auto-clean says it cleans" || t_fail "connect with auto-clean says it cleans"
for i in $(seq 1 150); do
	alive "$O" || break
	sleep 0.1
done
! alive "$O" && alive "$L" && t_ok "auto-clean kills the orphan's server, not the live one" ||
	t_fail "auto-clean kills the orphan's server, not the live one" "orphan alive: $(alive "$O" && echo y), live alive: $(alive "$L" && echo y)"
for i in $(seq 1 50); do
	[ "$(q "SELECT state FROM sessions WHERE id = $O_ID")" = killed ] && break
	sleep 0.1
done
[ "$(q "SELECT state, session_key IS NULL FROM sessions WHERE id = $O_ID")" = "killed|1" ] &&
	t_ok "auto-clean marks the orphan's row killed" || t_fail "auto-clean marks the orphan's row killed"
lab_tmux_type live 'echo $((6*7))'
t_check "the live session still echoes" lab_tmux_wait live '^42' 10
lab_tmux_send live C-d
t_done
