#!/bin/bash
# SPDX-License-Identifier: MIT
# Authentication: ssh-agent, a passphrase-protected key (prompt answered in tmux), a
# password (one wrong try first), three wrong passwords, keyboard-interactive (the lab's
# PAM sshd asking "Password: "; over tcp a reconnect answers again without asking), three
# wrong keyboard-interactive answers; no secret in argv, logs or the database.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
set -u
. "$MOSHMAN_TOP/tests/lab/lab.sh"
t_plan 37
. "$MOSHMAN_TOP/tests/e2e/connect_common.bash"
. "$MOSHMAN_TOP/tests/e2e/tunnel_common.bash"
connect_setup connect_auth

C=$LAB_DIR/connect
export MOSHMAN_LOG=$C/moshman.log
AGENT_PID=
trap '[ -n "$AGENT_PID" ] && kill "$AGENT_PID" 2>/dev/null; lab_down' EXIT

common="--host $LAB_SERVER_IP --port $LAB_SSH_PORT --known-hosts $LAB_KNOWN_HOSTS --hostkey-policy strict --transport udp"

# ssh-agent holding the lab key; the profile names no identity.
out=$(lab_client ssh-agent -a "$C/agent.sock")
AGENT_PID=$(printf '%s\n' "$out" | sed -n 's/^SSH_AGENT_PID=\([0-9]*\);.*/\1/p')
export SSH_AUTH_SOCK=$C/agent.sock
if [ -n "$AGENT_PID" ] && lab_client ssh-add -q "$LAB_KEY" 2>/dev/null; then
	"$M" host add agent $common --user "$LAB_USER" >&2
	session_cycle agent agent
	ev=$(events_of "$(last_session)" "" '|')
	case "$ev" in *"authenticated (publickey (agent))"*) t_ok "agent: the agent's key was used" ;;
	*) t_fail "agent: the agent's key was used" "$ev" ;; esac
else
	t_fail "agent: ssh-agent started" "$out"
fi
kill "$AGENT_PID" 2>/dev/null
AGENT_PID=
unset SSH_AUTH_SOCK

# A passphrase-protected key: the prompt on the terminal, answered in tmux.
"$M" host add pp $common --user "$LAB_USER" --identity "$LAB_PP_KEY" >&2
start_moshman pp connect pp
if lab_tmux_wait pp "Enter passphrase for key" 20; then
	lab_tmux_type pp "$LAB_PP_PASS"
	session_check pp
else
	t_fail "pp: passphrase prompt"
fi

# A password, with one wrong try first.
"$M" host add pw $common --user "$LAB_PW_USER" >&2
start_moshman pw connect pw
if lab_tmux_wait pw "password: *$" 20; then
	lab_tmux_type pw "wrong-password"
	if lab_tmux_wait pw "try again" 10 && lab_tmux_wait pw "password: *$" 5; then
		t_ok "pw: a wrong password asks again"
		lab_tmux_type pw "$LAB_PW_PASS"
		SESSION_USER=$LAB_PW_USER session_check pw
	else
		t_fail "pw: a wrong password asks again"
	fi
else
	t_fail "pw: password prompt"
fi

# Ctrl-C at the password prompt: exit 1, the row failed, the terminal echoes again.
start_moshman pwint connect pw
if lab_tmux_wait pwint "password: *$" 20; then
	lab_tmux_send pwint C-c
	st=$(exit_status pwint 10)
	[ "$st" = 1 ] && [ "$(q "SELECT state FROM sessions WHERE id = $(last_session)")" = failed ] &&
		t_ok "Ctrl-C at the password prompt: exit 1, row failed" ||
		t_fail "Ctrl-C at the password prompt: exit 1, row failed" "status '$st'"
	lab_tmux_type pwint "echo-is-back"
	t_check "Ctrl-C at the password prompt: echo restored" lab_tmux_wait pwint '^echo-is-back' 5
else
	t_fail "Ctrl-C at the password prompt: exit 1, row failed" "no prompt"
fi
lab_tmux_kill pwint

# prompts NAME N SECONDS [REGEX]: the pane shows the N-th prompt (default "Password:";
# the earlier ones stay on the screen, PAM delays each failure by about 2 s, and what is
# typed before the prompt is flushed).
prompts() {
	local i
	for i in $(seq 1 $(($3 * 10))); do
		[ "$(lab_tmux_capture "$1" | grep -c -- "${4:-^Password: *\$}")" -ge "$2" ] && return 0
		sleep 0.1
	done
	return 1
}

# Three wrong passwords: exit 1, one clear line.
"$M" host add pwbad $common --user "$LAB_PW_USER" >&2
start_moshman pwbad connect pwbad
for i in 1 2 3; do
	prompts pwbad "$i" 10 'password: *$' && lab_tmux_type pwbad "bad-$i"
done
st=$(exit_status pwbad 20)
[ "$st" = 1 ] && lab_tmux_capture pwbad | grep -q "authentication failed" &&
	t_ok "three wrong passwords: exit 1, authentication failed" ||
	t_fail "three wrong passwords: exit 1, authentication failed" "status '$st'"

