#!/bin/sh
# SPDX-License-Identifier: MIT
# moshman-test: isolate-net
# moshman-test: serial (it scans every process of this machine: another test's
# mosh-servers would show up in its scan)
# The scan and kill scripts against real mosh-servers on this machine (about 80 s).
#
# Scene: O had a client that was SIGKILLed over a minute ago (a detached server, and a
# moshman orphan when the database says so); A has a live mosh-client in a private tmux;
# N is brand new and has never seen a client (it and its twin are "starting"); U is a
# new server of user nobody.  Plus a hostile process whose argv has a newline and a
# forged record in it.  The collector runs as `sh -s` under dash, bash and BusyBox; its output goes through the parser and classifier (the unit test
# program's --parse mode); then the kill script is run on the candidates only.
#
# Only the processes started here are stopped, by pid.
set -u
top=${MOSHMAN_TOP:-$(cd "$(dirname "$0")/../.." && pwd)}
build=${MOSHMAN_BUILD:-$top/build}
helper=$build/tests/test_scanparse
collect=$top/src/scan/scan_collect.sh
killsh=$top/src/scan/scan_kill.sh
tmp=$(mktemp -d "${TMPDIR:-/tmp}/moshman-scan-e2e.XXXXXX")
started=
cleanup() {
	for p in $started; do kill "$p" 2>/dev/null; done
	for s in "$tmp"/tmux-*; do
		[ -S "$s" ] && tmux -S "$s" kill-server 2>/dev/null
	done
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

. "$top/tests/t.sh"
T_PREFIX=scan_local
t_plan 11
# Only for what this machine cannot do (not root); a missing program fails.
skipall() {
	for t in collect-sh classes fallbacks hostile-argv other-user kill-reuse \
	    kill-refusals kill-orphan attached-survives collect-busybox kill-busybox-usr1; do
		t_skip "$t" "$1"
	done
	exit 0
}

for t in mosh-server mosh-client tmux who busybox; do
	command -v $t >/dev/null 2>&1 || { t_fail "setup" "$t is not installed (make deps-test)"; exit 1; }
done
[ -x "$helper" ] || { t_fail "setup" "build the unit tests first ($helper)"; exit 1; }
if [ ! -e /run/utmp ]; then
	[ "$(id -u)" = 0 ] || skipall "no /run/utmp and not root to create it"
	touch /run/utmp && chgrp utmp /run/utmp 2>/dev/null && chmod 664 /run/utmp
fi
me=$(id -u)
# Set by server() through eval.
O_pid='' O_port='' A_pid='' A_port='' N_pid=''

# server NAME [prefix...]: start a mosh-server; sets NAME_pid NAME_port NAME_key files.
server() {
	n=$1
	shift
	timeout 10 "$@" mosh-server new -i 127.0.0.1 -p 0 >"$tmp/$n.out" 2>"$tmp/$n.err" </dev/null
	pid=$(sed -n 's/.*detached, pid = \([0-9]*\).*/\1/p' "$tmp/$n.err")
	port=$(awk '/^MOSH CONNECT/ {print $3}' "$tmp/$n.out")
	[ -n "$pid" ] && [ -n "$port" ] || { t_fail_files "start server $n" "$tmp/$n.err"; exit 1; }
	started="$started $pid"
	eval "${n}_pid=$pid ${n}_port=$port"
}

# client NAME: a mosh-client for server NAME in a private tmux.
client() {
	key=$(awk '/^MOSH CONNECT/ {print $4}' "$tmp/$1.out")
	port=$(awk '/^MOSH CONNECT/ {print $3}' "$tmp/$1.out")
	MOSH_KEY=$key tmux -S "$tmp/tmux-$1" new-session -d -x 100 -y 30 \
	    "exec mosh-client 127.0.0.1 $port"
	eval "p=\$${1}_pid"
	i=0
	while ! who | grep -q "via mosh \[$p\]"; do
		i=$((i + 1))
		[ $i -gt 50 ] && { t_fail_files "client $1 connects"; exit 1; }
		sleep 0.2
	done
}

t0=$(date +%s)
server O
client O
kill -KILL "$(tmux -S "$tmp/tmux-O" list-panes -F '#{pane_pid}')"
server A
client A
# A hostile process: argv with a newline and a forged record naming mosh-server.
forged="proc 1 0 $me p:x:1 999 - 6d6f73682d736572766572 6d6f73682d736572766572"
bash -c 'exec -a "$(printf "sleep\n%s mosh-server" "$1")" sleep 300' _ "$forged" &
hostile=$!
started="$started $hostile"
# O must be over 60 s old, and its utmp line back to "mosh [PID]" (30 s after the
# client's last packet).
while [ $(($(date +%s) - t0)) -lt 63 ]; do sleep 1; done
server N
if [ "$me" = 0 ] && command -v setpriv >/dev/null 2>&1; then
	server U setpriv --reuid=65534 --regid=65534 --clear-groups env HOME=/tmp
else
	U_pid=
fi

# cls FILE PID: "CLASS KILL KILL_DETACHED" of that pid in a --parse report.
cls() {
	awk -v p="$2" '$1 == "server" && $2 == p {
		sub("class=", "", $3); sub("kill=", "", $4); sub("kill_detached=", "", $5)
		print $3, $4, $5 }' "$1"
}
field() {
	awk -v p="$2" -v f="$3=" '$1 == "server" && $2 == p {
		for (i = 3; i <= NF; i++) if (index($i, f) == 1) print substr($i, length(f) + 1) }' "$1"
}
known="--known 7:$O_port:$O_pid:0 --known 8:$A_port:$A_pid:1"

