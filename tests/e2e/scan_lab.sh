#!/bin/bash
# SPDX-License-Identifier: MIT
# moshman scan and clean against the lab's server (about 70 s).
#
# The scene, for the lab user: a live moshman session (L), a moshman orphan whose
# supervisor and mosh-client were SIGKILLed (O), a detached server started by plain ssh
# with no client (D), an attached session of the real mosh wrapper (A); and an attached
# mosh session of the second user (X).  Then scan --json must classify each; clean
# --dry-run kills nothing; clean --yes kills exactly O; clean --yes --detached also D;
# L, A and X still echo after every run.  A session row whose pid now names another
# process gets nothing killed.  Last, a parallel scan of eight profiles (seven for the
# same sshd, one that never answers) takes about the time of the slowest one.
#
# MOSHMAN_SCAN_STARTING_S=20 shortens the classifier's 60 s "starting" age so the scene
# is ready as soon as mosh-server flips O's utmp mark to detached (30 s after its client
# was last heard).
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
set -u
. "$MOSHMAN_TOP/tests/lab/lab.sh"
t_plan 27
. "$MOSHMAN_TOP/tests/e2e/connect_common.bash"
connect_setup scan_lab
export MOSHMAN_SCAN_STARTING_S=20
add_host s

uid_of() { id -u "$1"; }
U=$(uid_of "$LAB_USER")
UX=$(uid_of "$LAB_OTHER_USER")
# servers UID: pids of that uid's mosh-servers on the server, one per line.
servers() { lab_server ps -C mosh-server -o pid=,uid= 2>/dev/null | awk -v u="$1" '$2 == u { print $1 }' | sort -n; }
alive() { lab_server kill -0 "$1" 2>/dev/null; }
scanjson() { lab_client timeout 60 "$M" scan s --json 2>"$LAB_DIR/scan.err"; }
class_of() { jq -r --argjson p "$2" '.[0].servers[] | select(.pid == $p) | .class' <<<"$1"; }
field_of() { jq -r --argjson p "$2" ".[0].servers[] | select(.pid == \$p) | .$3" <<<"$1"; }

# ---- the scene ---------------------------------------------------------------------------
# D first: it has to be older than the starting age when the scene is ready.
out=$(lab_client timeout 20 $LAB_SSH "$LAB_USER@$LAB_SERVER_IP" \
	env LC_ALL=C.UTF-8 mosh-server new -s -- /bin/sh </dev/null 2>&1)
D=$(printf '%s\n' "$out" | sed -n 's/.*mosh-server detached, pid = \([0-9]*\).*/\1/p')

start_moshman live connect s
lab_tmux_wait live '\$ *$' 30 >/dev/null 2>&1
L_ID=$(last_session)
start_moshman orph connect s
lab_tmux_wait orph '\$ *$' 30 >/dev/null 2>&1
O_ID=$(last_session)
before=$(servers "$U")
lab_tmux_start att mosh --ssh="$LAB_SSH" "$LAB_USER@$LAB_SERVER_IP"
lab_tmux_wait att '\$ *$' 30 >/dev/null 2>&1
lab_tmux_start other mosh --ssh="$LAB_SSH" "$LAB_OTHER_USER@$LAB_SERVER_IP"
lab_tmux_wait other '\$ *$' 30 >/dev/null 2>&1
sleep 1
A=$(servers "$U" | grep -vxF -e "${before:-none}" | head -n 1)
X=$(servers "$UX" | head -n 1)
L=$(q "SELECT server_pid FROM sessions WHERE id = $L_ID")
O=$(q "SELECT server_pid FROM sessions WHERE id = $O_ID")
echo "# scene: live $L (session $L_ID), orphan $O (session $O_ID), detached $D, attached $A, other user $X"
if [ -z "$D" ] || [ -z "$L" ] || [ -z "$O" ] || [ -z "$A" ] || [ -z "$X" ] || [ "$L" = 0 ] || [ "$O" = 0 ]; then
	t_fail "the scene is set up" "$(lab_mosh_servers)"
	exit 1
fi
t_ok "the scene is set up (5 mosh-servers of two users)"

# The orphan: its supervisor and mosh-client die without a word.
kill -KILL "$(q "SELECT supervisor_pid FROM sessions WHERE id = $O_ID")" \
	"$(q "SELECT client_pid FROM sessions WHERE id = $O_ID")"
