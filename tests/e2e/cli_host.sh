#!/bin/sh
# SPDX-License-Identifier: MIT
# The real binary's CLI for host profiles: exit codes, messages, JSON, file modes.
set -u
M=${MOSHMAN_BIN:?}
T=$(mktemp -d "${TMPDIR:-/tmp}/moshman-cli.XXXXXX")
trap 'rm -rf "$T"' EXIT INT TERM
export HOME="$T/home" XDG_DATA_HOME= MOSHMAN_DB=
mkdir -p "$HOME"
DB="$T/data/moshman.db"

. "$MOSHMAN_TOP/tests/t.sh"
T_PREFIX=cli
t_plan 35
# expect NAME CODE PATTERN CMD...: exit code CODE and PATTERN (grep -E) in stdout+stderr
expect() {
	name=$1 code=$2 pat=$3
	shift 3
	out=$("$@" 2>&1)
	rc=$?
	if [ "$rc" -ne "$code" ]; then t_fail "$name" "exit $rc, expected $code: $out"; return; fi
	if [ -n "$pat" ] && ! printf '%s\n' "$out" | grep -Eq -- "$pat"; then
		t_fail "$name" "output lacks /$pat/: $out"; return
	fi
	t_ok "$name"
}

expect "--help exits 0" 0 "^usage: moshman" "$M" --help
expect "--version exits 0" 0 "^moshman [0-9]" "$M" --version
expect "unknown command exits 2" 2 "unknown command" "$M" frobnicate
expect "unknown global option exits 2" 2 "moshman --help" "$M" --frob
expect "host --help lists options" 0 "--hostkey-policy" "$M" host --help

expect "add" 0 "added web" "$M" --db "$DB" host add web --host example.org --port 2222 \
	--user alice --proxy 'socks5h://bob:se%40cret@127.0.0.1:1080' --tag prod --tag eu \
	--locale LANG=C.UTF-8 --idle-timeout 2d --hostkey-policy accept-new
mode=$(stat -c %a "$DB" 2>/dev/null); dmode=$(stat -c %a "$T/data" 2>/dev/null)
[ "$mode" = 600 ] && [ "$dmode" = 700 ] && t_ok "db file 0600 in a 0700 directory" ||
	t_fail "db file 0600 in a 0700 directory" "file $mode dir $dmode"
expect "duplicate name exits 2" 2 "exists already" "$M" --db "$DB" host add web --host x.org
expect "bad port exits 2" 2 "--port: '70000' is not a port number" "$M" --db "$DB" host add p --host a --port 70000
expect "bad host exits 2" 2 "--host: 'a;b' is not a host name" "$M" --db "$DB" host add p --host 'a;b'
expect "missing --host exits 2" 2 "--host is required" "$M" --db "$DB" host add p
expect "bad proxy exits 2 and shows the forms" 2 "socks5h://\[USER:PASS@\]HOST:PORT" "$M" --db "$DB" host add p --host a --proxy 'ftp://x:21'
expect "locale injection refused" 2 "not a locale value" "$M" --db "$DB" host add p --host a --locale "LANG=C.UTF-8'; touch /tmp/x; '"
expect "bad transport exits 2" 2 "not a transport" "$M" --db "$DB" host add p --host a --transport quic
expect "bad name exits 2" 2 "host name:" "$M" --db "$DB" host add 'we b' --host a
expect "unknown option exits 2" 2 "unknown option '--colour'" "$M" --db "$DB" host add p --host a --colour red
expect "option without value exits 2" 2 "needs a value" "$M" --db "$DB" host add p --host
expect "nothing was saved by the failures" 0 "^\[\{\"name\":\"web\"" "$M" --db "$DB" host list --json

json=$("$M" --db "$DB" host list --json)
if printf '%s' "$json" | jq -e 'length == 1 and .[0].port == 2222 and .[0].user == "alice"
	and .[0].tags == ["prod","eu"] and .[0].idle_timeout == 172800
	and .[0].proxy == "socks5h://bob:***@127.0.0.1:1080"' >/dev/null; then
	t_ok "list --json is valid JSON with the fields"
else t_fail "list --json is valid JSON with the fields" "$json"; fi
case "$json" in *se@cret*|*se%40cret*) t_fail "proxy password never printed" ;; *) t_ok "proxy password never printed" ;; esac
expect "show masks the password" 0 "socks5h://bob:\*\*\*@127.0.0.1:1080" "$M" --db "$DB" host show web
expect "show unknown exits 2" 2 "no host named 'nope'" "$M" --db "$DB" host show nope

expect "edit renames and replaces tags" 0 "updated web2" "$M" --db "$DB" host edit web --name web2 --tag lab --port 22
if "$M" --db "$DB" host show web2 --json | jq -e '.tags == ["lab"] and .port == 22 and .user == "alice"' >/dev/null; then
	t_ok "edit kept the other fields"; else t_fail "edit kept the other fields"; fi
expect "edit with a bad value exits 2, changes nothing" 2 "not a port" "$M" --db "$DB" host edit web2 --port 0
if "$M" --db "$DB" host show web2 --json | jq -e '.port == 22' >/dev/null; then t_ok "failed edit left the row"; else t_fail "failed edit left the row"; fi

# Where the database lives.
MOSHMAN_DB="$T/env.db" "$M" host add e --host a.example >/dev/null 2>&1
[ -f "$T/env.db" ] && t_ok "MOSHMAN_DB names the database" || t_fail "MOSHMAN_DB names the database"
XDG_DATA_HOME="$T/xdg" "$M" host add x --host a.example >/dev/null 2>&1
[ -f "$T/xdg/moshman/moshman.db" ] && t_ok "XDG_DATA_HOME default" || t_fail "XDG_DATA_HOME default"
"$M" host add h --host a.example >/dev/null 2>&1
[ -f "$HOME/.local/share/moshman/moshman.db" ] && t_ok "~/.local/share default" || t_fail "~/.local/share default"

# Hostile database files.
chmod 644 "$DB"
expect "world-readable db refused" 1 "can be read by others.*chmod 600" "$M" --db "$DB" host list
chmod 600 "$DB"
printf 'not a database\n' > "$T/junk.db"; chmod 600 "$T/junk.db"
expect "non-SQLite file refused" 1 "not a SQLite database" "$M" --db "$T/junk.db" host list
[ "$(cat "$T/junk.db")" = "not a database" ] && t_ok "non-SQLite file left untouched" || t_fail "non-SQLite file left untouched"

expect "rm" 0 "removed web2" "$M" --db "$DB" host rm web2
expect "rm again exits 2" 2 "no host named" "$M" --db "$DB" host rm web2
expect "empty list says how to add" 0 "moshman host add" "$M" --db "$DB" host list
t_done
