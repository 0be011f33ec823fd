#!/bin/bash
# Authentication: ssh-agent, a passphrase-protected key (prompt answered in tmux), a
# password (one wrong try first), three wrong passwords; no secret in logs or the database.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
set -u
. "$MOSHMAN_TOP/tests/lab/lab.sh"
. "$MOSHMAN_TOP/tests/e2e/connect_common.bash"
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
	ev=$(q "SELECT group_concat(message, '|') FROM events WHERE session_id = $(last_session)")
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

# Three wrong passwords: exit 1, one clear line.
"$M" host add pwbad $common --user "$LAB_PW_USER" >&2
start_moshman pwbad connect pwbad
for i in 1 2 3; do
	lab_tmux_wait pwbad "password: *$" 10 && lab_tmux_type pwbad "bad-$i"
	sleep 0.3
done
st=$(exit_status pwbad 20)
[ "$st" = 1 ] && lab_tmux_capture pwbad | grep -q "authentication failed" &&
	t_ok "three wrong passwords: exit 1, authentication failed" ||
	t_fail "three wrong passwords: exit 1, authentication failed" "status '$st'"

# No secret anywhere we write.
leak=
for s in "$LAB_PP_PASS" "$LAB_PW_PASS"; do
	grep -qF -- "$s" "$MOSHMAN_LOG" 2>/dev/null && leak="$leak log"
	q .dump | grep -qF -- "$s" && leak="$leak db"
done
[ -s "$MOSHMAN_LOG" ] && [ -z "$leak" ] && t_ok "no passphrase or password in the log or database" ||
	t_fail "no passphrase or password in the log or database" "leak:$leak"

t_done
