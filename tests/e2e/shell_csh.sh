#!/bin/bash
# SPDX-License-Identifier: MIT
# A host whose login shell is tcsh (about 70 s).  sshd runs every exec request through the
# user's login shell, so each command moshman sends must mean the same to csh as to sh:
# the mosh-server start (environment through env(1), not "A=b cmd"), the relay, the
# scan collector and the kill script (both POSIX sh scripts, sent encoded; csh refuses a
# newline inside quotes).  Over tcp with UDP blocked: a session shows 42 and ends; scan
# classifies it while it runs; an orphan made by SIGKILL is killed by clean --yes.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
set -u
. "$MOSHMAN_TOP/tests/lab/lab.sh"
t_plan 14
. "$MOSHMAN_TOP/tests/e2e/connect_common.bash"
. "$MOSHMAN_TOP/tests/e2e/tunnel_common.bash"
connect_setup shell_csh
export MOSHMAN_SCAN_STARTING_S=5
lab_block_udp
add_host c --user "$LAB_CSH_USER" --transport tcp

t_check "the lab user's login shell is tcsh" \
	[ "$(lab_server getent passwd "$LAB_CSH_USER" | cut -d: -f7)" = "$(command -v tcsh)" ]
t_check "ssh runs commands through csh there (\$shell is set)" \
	[ -n "$(lab_client $LAB_SSH "$LAB_CSH_USER@$LAB_SERVER_IP" 'echo $shell' 2>/dev/null | grep tcsh)" ]

csh_servers() { lab_server pgrep -u "$LAB_CSH_USER" -x mosh-server; }

# ---- a session over tcp ----
start_moshman live connect c
if lab_tmux_wait live '> *$' 30 >/dev/null && lab_tmux_type live 'expr 6 \* 7' &&
	lab_tmux_wait live '^42' 15 >/dev/null; then
	t_ok "tcsh host: expr 6 \\* 7 shows 42 over tcp"
else
	t_fail "tcsh host: expr 6 \\* 7 shows 42 over tcp" "$(lab_tmux_capture live | tail -n 5)"
fi
LID=$(last_session)
t_check "tcsh host: row up, path tcp" [ "$(q "SELECT state || '|' || path FROM sessions WHERE id = $LID")" = "up|tcp" ]
L=$(q "SELECT server_pid FROM sessions WHERE id = $LID")
t_check "tcsh host: mosh-server got the idle timeouts through env" \
	lab_server grep -qz '^MOSH_SERVER_SIGNAL_TMOUT=60$' "/proc/$L/environ"

# ---- scan through csh ----
js=$(lab_client timeout 60 "$M" scan c --json 2>"$LAB_DIR/scan.err")
rc=$?
echo "$js" | jq -c '.[0] | {status, error, missing: .missing_tools}' 2>/dev/null | sed 's/^/# /'
t_check "scan through csh: exit 0, status ok" [ $rc = 0 -a "$(jq -r '.[0].status' <<<"$js" 2>/dev/null)" = ok ]
t_check "scan through csh: the live session is ours-live" \
	[ "$(jq -r --argjson p "${L:-0}" '.[0].servers[] | select(.pid == $p) | .class' <<<"$js" 2>/dev/null)" = ours-live ]

# ---- an orphan, killed by clean through csh ----
start_moshman orph connect c
lab_tmux_wait orph '> *$' 30 >/dev/null
OID=$(last_session)
O=$(q "SELECT server_pid FROM sessions WHERE id = $OID")
kill -KILL "$(q "SELECT supervisor_pid FROM sessions WHERE id = $OID")" \
	"$(q "SELECT client_pid FROM sessions WHERE id = $OID")" 2>/dev/null
echo "# live $L (session $LID), orphan $O (session $OID)"
# mosh-server marks the orphan's utmp line detached 30 s after it last heard a client.
for i in $(seq 1 50); do
	lab_server who | grep -q "(mosh \[$O\])" && break
	sleep 1
done
out=$(lab_client timeout 60 "$M" clean c --yes 2>&1)
rc=$?
echo "$out" | sed 's/^/# clean: /'
for i in $(seq 1 50); do
	lab_server kill -0 "$O" 2>/dev/null || break
	sleep 0.1
done
t_check "clean through csh: exit 0" [ $rc = 0 ]
if lab_server kill -0 "$O" 2>/dev/null; then
	t_fail "clean through csh: the orphan's mosh-server is gone" "pid $O still runs"
else
	t_ok "clean through csh: the orphan's mosh-server is gone"
fi
t_check "clean through csh: the live session's server is untouched" lab_server kill -0 "$L"
t_check "clean through csh: the orphan's row is killed" [ "$(q "SELECT state FROM sessions WHERE id = $OID")" = killed ]
lab_tmux_kill orph

# ---- the live session goes on and ends ----
if lab_tmux_type live 'echo csh-still-here' && fast_wait live '^csh-still-here' 15; then t_ok "tcsh host: the live session still echoes"; else t_fail "tcsh host: the live session still echoes"; fi
if tcp_end live; then t_ok "tcsh host: exit ends moshman with status 0"; else t_fail "tcsh host: exit ends moshman with status 0"; fi
for i in $(seq 1 50); do
	[ -z "$(csh_servers)" ] && break
	sleep 0.1
done
t_check "tcsh host: no mosh-server of the user left" [ -z "$(csh_servers)" ]
t_done
