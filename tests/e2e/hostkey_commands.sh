#!/bin/bash
# SPDX-License-Identifier: MIT
# OpenSSH's host key semantics for every command that opens ssh, not only connect: an
# accept-new profile with an empty known_hosts is scanned (and cleaned) before any
# connect, without a terminal; the key is recorded and the servers listed.  An ask
# profile with no terminal says "unknown", never "no longer".  About 10 s.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
set -u
. "$MOSHMAN_TOP/tests/lab/lab.sh"
t_plan 10
. "$MOSHMAN_TOP/tests/e2e/connect_common.bash"
connect_setup hostkey_commands

C=$LAB_DIR/connect
entry="[$LAB_SERVER_IP]:$LAB_SSH_PORT"
recorded() { awk -v e="$entry" '$1 == e { f = 1 } END { exit !f }' "$1" 2>/dev/null; }

# A detached mosh-server started by plain ssh, for the scan to list.
out=$(lab_client timeout 20 $LAB_SSH "$LAB_USER@$LAB_SERVER_IP" \
	env LC_ALL=C.UTF-8 mosh-server new -s -- /bin/sh </dev/null 2>&1)
D=$(printf '%s\n' "$out" | sed -n 's/.*mosh-server detached, pid = \([0-9]*\).*/\1/p')
[ -n "$D" ] && t_ok "a detached mosh-server to find (pid $D)" ||
	t_fail "a detached mosh-server to find" "$out"

# scan: two accept-new profiles (so not "one host on a terminal"), empty known_hosts.
: >"$C/kh_scan"
add_host an1 --known-hosts "$C/kh_scan" --hostkey-policy accept-new
add_host an2 --known-hosts "$C/kh_scan2" --hostkey-policy accept-new
json=$(lab_client setsid -w timeout 60 "$M" scan an1 an2 --json 2>"$C/scan.err" </dev/null)
rc=$?
[ "$rc" = 0 ] && t_ok "scan accept-new, empty known_hosts: exit 0" ||
	t_fail "scan accept-new, empty known_hosts: exit 0" "rc $rc: $(cat "$C/scan.err")"
recorded "$C/kh_scan" && recorded "$C/kh_scan2" && t_ok "scan: the key is recorded in both files" ||
	t_fail "scan: the key is recorded in both files" "$(cat "$C/kh_scan" "$C/kh_scan2" 2>&1)"
st=$(jq -r '[.[].status] | join(",")' <<<"$json" 2>/dev/null)
[ "$st" = "ok,ok" ] && t_ok "scan: both hosts scanned ok" || t_fail "scan: both hosts scanned ok" "status '$st': $json"
found=$(jq -r --argjson p "${D:-0}" '[.[0].servers[] | select(.pid == $p)] | length' <<<"$json" 2>/dev/null)
[ "$found" = 1 ] && t_ok "scan: lists the detached server" ||
	t_fail "scan: lists the detached server" "$json"
if grep -q "no longer" "$C/scan.err"; then t_fail "scan: no 'no longer'" "$(cat "$C/scan.err")"; else t_ok "scan: no 'no longer'"; fi

# clean --dry-run, accept-new, a known_hosts that does not exist yet.
add_host an3 --known-hosts "$C/kh_clean" --hostkey-policy accept-new
out=$(lab_client setsid -w timeout 60 "$M" clean an3 --dry-run 2>&1 </dev/null)
rc=$?
[ "$rc" = 0 ] && recorded "$C/kh_clean" && t_ok "clean --dry-run accept-new: key recorded, exit 0" ||
	t_fail "clean --dry-run accept-new: key recorded, exit 0" "rc $rc: $out"

# ask without a terminal: refused, and the message says the key is unknown.
: >"$C/kh_ask"
add_host ask --known-hosts "$C/kh_ask" --hostkey-policy ask
out=$(lab_client setsid -w timeout 60 "$M" scan ask --json 2>&1 </dev/null)
if grep -qF "host key for $entry is unknown" <<<"$out" && ! grep -q "no longer" <<<"$out"; then
	t_ok "scan ask, no terminal: says unknown, not 'no longer'"
else
	t_fail "scan ask, no terminal: says unknown, not 'no longer'" "$out"
fi
[ ! -s "$C/kh_ask" ] && t_ok "scan ask, no terminal: nothing recorded" || t_fail "scan ask, no terminal: nothing recorded"

# A changed key is refused by scan too, accept-new or not.
ssh-keygen -q -t ed25519 -N '' -f "$C/other_key"
echo "$entry $(cut -d' ' -f1,2 "$C/other_key.pub")" >"$C/kh_changed"
add_host chg --known-hosts "$C/kh_changed" --hostkey-policy accept-new
out=$(lab_client setsid -w timeout 60 "$M" scan chg --json 2>&1 </dev/null)
grep -q "IDENTIFICATION HAS CHANGED" <<<"$out" && [ "$(wc -l <"$C/kh_changed")" = 1 ] &&
	t_ok "scan accept-new, changed key: refused, file untouched" ||
	t_fail "scan accept-new, changed key: refused, file untouched" "$out"

[ -n "$D" ] && lab_server kill "$D" 2>/dev/null
t_done
