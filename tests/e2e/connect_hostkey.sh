#!/bin/bash
# SPDX-License-Identifier: MIT
# Host key policies: ask (answered yes and no in tmux), accept-new, strict, a changed key.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
set -u
. "$MOSHMAN_TOP/tests/lab/lab.sh"
t_plan 27
. "$MOSHMAN_TOP/tests/e2e/connect_common.bash"
connect_setup connect_hostkey

C=$LAB_DIR/connect
fp=$(ssh-keygen -lf "$LAB_DIR/etc/ssh_host_ed25519_key.pub" | awk '{print $2}')
entry="[$LAB_SERVER_IP]:$LAB_SSH_PORT"
recorded() { awk -v e="$entry" '$1 == e { f = 1 } END { exit !f }' "$1" 2>/dev/null; }

# ask, answered yes: the fingerprint is shown, the key recorded, the session works.
add_host askyes --known-hosts "$C/kh_yes" --hostkey-policy ask
start_moshman askyes connect askyes
if lab_tmux_wait askyes 'continue connecting \(yes/no\)' 20; then
	lab_tmux_capture askyes | grep -qF "$fp" && t_ok "ask: shows the SHA256 fingerprint" ||
		t_fail "ask: shows the SHA256 fingerprint" "$fp not on screen"
	lab_tmux_type askyes yes
	session_check askyes
	recorded "$C/kh_yes" && t_ok "ask yes: key recorded" ||
		t_fail "ask yes: key recorded" "$(cat "$C/kh_yes" 2>&1)"
else
	t_fail "ask: shows the SHA256 fingerprint" "no question"
fi

# ask, answered no: nothing recorded, exit 1, row failed.
add_host askno --known-hosts "$C/kh_no" --hostkey-policy ask
start_moshman askno connect askno
if lab_tmux_wait askno 'continue connecting \(yes/no\)' 20; then
	lab_tmux_type askno no
	st=$(exit_status askno 10)
	[ "$st" = 1 ] && lab_tmux_capture askno | grep -q "not accepted" &&
		t_ok "ask no: exits 1 saying so" || t_fail "ask no: exits 1 saying so" "status '$st'"
	[ ! -s "$C/kh_no" ] && t_ok "ask no: nothing recorded" || t_fail "ask no: nothing recorded"
	[ "$(q "SELECT state FROM sessions WHERE id = $(last_session)")" = failed ] &&
		t_ok "ask no: row failed" || t_fail "ask no: row failed"
else
	t_fail "ask no: exits 1 saying so" "no question"
fi
lab_tmux_kill askno

# ask without a terminal: refuse and say what to do.
add_host asktty --known-hosts "$C/kh_tty" --hostkey-policy ask
fails "ask without a terminal" "no terminal to ask.*accept-new" asktty

# accept-new (as a one-run override of a strict profile): silent, recorded.
add_host acceptnew --known-hosts "$C/kh_new" --hostkey-policy strict
start_moshman acceptnew connect acceptnew --hostkey-policy accept-new
session_check acceptnew
recorded "$C/kh_new" && t_ok "accept-new: key recorded" ||
	t_fail "accept-new: key recorded"

# strict: an unknown key is refused and not recorded.
add_host strict --known-hosts "$C/kh_strict" --hostkey-policy strict
fails "strict refuses an unknown key" "not in .*kh_strict.*strict" strict
[ ! -s "$C/kh_strict" ] && t_ok "strict: nothing recorded" || t_fail "strict: nothing recorded"

# A changed key: refused whatever the policy, naming the file and line.
ssh-keygen -q -t ed25519 -N '' -f "$C/other_key"
{
	echo "# lab"
	echo "example.org $(cut -d' ' -f1,2 "$C/other_key.pub")"
	echo "$entry $(cut -d' ' -f1,2 "$C/other_key.pub")"
} >"$C/kh_changed"
add_host changed --known-hosts "$C/kh_changed" --hostkey-policy accept-new
fails "changed key refused" "IDENTIFICATION HAS CHANGED.*kh_changed:3" changed
[ "$(wc -l <"$C/kh_changed")" = 3 ] && t_ok "changed key: file untouched" ||
	t_fail "changed key: file untouched"

t_done
