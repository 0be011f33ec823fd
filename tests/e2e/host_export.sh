#!/bin/bash
# SPDX-License-Identifier: MIT
# host export / host import --json: every field of every profile survives a round trip
# into a fresh database (same `host list --json`), passwords only with --with-secrets
# (and then the file is 0600), an existing name needs --overwrite, and hostile files are
# refused with exit 2 and a line naming the problem, importing nothing.  About 2 s.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
set -u
M=${MOSHMAN_BIN:?}
T=$(mktemp -d "${TMPDIR:-/tmp}/moshman-export.XXXXXX")
trap 'rm -rf "$T"' EXIT INT TERM
export HOME="$T/home" XDG_DATA_HOME=
mkdir -p "$HOME/.ssh"
: >"$HOME/.ssh/id_test"
A="$T/a.db" B="$T/b.db" C="$T/c.db"
. "$MOSHMAN_TOP/tests/t.sh"
T_PREFIX=host_export
t_plan 28
a() { MOSHMAN_DB=$A "$M" "$@"; }
b() { MOSHMAN_DB=$B "$M" "$@"; }

# Profiles that between them set every option away from its default.
a host add web --host web.example.org --port 2222 --user alice --identity "$HOME/.ssh/id_test" \
	--proxy 'socks5h://al%40ice:p%3Ass%2Fw@[2001:db8::7]:1080' --transport tcp \
	--server-command /opt/mosh/bin/mosh-server --locale LANG=C.UTF-8 --locale LC_CTYPE=en_US.UTF-8 \
	--predict never --known-hosts "$HOME/kh" --hostkey-policy accept-new --idle-timeout 3d \
	--tag work --tag eu --server-port 60500:60510 --bind-server any --no-init --auto-clean --family prefer-inet6 >/dev/null &&
a host add jumpy --host 10.1.2.3 --jump 'bob@bastion:2200,carol@inner' --predict always \
	--server-port 60001 --bind-server 10.1.2.3 --transport udp --family inet >/dev/null &&
a host add cmd --host cmd.example.org --proxy-command 'nc -X connect -x proxy:3128 %h %p' \
	--transport command --tunnel-command 'gost -L udp://:{{local_port}} -F {{host}}:{{mosh_port}}' \
	--proxy 'none' --hostkey-policy strict >/dev/null &&
a host add plain --host plain.example.org >/dev/null &&
a host edit web --name web >/dev/null || t_fail "setting up the profiles"
sqlite3 "$A" "UPDATE hosts SET pinned = 1, last_used_at = 1700000000000 WHERE name = 'jumpy'"

# Round trip with secrets: the same list, and the same stored password.
a host export --with-secrets --output "$T/all.json"
rc=$?
[ "$rc" = 0 ] && t_ok "export --with-secrets --output exits 0" || t_fail "export --with-secrets --output exits 0" "rc $rc"
mode=$(stat -c %a "$T/all.json")
[ "$mode" = 600 ] && t_ok "a file with secrets is 0600" || t_fail "a file with secrets is 0600" "mode $mode"
b host import --json "$T/all.json" >"$T/imp.out" 2>&1 && grep -q "^4 added" "$T/imp.out" &&
	t_ok "import --json into a fresh database adds 4" || t_fail "import --json into a fresh database adds 4" "$(cat "$T/imp.out")"
if diff <(a host list --json | jq -S .) <(b host list --json | jq -S .) >"$T/diff" 2>&1; then
	t_ok "host list --json is the same after the round trip"
else
	t_fail "host list --json is the same after the round trip" "$(head -c 600 "$T/diff")"
fi
cols="name, hostname, port, user, identity, proxy_type, proxy_host, proxy_port, proxy_user, proxy_pass, jump, proxy_command, transport, tunnel_command, server_command, predict, known_hosts, hostkey_policy, idle_timeout, auto_clean, pinned, created_at, last_used_at, server_port_lo, server_port_hi, bind_server, no_init, family"
rows() { sqlite3 "$1" "SELECT $cols, (SELECT group_concat(tag) FROM (SELECT tag FROM host_tags t WHERE t.host_id = h.id ORDER BY pos)), (SELECT group_concat(setting) FROM (SELECT setting FROM host_locales l WHERE l.host_id = h.id ORDER BY pos)) FROM hosts h ORDER BY name"; }
[ "$(rows "$A")" = "$(rows "$B")" ] && t_ok "every stored column, tags and locales identical (password included)" ||
	t_fail "every stored column identical" "$(diff <(rows "$A") <(rows "$B"))"

# Without secrets: no password in the file, the user stays.
a host export web >"$T/nosecret.json"
grep -q 'p%3Ass' "$T/nosecret.json" && t_fail "no password without --with-secrets" "$(cat "$T/nosecret.json")" ||
	t_ok "no password without --with-secrets"
