#!/bin/bash
# SPDX-License-Identifier: MIT
# Degraded and forced reconnects over the TCP tunnel (UDP blocked throughout):
# (a) a stall shorter than the dead-link time that a new connection cannot cure (the
#     relay stopped, and sshd's listener too) makes the row `degraded`, and it is `up` again after
#     the restore without a reconnect, both changes recorded as events; a stalled relay
#     instead is replaced by a new connection beside it within ~2 s (make-before-break),
#     the row never leaving `up`;
# (b) `moshman reconnect NAME` rebuilds the link at once: reconnects + 1, the same
#     mosh-client runs on and the shell still answers;
# (c) `moshman reconnect` on an unknown name or a supervisor that is gone (its pid now a
#     stranger's) fails with one clear line and signals nothing;
# (d) on transport command it restarts the command; (e) on udp it only records the
#     request (mosh roams by itself).
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
set -u
. "$MOSHMAN_TOP/tests/lab/lab.sh"
t_plan 40
. "$MOSHMAN_TOP/tests/e2e/connect_common.bash"
. "$MOSHMAN_TOP/tests/e2e/tunnel_common.bash"
connect_setup tunnel_health
lab_block_udp
add_host hx

# json_state: the newest session's state, from sessions --json.
json_state() {
	"$M" sessions --json | perl -MJSON::PP -e '
		my $a = decode_json(join "", <STDIN>); my $m = 0; my $s = "";
		for (@$a) { if ($_->{id} > $m) { $m = $_->{id}; $s = $_->{state} } }
		print $s, "\n"'
}

# wait_json_state STATE SECONDS: sessions --json shows STATE for the newest session.
wait_json_state() {
	local end=$(($(ms) + $2 * 1000))
	while [ "$(ms)" -lt "$end" ]; do
		[ "$(json_state)" = "$1" ] && return 0
		sleep 0.2
	done
	return 1
}

# --- (a) a short stall: degraded, then up, no reconnect ---
if tcp_up hl hx; then t_ok "session up over tcp"; else t_fail "session up over tcp"; fi
sid=$(last_session)
cpid=$(client_pid)
r0=$(reconnects)
sleep 3
t_check "an idle session stays up" [ "$(json_state)" = up ]
# The stall: the remote relay stopped (SIGSTOP), so nothing comes back while TCP itself
# stays healthy, and sshd's listener stopped too, so the new connections the tunnel starts
# beside the silent link hang in their handshake.  (A TCP blackhole would leave the
# recovery to TCP's retransmission backoff, which after 4-5 s of silence can wait 3 s
# more: past the dead-link time.)
t0=$(ms)
rp=$(relay_pids)
lp=$(lab_sshd_pid)
lab_server kill -STOP $lp
[ -n "$rp" ] && lab_server kill -STOP $rp
# The silence shows after 3.5 s; the tunnel would call the link dead after ~6-7 s.
if [ -n "$rp" ] && wait_json_state degraded 6; then
	t1=$(ms)
	lab_server kill -CONT $rp
	lab_server kill -CONT $lp
	echo "# degraded $(awk "BEGIN{printf \"%.1f\", ($t1 - $t0) / 1000}") s into the stall"
	t_ok "stall: the row shows degraded (sessions --json)"
else
	[ -n "$rp" ] && lab_server kill -CONT $rp
	lab_server kill -CONT $lp
	t_fail "stall: the row shows degraded (sessions --json)" "relay '$rp', state $(json_state)"
fi
if wait_json_state up 15; then t_ok "restored: the row is up again"; else t_fail "restored: the row is up again" "state $(json_state)"; fi
r1=$(reconnects)
t_check "restored without a reconnect ($r0 -> $r1)" [ "$r1" = "$r0" ]
events_of "$sid" state | sed 's/^/# state: /' | tail -n 3
t_check "an event says degraded and why" [ -n "$(events_of "$sid" state | grep -i '^degraded: no reply for ')" ]
t_check "an event says up again" [ -n "$(events_of "$sid" state | grep -i '^up: replies again')" ]
t_check "no link-dead event" [ -z "$(events_of "$sid" "" | grep -i '^link dead')" ]

