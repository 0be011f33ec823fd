# SPDX-License-Identifier: MIT
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
	# moshman makes the database (0600) before sqlite3 looks at it.
	"$M" sessions >/dev/null
}

# q SQL: one query on the run's database.
q() { sqlite3 -cmd '.timeout 3000' "$MOSHMAN_DB" "$1"; }

# events_of SID [KIND [SEP]]: session SID's events as `moshman events SID --json` shows
# them, oldest first, one line each (a newline inside a message becomes a space):
# "kind<TAB>message"; with KIND only the messages of that kind ("" for every kind);
# with SEP all on one line, joined by SEP (like SQL's group_concat).
events_of() {
	"$M" events "$1" --json | jq -r --arg k "${2:-}" --argjson all "$(($# < 2))" \
		--arg sep "${3:-}" --argjson join "$(($# >= 3))" '
		[.[] | select($k == "" or .kind == $k) | (.message | gsub("\n"; " ")) as $m
		 | if $all == 1 then "\(.kind)\t\($m)" else $m end]
		| if $join == 1 then join($sep) else .[] end'
}

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
		[ -z "$(lab_mosh_servers "${SESSION_USER:-$LAB_USER}")" ] && return 0
		sleep 0.1
	done
	lab_mosh_servers "${SESSION_USER:-$LAB_USER}" >&2
	return 1
}

# last_session: id of the newest session row.
last_session() { q "SELECT max(id) FROM sessions"; }

# session_cycle TAG PROFILE [CONNECT OPTIONS...]: a whole session in tmux.
session_cycle() {
	local tag=$1 prof=$2
	shift 2
	start_moshman "$tag" connect "$prof" "$@"
	session_check "$tag"
}

# session_check TAG: for a moshman started in tmux TAG, one test line per promise: 42 on
# screen, row up, exit ends it with status 0, the row closed with its key wiped, no
# mosh-server of $SESSION_USER (default the lab user) left.
session_check() {
	local tag=$1 st id row
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

# fails TAG PATTERN CONNECT-ARGS...: moshman -q connect (without a terminal unless
# FAIL_TTY=1) exits 1 with
# exactly one line matching PATTERN, leaves the newest row failed (or no new row when
# NOROW=1), and no moshman process behind.
fails() {
	local tag=$1 pat=$2 out rc n before after row id
	shift 2
	before=$(q "SELECT count(*) FROM sessions")
	if [ "${FAIL_TTY:-0}" = 1 ]; then
		# On a terminal (script(1) makes one), for failures after the tty check.
		lab_client script -qec "$(printf '%q ' timeout 40 "$M" -q connect "$@")" /dev/null \
			</dev/null >"$LAB_DIR/connect/fails.out" 2>&1
		rc=$?
		out=$(tr -d '\r' <"$LAB_DIR/connect/fails.out")
	else
		out=$(lab_client setsid -w timeout 40 "$M" -q connect "$@" 2>&1 </dev/null)
		rc=$?
	fi
	n=$(printf '%s\n' "$out" | grep -c .)
	if [ "$rc" = 1 ] && [ "$n" = 1 ] && printf '%s\n' "$out" | grep -Eq -- "$pat"; then
		t_ok "$tag: exits 1 with one line"
	else
		t_fail "$tag: exits 1 with one line" "rc $rc, $n lines: $out"
	fi
	echo "# $tag: $out"
	after=$(q "SELECT count(*) FROM sessions")
	if [ "${NOROW:-0}" = 1 ]; then
		[ "$before" = "$after" ] && t_ok "$tag: no session row" ||
			t_fail "$tag: no session row" "$before -> $after rows"
	else
		id=$(last_session)
		row="$(q "SELECT state, session_key IS NULL, ended_at > 0 FROM sessions WHERE id = $id")|$(events_of "$id" state | wc -l)"
		[ "$after" = $((before + 1)) ] && [ "$row" = "failed|1|1|1" ] &&
			t_ok "$tag: row failed with its reason" ||
			t_fail "$tag: row failed with its reason" "$before -> $after rows, last: $row"
	fi
	if pgrep -f "$M -q connect" >/dev/null; then
		t_fail "$tag: no process left" "$(pgrep -af "$M -q connect")"
	else
		t_ok "$tag: no process left"
	fi
}

# col COLUMN ID: one column of session ID's row.
col() { q "SELECT $1 FROM sessions WHERE id = $2"; }

# attach_in TAG ROWS COLS ARGS...: moshman ARGS in a new tmux terminal of that size (it
# waits 0.5 s for the resize, then runs; the pane ends with "moshman exited N").
attach_in() {
	local tag=$1 rows=$2 cols=$3
	shift 3
	lab_tmux_start "$tag" bash -c 'sleep 0.5; "$0" "$@"; echo "moshman exited $?"; sleep 600' "$M" "$@"
	_lab_tmux resize-window -t "=$tag:" -x "$cols" -y "$rows"
}
