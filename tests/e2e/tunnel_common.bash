# SPDX-License-Identifier: MIT
# Shared by tests/e2e/tunnel_*.sh (bash; sourced after tests/lab/lab.sh and
# connect_common.bash).  Not a test itself: the runner only runs *.sh.

# native_relay on|off: put the build's moshman on the lab user's remote PATH (the server
# shares this filesystem; its home is its own), or take it away.
native_relay() {
	local h
	h=$(lab_server_home "$LAB_USER")
	if [ "$1" = on ]; then
		mkdir -p "$h/bin"
		ln -sf "$M" "$h/bin/moshman"
		printf 'PATH=$HOME/bin:$PATH\n' >"$h/.bashrc"
		chown -R "$LAB_USER" "$h/bin" "$h/.bashrc"
	else
		rm -rf "$h/bin" "$h/.bashrc"
	fi
}

# tcp_up TAG PROFILE: moshman connect --transport tcp in tmux TAG, 42 on screen.
tcp_up() {
	start_moshman "$1" connect "$2" --transport tcp
	lab_tmux_wait "$1" '\$ *$' 30 && lab_tmux_type "$1" 'echo $((6*7))' &&
		lab_tmux_wait "$1" '^42' 15
}

# tcp_end TAG: exit the shell, moshman ends with 0.
tcp_end() {
	local st
	lab_tmux_type "$1" 'exit'
	st=$(exit_status "$1" 15)
	lab_tmux_kill "$1"
	[ "$st" = 0 ]
}

# client_pid TAG: host PID of the mosh-client under the tmux pane.
client_pid() { q "SELECT client_pid FROM sessions WHERE id = $(last_session)"; }

# reconnects: the newest session's reconnect count, from sessions --json.
reconnects() {
	"$M" sessions --json | perl -MJSON::PP -e '
		my $a = decode_json(join "", <STDIN>); my $m = 0; my $r = -1;
		for (@$a) { if ($_->{id} > $m) { $m = $_->{id}; $r = $_->{reconnects} } }
		print $r, "\n"'
}

# relay_pids: server PIDs of the remote relays (perl or native) of the lab user.
relay_pids() {
	lab_server ps -u "$LAB_USER" -o pid=,args= | grep -E 'moshman relay|perl -e' |
		grep -v grep | awk '{print $1}'
}

# wait_state STATE SECONDS: the newest session row reaches STATE.
wait_state() {
	local i
	for i in $(seq 1 $(($2 * 10))); do
		[ "$(q "SELECT state FROM sessions WHERE id = $(last_session)")" = "$1" ] && return 0
		sleep 0.1
	done
	return 1
}

# wait_path PATH SECONDS: the newest row's path becomes PATH.
wait_path() {
	local i
	for i in $(seq 1 $(($2 * 10))); do
		[ "$(q "SELECT path FROM sessions WHERE id = $(last_session)")" = "$1" ] && return 0
		sleep 0.1
	done
	q "SELECT path FROM sessions WHERE id = $(last_session)" >&2
	return 1
}

# wait_reconnects N SECONDS: the newest session has at least N reconnects and is up.
wait_reconnects() {
	local i r
	for i in $(seq 1 $(($2 * 10))); do
		r=$(q "SELECT reconnects FROM sessions WHERE id = $(last_session) AND state = 'up'")
		[ -n "$r" ] && [ "$r" -ge "$1" ] && return 0
		sleep 0.1
	done
	return 1
}

# echo_after TAG WORD SECONDS: type "echo WORD-$((1+1))" and wait for WORD-2.
echo_after() {
	lab_tmux_type "$1" "echo $2-\$((1+1))"
	fast_wait "$1" "^$2-2" "$3"
}

# command_starts SID N SECONDS: session SID's tunnel command has started N times (its
# "tunnel command started" events), waiting up to SECONDS.
command_starts() {
	local i n
	for i in $(seq 1 $(($3 * 10))); do
		n=$(events_of "$1" command | grep -ic '^tunnel command started')
		[ "$n" -ge "$2" ] && return 0
		sleep 0.1
	done
	return 1
}

# sshd_users: the lab user's sshd session processes on the server (one per connection).
sshd_users() { lab_server ps -u "$LAB_USER" -o pid=,args= | awk '/sshd: /{ print $1 }'; }
