# SPDX-License-Identifier: MIT
# Shared by tests/e2e/roam_detached*.sh (bash; sourced after tests/lab/lab.sh,
# connect_common.bash and tunnel_common.bash).  Not a test itself: the runner only runs
# *.sh.  Issue 12's "every roaming and reconnect test still passes with sessions
# detached": a session started with `connect -d` meets the roaming and reconnect events
# while no terminal is attached; after each, a new terminal of another size attaches, a
# line typed at once echoes within a bound, the same mosh-client runs, the row is up and
# says attached, and Ctrl-^ d leaves it detached again for the next event.

# rd_setup NAME: the lab and the run's own attach socket directory (exported before any
# tmux session copies the environment).
rd_setup() {
	connect_setup "$1"
	export XDG_RUNTIME_DIR=$LAB_DIR/xdg
	mkdir -p "$XDG_RUNTIME_DIR"
	chmod 700 "$XDG_RUNTIME_DIR"
	RD_ID='' RD_SUP='' RD_CLI='' RD_N=0
	# A failed run leaves no supervisor behind (lab_down then takes the namespaces).
	trap 'rd_stop; lab_down' EXIT
}

# rd_stop: SIGTERM to the session's supervisor (by its PID in the row) if it still runs.
rd_stop() {
	[ -n "${RD_SUP:-}" ] && kill -0 "$RD_SUP" 2>/dev/null && kill -TERM "$RD_SUP"
	return 0
}

rd_alive() { kill -0 "$RD_SUP" 2>/dev/null && kill -0 "$RD_CLI" 2>/dev/null; }

# rd_wait_attached 0|1 SECONDS: the row's attached column becomes that.
rd_wait_attached() {
	local i
	for i in $(seq 1 $(($2 * 10))); do
		[ "$(col attached "$RD_ID")" = "$1" ] && return 0
		sleep 0.1
	done
	return 1
}

# rd_start PROFILE PATH: `moshman connect -d PROFILE` without a terminal; one test line:
# it says how to attach, the row is up on PATH and detached, supervisor and mosh-client
# run.  Sets RD_ID, RD_SUP (the supervisor), RD_CLI (mosh-client).  1 on failure.
rd_start() {
	local out rc row
	out=$(lab_client timeout 60 "$M" connect -d "$1" </dev/null 2>&1)
	rc=$?
	echo "$out" | sed 's/^/# /'
	RD_ID=$(last_session)
	RD_SUP=$(col supervisor_pid "$RD_ID")
	RD_CLI=$(col client_pid "$RD_ID")
	row=$(q "SELECT state, path, attached FROM sessions WHERE id = $RD_ID")
	if [ "$rc" = 0 ] && [ "$row" = "up|$2|0" ] && rd_alive &&
		echo "$out" | grep -q "attach with: moshman attach $RD_ID"; then
		t_ok "connect -d $1: up on $2, detached, supervisor and mosh-client run"
		return 0
	fi
	t_fail "connect -d $1: up on $2, detached, supervisor and mosh-client run" "rc $rc row $row"
	return 1
}

# rd_procs: the session's client side, found by the row's PIDs (a detached session is
# under no terminal): the supervisor and everything it started (mosh-client among them).
rd_procs() { lab_proc_tree "$RD_SUP"; }

# rd_freeze SECONDS: every client-side process of the session stopped SECONDS (a suspend)
# while the client's address changes, then continued.
rd_freeze() {
	local procs
	procs=$(rd_procs)
	# shellcheck disable=SC2086
	lab_freeze $procs
	sleep 1
	lab_client_addr
	sleep $(($1 - 1))
	# shellcheck disable=SC2086
	lab_thaw $procs
}

# rd_open: a new terminal, of another size each time, attaches to the session; waits
# until the row says attached.  Sets RD_TAG.  1 when it did not attach.
rd_open() {
	local t0
	RD_N=$((RD_N + 1))
	RD_TAG=at$RD_N
	t0=$(ms)
	attach_in "$RD_TAG" $((24 + RD_N % 4 * 5)) $((80 + RD_N % 3 * 25)) attach "$RD_ID"
	if rd_wait_attached 1 15; then
		echo "# $RD_TAG: attached after $(($(ms) - t0 - 500)) ms ($((24 + RD_N % 4 * 5))x$((80 + RD_N % 3 * 25)))"
		return 0
	fi
	lab_tmux_capture "$RD_TAG" | sed 's/^/#   /'
	return 1
}