# mosh-server marks its utmp line detached 30 s after it last heard a client.
for i in $(seq 1 50); do
	lab_server who | grep -q "(mosh \[$O\])" && break
	sleep 1
done
lab_server who | sed 's/^/# who: /'

# echoes ROUND: L, A and X each echo a token typed into their panes.
echoes() {
	local r=$1 t ok=1 why=
	for t in live att other; do
		lab_tmux_type "$t" "echo $r-$t-\$((6*7))"
		lab_tmux_wait "$t" "^$r-$t-42" 10 2>/dev/null || { ok=0; why="$why $t"; }
	done
	[ $ok = 1 ] && t_ok "$r: the live session, the attached one and the other user's still echo" ||
		t_fail "$r: the live session, the attached one and the other user's still echo" "silent:$why"
}

# ---- scan --json ----------------------------------------------------------------------
js=$(scanjson)
rc=$?
echo "$js" | jq -c '.[0].servers[] | {pid, class, candidate, candidate_detached, why}' | sed 's/^/# /'
[ $rc = 0 ] && [ "$(jq -r '.[0].status' <<<"$js")" = ok ] && t_ok "scan --json: exit 0, status ok" ||
	t_fail "scan --json: exit 0, status ok" "rc $rc: $(cat "$LAB_DIR/scan.err")"
[ "$(class_of "$js" "$L")" = ours-live ] && [ "$(field_of "$js" "$L" session_id)" = "$L_ID" ] &&
	t_ok "scan: the live moshman session is ours-live" || t_fail "scan: the live moshman session is ours-live"
[ "$(class_of "$js" "$O")" = ours-orphaned ] && [ "$(field_of "$js" "$O" candidate)" = true ] &&
	t_ok "scan: the orphan is ours-orphaned and a candidate" ||
	t_fail "scan: the orphan is ours-orphaned and a candidate" "$(field_of "$js" "$O" why)"
[ "$(class_of "$js" "$D")" = detached ] && [ "$(field_of "$js" "$D" candidate)" = false ] &&
	[ "$(field_of "$js" "$D" candidate_detached)" = true ] &&
	t_ok "scan: the plain ssh server is detached (a target with --detached only)" ||
	t_fail "scan: the plain ssh server is detached (a target with --detached only)" "$(field_of "$js" "$D" why)"
[ "$(class_of "$js" "$A")" = attached ] && [ "$(field_of "$js" "$A" candidate_detached)" = false ] &&
	t_ok "scan: the real mosh session is attached, never a candidate" ||
	t_fail "scan: the real mosh session is attached, never a candidate" "$(field_of "$js" "$A" why)"
[ -z "$(class_of "$js" "$X")" ] && t_ok "scan: the other user's server is not listed" ||
	t_fail "scan: the other user's server is not listed"
n=$(jq '[.[0].servers[] | select(.candidate or .candidate_detached)] | length' <<<"$js")
[ "$n" = 2 ] && t_ok "scan: exactly two candidates (orphan, detached)" || t_fail "scan: exactly two candidates (orphan, detached)" "$n"
[ "$(q "SELECT state FROM sessions WHERE id = $O_ID")" = orphaned ] &&
	[ "$(events_of "$O_ID" "" | grep -ic 'supervisor.*gone')" -ge 1 ] &&
	t_ok "the orphan's row is marked orphaned with an event" || t_fail "the orphan's row is marked orphaned with an event"
line=$(lab_client timeout 60 "$M" scan s | tail -n 1)
echo "# last line: $line"
[[ $line == "s: "*" mosh-servers ("*"1 orphaned"*"1 detached"*"1 attached"*"1 live"* ]] &&
	t_ok "scan: the last line is a one-line summary" || t_fail "scan: the last line is a one-line summary" "$line"

# ---- clean --dry-run, refusals ---------------------------------------------------------
all="$L $O $D $A $X"
out=$(lab_client timeout 60 "$M" clean s --dry-run --detached 2>&1)
rc=$?
echo "$out" | sed 's/^/# dry-run: /'
still=0
for p in $all; do alive "$p" && still=$((still + 1)); done
[ $rc = 0 ] && [ $still = 5 ] && grep -q "would kill pid $O" <<<"$out" && grep -q "would kill pid $D" <<<"$out" &&
	t_ok "clean --dry-run --detached: lists orphan and detached, kills nothing" ||
	t_fail "clean --dry-run --detached: lists orphan and detached, kills nothing" "rc $rc, $still alive"
