#!/bin/bash
# SPDX-License-Identifier: MIT
# moshman connect over every route with UDP open: direct, SOCKS5, SOCKS5 with auth,
# HTTP CONNECT, shadowsocks' local SOCKS5 port, and ProxyJump to the sshd only the server
# reaches.  Each: 42 on screen, exit ends it, row closed and key wiped, no server left.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
set -u
. "$MOSHMAN_TOP/tests/lab/lab.sh"
t_plan 42
. "$MOSHMAN_TOP/tests/e2e/connect_common.bash"
connect_setup connect_routes

add_host direct
add_host socks --proxy "socks5://$LAB_PROXY_IP:$LAB_SOCKS_PORT"
add_host socksauth --proxy "socks5://$LAB_SOCKS_USER:$LAB_SOCKS_PASS@$LAB_PROXY_IP:$LAB_SOCKS_AUTH_PORT"
add_host http --proxy "http://$LAB_PROXY_IP:$LAB_HTTP_PORT"
add_host ss --proxy "socks5h://$LAB_SS_IP:$LAB_SS_PORT"
add_host jump --host "$LAB_JUMP_HOST" --port "$LAB_JUMP_PORT" \
	--jump "$LAB_USER@$LAB_SERVER_IP:$LAB_SSH_PORT"

# ~/.ssh/config: a HostName alias (direct), and a ProxyJump, for profiles naming aliases.
mkdir -p "$LAB_HOME/.ssh"
cat >"$LAB_HOME/.ssh/config" <<EOF
Host cfgdirect
	HostName $LAB_SERVER_IP
Host cfgjump
	HostName $LAB_JUMP_HOST
	ProxyJump $LAB_USER@$LAB_SERVER_IP:$LAB_SSH_PORT
Host $LAB_SERVER_IP
	IdentityFile $LAB_KEY
	IdentitiesOnly yes
	UserKnownHostsFile $LAB_KNOWN_HOSTS
	StrictHostKeyChecking yes
	BatchMode yes
EOF
add_host cfgjump --host cfgjump --port "$LAB_JUMP_PORT"
add_host cfgdirect --host cfgdirect

for r in direct socks socksauth http ss jump cfgjump cfgdirect; do
	session_cycle "$r" "$r"
done
rm -f "$LAB_HOME/.ssh/config"

# The route the progress lines named, from the events.
ev=$(for s in $(q "SELECT id FROM sessions ORDER BY id"); do events_of "$s" step; done | paste -sd '|')
case "$ev" in *"connecting to socks5 proxy $LAB_PROXY_IP:$LAB_SOCKS_PORT"*) t_ok "events name the socks5 proxy" ;;
*) t_fail "events name the socks5 proxy" "$ev" ;; esac
case "$ev" in *"connecting to http proxy $LAB_PROXY_IP:$LAB_HTTP_PORT"*) t_ok "events name the http proxy" ;;
*) t_fail "events name the http proxy" "$ev" ;; esac

t_done