# The relay stalls instead: a new connection beside the old one takes over.  (After the
# false alarm above, silence alone is not suspect for 10 s: MBB_QUIET_MS.)
sleep 11
rp=$(relay_pids)
lab_server kill -STOP $rp
lab_tmux_type hl 'echo stall-$((3+3))'
t0=$(ms)
if fast_wait hl '^stall-6' 10; then
	t1=$(ms)
	echo "# relay stalled: the typed line echoed after $((t1 - t0)) ms"
	t_check "stalled relay: a line typed meanwhile echoes within 4 s ($((t1 - t0)) ms)" [ $((t1 - t0)) -le 4000 ]
else
	t_fail "stalled relay: a line typed meanwhile echoes"
fi
lab_server kill -CONT $rp
r2=$(reconnects)
t_check "stalled relay: moved to a new connection (reconnects $r1 -> $r2)" [ "$r2" = $((r1 + 1)) ]
t_check "stalled relay: the event says so" [ -n "$(events_of "$sid" "" | grep -i '^moved to a new connection.*before it broke')" ]
t_check "stalled relay: no link-dead event" [ -z "$(events_of "$sid" "" | grep -i '^link dead')" ]
t_check "stalled relay: the row stays up" [ "$(json_state)" = up ]
r0=$r2

# --- (b) moshman reconnect NAME ---
out=$("$M" reconnect hx 2>&1)
rc=$?
echo "# $out"
t_check "reconnect hx: exit 0 and says what it did" [ "$rc" = 0 -a -n "$(echo "$out" | grep 'asked to reconnect: rebuilding the tunnel')" ]
if wait_reconnects $((r0 + 1)) 15; then t_ok "reconnect: reconnects went up by one"; else t_fail "reconnect: reconnects went up by one" "$(reconnects)"; fi
t_check "reconnect: an event says it was requested" [ -n "$(events_of "$sid" reconnect | grep -i '^reconnect requested')" ]
t_check "reconnect: the same mosh-client runs" kill -0 "$cpid"
t_check "reconnect: the same mosh-client pid in the row" [ "$(client_pid)" = "$cpid" ]
lab_tmux_type hl 'clear'
sleep 0.5
lab_tmux_type hl 'echo $((6*7))'
if lab_tmux_wait hl '^42' 15; then t_ok "reconnect: the shell answers 42 afterwards"; else t_fail "reconnect: the shell answers 42 afterwards"; fi
out=$("$M" reconnect "$sid" 2>&1)
rc=$?
t_check "reconnect by session id: exit 0" [ "$rc" = 0 ]
if wait_reconnects $((r0 + 2)) 15 && echo_after hl byid 15; then t_ok "reconnect by id: rebuilt, the shell answers"; else t_fail "reconnect by id: rebuilt, the shell answers"; fi

