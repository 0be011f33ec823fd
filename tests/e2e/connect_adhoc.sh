#!/bin/bash
# SPDX-License-Identifier: MIT
# Ad hoc targets, as mosh is used: `moshman USER@HOST` with options and no profile,
# --server-port puts mosh-server in the range (seen on the server), --save stores a
# profile that connects the same way, ~/.ssh/config applies to a bare alias, a range
# that is all taken says so, --family inet connects and inet6 (or -6) to an IPv4-only
# address says which family it looked for, and bad input is refused with exit 2.
# About 50 s.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
set -u
. "$MOSHMAN_TOP/tests/lab/lab.sh"
t_plan 67
. "$MOSHMAN_TOP/tests/e2e/connect_common.bash"
connect_setup connect_adhoc

C=$LAB_DIR/connect
target="$LAB_USER@$LAB_SERVER_IP:$LAB_SSH_PORT"
common=(--identity "$LAB_KEY" --known-hosts "$LAB_KNOWN_HOSTS" --hostkey-policy strict --transport udp)

# 1. `moshman USER@HOST:PORT ...` (no command word), with a server port range, saved.
start_moshman adhoc "$target" "${common[@]}" --server-port 60500:60510 --save saved1
if lab_tmux_wait adhoc '\$ *$' 30; then
	id=$(last_session)
	row=$(q "SELECT host_id IS NULL, host_name, mosh_port FROM sessions WHERE id = $id")
	port=${row##*|}
	pid=$(q "SELECT server_pid FROM sessions WHERE id = $id")
	[ "${row%|*}" = "0|saved1" ] && t_ok "adhoc: the session row names the saved profile" ||
		t_fail "adhoc: the session row names the saved profile" "row $row"
	[ "$port" -ge 60500 ] && [ "$port" -le 60510 ] && t_ok "adhoc: mosh port $port in 60500:60510" ||
		t_fail "adhoc: mosh port in 60500:60510" "port '$port'"
	# On the server: that mosh-server owns a UDP socket on that port.
	ss_line=$(lab_server ss -Hlunp "sport = :$port" 2>&1)
	grep -q "pid=$pid," <<<"$ss_line" && t_ok "adhoc: on the server, mosh-server $pid listens on UDP $port" ||
		t_fail "adhoc: on the server, mosh-server listens on the port" "$ss_line"
	lab_server cat "/proc/$pid/cmdline" | tr '\0' ' ' | grep -q -- "-p 60500:60510" &&
		t_ok "adhoc: mosh-server was started with -p 60500:60510" ||
		t_fail "adhoc: mosh-server was started with -p 60500:60510" "$(lab_server cat /proc/$pid/cmdline | tr '\0' ' ')"
fi
session_check adhoc
json=$("$M" host show saved1 --json)
[ "$(jq -r '[.host, .port, .user, .server_port, .transport, .hostkey_policy] | join(" ")' <<<"$json")" = \
	"$LAB_SERVER_IP $LAB_SSH_PORT $LAB_USER 60500:60510 udp strict" ] &&
	t_ok "--save stored what was used" || t_fail "--save stored what was used" "$json"

# 2. The saved profile connects the same way; options on connect override it for one
# run: auto uses --server-port too.
session_cycle saved saved1
start_moshman auto connect saved1 --transport auto --server-port 60700:60710
if lab_tmux_wait auto '\$ *$' 30; then
	port=$(q "SELECT mosh_port FROM sessions WHERE id = $(last_session)")
	[ "$port" -ge 60700 ] && [ "$port" -le 60710 ] && t_ok "auto: mosh port $port in 60700:60710 (for this run)" ||
		t_fail "auto: mosh port in 60700:60710" "port '$port'"
	[ "$(q "SELECT transport FROM sessions WHERE id = $(last_session)")" = auto ] &&
		t_ok "auto: the run used --transport auto" || t_fail "auto: the run used --transport auto"
fi
session_check auto
[ "$("$M" host show saved1 --json | jq -r '.server_port + " " + .transport')" = "60500:60510 udp" ] &&
	t_ok "options on connect leave the profile as it was" || t_fail "options on connect leave the profile as it was"

# 3. Without --save: no profile is made, the row has no host id and a user@host label.
n_before=$("$M" host list --json | jq length)
start_moshman plain connect "$LAB_USER@$LAB_SERVER_IP" --port "$LAB_SSH_PORT" "${common[@]}" \
	--bind-server "$LAB_SERVER_IP" --no-init
if lab_tmux_wait plain '\$ *$' 30; then
	id=$(last_session)
	row=$(q "SELECT host_id IS NULL, host_name FROM sessions WHERE id = $id")
	[ "$row" = "1|$target" ] && t_ok "ad hoc without --save: row labelled $target" ||
		t_fail "ad hoc without --save: row labelled $target" "row $row"
	# --bind-server ADDR is mosh-server -i ADDR; --no-init is MOSH_NO_TERM_INIT=1.
	spid=$(q "SELECT server_pid FROM sessions WHERE id = $id")
	cpid=$(q "SELECT client_pid FROM sessions WHERE id = $id")
	cmdline=$(lab_server cat "/proc/$spid/cmdline" | tr '\0' ' ')
	grep -q -- "-i $LAB_SERVER_IP" <<<"$cmdline" && ! grep -q -- " -s " <<<"$cmdline" &&
		t_ok "--bind-server ADDR: mosh-server -i ADDR" || t_fail "--bind-server ADDR: mosh-server -i ADDR" "$cmdline"
	tr '\0' '\n' <"/proc/$cpid/environ" | grep -qx MOSH_NO_TERM_INIT=1 &&
		t_ok "--no-init: mosh-client runs with MOSH_NO_TERM_INIT=1" ||
		t_fail "--no-init: mosh-client runs with MOSH_NO_TERM_INIT=1"
fi
session_check plain
[ "$("$M" host list --json | jq length)" = "$n_before" ] && t_ok "ad hoc without --save: no profile added" ||
	t_fail "ad hoc without --save: no profile added"

# 3b. mosh's --family.  The lab is IPv4 only: inet connects; inet6, and mosh's -6, find
# no address for the server's IPv4 address and say which family they looked for.
start_moshman fam4 connect "$target" "${common[@]}" --family inet
session_check fam4
fails "--family inet6 to an IPv4-only address" \
	"^moshman: cannot resolve $LAB_SERVER_IP: .*\(IPv6 only: --family inet6\)$" \
	"$target" "${common[@]}" --family inet6
fails "-6 to an IPv4-only address" "\(IPv6 only: --family inet6\)" "$target" "${common[@]}" -6

# 4. ~/.ssh/config applies to a bare alias (HostName, Port, User, IdentityFile): the
# login works; without a terminal it stops right after, saying so.
mkdir -p "$LAB_HOME/.ssh"
cat >"$LAB_HOME/.ssh/config" <<CFG
Host labalias
	HostName $LAB_SERVER_IP
	Port $LAB_SSH_PORT
	User $LAB_USER
	IdentityFile $LAB_KEY
CFG
chmod 600 "$LAB_HOME/.ssh/config"
fails "ssh config alias" "authenticated|needs a terminal" labalias --known-hosts "$LAB_KNOWN_HOSTS" --hostkey-policy strict
[ "$(q "SELECT host_name FROM sessions WHERE id = $(last_session)")" = "$LAB_USER@$LAB_SERVER_IP:$LAB_SSH_PORT" ] &&
	t_ok "ssh config alias: resolved to $LAB_USER@$LAB_SERVER_IP:$LAB_SSH_PORT" ||
	t_fail "ssh config alias: resolved" "$(q "SELECT host_name FROM sessions WHERE id = $(last_session)")"
rm -f "$LAB_HOME/.ssh/config"

# 4b. A word that is both a profile name and a host: the profile; a leading @: the host.
"$M" host add "$LAB_SERVER_IP" --host "$LAB_SERVER_IP" --port 1 >/dev/null
fails "profile wins over the host" "$LAB_SERVER_IP:1|port 1" "$LAB_SERVER_IP" --known-hosts "$LAB_KNOWN_HOSTS"
fails "@ forces the host" "needs a terminal" "@$LAB_SERVER_IP" --port "$LAB_SSH_PORT" --user "$LAB_USER" "${common[@]}"
[ "$(q "SELECT host_id IS NULL, host_name FROM sessions WHERE id = $(last_session)")" = "1|$target" ] &&
	t_ok "@HOST: an unsaved target, not the profile" || t_fail "@HOST: an unsaved target, not the profile"

# 5. Every port of the range taken (one port, held by a plain mosh-server): says so.
out=$(lab_client timeout 20 $LAB_SSH "$LAB_USER@$LAB_SERVER_IP" \
	env LC_ALL=C.UTF-8 mosh-server new -s -p 60600 -- /bin/sh </dev/null 2>&1)
D=$(printf '%s\n' "$out" | sed -n 's/.*mosh-server detached, pid = \([0-9]*\).*/\1/p')
FAIL_TTY=1 fails "range taken" "every UDP port of --server-port 60600 is taken" "$target" "${common[@]}" --server-port 60600
[ -n "$D" ] && lab_server kill "$D"

# 6. Bad input: exit 2, one line naming what is wrong, no session row.
bad() {
	local name=$1 pat=$2 out rc before
	shift 2
	before=$(q "SELECT count(*) FROM sessions")
	out=$(lab_client "$M" "$@" 2>&1 </dev/null)
	rc=$?
	if [ "$rc" = 2 ] && [ "$(grep -c . <<<"$out")" = 1 ] && grep -qF -- "$pat" <<<"$out" &&
		[ "$(q "SELECT count(*) FROM sessions")" = "$before" ]; then
		t_ok "$name: exit 2 naming the problem"
	else
		t_fail "$name: exit 2 naming the problem" "rc $rc: $out"
	fi
}
bad "shell syntax in a target" "'h;reboot' is not a host name" connect 'u@h;reboot'
bad "shell syntax, implicit form" "'\$(id)' is not a user name" '$(id)@h'
bad "--server-port 70000:1 on connect" "'70000' is not a port number" connect "$target" --server-port 70000:1
bad "--server-port 70000:1 on host add" "'70000' is not a port number" host add x --host h --server-port 70000:1
bad "backwards range" "backwards range" connect "$target" --server-port 60510:60500
bad "unknown connect option" "unknown option '--nope'" connect "$target" --nope
bad "--save with a bad name" "--save:" connect "$target" --save 'a b'
bad "bare IPv6 target" "brackets" connect 'u@2001:db8::1'
bad "--family ipv4 on connect" "--family: 'ipv4' is not an address family (all, inet, inet6," \
	connect "$target" --family ipv4
bad "--family with shell syntax on host add" "'inet;id' is not an address family" \
	host add x --host h --family 'inet;id'

t_done