out=$(lab_client setsid -w timeout 60 "$M" clean s </dev/null 2>&1)
rc=$?
[ $rc = 2 ] && grep -q -- "--yes" <<<"$out" && alive "$O" &&
	t_ok "clean without a tty and without --yes refuses (exit 2)" ||
	t_fail "clean without a tty and without --yes refuses (exit 2)" "rc $rc: $out"
lab_tmux_start ask bash -c '"$0" clean s; echo "clean exited $?"; sleep 60' "$M"
if lab_tmux_wait ask "target pid $O" 30 && lab_tmux_wait ask 'Kill 1 mosh-server with SIGTERM' 5; then
	lab_tmux_type ask no
	lab_tmux_wait ask '^clean exited 0' 10 && alive "$O" &&
		t_ok "clean on a tty lists the targets and asks; 'no' kills nothing" ||
		t_fail "clean on a tty lists the targets and asks; 'no' kills nothing"
else
	t_fail "clean on a tty lists the targets and asks; 'no' kills nothing" "no question"
fi
lab_tmux_kill ask
out=$(lab_client timeout 60 "$M" clean s --yes --pid "$A" 2>&1)
rc=$?
[ $rc = 1 ] && alive "$A" && t_ok "clean --pid of an attached server kills nothing (exit 1)" ||
	t_fail "clean --pid of an attached server kills nothing (exit 1)" "rc $rc: $out"
echoes r1

# ---- PID reuse: a session row whose pid is now another process ----------------------------
# A process of the lab user that is not a mosh-server, and the attached server (another
# port): both named by fake orphaned rows with ports no server has.
lab_server su -s /bin/sh "$LAB_USER" -c 'sleep 300 >/dev/null 2>&1 & echo $!' >"$LAB_DIR/sleep.pid"
S=$(cat "$LAB_DIR/sleep.pid")
hid=$(q "SELECT id FROM hosts WHERE name = 's'")
old=$(( $(ms) - 600000 ))
q "INSERT INTO sessions (host_id, host_name, state, mosh_port, server_pid, started_at, updated_at) VALUES ($hid, 's', 'orphaned', 60999, $S, $old, $old)"
q "INSERT INTO sessions (host_id, host_name, state, mosh_port, server_pid, started_at, updated_at) VALUES ($hid, 's', 'orphaned', 60998, $A, $old, $old)"
js=$(scanjson)
out=$(lab_client timeout 60 "$M" clean s --yes 2>&1)
echo "$out" | sed 's/^/# clean --yes: /'
still=0
for p in $L $D $A $X $S; do alive "$p" && still=$((still + 1)); done
if [ -n "$S" ] && alive "$S" && alive "$A" && [ "$(class_of "$js" "$A")" != ours-orphaned ]; then
	t_ok "pid reuse: rows naming another process (a sleep, another mosh-server) kill nothing"
else
	t_fail "pid reuse: rows naming another process (a sleep, another mosh-server) kill nothing" \
		"sleep alive: $(alive "$S" && echo y), A class $(class_of "$js" "$A")"
fi

# ---- clean --yes: exactly the orphan ------------------------------------------------------
if ! alive "$O" && [ $still = 5 ]; then
	t_ok "clean --yes kills exactly the orphan"
else
	t_fail "clean --yes kills exactly the orphan" "orphan alive: $(alive "$O" && echo y), others alive $still/5"
fi
row=$(q "SELECT state, session_key IS NULL FROM sessions WHERE id = $O_ID")
ev=$(events_of "$O_ID" "" | grep -ic "^clean: mosh-server pid $O.*exited")
[ "$row" = "killed|1" ] && [ "$ev" -ge 1 ] && t_ok "the orphan's row is killed, key wiped, event recorded" ||
	t_fail "the orphan's row is killed, key wiped, event recorded" "row $row, events $ev"
last=$(tail -n 1 <<<"$out")
[[ $last == "s: 1 of 1 mosh-server killed (pid $O)" ]] && t_ok "clean: the last line is a one-line summary" ||
	t_fail "clean: the last line is a one-line summary" "$last"
lab_server kill "$S" 2>/dev/null
q "DELETE FROM sessions WHERE server_pid IN ($S, $A)"
echoes r2