# ---- collect under sh (dash on Debian) and bash -----------------------------------
fail=0
for sh in sh bash; do
	timeout 30 $sh -s <"$collect" >"$tmp/scan-$sh.txt" 2>"$tmp/scan-$sh.err"
	"$helper" --parse "$tmp/scan-$sh.txt" $known >"$tmp/p-$sh.txt"
	grep -q '^result complete=1 suspect=0' "$tmp/p-$sh.txt" || fail=1
	[ -z "$U_pid" ] || ! grep -q "^server $U_pid " "$tmp/p-$sh.txt" || fail=1
done
if [ $fail = 0 ]; then t_ok collect-sh; else t_fail_files collect-sh "$tmp/p-sh.txt" "$tmp/scan-sh.err"; fi

p=$tmp/p-sh.txt
twin=$(awk -v n="$N_pid" '$1 == "server" && /twin of mosh-server/ && $0 ~ "mosh-server " n ":" { print $2 }' "$p")
"$helper" --parse "$tmp/scan-sh.txt" >"$tmp/p-foreign.txt"
if [ "$(cls "$p" "$O_pid")" = "ours-orphaned 1 1" ] &&
    [ "$(cls "$p" "$A_pid")" = "ours-live 0 0" ] &&
    [ "$(cls "$p" "$N_pid")" = "starting 0 0" ] &&
    [ -n "$twin" ] && [ "$(cls "$p" "$twin")" = "starting 0 0" ] &&
    [ "$(field "$p" "$O_pid" port)" = "$O_port" ] &&
    [ "$(cls "$tmp/p-foreign.txt" "$O_pid")" = "detached 0 1" ] &&
    [ "$(cls "$tmp/p-foreign.txt" "$A_pid")" = "attached 0 0" ] &&
    [ "$(grep -c '^server .* kill=1' "$p")" = 1 ]; then
	t_ok classes
else
	t_fail_files classes "$p" "$tmp/p-foreign.txt"
fi

