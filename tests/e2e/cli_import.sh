#!/bin/sh
# SPDX-License-Identifier: MIT
# moshman host import on the fixture tree (Include with globs, multi-name Host, wildcards,
# negation, Match, Key=Value, quotes, a bad port, an Include loop): the values ssh would
# use, --dry-run saves nothing, existing profiles are kept unless --overwrite.
set -u
M=${MOSHMAN_BIN:?}
T=$(mktemp -d "${TMPDIR:-/tmp}/moshman-import.XXXXXX")
trap 'rm -rf "$T"' EXIT INT TERM
cp -r "$MOSHMAN_TOP/tests/fixtures/sshconfig/home" "$T/home"
export HOME="$T/home" MOSHMAN_DB="$T/m.db"
. "$MOSHMAN_TOP/tests/t.sh"
T_PREFIX=import
t_plan 34
# field ALIAS JQ-EXPR EXPECTED
field() {
	got=$("$M" host show "$1" --json 2>/dev/null | jq -r "$2")
	[ "$got" = "$3" ] && t_ok "$1 $2 = $3" || t_fail "$1 $2 = $3" "got '$got'"
}

out=$("$M" host import --dry-run 2>/dev/null)
echo "$out" | grep -q "^would add web1 (deploy@web1.example.com:22)" && t_ok "dry run lists additions" || t_fail "dry run lists additions" "$out"
n=$("$M" host list --json | jq length)
[ "$n" = 0 ] && t_ok "dry run saves nothing" || t_fail "dry run saves nothing" "$n hosts"

out=$("$M" host import 2>"$T/err")
rc=$?
[ $rc = 1 ] && t_ok "exit 1 when some hosts could not be imported" || t_fail "exit 1 when some hosts could not be imported" "rc $rc"
echo "$out" | tail -n 1 | grep -q "12 added, 0 updated, 0 unchanged, 4 skipped, 2 failed" && t_ok "summary line" || t_fail "summary line" "$(echo "$out" | tail -n 1)"
field web1 .host web1.example.com
field web1 .user deploy
field db .host db.example.com
field db .port 2201
field kv .host 10.0.0.5
field kv .user alice
field kv .port 2222
field jump .port 2022
field app.corp .jump jump
field app.corp .user corpuser
field app.corp .port 2200
field secret.corp .jump null
field secret.corp .user defaultuser
field nojump .proxy_command "nc %h %p"
field nojump .jump null
field work2 .port 2202
echo "$out" | grep -q "^skipped \*.corp .*wildcard pattern" && t_ok "wildcards listed as skipped" || t_fail "wildcards listed as skipped"
echo "$out" | grep -q "^skipped !secret.corp .*negated" && t_ok "negations listed as skipped" || t_fail "negations listed as skipped"
echo "$out" | grep -q "^skipped Match host" && t_ok "Match blocks listed as skipped" || t_fail "Match blocks listed as skipped"
echo "$out" | grep -q "^skipped badport .*ssh would reject" && t_ok "a host ssh would reject is not imported" || t_fail "a host ssh would reject is not imported"
"$M" host show badport >/dev/null 2>&1 && t_fail "badport absent" || t_ok "badport absent"
grep -q "config:42: error: bad port \"70000\"" "$T/err" && t_ok "the bad line is named with file:line" || t_fail "the bad line is named with file:line" "$(cat "$T/err")"

"$M" host edit kv --tag mine --port 2200 >/dev/null
out=$("$M" host import 2>/dev/null)
echo "$out" | grep -q "^kept kv: a profile of that name exists (use --overwrite)" && t_ok "existing profiles kept" || t_fail "existing profiles kept"
field kv .port 2200
out=$("$M" host import --overwrite 2>/dev/null)
echo "$out" | grep -q "^updated kv" && t_ok "--overwrite updates" || t_fail "--overwrite updates" "$out"
echo "$out" | grep -q "^unchanged web1" && t_ok "--overwrite leaves identical ones unchanged" || t_fail "--overwrite leaves identical ones unchanged"
field kv .port 2222
field kv '.tags[0]' mine
"$M" host import "$T/nonexistent" >/dev/null 2>&1; rc=$?
[ $rc = 1 ] && t_ok "a missing file exits 1" || t_fail "a missing file exits 1" "rc $rc"
"$M" host import a b >/dev/null 2>&1; rc=$?
[ $rc = 2 ] && t_ok "two files is a usage error" || t_fail "two files is a usage error" "rc $rc"
t_done
