#!/bin/bash
# SPDX-License-Identifier: MIT
# The baseline moshman must beat: the real mosh wrapper works in the lab while UDP is
# open and does not while it is blocked, whatever carries its ssh.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "${MOSHMAN_TOP:-$(cd "$(dirname "$0")/../.." && pwd)}/tests/lab/lab.sh"
t_plan 13
lab_start lab_mosh

prompt='\$ ?$'
mosh_cmd=(mosh --ssh="$LAB_SSH" "$LAB_USER@$LAB_SERVER_IP")

# 1. UDP open: a session, a command, its answer.
lab_tmux_start open "${mosh_cmd[@]}"
t_check "mosh reaches a shell prompt with UDP open" lab_tmux_wait open "$LAB_USER@$LAB_HOSTNAME:~$prompt" 30
lab_tmux_type open 'echo $((6*7))'
t_check "a typed echo \$((6*7)) shows 42" lab_tmux_wait open '^42$' 15
t_check "lab_mosh_servers lists the session's server" \
	grep -q "^[0-9]\+ $LAB_USER .*mosh-server new" <<<"$(lab_mosh_servers "$LAB_USER")"
t_check "utmp on the server shows the attached client" \
	grep -q "($LAB_CLIENT_IP via mosh \[[0-9]*\])" <<<"$(lab_server who)"
t_check "lab_mosh_servers USER filters by user" [ -z "$(lab_mosh_servers "$LAB_OTHER_USER")" ]

# 2. The same session when UDP goes: mosh warns and nothing gets through; back when it returns.
lab_block_udp
lab_tmux_type open 'echo $((7*8))'
t_check "UDP blocked: the live session shows mosh's \"Last contact\"" \
	lab_tmux_wait open 'Last contact [0-9]+ seconds ago' 20
if lab_tmux_capture open | grep -q '^56$'; then
	t_fail "UDP blocked: no answer arrives" "56 is on the screen"
else
	t_ok "UDP blocked: no answer arrives"
fi
lab_unblock_udp
t_check "UDP back: the answer arrives" lab_tmux_wait open '^56$' 30

# 3. A killed client leaves its server behind: the orphan moshman is to clean up.
before=$(lab_mosh_servers "$LAB_USER")
client=$(lab_tmux_pane_pid open)
kill -KILL "$client"
sleep 1
t_check "a SIGKILLed mosh-client leaves its mosh-server running" \
	[ "$(lab_mosh_servers "$LAB_USER")" = "$before" ]

# 4. A new session with UDP blocked never gets a shell: ssh works, mosh cannot.
lab_block_udp
lab_tmux_start blocked "${mosh_cmd[@]}"
t_check "UDP blocked: a new mosh says \"Nothing received from server\"" \
	lab_tmux_wait blocked 'Nothing received from server on UDP port [0-9]+' 30
if lab_tmux_capture blocked | grep -Eq "$prompt"; then
	t_fail "UDP blocked: a new mosh never shows a prompt"
else
	t_ok "UDP blocked: a new mosh never shows a prompt"
fi
t_check "UDP blocked: its mosh-server was still started (ssh got through)" \
	[ "$(lab_mosh_servers "$LAB_USER" | wc -l)" -ge 2 ]

# 5. Not even when ssh goes through a proxy: the UDP is what is missing.  (With a
# ProxyCommand of its own, mosh must be told to take the server's address from the far
# side's SSH_CONNECTION; by default it stops at "Did not find remote IP address".)
lab_blackhole_tcp server
lab_tmux_start proxied mosh --experimental-remote-ip=remote \
	--ssh="$LAB_SSH -o ProxyCommand='nc -X 5 -x $LAB_PROXY_IP:$LAB_SOCKS_PORT %h %p'" \
	"$LAB_USER@$LAB_SERVER_IP"
t_check "UDP blocked, ssh through SOCKS5: mosh still gets nothing" \
	lab_tmux_wait proxied 'Nothing received from server on UDP port [0-9]+' 30

t_done