# ---- every fallback finds the same ports ------------------------------------------
fail=
for skip in ss "ss netstat" proc "proc ss netstat"; do
	MOSHMAN_SCAN_SKIP=$skip timeout 30 sh -s <"$collect" >"$tmp/fb.txt" 2>&1
	"$helper" --parse "$tmp/fb.txt" $known >"$tmp/pfb.txt"
	if ! grep -q '^result complete=1 suspect=0' "$tmp/pfb.txt" ||
	    [ "$(field "$tmp/pfb.txt" "$O_pid" port)" != "$O_port" ] ||
	    [ "$(field "$tmp/pfb.txt" "$A_pid" port)" != "$A_port" ] ||
	    [ "$(cls "$tmp/pfb.txt" "$O_pid")" != "ours-orphaned 1 1" ]; then
		fail="$fail [$skip]"
		cp "$tmp/pfb.txt" "$tmp/pfb-bad.txt"
	fi
done
if [ -z "$fail" ]; then t_ok fallbacks; else t_fail_files "fallbacks:$fail" "$tmp/pfb-bad.txt"; fi

# ---- the forged argv yields no record, in /proc and ps mode ------------------------
fail=0
for skip in "" proc; do
	MOSHMAN_SCAN_SKIP=$skip timeout 30 sh -s <"$collect" >"$tmp/h.txt" 2>&1
	"$helper" --parse "$tmp/h.txt" >"$tmp/ph.txt"
	grep -q '^result complete=1 suspect=0' "$tmp/ph.txt" || fail=1
	grep -Eq "^server (1|$hostile) " "$tmp/ph.txt" && fail=1
	[ "$(cls "$tmp/ph.txt" "$O_pid")" = "detached 0 1" ] || fail=1
done
if [ $fail = 0 ]; then t_ok hostile-argv; else t_fail_files hostile-argv "$tmp/h.txt" "$tmp/ph.txt"; fi

# ---- another user's view -----------------------------------------------------------
if [ -n "$U_pid" ]; then
	setpriv --reuid=65534 --regid=65534 --clear-groups timeout 30 sh -s <"$collect" \
	    >"$tmp/u.txt" 2>&1
	"$helper" --parse "$tmp/u.txt" >"$tmp/pu.txt"
	if [ "$(cls "$tmp/pu.txt" "$U_pid")" = "starting 0 0" ] &&
	    ! grep -q "^server $O_pid " "$tmp/pu.txt"; then
		t_ok other-user
	else
		t_fail_files other-user "$tmp/pu.txt"
	fi
elif [ "$me" != 0 ]; then
	t_skip other-user "needs root"
else
	t_fail other-user "setpriv is not installed (util-linux)"
fi

# ---- kill: a reused pid (start token differs) is left alone -------------------------
tok=$(field "$p" "$O_pid" start)
timeout 30 sh -s -- -s TERM "$O_pid:${tok}0" <"$killsh" >"$tmp/k1.txt" 2>&1
"$helper" --kill "$tmp/k1.txt" >"$tmp/pk1.txt"
if grep -q "^pid $O_pid start-changed signals=- " "$tmp/pk1.txt" &&
    grep -q '^kill-result complete=1' "$tmp/pk1.txt" && kill -0 "$O_pid" 2>/dev/null; then
	t_ok kill-reuse
else
	t_fail_files kill-reuse "$tmp/k1.txt"
fi

# ---- kill: not a mosh-server, not ours, malformed ----------------------------------
tmuxpid=$(tmux -S "$tmp/tmux-A" display-message -p '#{pid}')
args="$tmuxpid:p:x:1 $hostile:p:x:1 $O_pid:bad;token"
[ -n "$U_pid" ] && args="$args $U_pid:$(sed -n "s/^proc $U_pid [0-9]* [0-9]* \([^ ]*\) .*/\1/p" "$tmp/u.txt")"
# shellcheck disable=SC2086
timeout 30 sh -s -- $args <"$killsh" >"$tmp/k2.txt" 2>&1
"$helper" --kill "$tmp/k2.txt" >"$tmp/pk2.txt"
if grep -q "^pid $tmuxpid not-mosh " "$tmp/pk2.txt" &&
    grep -q "^pid $hostile not-mosh " "$tmp/pk2.txt" &&
    grep -q "^pid $O_pid bad-request " "$tmp/pk2.txt" &&
    { [ -z "$U_pid" ] || grep -q "^pid $U_pid not-owner " "$tmp/pk2.txt"; } &&
    kill -0 "$tmuxpid" && kill -0 "$hostile" && kill -0 "$O_pid" &&
    { [ -z "$U_pid" ] || kill -0 "$U_pid"; }; then
	t_ok kill-refusals