# --- (c) refusals: nothing is signalled ---
out=$("$M" reconnect nosuchhost 2>&1)
rc=$?
echo "# $out"
t_check "unknown name: exit 1 with one clear line" [ "$rc" = 1 -a "$(echo "$out" | wc -l)" = 1 -a -n "$(echo "$out" | grep "no live session with id or host name 'nosuchhost'")" ]
out=$("$M" reconnect 2>&1)
t_check "no argument: exit 2" [ $? = 2 ]
# A row whose supervisor pid now belongs to another process (another start time): SIGUSR2
# would end that sleep, so it must still run afterwards.
sleep 300 &
stranger=$!
"$M" host add ghost --host "$LAB_SERVER_IP" --user "$LAB_USER" >&2
q "INSERT INTO sessions (host_id, host_name, state, transport, path, mosh_port, supervisor_pid, supervisor_start, started_at, updated_at) VALUES ((SELECT id FROM hosts WHERE name = 'ghost'), 'ghost', 'up', 'tcp', 'tcp', 60999, $stranger, 1, 1, 1)"
gid=$(q "SELECT max(id) FROM sessions WHERE host_name = 'ghost'")
out=$("$M" reconnect ghost 2>&1)
rc=$?
echo "# $out"
t_check "reused supervisor pid: exit 1, says the supervisor is gone" [ "$rc" = 1 -a -n "$(echo "$out" | grep 'supervisor (pid [0-9]*) is gone; marked orphaned')" ]
t_check "reused supervisor pid: the stranger was not signalled" kill -0 "$stranger"
t_check "reused supervisor pid: the row is orphaned" [ "$(q "SELECT state FROM sessions WHERE id = $gid")" = orphaned ]
kill "$stranger"; wait "$stranger" 2>/dev/null
# A supervisor pid that is simply gone.
sh -c 'exit 0' & dead=$!; wait $dead
q "INSERT INTO sessions (host_id, host_name, state, transport, path, mosh_port, supervisor_pid, supervisor_start, started_at, updated_at) VALUES ((SELECT id FROM hosts WHERE name = 'ghost'), 'ghost', 'degraded', 'tcp', 'tcp', 60998, $dead, 1, 1, 1)"
gid=$(q "SELECT max(id) FROM sessions WHERE host_name = 'ghost'")
out=$("$M" reconnect "$gid" 2>&1)
rc=$?
t_check "dead supervisor pid: exit 1, the row is orphaned" [ "$rc" = 1 -a "$(q "SELECT state FROM sessions WHERE id = $gid")" = orphaned ]
t_check "the lab session still runs, reconnects unchanged" [ "$(q "SELECT state FROM sessions WHERE id = $sid")" = up -a "$(q "SELECT reconnects FROM sessions WHERE id = $sid")" = $((r0 + 2)) ]

if tcp_end hl; then t_ok "exit ends moshman with status 0"; else t_fail "exit ends moshman with status 0"; fi

# --- (d) transport command: the command is restarted ---
add_host cx --transport command --tunnel-command "$M -q tunnel hx --local 127.0.0.1:{{local_port}} --remote 127.0.0.1:{{mosh_port}}"
start_moshman cm connect cx
if lab_tmux_wait cm '\$ *$' 30; then
	cid=$(last_session)
	out=$("$M" reconnect cx 2>&1)
	rc=$?
	echo "# $out"
	t_check "command: reconnect says it restarts the command" [ "$rc" = 0 -a -n "$(echo "$out" | grep 'restarting the tunnel command')" ]
	t_check "command: started again" command_starts "$cid" 2 10
	t_check "command: reconnects 1" wait_reconnects 1 10
	if echo_after cm aftercmd 30; then t_ok "command: the session goes on"; else t_fail "command: the session goes on"; fi
	if tcp_end cm; then t_ok "command: exit ends moshman with status 0"; else t_fail "command: exit ends moshman with status 0"; fi
else
	t_fail "command: reconnect says it restarts the command" "no session"
	lab_tmux_kill cm
fi

# --- (e) udp: nothing to rebuild, the request is recorded ---
lab_unblock_udp
add_host ux --transport udp
start_moshman ud connect ux
if lab_tmux_wait ud '\$ *$' 30; then
	uid=$(last_session)
	out=$("$M" reconnect "$uid" 2>&1)
	rc=$?
	echo "# $out"
	t_check "udp: reconnect exits 0 and says there is nothing to rebuild" [ "$rc" = 0 -a -n "$(echo "$out" | grep 'nothing to rebuild')" ]
	ev=""
	for i in $(seq 1 50); do
		ev=$(events_of "$uid" reconnect | grep -i '^reconnect requested')
		[ -n "$ev" ] && break
		sleep 0.1
	done
	t_check "udp: the request is an event ($ev)" [ -n "$ev" ]
	t_check "udp: no reconnect counted, still up" [ "$(q "SELECT reconnects || state FROM sessions WHERE id = $uid")" = 0up ]
	if echo_after ud afterudp 15; then t_ok "udp: the session goes on"; else t_fail "udp: the session goes on"; fi
	if tcp_end ud; then t_ok "udp: exit ends moshman with status 0"; else t_fail "udp: exit ends moshman with status 0"; fi
else
	t_fail "udp: reconnect exits 0 and says there is nothing to rebuild" "no session"
	lab_tmux_kill ud
fi
t_check "no mosh-server left on the server" no_mosh_servers 10
t_done
