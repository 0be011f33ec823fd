# Shared by tests/e2e/connect_*.sh (bash; sourced after tests/lab/lab.sh).
# Not a test itself: the runner only runs *.sh.

M=${MOSHMAN_BIN:?}

# connect_setup: the lab, a database of the run's own, sqlite3 for looking at rows.
connect_setup() {
	lab_start "$@"
	export MOSHMAN_DB=$LAB_DIR/connect/moshman.db
	mkdir -p "$LAB_DIR/connect"
	chmod 700 "$LAB_DIR/connect"
	unset SSH_AUTH_SOCK
}

# q SQL: one query on the run's database.
q() { sqlite3 -cmd '.timeout 3000' "$MOSHMAN_DB" "$1"; }

# add_host NAME OPTIONS...: a profile for the lab's sshd (key auth, strict known_hosts,
# direct UDP) with OPTIONS overriding.
add_host() {
	local name=$1
	shift
	"$M" host add "$name" --host "$LAB_SERVER_IP" --port "$LAB_SSH_PORT" \
		--user "$LAB_USER" --identity "$LAB_KEY" --known-hosts "$LAB_KNOWN_HOSTS" \
		--hostkey-policy strict --transport udp "$@" >&2
}

# ms: a clock in milliseconds.
ms() { echo $(($(date +%s%N) / 1000000)); }

# fast_wait NAME REGEX SECONDS: like lab_tmux_wait, polling every 20 ms (for timings).
fast_wait() {
	local end=$(($(ms) + $3 * 1000))
	while [ "$(ms)" -lt "$end" ]; do
		lab_tmux_capture "$1" 2>/dev/null | grep -Eq -- "$2" && return 0
		sleep 0.02
	done
	lab_tmux_wait "$1" "$2" 1
}

# wait_dead NAME SECONDS: until the pane's program has exited; prints its status.
wait_dead() {
	local i
	for i in $(seq 1 $(($2 * 10))); do
		lab_tmux_status "$1" && return 0
		sleep 0.1
	done
	return 1
}

# start_moshman NAME ARGS...: moshman ARGS in tmux; when it ends the pane says
# "moshman exited N" (tmux does not always keep the status of a pane's program).
start_moshman() {
	local name=$1
	shift
	lab_tmux_start "$name" bash -c '"$0" "$@"; echo "moshman exited $?"; sleep 600' "$M" "$@"
}

# exit_status NAME SECONDS: the status start_moshman's program ended with.
exit_status() {
	lab_tmux_wait "$1" '^moshman exited [0-9]+' "$2" 2>/dev/null || return 1
	lab_tmux_capture "$1" | sed -n 's/^moshman exited \([0-9]*\).*/\1/p' | tail -n 1
}

# no_mosh_servers SECONDS: no mosh-server of the lab user left on the server.
no_mosh_servers() {
	local i
	for i in $(seq 1 $(($1 * 10))); do
		[ -z "$(lab_mosh_servers "$LAB_USER")" ] && return 0
		sleep 0.1
	done
	lab_mosh_servers "$LAB_USER" >&2
	return 1
}

# last_session: id of the newest session row.
last_session() { q "SELECT max(id) FROM sessions"; }

# session_cycle TAG PROFILE [CONNECT OPTIONS...]: a whole session in tmux with one test
# line per promise: 42 on screen, exit ends it with status 0, the row is closed with its
# key wiped, no mosh-server is left.
session_cycle() {
	local tag=$1 prof=$2 st id row
	shift 2
	start_moshman "$tag" connect "$prof" "$@"
	if lab_tmux_wait "$tag" '\$ *$' 30 && lab_tmux_type "$tag" 'echo $((6*7))' &&
		lab_tmux_wait "$tag" '^42' 10; then
		t_ok "$tag: echo \$((6*7)) shows 42"
	else
		t_fail "$tag: echo \$((6*7)) shows 42"
		lab_tmux_kill "$tag"
		return 1
	fi
	id=$(last_session)
	row=$(q "SELECT state, path, mosh_port > 0, server_pid > 0, client_pid > 0, session_key IS NOT NULL FROM sessions WHERE id = $id")
	[ "$row" = "up|udp|1|1|1|1" ] && t_ok "$tag: row is up with port, pids and key" ||
		t_fail "$tag: row is up with port, pids and key" "row: $row"
	lab_tmux_type "$tag" 'exit'
	st=$(exit_status "$tag" 15)
	[ "$st" = 0 ] && t_ok "$tag: exit ends moshman with status 0" ||
		t_fail "$tag: exit ends moshman with status 0" "status '$st'"
	row=$(q "SELECT state, session_key IS NULL, ended_at > 0 FROM sessions WHERE id = $id")
	[ "$row" = "closed|1|1" ] && t_ok "$tag: row closed, key wiped" ||
		t_fail "$tag: row closed, key wiped" "row: $row"
	t_check "$tag: no mosh-server left on the server" no_mosh_servers 10
	lab_tmux_kill "$tag"
}
