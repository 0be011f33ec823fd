#!/bin/bash
# SPDX-License-Identifier: MIT
# Shell completion: the bash, zsh and fish files `make` writes (moshman complete SHELL)
# load in their shells, and each completes `moshman connect e<TAB>` with the profiles
# that start with e, typed for real in tmux for bash and zsh and through fish's own
# `complete -C`.  Commands, host verbs, options, session ids and the database: all come
# from the binary, and completing never creates a database.  About 5 s.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
set -u
M=${MOSHMAN_BIN:?}
B=${MOSHMAN_BUILD:?}
T=$(mktemp -d "${TMPDIR:-/tmp}/moshman-compl.XXXXXX")
SOCK=moshman-compl-$$
cleanup() { tmux -L "$SOCK" kill-server 2>/dev/null; rm -rf "$T"; }
trap cleanup EXIT INT TERM
. "$MOSHMAN_TOP/tests/t.sh"
T_PREFIX=completion
t_plan 19
for sh in zsh fish tmux; do
	command -v "$sh" >/dev/null || { t_fail "$sh is installed (Makefile TEST_DEBS)"; exit 1; }
done

export HOME="$T/home" XDG_DATA_HOME= MOSHMAN_DB="$T/m.db"
mkdir -p "$HOME" "$T/bin"
ln -s "$M" "$T/bin/moshman"
export PATH="$T/bin:$PATH"
for n in edge eu-web web; do moshman host add "$n" --host "$n.example.org" >/dev/null; done
now=$(($(date +%s) * 1000))
sqlite3 "$MOSHMAN_DB" "INSERT INTO sessions (id, host_name, state, started_at, updated_at) VALUES (41, 'web', 'up', $now, $now), (42, 'web', 'closed', $now, $now)"
sqlite3 "$MOSHMAN_DB" "UPDATE sessions SET ended_at = $now WHERE id = 42"

# The binary's answers.
c() { moshman complete -- "$@" | tr '\n' ' '; }
[ "$(c connect e)" = "edge eu-web " ] && t_ok "connect e -> edge eu-web" || t_fail "connect e -> edge eu-web" "$(c connect e)"
[ "$(c co)" = "connect " ] && t_ok "co -> connect" || t_fail "co -> connect" "$(c co)"
[ "$(c host e)" = "edit export " ] && t_ok "host e -> edit export" || t_fail "host e -> edit export" "$(c host e)"
[ "$(c host show w)" = "web " ] && t_ok "host show w -> web" || t_fail "host show w -> web" "$(c host show w)"
[ "$(moshman complete -- connect --server | sort | tr '\n' ' ')" = "--server-command --server-port " ] &&
	t_ok "connect --server -> the profile options" || t_fail "connect --server" "$(c connect --server)"
[ "$(moshman complete -- scan -- | sort | tr '\n' ' ')" = "--all --json --timeout " ] &&
	t_ok "scan -- -> its options" || t_fail "scan --" "$(c scan --)"
[ "$(c reconnect 4)" = "41 " ] && t_ok "reconnect 4 -> the live session 41 (not the closed 42)" || t_fail "reconnect 4 -> 41" "$(c reconnect 4)"
[ -z "$(c connect --identity '')" ] && t_ok "an option's value is left to the shell (files)" || t_fail "an option's value is left to the shell" "$(c connect --identity '')"
[ -z "$(MOSHMAN_DB="$T/none.db" moshman complete -- connect '')" ] && [ ! -e "$T/none.db" ] &&
	t_ok "no database: nothing offered, none created" || t_fail "no database: nothing offered, none created"
[ "$(c --db "$MOSHMAN_DB" connect w)" = "web " ] && t_ok "--db on the line is used" || t_fail "--db on the line is used" "$(c --db "$MOSHMAN_DB" connect w)"
# Every command in --help is offered, and nothing else.
want=$(moshman --help | sed -n '/^Commands:/,/^$/p' | awk 'NF > 1 { print $1 }' | sort | tr '\n' ' ')
got=$(moshman complete -- '' | sort | tr '\n' ' ')
[ "$want" = "$got" ] && t_ok "commands offered = commands in --help" || t_fail "commands offered = commands in --help" "help: $want; offered: $got"

# The files make wrote are what the binary prints now.
for s in bash:moshman.bash zsh:_moshman fish:moshman.fish; do
	cmp -s <(moshman complete "${s%%:*}") "$B/completions/${s#*:}" && t_ok "build/completions/${s#*:} is current" ||
		t_fail "build/completions/${s#*:} is current"
done

# bash: the function, then a real Tab in an interactive bash in tmux.
out=$(bash --norc --noprofile -c ". '$B/completions/moshman.bash'; COMP_WORDS=(moshman connect e); COMP_CWORD=2; _moshman; echo \"\${COMPREPLY[*]}\"; complete -p moshman" 2>&1)
grep -qx "edge eu-web" <<<"$out" && grep -q "_moshman moshman" <<<"$out" && t_ok "bash: _moshman gives edge eu-web, registered" ||
	t_fail "bash: _moshman gives edge eu-web" "$out"
tw() { # tw PATTERN: wait up to 10 s for PATTERN in the pane
	for _ in $(seq 1 100); do
		tmux -L "$SOCK" capture-pane -p -t sh | grep -Eq -- "$1" && return 0
		sleep 0.1
	done
	tmux -L "$SOCK" capture-pane -p -t sh >&2
	return 1
}
tmux -L "$SOCK" -f /dev/null new-session -d -s sh -x 120 -y 30 "env PS1='$ ' bash --norc --noprofile"
tmux -L "$SOCK" send-keys -t sh ". '$B/completions/moshman.bash'; echo RE""ADY" Enter
tw '^READY' && tmux -L "$SOCK" send-keys -t sh "moshman connect e" Tab Tab
tw 'edge +eu-web' && t_ok "bash: Tab Tab after 'moshman connect e' lists edge eu-web" ||
	t_fail "bash: Tab Tab after 'moshman connect e' lists edge eu-web"
tmux -L "$SOCK" kill-session -t sh

# zsh: the file loads (parsed by autoload +X), then a real Tab with compinit.
out=$(zsh -f -c "fpath=('$B/completions' \$fpath); autoload -Uz +X _moshman && echo loaded" 2>&1)
[ "$out" = loaded ] && t_ok "zsh: _moshman loads without error" || t_fail "zsh: _moshman loads without error" "$out"
tmux -L "$SOCK" -f /dev/null new-session -d -s sh -x 120 -y 30 "env PS1='$ ' zsh -f"
tmux -L "$SOCK" send-keys -t sh "fpath=('$B/completions' \$fpath); autoload -Uz compinit; compinit -u -D; echo RE''ADY" Enter
tw '^READY' && tmux -L "$SOCK" send-keys -t sh "moshman connect e" Tab
tw 'edge +eu-web' && t_ok "zsh: Tab after 'moshman connect e' lists edge eu-web" ||
	t_fail "zsh: Tab after 'moshman connect e' lists edge eu-web"
tmux -L "$SOCK" kill-session -t sh

# fish: the file loads, and fish's own completer answers from it.
out=$(fish --no-config -c "source '$B/completions/moshman.fish'; and complete -C 'moshman connect e'" 2>&1)
[ "$(printf '%s\n' "$out" | awk '{ print $1 }' | tr '\n' ' ')" = "edge eu-web " ] &&
	t_ok "fish: loads; 'moshman connect e' completes to edge eu-web" || t_fail "fish: 'moshman connect e'" "$out"
t_done