grep -q '"proxy":"socks5h://al%40ice@\[2001:db8::7\]:1080"' "$T/nosecret.json" &&
	t_ok "the proxy user stays, percent-encoded" || t_fail "the proxy user stays" "$(grep -o '"proxy":"[^"]*"' "$T/nosecret.json")"
# A redirect gets 0600 with secrets.
umask 022
a host export web --with-secrets >"$T/redir.json"
[ "$(stat -c %a "$T/redir.json")" = 600 ] && t_ok "export --with-secrets > FILE makes FILE 0600" ||
	t_fail "export --with-secrets > FILE makes FILE 0600" "$(stat -c %a "$T/redir.json")"

# Existing names: kept without --overwrite, replaced with it.
a host edit plain --port 2200 >/dev/null
a host export plain >"$T/plain.json"
out=$(b host import --json "$T/plain.json" 2>&1)
[ $? = 0 ] && grep -q "kept plain.*--overwrite" <<<"$out" && [ "$(b host show plain --json | jq .port)" = 22 ] &&
	t_ok "an existing name is kept without --overwrite" || t_fail "an existing name is kept without --overwrite" "$out"
out=$(b host import --json "$T/plain.json" --overwrite 2>&1)
[ $? = 0 ] && [ "$(b host show plain --json | jq .port)" = 2200 ] &&
	t_ok "--overwrite replaces it" || t_fail "--overwrite replaces it" "$out"

# Named export and unknown names.
[ "$(a host export web cmd | jq -r '[.profiles[].name] | join(",")')" = "web,cmd" ] &&
	t_ok "export NAME... exports those, in that order" || t_fail "export NAME... exports those"
out=$(a host export nosuch 2>&1)
[ $? = 2 ] && grep -q "no host named 'nosuch'" <<<"$out" && t_ok "export of an unknown name: exit 2" ||
	t_fail "export of an unknown name: exit 2" "$out"

# A key file that is not on this machine is left out with a note, as ssh skips it.
printf '%s' '{"moshman_profiles":1,"profiles":[{"name":"nokey","host":"h","identity":"/nonexistent/id"}]}' >"$T/nokey.json"
out=$(b host import --json "$T/nokey.json" 2>&1)
[ $? = 0 ] && grep -q "identity /nonexistent/id does not exist here; left out" <<<"$out" &&
	[ "$(b host show nokey --json | jq -r .identity)" = null ] &&
	t_ok "a missing identity file is left out with a note" || t_fail "a missing identity file is left out" "$out"

# Hostile files: exit 2, one line naming the problem, nothing imported.
bad() {
	local name=$1 pat=$2 out rc
	printf '%s' "$3" >"$T/bad.json"
	out=$(MOSHMAN_DB=$C "$M" host import --json "$T/bad.json" 2>&1)
	rc=$?
	if [ "$rc" = 2 ] && [ "$(grep -c . <<<"$out")" = 1 ] && grep -qF -- "$pat" <<<"$out" &&
		[ "$(MOSHMAN_DB=$C "$M" host list --json)" = "[]" ]; then
		t_ok "hostile: $name"
	else
		t_fail "hostile: $name" "rc $rc: $out"
	fi
}
P='{"moshman_profiles":1,"profiles":['
bad "not JSON" "not valid JSON" '{"moshman_profiles":1,'
bad "deep nesting" "not valid JSON" "$(printf '%.0s[' $(seq 1 3000))"
bad "not an export" "not a moshman export" '{"profiles":[]}'
bad "newer format" "newer moshman" '{"moshman_profiles":9,"profiles":[]}'
bad "a profile that is not an object" "profiles[0] is integer" "$P"'1]}'
bad "no name" 'no "name"' "$P"'{"host":"h"}]}'
bad "shell in a host" "'h;reboot' is not a host name" "$P"'{"name":"a","host":"h;reboot"}]}'
bad "unknown key" 'unknown key "evil"' "$P"'{"name":"a","host":"h","evil":1}]}'
bad "wrong type" "expected an array of strings" "$P"'{"name":"a","host":"h","tag":"x"}]}'
bad "bad range" "'70000' is not a port number" "$P"'{"name":"a","host":"h","server-port":"70000:1"}]}'
bad "one bad profile of two imports nothing" "profile b: user:" "$P"'{"name":"ok","host":"h"},{"name":"b","host":"h","user":"-x"}]}'
bad "a name twice" "appears twice" "$P"'{"name":"a","host":"h"},{"name":"a","host":"h"}]}'
bad "control characters in a name" "name:" "$P"'{"name":"a\nb","host":"h"}]}'
printf '\0' >"$T/nul.json"
out=$(MOSHMAN_DB=$C "$M" host import --json "$T/nul.json" 2>&1)
[ $? = 2 ] && grep -q "NUL byte" <<<"$out" && t_ok "hostile: a NUL byte" || t_fail "hostile: a NUL byte" "$out"
out=$(MOSHMAN_DB=$C "$M" host import --json "$T/none.json" 2>&1)
[ $? = 1 ] && grep -q "cannot read" <<<"$out" && t_ok "a missing file: exit 1" || t_fail "a missing file: exit 1" "$out"
t_done