else
	t_fail_files kill-refusals "$tmp/k2.txt"
fi

# ---- kill exactly the candidates of the default policy -----------------------------
reqs=$(awk '$1 == "server" && $4 == "kill=1" { s = $6; sub("start=", "", s); print $2 ":" s }' "$p")
args=$("$helper" --kill-args TERM 0 $reqs)
t1=$(date +%s)
# shellcheck disable=SC2086
timeout 30 sh -s -- $args <"$killsh" >"$tmp/k3.txt" 2>&1
t2=$(date +%s)
"$helper" --kill "$tmp/k3.txt" >"$tmp/pk3.txt"
state=$(ps -o stat= -p "$O_pid" 2>/dev/null)
if [ "$reqs" = "$O_pid:$tok" ] && grep -q "^pid $O_pid exited signals=TERM " "$tmp/pk3.txt" &&
    grep -q '^kill-result complete=1' "$tmp/pk3.txt" &&
    case $state in '' | Z*) true ;; *) false ;; esac; then
	t_ok "kill-orphan (took $((t2 - t1)) s)"
else
	t_fail_files kill-orphan "$tmp/k3.txt" "$tmp/pk3.txt"
fi

# ---- the attached session and the others survive, A's shell still echoes ------------
tmux -S "$tmp/tmux-A" send-keys "echo still-here-\$((6*7))" Enter
i=0
while ! tmux -S "$tmp/tmux-A" capture-pane -p | grep -q still-here-42; do
	i=$((i + 1))
	[ $i -gt 50 ] && break
	sleep 0.2
done
if tmux -S "$tmp/tmux-A" capture-pane -p | grep -q still-here-42 && kill -0 "$A_pid" &&
    kill -0 "$N_pid" && { [ -z "$U_pid" ] || kill -0 "$U_pid"; }; then
	t_ok attached-survives
else
	tmux -S "$tmp/tmux-A" capture-pane -p >"$tmp/pane.txt"
	t_fail_files attached-survives "$tmp/pane.txt"
fi

# ---- BusyBox: its own tools only (no ss, netstat without -p, who without parens) ----
{
	mkdir "$tmp/bb"
	for a in $(busybox --list); do ln -s "$(command -v busybox)" "$tmp/bb/$a"; done
	env -i PATH="$tmp/bb" MOSHMAN_SCAN_SKIP=ss timeout 30 "$tmp/bb/sh" -s <"$collect" \
	    >"$tmp/bb.txt" 2>&1
	"$helper" --parse "$tmp/bb.txt" --known "8:$A_port:$A_pid:1" >"$tmp/pbb.txt"
	if grep -q '^result complete=1 suspect=0 mode=proc ports=procfd' "$tmp/pbb.txt" &&
	    [ "$(cls "$tmp/pbb.txt" "$A_pid")" = "ours-live 0 0" ] &&
	    [ "$(cls "$tmp/pbb.txt" "$N_pid")" = "starting 0 0" ] &&
	    ! grep -q "^server $O_pid " "$tmp/pbb.txt"; then
		t_ok collect-busybox
	else
		t_fail_files collect-busybox "$tmp/bb.txt" "$tmp/pbb.txt"
	fi
	# USR1 through BusyBox's kill script run; N has no client, so it ends.
	tokn=$(field "$tmp/pbb.txt" "$N_pid" start)
	env -i PATH="$tmp/bb" timeout 30 "$tmp/bb/sh" -s -- -s USR1 "$N_pid:$tokn" \
	    <"$killsh" >"$tmp/k4.txt" 2>&1
	if grep -q "^kill $N_pid exited USR1 " "$tmp/k4.txt" && kill -0 "$A_pid"; then
		t_ok kill-busybox-usr1
	else
		t_fail_files kill-busybox-usr1 "$tmp/k4.txt"
	fi
}
t_done