# rd_typed EV BOUND_S: on the attached terminal, a line typed now echoes within BOUND_S;
# one test line with the time (also printed as a # line).
rd_typed() {
	local ev=$1 bound=$2 t0 dt w=w$RD_N
	t0=$(ms)
	if echo_after "$RD_TAG" "$w" "$bound"; then
		dt=$(($(ms) - t0))
		echo "# $ev: echo ${dt} ms after typing (attached)"
		t_ok "$ev: attached from a new terminal, a line typed at once echoes within $bound s ($dt ms)"
	else
		t_fail "$ev: attached from a new terminal, a line typed at once echoes within $bound s"
		# Late or gone?  Wait longer, so the rest of the run says what works.
		fast_wait "$RD_TAG" "^$w-2" 30 >/dev/null 2>&1 && echo "# $ev: it came after $(($(ms) - t0)) ms"
		events_of "$RD_ID" | tail -n 25 | sed 's/^/#   event: /'
	fi
}

# rd_same EV: the same mosh-client runs, the row is up (within 10 s) and says attached.
rd_same() {
	local ok=0
	wait_state up 10 && [ "$(col client_pid "$RD_ID")" = "$RD_CLI" ] && rd_alive &&
		[ "$(col attached "$RD_ID")" = 1 ] && ok=1
	if [ $ok = 1 ]; then
		t_ok "$1: the same mosh-client ($RD_CLI), the row up and attached"
	else
		t_fail "$1: the same mosh-client ($RD_CLI), the row up and attached" \
			"$(q "SELECT state, attached, client_pid FROM sessions WHERE id = $RD_ID")"
	fi
}

# rd_detach EV: Ctrl-^ d; the attach ends with 0, the row says detached, the session runs.
rd_detach() {
	local st
	lab_tmux_send "$RD_TAG" C-^ d
	st=$(exit_status "$RD_TAG" 10)
	if [ "$st" = 0 ] && rd_wait_attached 0 5 && [ "$(col state "$RD_ID")" = up ] && rd_alive; then
		t_ok "$1: Ctrl-^ d detaches again (status 0, the row up and detached)"
	else
		t_fail "$1: Ctrl-^ d detaches again (status 0, the row up and detached)" \
			"status '$st' row $(q "SELECT state, attached FROM sessions WHERE id = $RD_ID")"
	fi
	lab_tmux_kill "$RD_TAG"
}

# rd_after EV BOUND_S: the event has happened while detached: attach, type, check, detach
# (three test lines).
rd_after() {
	if rd_open; then
		rd_typed "$1" "$2"
	else
		t_fail "$1: attached from a new terminal, a line typed at once echoes within $2 s" "no attach"
	fi
	rd_same "$1"
	rd_detach "$1"
}

# rd_settle EV RELAYS SSHDS: within 45 s the server holds exactly RELAYS relays, SSHDS sshd
# sessions of the lab user and one mosh-server (a link cut without a FIN leaves its relay
# until the relay's idle timeout, ~30 s); one test line.
rd_settle() {
	local i r s m
	for i in $(seq 1 45); do
		r=$(relay_pids | wc -l) s=$(sshd_users | wc -l) m=$(lab_mosh_servers "$LAB_USER" | wc -l)
		[ "$r" = "$2" ] && [ "$s" = "$3" ] && [ "$m" = 1 ] && break
		sleep 1
	done
	echo "# $1: after ${i} s: $r relays, $s sshd sessions, $m mosh-servers"
	t_check "$1: no stray on the server: $2 relay(s) ($r), $3 sshd session(s) ($s), one mosh-server ($m)" \
		[ "$r" = "$2" -a "$s" = "$3" -a "$m" = 1 ]
}

# rd_end: attach, exit the shell: status 0, row closed; then nothing of the session on
# the server (no mosh-server, relay or sshd session of the lab user).  Two test lines.
rd_end() {
	local st i r s m
	if rd_open && lab_tmux_type "$RD_TAG" exit && st=$(exit_status "$RD_TAG" 15) && [ "$st" = 0 ] &&
		[ "$(col state "$RD_ID")" = closed ]; then
		t_ok "attached, exit ends the session (status 0, row closed)"
	else
		t_fail "attached, exit ends the session (status 0, row closed)" "status '${st:-}' state $(col state "$RD_ID")"
	fi
	lab_tmux_kill "$RD_TAG"
	for i in $(seq 1 150); do
		r=$(relay_pids | wc -l) s=$(sshd_users | wc -l) m=$(lab_mosh_servers "$LAB_USER" | wc -l)
		[ "$r$s$m" = 000 ] && break
		sleep 0.1
	done
	t_check "afterwards no mosh-server ($m), relay ($r) or sshd session ($s) on the server" [ "$r$s$m" = 000 ]
}