# Keyboard-interactive: the sshd on $LAB_KBD_PORT offers nothing else; PAM asks
# "Password: ", answered in tmux.  While the session runs, no process's argv holds it.
"$M" host add kbd --host "$LAB_SERVER_IP" --port "$LAB_KBD_PORT" --known-hosts "$LAB_KNOWN_HOSTS" \
	--hostkey-policy strict --transport udp --user "$LAB_PW_USER" >&2
start_moshman kbd connect kbd
if lab_tmux_wait kbd "^Password: *$" 20; then
	t_check "kbd: the keyboard-interactive step is named" lab_tmux_wait kbd "auth keyboard-interactive" 1
	lab_tmux_type kbd "$LAB_PW_PASS"
	if lab_tmux_wait kbd '\$ *$' 30; then
		ps -eo args >"$C/argv"
		argv=$(grep -F -f <(printf '%s\n' "$LAB_PW_PASS") "$C/argv")
		t_check "kbd: the answer is in no process's argv" [ -z "$argv" ]
	fi
	ev=$(events_of "$(last_session)" "" '|')
	case "$ev" in *"authenticated (keyboard-interactive)"*) t_ok "kbd: authenticated by keyboard-interactive" ;;
	*) t_fail "kbd: authenticated by keyboard-interactive" "$ev" ;; esac
	SESSION_USER=$LAB_PW_USER session_check kbd
else
	t_fail "kbd: keyboard-interactive prompt" "$(lab_tmux_capture kbd | grep . | tail -n 3)"
	lab_tmux_kill kbd
fi

# Over tcp: the remote relay killed by PID, the reconnect answers the same question
# with the remembered answer, without a prompt.
"$M" host add kbdt --host "$LAB_SERVER_IP" --port "$LAB_KBD_PORT" --known-hosts "$LAB_KNOWN_HOSTS" \
	--hostkey-policy strict --transport tcp --user "$LAB_PW_USER" >&2
start_moshman kbdt connect kbdt
if lab_tmux_wait kbdt "^Password: *$" 20 && lab_tmux_type kbdt "$LAB_PW_PASS" &&
	lab_tmux_wait kbdt '\$ *$' 30 && echo_after kbdt first 10; then
	rp=$(lab_server ps -u "$LAB_PW_USER" -o pid=,args= | grep -E 'moshman relay|perl -e' | grep -v grep | awk '{print $1}')
	[ -n "$rp" ] && lab_server kill $rp
	if [ -n "$rp" ] && wait_reconnects 1 20 && echo_after kbdt again 20; then
		t_ok "kbdt: over tcp, a reconnect answers keyboard-interactive without asking"
	else
		t_fail "kbdt: over tcp, a reconnect answers keyboard-interactive without asking" \
			"relay '$rp', $(events_of "$(last_session)" reconnect '|')"
	fi
	st=$(grep -c "Accepted keyboard-interactive/pam for $LAB_PW_USER" "$LAB_DIR/log/sshd_kbd.auth.log")
	t_check "kbdt: sshd accepted keyboard-interactive again ($st logins in all)" [ "$st" -ge 3 ]
	if SESSION_USER=$LAB_PW_USER tcp_end kbdt; then t_ok "kbdt: exit ends moshman with status 0"; else t_fail "kbdt: exit ends moshman with status 0"; fi
	SESSION_USER=$LAB_PW_USER t_check "kbdt: no mosh-server left on the server" no_mosh_servers 10
else
	t_fail "kbdt: over tcp, a reconnect answers keyboard-interactive without asking" "no session"
	lab_tmux_kill kbdt
fi

# Three wrong keyboard-interactive answers (asked again after each, as OpenSSH does):
# exit 1 with one clear line, the row failed, no moshman left.
start_moshman kbdbad connect kbd
for i in 1 2 3; do
	prompts kbdbad $i 10 && lab_tmux_type kbdbad "bad-$i"
	[ $i = 1 ] && t_check "kbd: a wrong answer asks again" lab_tmux_wait kbdbad "try again" 10
done
st=$(exit_status kbdbad 20)
out=$(lab_tmux_capture kbdbad | grep '^moshman: authentication failed' | tr -d '\n')
echo "# kbdbad: $out"
[ "$st" = 1 ] && [ "$(lab_tmux_capture kbdbad | grep -c 'authentication failed')" = 1 ] &&
	lab_tmux_capture kbdbad | tr -d '\n' | grep -q "tried: keyboard-interactive" &&
	t_ok "three wrong keyboard-interactive answers: exit 1, authentication failed" ||
	t_fail "three wrong keyboard-interactive answers: exit 1, authentication failed" "status '$st'"
t_check "kbdbad: row failed" [ "$(q "SELECT state FROM sessions WHERE id = $(last_session)")" = failed ]
t_check "kbdbad: no moshman left" [ -z "$(pgrep -f "^$M connect kbd\$")" ]
lab_tmux_kill kbdbad

# No secret anywhere we write.
leak=
for s in "$LAB_PP_PASS" "$LAB_PW_PASS"; do
	grep -qF -- "$s" "$MOSHMAN_LOG" 2>/dev/null && leak="$leak log"
	q .dump | grep -qF -- "$s" && leak="$leak db"
done
[ -s "$MOSHMAN_LOG" ] && [ -z "$leak" ] && t_ok "no passphrase or password in the log or database" ||
	t_fail "no passphrase or password in the log or database" "leak:$leak"

t_done
