#!/bin/sh
# SPDX-License-Identifier: MIT
# The dashboard driven through tmux: paint, help, filter, the add form (a bad port is
# refused next to the field, nothing saved), sort, pin, delete, resize to 60x15 and back,
# quitting and SIGTERM both restore the terminal.  With MOSHMAN_UPDATE_DOCS=1 the screens
# are saved to docs/screens/.
set -u
M=${MOSHMAN_BIN:?}
. "$MOSHMAN_TOP/tests/t.sh"
T_PREFIX=dash
t_plan 28
command -v tmux >/dev/null 2>&1 || { t_fail "setup" "tmux is not installed (make deps-test)"; exit 1; }
T=$(mktemp -d "${TMPDIR:-/tmp}/moshman-dash.XXXXXX")
S="$T/tmux.sock"
tm() { tmux -S "$S" "$@"; }
cleanup() { tm kill-server 2>/dev/null; rm -rf "$T"; }
trap cleanup EXIT INT TERM
export MOSHMAN_DB="$T/m.db" HOME="$T"
screen() { tm capture-pane -p -t "${1:-d}"; }
# wait_for REGEX [SECONDS] [TARGET]: bounded wait until the screen (of window TARGET)
# matches
wait_for() {
	i=0 limit=$(( ${2:-5} * 10 ))
	while [ $i -lt $limit ]; do
		screen "${3:-d}" | grep -Eq -- "$1" && return 0
		sleep 0.1; i=$((i + 1))
	done
	return 1
}
# wait_size WxH: until tmux has resized the window (5 s at most)
wait_size() {
	i=0
	while [ "$(tm display-message -p -t d '#{window_width}x#{window_height}')" != "$1" ] && [ $i -lt 50 ]; do
		sleep 0.1; i=$((i + 1))
	done
}
check() { # check NAME REGEX [SECONDS]
	if wait_for "$2" "${3:-5}"; then t_ok "$1"; else t_fail "$1" "screen lacks /$2/"; screen | sed 's/^/    | /'; fi
}
save_screen() {
	[ "${MOSHMAN_UPDATE_DOCS:-}" = 1 ] || return 0
	mkdir -p "$MOSHMAN_TOP/docs/screens"
	screen > "$MOSHMAN_TOP/docs/screens/$1.txt"
}

"$M" host add alpha --host alpha.example.org --user alice --tag web >/dev/null
"$M" host add beta --host 10.0.0.2 --port 2222 --proxy socks5://127.0.0.1:1080 --tag db >/dev/null
"$M" host add gamma --host gamma.example.org --jump ops@bastion.example.org >/dev/null

tm new-session -d -s d -x 100 -y 30 "env LANG=C.UTF-8 '$M'; stty -a > '$T/stty'; echo RETURNED; sleep 60"
check "first paint lists the hosts" "alpha +alice@alpha.example.org:22"
check "routes shown" "socks5 127.0.0.1:1080"
check "panes and status line" "Sessions \(0 live\)"
save_screen hosts

tm send-keys -t d '?'
check "help screen lists the keys" "x F9 +kill the selected or tagged servers"
save_screen help
tm send-keys -t d q
check "any key closes help (q does not quit from help)" "Hosts \(recent\)"

tm send-keys -t d / g a m
check "filter as you type" "filter gam"
if screen | grep -q "alice@alpha"; then t_fail "filter hides other hosts"; else t_ok "filter hides other hosts"; fi
tm send-keys -t d Escape
check "Esc clears the filter and does not quit" "alice@alpha"

tm send-keys -t d a
check "add form opens" "Add a host"
tm send-keys -t d delta Tab delta.example.org Tab C-u 70000 F2
check "bad port refused next to the field" "'70000' is not a port number \(1-65535\)"
save_screen form
tm send-keys -t d C-u 2200 F2
check "fixed form saves" "saved delta"
if "$M" host show delta --json | jq -e '.port == 2200 and .host == "delta.example.org"' >/dev/null; then
	t_ok "the form saved a valid profile"; else t_fail "the form saved a valid profile"; fi

tm send-keys -t d s
check "s cycles the sort" "Hosts \(name\)"
tm send-keys -t d End
check "End selects the last host" "Remote servers on gamma"
tm send-keys -t d p
check "p pins the selected host and it moves first" "^(★|\*) gamma"
if "$M" host list --json | jq -e '[.[] | select(.pinned) | .name] == ["gamma"]' >/dev/null; then
	t_ok "the pin is stored"; else t_fail "the pin is stored"; fi

tm send-keys -t d / d e l t a Enter d
check "delete asks first" "Delete host\?"
tm send-keys -t d y
check "delete removes it" "deleted delta"
tm send-keys -t d Escape

tm send-keys -t d 2
check "pane switch to Sessions" "no sessions in the last hour"
save_screen sessions
tm send-keys -t d 3
check "Remote servers pane" "Remote servers on [a-z]+: not scanned"
save_screen servers

tm resize-window -t d -x 60 -y 15
wait_size 60x15
tm send-keys -t d C-l
check "resized to 60x15 still shows hosts" "alice@alpha"
w=$(screen | LC_ALL=C.UTF-8 wc -L)
[ "${w:-99}" -le 60 ] && t_ok "nothing drawn past 60 columns" || t_fail "nothing drawn past 60 columns" "widest line $w"
save_screen small
tm resize-window -t d -x 100 -y 30
check "and back to 100x30" "Sessions \(0 live\)"

tm send-keys -t d q
check "q quits" "RETURNED"
if grep -q ' echo ' "$T/stty" && grep -q ' icanon ' "$T/stty"; then t_ok "terminal restored after q"; else t_fail "terminal restored after q"; fi

# SIGTERM: the terminal comes back too.
tm new-window -t d -n t2 "env LANG=C.UTF-8 '$M' & echo \$! > '$T/pid'; wait; stty -a > '$T/stty2'; echo GONE; sleep 60"
i=0; while [ ! -s "$T/pid" ] && [ $i -lt 50 ]; do sleep 0.1; i=$((i+1)); done
# Once it has painted, it has set the terminal up: that is what SIGTERM must undo.
wait_for "Hosts \(" 5 d:t2
kill -TERM "$(cat "$T/pid")" 2>/dev/null
i=0; while ! tm capture-pane -p -t d:t2 | grep -q GONE && [ $i -lt 50 ]; do sleep 0.1; i=$((i+1)); done
if grep -q ' echo ' "$T/stty2" 2>/dev/null && grep -q ' icanon ' "$T/stty2"; then t_ok "terminal restored after SIGTERM"; else t_fail "terminal restored after SIGTERM"; fi

# NO_COLOR and --no-unicode: ASCII glyphs only.
tm new-window -t d -n t3 "env NO_COLOR=1 LANG=C.UTF-8 '$M' --no-unicode; sleep 60"
wait_for "Hosts \(" 5 d:t3
if tm capture-pane -p -t d:t3 | grep -q -- '-- Hosts' && ! tm capture-pane -p -t d:t3 | grep -q '─'; then
	t_ok "--no-unicode draws ASCII"; else t_fail "--no-unicode draws ASCII"; fi
tm new-window -t d -n t4 "env LANG=C LC_ALL=C '$M'; sleep 60"
wait_for "Hosts \(" 5 d:t4
if tm capture-pane -p -t d:t4 | grep -q -- '-- Hosts'; then t_ok "non-UTF-8 locale draws ASCII"; else t_fail "non-UTF-8 locale draws ASCII"; fi
t_done