# ---- clean --yes --detached: the detached one too -------------------------------------------
js=$(lab_client timeout 60 "$M" clean s --yes --detached --json 2>&1)
rc=$?
still=0
for p in $L $A $X; do alive "$p" && still=$((still + 1)); done
if [ $rc = 0 ] && ! alive "$D" && [ $still = 3 ] &&
	[ "$(jq -r --argjson p "$D" '.[0].targets[] | select(.pid == $p) | .gone' <<<"$js")" = true ]; then
	t_ok "clean --yes --detached --json also kills the detached server, reports it gone"
else
	t_fail "clean --yes --detached --json also kills the detached server, reports it gone" "rc $rc, $js"
fi
n=$(jq '[.[0].scan.servers[]] | length' <<<"$js")
[ "$n" = 2 ] && t_ok "the saved scan keeps only the live and attached servers" ||
	t_fail "the saved scan keeps only the live and attached servers" "$n servers"
echoes r3

# ---- parallel scan ---------------------------------------------------------------------
# A listener that accepts and never speaks: an ssh host that does not answer.
lab_client perl -MIO::Socket::INET -e '$SIG{ALRM} = sub { exit 0 }; alarm 60;
	my $l = IO::Socket::INET->new(LocalAddr => "127.0.0.1:2299", Listen => 16, ReuseAddr => 1) or die;
	open my $f, ">", $ARGV[0]; print $f "$$\n"; close $f; my @c; while (my $c = $l->accept) { push @c, $c }' \
	"$LAB_DIR/silent.pid" &
silent_job=$!
for i in $(seq 1 7); do add_host "p$i"; done
"$M" host add dead --host 127.0.0.1 --port 2299 --user "$LAB_USER" --identity "$LAB_KEY" \
	--known-hosts "$LAB_KNOWN_HOSTS" --hostkey-policy strict >&2
sleep 0.5
t0=$(ms)
lab_client timeout 60 "$M" scan s --timeout 5 >/dev/null 2>&1
t1=$(ms)
out=$(lab_client timeout 60 "$M" scan p1 p2 p3 p4 p5 p6 p7 --timeout 5 2>&1)
t2=$(ms)
out8=$(lab_client timeout 60 "$M" scan p1 p2 p3 p4 p5 p6 p7 dead --timeout 5 --json 2>&1)
rc=$?
t3=$(ms)
one=$((t1 - t0)) seven=$((t2 - t1)) eight=$((t3 - t2))
printf '# scan 1 host %d.%03d s, 7 hosts %d.%03d s, 8 hosts (one silent, timeout 5 s) %d.%03d s\n' \
	$((one / 1000)) $((one % 1000)) $((seven / 1000)) $((seven % 1000)) $((eight / 1000)) $((eight % 1000))
oks=$(jq '[.[] | select(.status == "ok")] | length' <<<"$out8")
dead=$(jq -r '.[] | select(.host == "dead") | .status' <<<"$out8")
[ "$rc" = 1 ] && [ "$oks" = 7 ] && [ "$dead" = unreachable ] &&
	t_ok "parallel scan: 7 hosts ok, the silent one unreachable (exit 1)" ||
	t_fail "parallel scan: 7 hosts ok, the silent one unreachable (exit 1)" "rc $rc ok $oks dead $dead"
[ "$seven" -lt $((one * 7)) ] && [ "$seven" -lt $((one + 2000)) ] &&
	t_ok "parallel scan: 7 reachable hosts take about as long as one" ||
	t_fail "parallel scan: 7 reachable hosts take about as long as one" "$one ms vs $seven ms"
[ "$eight" -ge 4500 ] && [ "$eight" -lt 7000 ] &&
	t_ok "parallel scan: with a silent host it takes about its timeout (5 s), no more" ||
	t_fail "parallel scan: with a silent host it takes about its timeout (5 s), no more" "$eight ms"
out=$(lab_client timeout 60 "$M" clean p1 dead --yes --timeout 3 2>&1)
rc=$?
echo "$out" | sed 's/^/# clean p1 dead: /'
[ $rc = 1 ] && grep -q '^dead: unreachable' <<<"$out" && grep -q 'not scanned fully$' <<<"$out" && alive "$L" && alive "$A" &&
	t_ok "clean with an unreachable host: reported, exit 1, nothing else touched" ||
	t_fail "clean with an unreachable host: reported, exit 1, nothing else touched" "rc $rc"
[ -s "$LAB_DIR/silent.pid" ] && kill "$(cat "$LAB_DIR/silent.pid")" 2>/dev/null
wait "$silent_job" 2>/dev/null

for t in live att other; do lab_tmux_send "$t" C-d; done
t_done
