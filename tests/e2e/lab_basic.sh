#!/bin/bash
# SPDX-License-Identifier: MIT
# The lab is real: plain OpenSSH reaches the lab sshd directly, with each kind of
# credential, through each proxy, and through ProxyJump to the second sshd.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "${MOSHMAN_TOP:-$(cd "$(dirname "$0")/../.." && pwd)}/tests/lab/lab.sh"
t_plan 26
lab_require_root lab_basic
trap lab_down EXIT
trap 'exit 143' TERM INT HUP
lab_up || { t_fail "lab_up"; exit 1; }
t_ok "lab_up"

# ssh_to NAME EXPECT SSH-ARGS...: run `echo` remotely, compare its output.
ssh_to() {
	local name=$1 want=$2 got
	shift 2
	got=$(lab_client timeout 30 $LAB_SSH "$@" 'echo "$(id -un)@$(hostname)"' 2>"$LAB_DIR/ssh.err")
	if [ "$got" = "$want" ]; then
		t_ok "$name"
	else
		t_fail "$name" "got '$got': $(tail -n 2 "$LAB_DIR/ssh.err" | tr '\n' ' ')"
	fi
}

for v in LAB_ID LAB_DIR LAB_CLIENT_NS LAB_SERVER_NS LAB_CLIENT_IP LAB_SERVER_IP LAB_PROXY_IP \
	LAB_SSH_PORT LAB_USER LAB_KEY LAB_PW_USER LAB_PW_PASS LAB_PP_KEY LAB_PP_PASS LAB_OTHER_USER \
	LAB_KNOWN_HOSTS LAB_JUMP_HOST LAB_JUMP_PORT LAB_SOCKS_PORT LAB_SOCKS_AUTH_PORT LAB_SOCKS_USER \
	LAB_SOCKS_PASS LAB_HTTP_PORT LAB_SS_PORT LAB_HOME; do
	[ -n "${!v:-}" ] || missing="${missing:-} $v"
done
if [ -z "${missing:-}" ]; then t_ok "lab_up exports every LAB_* variable"; else t_fail "lab_up exports every LAB_* variable" "missing:$missing"; fi

before=$LAB_ID
lab_up
if [ "$LAB_ID" = "$before" ]; then t_ok "lab_up again keeps the same lab"; else t_fail "lab_up again keeps the same lab"; fi

me="$LAB_USER@$LAB_HOSTNAME"
ssh_to "ssh with the key, directly" "$me" "$LAB_USER@$LAB_SERVER_IP"
ssh_to "ssh to the foreign user" "$LAB_OTHER_USER@$LAB_HOSTNAME" "$LAB_OTHER_USER@$LAB_SERVER_IP"
ssh_to "ssh with -o options only (LAB_SSH_OPTS)" "$me" -F none $LAB_SSH_OPTS -i "$LAB_KEY" "$LAB_USER@$LAB_SERVER_IP"

# Passwords and passphrases through SSH_ASKPASS, as a person would type them.
askpass=$LAB_DIR/askpass
printf '#!/bin/sh\nprintf "%%s\\n" "$LAB_ASKPASS_SECRET"\n' >"$askpass"
chmod 700 "$askpass"
got=$(LAB_ASKPASS_SECRET=$LAB_PW_PASS SSH_ASKPASS=$askpass SSH_ASKPASS_REQUIRE=force DISPLAY=:0 \
	lab_client timeout 30 $LAB_SSH -o BatchMode=no -o PubkeyAuthentication=no \
	-o PreferredAuthentications=password -o NumberOfPasswordPrompts=1 \
	"$LAB_PW_USER@$LAB_SERVER_IP" 'id -un' 2>/dev/null </dev/null)
t_check "ssh with a password" [ "$got" = "$LAB_PW_USER" ]
got=$(LAB_ASKPASS_SECRET=wrong-$LAB_PW_PASS SSH_ASKPASS=$askpass SSH_ASKPASS_REQUIRE=force DISPLAY=:0 \
	lab_client timeout 30 $LAB_SSH -o BatchMode=no -o PubkeyAuthentication=no \
	-o PreferredAuthentications=password -o NumberOfPasswordPrompts=1 \
	"$LAB_PW_USER@$LAB_SERVER_IP" 'id -un' 2>/dev/null </dev/null)
t_check "ssh with a wrong password fails" [ -z "$got" ]
got=$(LAB_ASKPASS_SECRET=$LAB_PP_PASS SSH_ASKPASS=$askpass SSH_ASKPASS_REQUIRE=force DISPLAY=:0 \
	lab_client timeout 30 ssh -F "$LAB_SSH_CONFIG" -i "$LAB_PP_KEY" -p "$LAB_SSH_PORT" -o BatchMode=no \
	-o NumberOfPasswordPrompts=1 "$LAB_USER@$LAB_SERVER_IP" 'id -un' 2>/dev/null </dev/null)
t_check "ssh with the passphrase-protected key" [ "$got" = "$LAB_USER" ]
got=$(lab_client timeout 30 ssh -F "$LAB_SSH_CONFIG" -i "$LAB_PP_KEY" -p "$LAB_SSH_PORT" \
	"$LAB_USER@$LAB_SERVER_IP" 'id -un' 2>/dev/null </dev/null)
t_check "the passphrase key is useless without its passphrase" [ -z "$got" ]
got=$(lab_client timeout 30 $LAB_SSH -o UserKnownHostsFile=/dev/null "$LAB_USER@$LAB_SERVER_IP" true 2>&1)
t_check "an unknown host key is refused (known_hosts is what makes it work)" \
	grep -q 'Host key verification failed' <<<"$got"

# Through each proxy: real clients from Debian (netcat-openbsd, ncat).
ssh_to "ssh through SOCKS5 (microsocks, nc -X 5)" "$me" \
	-o ProxyCommand="nc -X 5 -x $LAB_PROXY_IP:$LAB_SOCKS_PORT %h %p" "$LAB_USER@$LAB_SERVER_IP"
ssh_to "ssh through SOCKS5 with auth (microsocks -u, ncat)" "$me" \
	-o ProxyCommand="ncat --proxy-type socks5 --proxy $LAB_PROXY_IP:$LAB_SOCKS_AUTH_PORT --proxy-auth $LAB_SOCKS_USER:$LAB_SOCKS_PASS %h %p" \
	"$LAB_USER@$LAB_SERVER_IP"
got=$(lab_client timeout 30 $LAB_SSH -o ProxyCommand="ncat --proxy-type socks5 --proxy $LAB_PROXY_IP:$LAB_SOCKS_AUTH_PORT %h %p" \
	"$LAB_USER@$LAB_SERVER_IP" true 2>&1)
t_check "the SOCKS5 auth proxy refuses a client without credentials" [ -n "$got" ]
ssh_to "ssh through HTTP CONNECT (tinyproxy, nc -X connect)" "$me" \
	-o ProxyCommand="nc -X connect -x $LAB_PROXY_IP:$LAB_HTTP_PORT %h %p" "$LAB_USER@$LAB_SERVER_IP"
ssh_to "ssh through shadowsocks (ss-local SOCKS5 on the client side)" "$me" \
	-o ProxyCommand="nc -X 5 -x $LAB_SS_IP:$LAB_SS_PORT %h %p" "$LAB_USER@$LAB_SERVER_IP"
got=$(lab_client timeout 30 ssh -F "$LAB_SSH_CONFIG" -i "$LAB_KEY" -J lab -p "$LAB_JUMP_PORT" \
	"$LAB_USER@$LAB_JUMP_HOST" 'echo $SSH_CONNECTION' 2>/dev/null)
t_check "ssh with ProxyJump to the second sshd" [ "${got%% *}:${got##* }" = "127.0.0.1:$LAB_JUMP_PORT" ]
got=$(lab_client timeout 30 ssh -F "$LAB_SSH_CONFIG" labjump 'echo $SSH_CONNECTION' 2>/dev/null)
t_check "ssh to the Host alias labjump of LAB_SSH_CONFIG" [ "${got##* }" = "$LAB_JUMP_PORT" ]
t_check "the jump sshd is not reachable from the client" \
	[ "$(lab_tcp_probe "$LAB_SERVER_IP" "$LAB_JUMP_PORT" 2)" = refused ]

# Through a proxy, sshd sees the proxy's side (the server itself) as the client.
got=$(lab_client timeout 30 $LAB_SSH -o ProxyCommand="nc -X 5 -x $LAB_PROXY_IP:$LAB_SOCKS_PORT %h %p" \
	"$LAB_USER@$LAB_SERVER_IP" 'echo $SSH_CONNECTION' 2>/dev/null)
t_check "a proxied connection arrives from the server side" [ "${got%% *}" = "$LAB_SERVER_IP" ]

# The server is its own little machine.
t_check "mosh-server is installed on the server" lab_server test -x /usr/bin/mosh-server
t_check "the server has its own utmp" lab_server test -f /run/utmp -a -w /run/utmp
t_check "the server's process list shows only the lab" \
	[ "$(lab_server ps -o comm= -p 1)" = moshlab-init ]
t_check "client HOME is the lab's" [ "$(lab_client sh -c 'echo $HOME')" = "$LAB_HOME" ]
if [ -n "$LAB_HIDE_HOME" ]; then
	t_check "the real home ($LAB_HIDE_HOME) is covered in the client namespace" \
		lab_client sh -c "[ \"\$(stat -c %i $LAB_HIDE_HOME)\" = \"\$(stat -c %i $LAB_HIDE_SRC)\" ]"
else
	t_skip "the real home is covered in the client namespace" "it holds the tree under test and has no ~/.ssh"
fi
t_check "nothing outside the lab is reachable from the client" \
	[ -z "$(lab_client ip -4 route show default)" ]
t_done
