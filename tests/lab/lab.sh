#!/bin/bash
# SPDX-License-Identifier: MIT
# The end-to-end lab: a "client" and a "server" network namespace joined only to each
# other by a veth pair, with a real OpenSSH sshd, mosh-server and proxies (microsocks,
# tinyproxy, shadowsocks-libev) on the server side, switches that break the path the way
# real networks break, and tmux helpers to drive interactive programs in the client.
# docs/testing.md explains it; the short form:
#
#	. "$MOSHMAN_TOP/tests/lab/lab.sh"
#	lab_start                       # skip unless root, lab_up, trap lab_down
#	lab_tmux_start m mosh --ssh="$LAB_SSH" "$LAB_USER@$LAB_SERVER_IP"
#	lab_tmux_wait m '\$ ?$' 30 && lab_tmux_type m 'echo $((6*7))'
#	t_check "mosh shows 42" lab_tmux_wait m '^42$' 10
#
# As a program, for people: bash tests/lab/lab.sh up|down|status|env|gc|shell [client|server]
#
# Bash only.  Every public function runs with its own `set +eu` (`local -`), so a caller
# under `set -eu` gets return codes, not a half-done lab_down.  Every process the lab
# starts is recorded by PID and stopped by PID; the server side runs in its own PID
# namespace, so stopping its init stops everything that ever ran there.

LAB_LIB=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
: "${MOSHMAN_TOP:=$(cd "$LAB_LIB/../.." && pwd)}"

# Fixed ports are fine: every run has its own namespaces.
LAB_SSH_PORT=2222
LAB_JUMP_HOST=127.0.0.1
LAB_JUMP_PORT=2223
LAB_KBD_PORT=2224
LAB_SOCKS_PORT=1080
LAB_SOCKS_AUTH_PORT=1081
LAB_HTTP_PORT=8888
LAB_SS_SERVER_PORT=8388
LAB_SS_IP=127.0.0.1
LAB_SS_PORT=1090
LAB_USER=moshlab
LAB_PW_USER=moshlabpw
LAB_OTHER_USER=moshlabother
LAB_CSH_USER=moshlabcsh    # key login like LAB_USER, but tcsh is its login shell
LAB_SOCKS_USER=labsocks
LAB_HOSTNAME=lab-server

# Names exported by lab_up (and saved in $LAB_DIR/state.env).
_LAB_VARS="LAB_ID LAB_DIR LAB_CLIENT_NS LAB_SERVER_NS LAB_CLIENT_IP LAB_SERVER_IP
LAB_PROXY_IP LAB_NET LAB_CLIENT_IF LAB_SERVER_IF LAB_NET2 LAB_CLIENT2_IP LAB_SERVER2_IP
LAB_CLIENT2_IF LAB_SERVER2_IF LAB_SSH_PORT LAB_JUMP_HOST LAB_JUMP_PORT LAB_KBD_PORT
LAB_USER LAB_KEY LAB_PW_USER LAB_PW_PASS LAB_PP_KEY LAB_PP_PASS LAB_OTHER_USER LAB_CSH_USER
LAB_KNOWN_HOSTS LAB_SOCKS_PORT LAB_SOCKS_AUTH_PORT LAB_SOCKS_USER LAB_SOCKS_PASS
LAB_HTTP_PORT LAB_SS_PORT LAB_SS_IP LAB_SS_SERVER_PORT LAB_HOME LAB_SERVER_INIT
LAB_NFT_TABLE LAB_HOST_KEY LAB_SSH LAB_SSH_BASE LAB_SSH_OPTS LAB_SSH_CONFIG LAB_HOSTNAME LAB_HIDE_HOME LAB_HIDE_SRC"

# ---- test lines ----------------------------------------------------------------------
# t_plan, t_ok, t_fail, t_skip, t_check, t_done: shared with the standalone scripts.
. "$MOSHMAN_TOP/tests/t.sh"

_lab_err() { echo "lab: $*" >&2; return 1; }
_lab_log() { [ -n "${LAB_VERBOSE:-}" ] && echo "lab: $*" >&2; return 0; }

# lab_require_root [NAME...]: prints a skip line (for each NAME, default the script's
# name) and exits 0 when the lab cannot exist here: not root, or no network namespaces.
lab_require_root() { local -; set +eu;
	local why= n
	if [ "$(id -u)" != 0 ]; then
		why="not root (the lab needs network namespaces)"
	elif ! command -v ip >/dev/null 2>&1 || ! command -v unshare >/dev/null 2>&1; then
		why="no ip/unshare (iproute2, util-linux) to make network namespaces"
	elif ! unshare --net --pid --fork --mount-proc true 2>/dev/null; then
		why="network/PID namespaces unavailable (unshare failed)"
	fi
	[ -z "$why" ] && return 0
	[ $# -eq 0 ] && set -- "$(basename "$0" .sh)"
	for n in "$@"; do t_skip "$n" "$why"; done
	exit 0
}

# lab_start [NAME...]: the usual prologue: require root, trap lab_down, lab_up.
lab_start() { local -; set +eu;
	lab_require_root "$@"
	trap 'lab_down' EXIT
	trap 'exit 130' INT
	trap 'exit 143' TERM HUP
	lab_up || { t_fail "lab_up" "the lab did not come up (see stderr)"; exit 1; }
}

# ---- small internals -----------------------------------------------------------------
_lab_rand() { # _lab_rand NBYTES: hex
	od -An -N"$1" -tx1 /dev/urandom | tr -d ' \n'
}

# Free /24 in 10.0.0.0/8 that no host route overlaps (the namespaces never touch the
# host's routing, but an overlap would confuse anyone reading addresses in logs).
_lab_pick_net() {
	local routes r a b n i
	routes=$(ip -4 route show table all 2>/dev/null | awk '{print $1}' | grep -E '^(10\.|default)' || true)
	for i in $(seq 1 50); do
		a=$(( (RANDOM % 200) + 40 ))
		b=$(( (RANDOM % 250) + 1 ))
		n="10.$a.$b"
		local clash=0
		for r in $routes; do
			case "$r" in
			default) ;;
			10.0.0.0/8 | "10.$a.0.0/16" | "$n.0/24" | "$n".*) clash=1 ;;
			esac
		done
		[ $clash -eq 0 ] && { echo "$n"; return 0; }
	done
	_lab_err "no free 10.x.y.0/24"
}

_lab_need_cmds() {
	local c missing=
	for c in ip nft unshare nsenter tmux perl ssh ssh-keygen /usr/sbin/sshd mosh mosh-server \
		microsocks tinyproxy ss-server ss-local ss useradd usermod flock timeout tcsh; do
		command -v "$c" >/dev/null 2>&1 || missing="$missing $c"
	done
	[ -z "$missing" ] || _lab_err "missing programs:$missing (make deps-test installs them)"
}

_lab_save_state() {
	local v
	{
		for v in $_LAB_VARS; do printf 'export %s=%q\n' "$v" "${!v-}"; done
	} >"$LAB_DIR/state.env.tmp" && mv "$LAB_DIR/state.env.tmp" "$LAB_DIR/state.env"
}

_lab_alive() { # lab is up and matches its saved state
	[ -n "${LAB_DIR:-}" ] && [ -f "$LAB_DIR/state.env" ] &&
		[ -e "/run/netns/${LAB_CLIENT_NS:-none}" ] && [ -e "/run/netns/${LAB_SERVER_NS:-none}" ] &&
		[ -n "${LAB_SERVER_INIT:-}" ] && [ -d "/proc/$LAB_SERVER_INIT" ]
}

# ---- running things ------------------------------------------------------------------
# lab_client CMD...: run in the client namespace, env preserved, HOME=$LAB_HOME.  In
# there the real ~/.ssh (or the whole home of the calling user, when nothing the test
# needs lives in it) is covered by $LAB_HOME, so ssh, which finds ~ through the password
# database and not $HOME, cannot read or write the real one either.
_LAB_CLIENT_SH='h=$1 hide=$2 src=$3; shift 3
if [ -n "$hide" ]; then mount --bind "$src" "$hide" || exit 125; fi
HOME=$h; export HOME
exec "$@"'
lab_client() { local -; set +eu;
	[ -n "${LAB_CLIENT_NS:-}" ] || { _lab_err "lab_client: lab not up"; return 125; }
	ip netns exec "$LAB_CLIENT_NS" /bin/sh -c "$_LAB_CLIENT_SH" sh \
		"$LAB_HOME" "${LAB_HIDE_HOME:-}" "${LAB_HIDE_SRC:-}" "$@"
}

# lab_server CMD...: run on the "server": its network, PID, mount and UTS namespaces,
# where /home/<lab user>, /etc/shadow and /run/utmp are the run's own (bind mounts).
# PIDs seen there are the server's, as moshman sees them over ssh.
lab_server() { local -; set +eu;
	[ -n "${LAB_SERVER_INIT:-}" ] || { _lab_err "lab_server: lab not up"; return 125; }
	nsenter -t "$LAB_SERVER_INIT" -n -p -m -u -- "$@"
}

# _lab_spawn_server NAME CMD...: start a daemon on the server side, detached from us,
# a child of the server's init; its server-side PID goes to run/NAME.spid.
_lab_spawn_server() {
	local name=$1 pid
	shift
	pid=$(lab_server /bin/sh -c 'log=$1; shift; "$@" </dev/null >>"$log" 2>&1 & echo $!' \
		sh "$LAB_DIR/log/$name.log" "$@") || return 1
	[ -n "$pid" ] || return 1
	echo "$pid" >"$LAB_DIR/run/$name.spid"
}

# The keeper (tests/lab/keeper.pl) is the parent of the client side's daemons: this
# machine's PID 1 does not reap orphans, the keeper does.
_lab_keeper_start() {
	local i
	mkfifo -m 600 "$LAB_DIR/run/keeper.fifo" || return 1
	setsid /bin/sh -c 'echo $$ >"$1"; shift; exec "$@"' sh "$LAB_DIR/run/keeper.hpid" \
		ip netns exec "$LAB_CLIENT_NS" perl "$LAB_LIB/keeper.pl" "$LAB_DIR/run/keeper.fifo" \
		</dev/null >>"$LAB_DIR/log/keeper.log" 2>&1 &
	for i in $(seq 1 100); do
		[ -s "$LAB_DIR/run/keeper.hpid" ] && [ "$(cat "/proc/$(cat "$LAB_DIR/run/keeper.hpid")/comm" 2>/dev/null)" = moshlab-keeper ] && return 0
		sleep 0.05
	done
	_lab_err "keeper did not start"
}

# _lab_keeper_run PIDFILE STATUSFILE LOG CMD...: have the keeper start CMD (with our
# environment); waits until PIDFILE exists.
_lab_keeper_run() {
	local pidfile=$1 line= a i envf
	envf=$(mktemp "$LAB_DIR/run/env.XXXXXX") || return 1
	env -0 >"$envf"
	rm -f "$pidfile" "$2"
	set -- "$1" "$2" "$3" "$envf" "${@:4}"
	for a in "$@"; do
		line=$line$(printf '%s' "$a" | od -An -v -tx1 | tr -d ' \n')$'\t'
	done
	printf '%s\n' "${line%$'\t'}" >"$LAB_DIR/run/keeper.fifo" || return 1
	for i in $(seq 1 100); do
		[ -s "$pidfile" ] && { rm -f "$envf"; return 0; }
		sleep 0.05
	done
	rm -f "$envf"
	_lab_err "keeper did not start: ${*:5}"
}

# _lab_spawn_client NAME CMD...: start a daemon in the client namespace (HOME and home
# covering as lab_client); host PID in run/NAME.cpid.
_lab_spawn_client() {
	local name=$1
	shift
	_lab_keeper_run "$LAB_DIR/run/$name.cpid" "" "$LAB_DIR/log/$name.log" \
		unshare -m /bin/sh -c "$_LAB_CLIENT_SH" sh \
		"$LAB_HOME" "${LAB_HIDE_HOME:-}" "${LAB_HIDE_SRC:-}" "$@"
}

_lab_pid_alive() { # _lab_pid_alive NAME: the recorded daemon runs
	local f=$LAB_DIR/run/$1
	if [ -s "$f.spid" ]; then
		lab_server kill -0 "$(cat "$f.spid")" 2>/dev/null
	elif [ -s "$f.cpid" ]; then
		kill -0 "$(cat "$f.cpid")" 2>/dev/null
	else
		return 1
	fi
}

# _lab_stop NAME: TERM, then KILL after 3 s, the recorded daemon; waits until it is gone.
_lab_stop() {
	local f=$LAB_DIR/run/$1 pid i
	if [ -s "$f.spid" ]; then
		pid=$(cat "$f.spid")
		lab_server kill -TERM "$pid" 2>/dev/null
		for i in $(seq 1 60); do
			lab_server kill -0 "$pid" 2>/dev/null || break
			[ "$i" = 60 ] && lab_server kill -KILL "$pid" 2>/dev/null
			sleep 0.05
		done
		rm -f "$f.spid"
	elif [ -s "$f.cpid" ]; then
		pid=$(cat "$f.cpid")
		kill -TERM "$pid" 2>/dev/null
		for i in $(seq 1 60); do
			kill -0 "$pid" 2>/dev/null || break
			[ "$i" = 60 ] && kill -KILL "$pid" 2>/dev/null
			sleep 0.05
		done
		rm -f "$f.cpid"
	fi
	return 0
}

# _lab_wait_listen client|server IP PORT [tcp|udp]: bounded wait (5 s) for a listener.
_lab_wait_listen() {
	local side=$1 ip=$2 port=$3 proto=${4:-tcp} i flag=-Hltn out
	[ "$proto" = udp ] && flag=-Hlun
	for i in $(seq 1 100); do
		if [ "$side" = server ]; then
			out=$(lab_server ss $flag "sport = :$port" 2>/dev/null)
		else
			out=$(ip netns exec "$LAB_CLIENT_NS" ss $flag "sport = :$port" 2>/dev/null)
		fi
		case "$out" in *"$ip:$port"* | *"*:$port"* | *"0.0.0.0:$port"*) return 0 ;; esac
		sleep 0.05
	done
	_lab_err "nothing listens on $side $ip:$port/$proto"
}

# ---- setup pieces --------------------------------------------------------------------
# Lab users exist once per machine (useradd, homes under /home); each run covers their
# homes and /etc/shadow with its own copies inside the server's mount namespace.
_lab_users() {
	local u
	mkdir -p /run/moshlab
	(
		flock -w 30 9 || exit 1
		for u in "$LAB_USER" "$LAB_PW_USER" "$LAB_OTHER_USER"; do
			id "$u" >/dev/null 2>&1 && continue
			useradd -m -d "/home/$u" -s /bin/bash "$u" >/dev/null 2>&1 || id "$u" >/dev/null 2>&1 || exit 1
		done
		# A user whose login shell is not POSIX: sshd runs every exec through it.
		u=$LAB_CSH_USER
		if ! id "$u" >/dev/null 2>&1; then
			useradd -m -d "/home/$u" -s "$(command -v tcsh)" "$u" >/dev/null 2>&1 || id "$u" >/dev/null 2>&1 || exit 1
		fi
		[ "$(getent passwd "$u" | cut -d: -f7)" = "$(command -v tcsh)" ] || usermod -s "$(command -v tcsh)" "$u" || exit 1
		# mosh-server marks detached sessions in utmp; a fresh container may lack it.
		if [ ! -e /run/utmp ]; then
			touch /run/utmp && chgrp utmp /run/utmp 2>/dev/null
			chmod 664 /run/utmp
		fi
		mkdir -p /run/sshd && chmod 755 /run/sshd
	) 9>/run/moshlab/users.lock || _lab_err "could not create the lab users"
}

# An ssh_config for the lab (`ssh -F $LAB_SSH_CONFIG`): -F reaches the ProxyJump hop too,
# where -o options do not.  Hosts "lab" (the sshd) and "labjump" (the second sshd, via
# lab), both with $LAB_KEY; any other host gets the known_hosts and batch settings only.
_lab_ssh_config() {
	LAB_SSH_CONFIG=$LAB_DIR/ssh_config
	cat >"$LAB_SSH_CONFIG" <<EOF
Host lab
	HostName $LAB_SERVER_IP
	Port $LAB_SSH_PORT
	User $LAB_USER
	IdentityFile $LAB_KEY
Host labjump
	HostName $LAB_JUMP_HOST
	Port $LAB_JUMP_PORT
	User $LAB_USER
	IdentityFile $LAB_KEY
	ProxyJump lab
Host *
	UserKnownHostsFile $LAB_KNOWN_HOSTS
	GlobalKnownHostsFile /dev/null
	StrictHostKeyChecking yes
	BatchMode yes
	IdentitiesOnly yes
	ConnectTimeout 10
	ServerAliveInterval 5
	ServerAliveCountMax 3
EOF
	# The same without a config file, for programs that build their own ssh command.
	LAB_SSH_OPTS="-o UserKnownHostsFile=$LAB_KNOWN_HOSTS -o GlobalKnownHostsFile=/dev/null -o StrictHostKeyChecking=yes -o BatchMode=yes -o IdentitiesOnly=yes -o ConnectTimeout=10"
	# Keys add up in ssh (each -i/IdentityFile is one more), so the key is given here
	# and not under "Host *": `ssh -F $LAB_SSH_CONFIG -i OTHER` offers only OTHER.
	# ssh takes the first -p it is given: for another port start from LAB_SSH_BASE.
	LAB_SSH_BASE="ssh -F $LAB_SSH_CONFIG -i $LAB_KEY"
	LAB_SSH="$LAB_SSH_BASE -p $LAB_SSH_PORT"
}

_lab_keys() {
	local k=$LAB_DIR/keys
	mkdir -p "$k" && chmod 700 "$k"
	ssh-keygen -q -t ed25519 -N '' -C "lab-host-$LAB_ID" -f "$LAB_DIR/etc/ssh_host_ed25519_key" || return 1
	ssh-keygen -q -t ed25519 -N '' -C "lab-user-$LAB_ID" -f "$k/id_ed25519" || return 1
	LAB_PP_PASS=pp-$(_lab_rand 8)
	ssh-keygen -q -t ed25519 -N "$LAB_PP_PASS" -C "lab-pp-$LAB_ID" -f "$k/id_pp_ed25519" || return 1
	LAB_KEY=$k/id_ed25519
	LAB_PP_KEY=$k/id_pp_ed25519
	LAB_PW_PASS=pw-$(_lab_rand 8)
	LAB_SOCKS_PASS=sx-$(_lab_rand 8)
	local hk
	hk=$(cut -d' ' -f1,2 "$LAB_DIR/etc/ssh_host_ed25519_key.pub")
	LAB_HOST_KEY=$LAB_DIR/etc/ssh_host_ed25519_key.pub
	LAB_KNOWN_HOSTS=$LAB_DIR/known_hosts
	{
		echo "[$LAB_SERVER_IP]:$LAB_SSH_PORT $hk"
		echo "[$LAB_JUMP_HOST]:$LAB_JUMP_PORT $hk"
		echo "[$LAB_SERVER_IP]:$LAB_KBD_PORT $hk"
	} >"$LAB_KNOWN_HOSTS"
}

# The server's own /home/<user> (bind-mounted there), with authorized_keys, and /etc/shadow.
_lab_homes() {
	local u h grp hash
	for u in "$LAB_USER" "$LAB_PW_USER" "$LAB_OTHER_USER" "$LAB_CSH_USER"; do
		h=$LAB_DIR/srv/home/$u
		grp=$(id -gn "$u")
		mkdir -p "$h/.ssh"
		cp -a /etc/skel/. "$h/" 2>/dev/null
		: >"$h/.ssh/authorized_keys"
		case "$u" in
		"$LAB_USER")
			cat "$LAB_KEY.pub" "$LAB_PP_KEY.pub" >"$h/.ssh/authorized_keys" ;;
		"$LAB_OTHER_USER" | "$LAB_CSH_USER")
			cat "$LAB_KEY.pub" >"$h/.ssh/authorized_keys" ;;
		esac
		chown -R "$u:$grp" "$h"
		chmod 755 "$h"
		chmod 700 "$h/.ssh"
		chmod 600 "$h/.ssh/authorized_keys"
	done
	# "*" (not "!") so sshd without PAM accepts keys; a real hash for the password user.
	hash=$(LAB_PW_PASS=$LAB_PW_PASS perl -e 'my @c = ("a".."z", "A".."Z", 0..9);
		my $s = join "", map { $c[rand @c] } 1..16; print crypt($ENV{LAB_PW_PASS}, "\$6\$$s\$")')
	case "$hash" in '$6$'*) ;; *) _lab_err "crypt() gave no SHA-512 hash"; return 1 ;; esac
	awk -F: -v OFS=: -v a="$LAB_USER" -v b="$LAB_PW_USER" -v c="$LAB_OTHER_USER" \
		-v d="$LAB_CSH_USER" -v h="$hash" '
		$1 == a || $1 == c || $1 == d { $2 = "*" } $1 == b { $2 = h } { print }' /etc/shadow >"$LAB_DIR/srv/shadow" || return 1
	chown root:shadow "$LAB_DIR/srv/shadow" 2>/dev/null
	chmod 640 "$LAB_DIR/srv/shadow"
	: >"$LAB_DIR/srv/utmp"
	chown root:utmp "$LAB_DIR/srv/utmp" 2>/dev/null
	chmod 664 "$LAB_DIR/srv/utmp"
}

_lab_net() {
	local c=$LAB_CLIENT_NS s=$LAB_SERVER_NS
	ip netns add "$c" || return 1
	ip netns add "$s" || return 1
	# Both ends are made inside the namespaces: the host never sees the interfaces.
	ip link add "$LAB_CLIENT_IF" netns "$c" type veth peer name "$LAB_SERVER_IF" netns "$s" || return 1
	ip -n "$c" addr add "$LAB_CLIENT_IP/24" dev "$LAB_CLIENT_IF" || return 1
	ip -n "$s" addr add "$LAB_SERVER_IP/24" dev "$LAB_SERVER_IF" || return 1
	ip -n "$s" addr add "$LAB_PROXY_IP/24" dev "$LAB_SERVER_IF" || return 1
	ip -n "$c" link set lo up && ip -n "$s" link set lo up || return 1
	ip -n "$c" link set "$LAB_CLIENT_IF" up && ip -n "$s" link set "$LAB_SERVER_IF" up || return 1
	# The second uplink (lab_uplink): its own veth pair and /24, client end down until used.
	ip link add "$LAB_CLIENT2_IF" netns "$c" type veth peer name "$LAB_SERVER2_IF" netns "$s" || return 1
	ip -n "$c" addr add "$LAB_CLIENT2_IP/24" dev "$LAB_CLIENT2_IF" || return 1
	ip -n "$s" addr add "$LAB_SERVER2_IP/24" dev "$LAB_SERVER2_IF" || return 1
	ip -n "$s" link set "$LAB_SERVER2_IF" up || return 1
	echo 1 >"$LAB_DIR/sw/uplink"
	: >"$LAB_DIR/sw/udp"
	: >"$LAB_DIR/sw/tcp"
	echo 0 >"$LAB_DIR/sw/loss"
	_lab_nft_apply
}

# The server: an init (perl, reaps orphans) as PID 1 of new PID, mount and UTS
# namespaces inside the server's network namespace.  Killing it ends every process that
# ever ran on the server, which is what makes lab_down complete.
_lab_server_init() {
	local upid i kids
	_lab_keeper_run "$LAB_DIR/run/server-unshare.hpid" "" "$LAB_DIR/log/server-init.log" \
		ip netns exec "$LAB_SERVER_NS" unshare --pid --fork --mount-proc --uts --kill-child \
		perl -e '$0 = "moshlab-init"; $SIG{$_} = "IGNORE" for qw(HUP INT TERM USR1 USR2 PIPE);
			while (1) { my $p = waitpid(-1, 0); sleep 1 if $p < 0 }' || return 1
	for i in $(seq 1 100); do
		upid=$(cat "$LAB_DIR/run/server-unshare.hpid" 2>/dev/null)
		if [ -n "$upid" ]; then
			kids=$(cat "/proc/$upid/task/$upid/children" 2>/dev/null)
			# The child must have switched to the server's mount namespace already.
			if [ -n "$kids" ] && [ "$(readlink "/proc/${kids%% *}/ns/pid")" != "$(readlink /proc/$$/ns/pid)" ]; then
				LAB_SERVER_INIT=${kids%% *}
				break
			fi
		fi
		sleep 0.05
	done
	[ -n "${LAB_SERVER_INIT:-}" ] || { _lab_err "server init did not start"; return 1; }
	echo "$LAB_SERVER_INIT" >"$LAB_DIR/run/server-init.hpid"
	local u
	for i in $(seq 1 40); do
		lab_server true 2>/dev/null && break
		sleep 0.05
	done
	lab_server hostname "$LAB_HOSTNAME" || return 1
	for u in "$LAB_USER" "$LAB_PW_USER" "$LAB_OTHER_USER" "$LAB_CSH_USER"; do
		lab_server mount --bind "$LAB_DIR/srv/home/$u" "/home/$u" || return 1
	done
	lab_server mount --bind "$LAB_DIR/srv/shadow" /etc/shadow || return 1
	lab_server mount --bind "$LAB_DIR/srv/utmp" /run/utmp || return 1
}

_lab_sshd_config() { # _lab_sshd_config FILE ADDRESS PORT PIDFILE
	cat >"$1" <<EOF
# moshman lab sshd ($LAB_ID)
Port $3
ListenAddress $2
AddressFamily inet
HostKey $LAB_DIR/etc/ssh_host_ed25519_key
PidFile $4
UsePAM no
PubkeyAuthentication yes
PasswordAuthentication yes
KbdInteractiveAuthentication no
PermitRootLogin no
StrictModes yes
AuthorizedKeysFile .ssh/authorized_keys
AllowUsers $LAB_USER $LAB_PW_USER $LAB_OTHER_USER $LAB_CSH_USER
AllowTcpForwarding yes
X11Forwarding no
PrintMotd no
PrintLastLog no
UseDNS no
AcceptEnv LANG LC_*
MaxStartups 100:30:200
MaxSessions 50
LogLevel VERBOSE
Subsystem sftp /usr/lib/openssh/sftp-server
EOF
}

# A third sshd, for keyboard-interactive only: without PAM OpenSSH has no kbd-int device
# on Linux, and UsePAM cannot go in a Match block, so it is a daemon of its own (the
# others keep running without PAM).  Only the password user, only kbd-int: PAM's
# "Password: " question answered with $LAB_PW_PASS.  Its PAM stack is the lab's own
# (etc/pam_sshd, bind-mounted on /etc/pam.d/sshd in the server's mount namespace):
# pam_unix for auth and account, nothing that needs the audit or login subsystems.
_lab_sshd_kbd_config() { # _lab_sshd_kbd_config FILE
	_lab_sshd_config "$1" "$LAB_SERVER_IP" "$LAB_KBD_PORT" "$LAB_DIR/run/sshd_kbd.nspid"
	sed -i -e 's/^UsePAM no$/UsePAM yes/' \
		-e 's/^PubkeyAuthentication yes$/PubkeyAuthentication no/' \
		-e 's/^PasswordAuthentication yes$/PasswordAuthentication no/' \
		-e 's/^KbdInteractiveAuthentication no$/KbdInteractiveAuthentication yes/' \
		-e "s/^AllowUsers .*/AllowUsers $LAB_PW_USER/" "$1"
	cat >"$LAB_DIR/etc/pam_sshd" <<EOF
auth     required pam_unix.so
account  required pam_unix.so
session  required pam_permit.so
password required pam_deny.so
EOF
}

_lab_configs() {
	local e=$LAB_DIR/etc
	_lab_sshd_config "$e/sshd_config" "$LAB_SERVER_IP" "$LAB_SSH_PORT" "$LAB_DIR/run/sshd.nspid"
	_lab_sshd_config "$e/sshd_jump_config" "$LAB_JUMP_HOST" "$LAB_JUMP_PORT" "$LAB_DIR/run/sshd_jump.nspid"
	_lab_sshd_kbd_config "$e/sshd_kbd_config"
	cat >"$e/tinyproxy.conf" <<EOF
Port $LAB_HTTP_PORT
Listen $LAB_PROXY_IP
Timeout 600
LogFile "$LAB_DIR/log/tinyproxy.file.log"
LogLevel Info
MaxClients 100
Allow $LAB_NET
Allow $LAB_NET2
Allow 127.0.0.1
ConnectPort $LAB_SSH_PORT
ConnectPort 22
ConnectPort $LAB_JUMP_PORT
DisableViaHeader Yes
EOF
	local ss_pass
	ss_pass=$(_lab_rand 16)
	(
		umask 077
		printf '{"server":"%s","server_port":%s,"password":"%s","method":"chacha20-ietf-poly1305","timeout":600,"mode":"tcp_only"}\n' \
			"$LAB_PROXY_IP" "$LAB_SS_SERVER_PORT" "$ss_pass" >"$e/ss-server.json"
		printf '{"server":"%s","server_port":%s,"local_address":"0.0.0.0","local_port":%s,"password":"%s","method":"chacha20-ietf-poly1305","timeout":600,"mode":"tcp_only"}\n' \
			"$LAB_PROXY_IP" "$LAB_SS_SERVER_PORT" "$LAB_SS_PORT" "$ss_pass" >"$e/ss-local.json"
		# microsocks takes its password in argv only; keep it out of any other log.
		printf '%s\n' "$LAB_SOCKS_PASS" >"$e/socks.pass"
	)
}

# _lab_daemon_start NAME: start one of the lab's daemons and wait until it listens.
_lab_daemon_start() {
	local e=$LAB_DIR/etc
	_lab_pid_alive "$1" && return 0
	case "$1" in
	sshd)
		_lab_spawn_server sshd /usr/sbin/sshd -D -f "$e/sshd_config" -E "$LAB_DIR/log/sshd.auth.log" &&
			_lab_wait_listen server "$LAB_SERVER_IP" "$LAB_SSH_PORT" ;;
	sshd_kbd)
		if [ ! -e "$LAB_DIR/run/pam_sshd.mounted" ]; then
			lab_server mount --bind "$e/pam_sshd" /etc/pam.d/sshd || return 1
			: >"$LAB_DIR/run/pam_sshd.mounted"
		fi
		_lab_spawn_server sshd_kbd /usr/sbin/sshd -D -f "$e/sshd_kbd_config" -E "$LAB_DIR/log/sshd_kbd.auth.log" &&
			_lab_wait_listen server "$LAB_SERVER_IP" "$LAB_KBD_PORT" ;;
	sshd_jump)
		_lab_spawn_server sshd_jump /usr/sbin/sshd -D -f "$e/sshd_jump_config" -E "$LAB_DIR/log/sshd_jump.auth.log" &&
			_lab_wait_listen server "$LAB_JUMP_HOST" "$LAB_JUMP_PORT" ;;
	socks)
		_lab_spawn_server socks microsocks -i "$LAB_PROXY_IP" -p "$LAB_SOCKS_PORT" &&
			_lab_wait_listen server "$LAB_PROXY_IP" "$LAB_SOCKS_PORT" ;;
	socks_auth)
		_lab_spawn_server socks_auth microsocks -i "$LAB_PROXY_IP" -p "$LAB_SOCKS_AUTH_PORT" \
			-u "$LAB_SOCKS_USER" -P "$(cat "$e/socks.pass")" &&
			_lab_wait_listen server "$LAB_PROXY_IP" "$LAB_SOCKS_AUTH_PORT" ;;
	http)
		_lab_spawn_server http tinyproxy -d -c "$e/tinyproxy.conf" &&
			_lab_wait_listen server "$LAB_PROXY_IP" "$LAB_HTTP_PORT" ;;
	ss_server)
		_lab_spawn_server ss_server ss-server -c "$e/ss-server.json" &&
			_lab_wait_listen server "$LAB_PROXY_IP" "$LAB_SS_SERVER_PORT" ;;
	ss_local)
		_lab_spawn_client ss_local ss-local -c "$e/ss-local.json" &&
			_lab_wait_listen client 0.0.0.0 "$LAB_SS_PORT" ;;
	*)
		_lab_err "unknown daemon: $1" ;;
	esac
}

# ---- up and down ---------------------------------------------------------------------
# lab_up: bring the lab up (idempotent) and export the LAB_* variables.
lab_up() { local -; set +eu;
	if _lab_alive; then
		return 0
	fi
	if [ -n "${LAB_DIR:-}" ] && [ -f "$LAB_DIR/state.env" ]; then
		# Left over from a half-dead lab with the same LAB_DIR: start clean.
		lab_down
	fi
	_lab_need_cmds || return 1
	lab_gc
	local net net2
	net=$(_lab_pick_net) || return 1
	net2=$(_lab_pick_net) || return 1
	while [ "$net2" = "$net" ]; do net2=$(_lab_pick_net) || return 1; done
	LAB_ID=$(printf '%04x%s' $(($$ % 65536)) "$(_lab_rand 2)")
	LAB_DIR=$(mktemp -d "${TMPDIR:-/tmp}/moshlab.$LAB_ID.XXXXXX") || return 1
	chmod 700 "$LAB_DIR"
	mkdir -p "$LAB_DIR"/{etc,run,log,sw,srv/home,tmux} "$LAB_DIR/home/.ssh"
	chmod 700 "$LAB_DIR/home/.ssh"
	LAB_HOME=$LAB_DIR/home
	LAB_NET=$net.0/24
	LAB_CLIENT_IP=$net.1
	LAB_SERVER_IP=$net.2
	LAB_PROXY_IP=$net.3
	LAB_CLIENT_NS=mlab-$LAB_ID-c
	LAB_SERVER_NS=mlab-$LAB_ID-s
	LAB_CLIENT_IF=mlc$LAB_ID
	LAB_SERVER_IF=mls$LAB_ID
	LAB_NET2=$net2.0/24
	LAB_CLIENT2_IP=$net2.1
	LAB_SERVER2_IP=$net2.2
	LAB_CLIENT2_IF=mld$LAB_ID
	LAB_SERVER2_IF=mlt$LAB_ID
	LAB_NFT_TABLE=moshlab_$LAB_ID
	LAB_SERVER_INIT=
	_lab_hide_home
	# Saved and registered before anything exists, so lab_down (or a later lab_gc, if
	# this process dies without one) can undo a half-made lab.
	_lab_save_state
	_lab_register "${LAB_OWNER:-$$}"
	export $_LAB_VARS
	if ! _lab_up_steps; then
		_lab_err "lab_up failed; logs were in $LAB_DIR/log:"
		tail -n 5 "$LAB_DIR"/log/*.log >&2 2>/dev/null
		lab_down
		return 1
	fi
	_lab_save_state
	export $_LAB_VARS
	_lab_log "up: $LAB_ID in $LAB_DIR"
}

_lab_up_steps() {
	_lab_users || return 1
	_lab_keys || return 1
	_lab_ssh_config || return 1
	_lab_homes || return 1
	_lab_save_state
	_lab_net || return 1
	_lab_keeper_start || return 1
	_lab_server_init || return 1
	_lab_save_state
	_lab_configs || return 1
	local d
	for d in sshd sshd_jump sshd_kbd socks socks_auth http ss_server ss_local; do
		_lab_daemon_start "$d" || return 1
	done
}

# Which part of the real home to cover in the client namespace (see lab_client).
_lab_hide_home() {
	local h p
	h=$(getent passwd "$(id -u)" | cut -d: -f6)
	LAB_HIDE_HOME=
	LAB_HIDE_SRC=
	[ -n "$h" ] && [ -d "$h" ] && [ "$h" != / ] || return 0
	for p in "$LAB_DIR" "$PWD" "$MOSHMAN_TOP" "${MOSHMAN_BUILD:-}" "${MOSHMAN_BIN:-}"; do
		[ -n "$p" ] || continue
		case "$p/" in "$h"/*)
			# Something we need lives in the home: cover only ~/.ssh, if there is one.
			if [ -d "$h/.ssh" ]; then LAB_HIDE_HOME=$h/.ssh LAB_HIDE_SRC=$LAB_HOME/.ssh; fi
			return 0 ;;
		esac
	done
	LAB_HIDE_HOME=$h LAB_HIDE_SRC=$LAB_HOME
}

_lab_netns_pids() { # _lab_netns_pids NSNAME: host PIDs of processes in that netns
	local ino p want
	ino=$(stat -L -c %i "/run/netns/$1" 2>/dev/null) || return 0
	want="net:[$ino]"
	for p in /proc/[0-9]*; do
		[ "$(readlink "$p/ns/net" 2>/dev/null)" = "$want" ] && echo "${p#/proc/}"
	done
	return 0
}

# Every lab is registered in /run/moshlab/labs/ID with its directory and the process that
# owns it (PID and start time, so a reused PID does not count): lab_gc removes the labs
# whose owner died without lab_down (SIGKILL, a crash).  It touches nothing unregistered
# (another checkout's older lab may be running).  Labs made by `lab.sh up` belong to
# nobody and stay until `lab.sh down`.
_LAB_REGISTRY=/run/moshlab/labs

_lab_starttime() { sed 's/.*) //' "/proc/$1/stat" 2>/dev/null | awk '{print $20}'; }

_lab_register() { # _lab_register OWNER_PID|cli
	local start=
	mkdir -p "$_LAB_REGISTRY" || return 1
	[ "$1" = cli ] || start=$(_lab_starttime "$1")
	printf 'dir=%q owner=%q start=%q\n' "$LAB_DIR" "$1" "$start" >"$_LAB_REGISTRY/$LAB_ID"
}

# lab_gc: remove labs whose owner is gone (see above).  Safe while other labs run.
lab_gc() { local -; set +eu;
	local f dir owner start
	for f in "$_LAB_REGISTRY"/*; do
		[ -f "$f" ] || continue
		dir= owner= start=
		. "$f"
		[ "$owner" = cli ] && continue
		[ -n "$owner" ] && [ "$(_lab_starttime "$owner")" = "$start" ] && continue
		_lab_log "gc: lab ${f##*/} (owner $owner gone)"
		(
			LAB_DIR=$dir
			if [ -f "$dir/state.env" ]; then lab_down; fi
		)
		rm -f "$f"
	done
	return 0
}

# _lab_running PID: it exists and is not a zombie (a zombie whose parent is this machine's
# PID 1 may never be reaped, but it runs no more).
_lab_running() {
	local st
	[ -n "$1" ] && [ -r "/proc/$1/stat" ] || return 1
	st=$(sed 's/.*) //' "/proc/$1/stat" 2>/dev/null | cut -d' ' -f1)
	[ -n "$st" ] && [ "$st" != Z ]
}

_lab_gone() { # _lab_gone PID...: wait (2 s) until none of them exists
	local i p left
	for i in $(seq 1 40); do
		left=
		for p in "$@"; do _lab_running "$p" && left=1; done
		[ -z "$left" ] && return 0
		sleep 0.05
	done
	return 1
}

# lab_down: remove everything this lab made; safe to call twice and from traps.
lab_down() { local -; set +eu;
	local p i pids keeper= victims=
	[ -n "${LAB_DIR:-}" ] && [ -d "$LAB_DIR" ] || return 0
	[ -f "$LAB_DIR/state.env" ] && . "$LAB_DIR/state.env"
	[ -s "$LAB_DIR/run/keeper.hpid" ] && keeper=$(cat "$LAB_DIR/run/keeper.hpid")
	# tmux first: its panes hang up and their programs exit cleanly.
	[ -S "$LAB_DIR/tmux.sock" ] && tmux -S "$LAB_DIR/tmux.sock" kill-server 2>/dev/null
	for p in "$LAB_DIR"/run/*.cpid "$LAB_DIR"/run/tmux.hpid; do
		[ -s "$p" ] || continue
		kill -TERM "$(cat "$p")" 2>/dev/null
		victims="$victims $(cat "$p")"
	done
	# The server: killing its init ends every process in its PID namespace.
	for p in server-init server-unshare; do
		[ -s "$LAB_DIR/run/$p.hpid" ] || continue
		kill -KILL "$(cat "$LAB_DIR/run/$p.hpid")" 2>/dev/null
		victims="$victims $(cat "$LAB_DIR/run/$p.hpid")"
	done
	# shellcheck disable=SC2086
	_lab_gone $victims || kill -KILL $victims 2>/dev/null
	# Anything else still inside the namespaces was started there by a test.
	for i in 1 2 3 4 5; do
		pids=
		for p in $(_lab_netns_pids "$LAB_CLIENT_NS") $(_lab_netns_pids "$LAB_SERVER_NS"); do
			[ "$p" = "$keeper" ] || pids="$pids $p"
		done
		[ -z "$pids" ] && break
		# shellcheck disable=SC2086
		kill -KILL $pids 2>/dev/null
		# shellcheck disable=SC2086
		_lab_gone $pids
	done
	# Last the keeper, once it has reaped the rest.
	if [ -n "$keeper" ]; then
		kill -TERM "$keeper" 2>/dev/null
		_lab_gone "$keeper" || kill -KILL "$keeper" 2>/dev/null
	fi
	[ -n "${LAB_CLIENT_NS:-}" ] && ip netns del "$LAB_CLIENT_NS" 2>/dev/null
	[ -n "${LAB_SERVER_NS:-}" ] && ip netns del "$LAB_SERVER_NS" 2>/dev/null
	case "$LAB_DIR" in
	*/moshlab.*) rm -rf "$LAB_DIR" ;;
	esac
	[ -n "${LAB_ID:-}" ] && rm -f "$_LAB_REGISTRY/$LAB_ID"
	_lab_log "down: ${LAB_ID:-?}"
	LAB_DIR=
	LAB_SERVER_INIT=
	return 0
}

# ---- switches ------------------------------------------------------------------------
# Every switch drops packets where they arrive (prerouting, on the veth), never where they
# leave: a drop in the sender's own output hook would fail its sendto()/connect() with
# EPERM at once, which no firewall or dead link out there does.  So each namespace has
# one table, "$LAB_NFT_TABLE", filtering what comes in from the other side; both are
# rebuilt atomically from the files in $LAB_DIR/sw at every switch.
_lab_nft_rules() { # _lab_nft_rules client|server: the ruleset for that side
	local side=$1 vif loss t port r= udp
	local peer_ip=$LAB_SERVER_IP proxy=$LAB_PROXY_IP addr=saddr portdir=sport
	if [ "$side" = server ]; then
		vif="{ \"$LAB_SERVER_IF\", \"$LAB_SERVER2_IF\" }" addr=daddr portdir=dport
	else
		vif="{ \"$LAB_CLIENT_IF\", \"$LAB_CLIENT2_IF\" }"
	fi
	loss=$(cat "$LAB_DIR/sw/loss" 2>/dev/null || echo 0)
	udp=$(cat "$LAB_DIR/sw/udp" 2>/dev/null)
	# up = client to server (dropped on arrival at the server), down = server to client.
	case "$side:$udp" in
	*:on | server:up | client:down) r="$r		iifname $vif meta l4proto udp drop
" ;;
	esac
	for t in $(cat "$LAB_DIR/sw/tcp" 2>/dev/null); do
		case "$t" in
		all) r="$r		iifname $vif meta l4proto tcp drop
" ;;
		server) r="$r		iifname $vif ip $addr $peer_ip meta l4proto tcp drop
" ;;
		*)
			port=$(_lab_tcp_port "$t") || return 1
			r="$r		iifname $vif ip $addr $proxy tcp $portdir $port drop
" ;;
		esac
	done
	[ "$loss" -gt 0 ] && r="$r		iifname $vif numgen random mod 100 < $loss drop
"
	cat <<EOF
table inet $LAB_NFT_TABLE
delete table inet $LAB_NFT_TABLE
table inet $LAB_NFT_TABLE {
	chain arrive {
		type filter hook prerouting priority -300; policy accept;
$r	}
}
EOF
}

_lab_nft_apply() {
	local side ns
	for side in client server; do
		ns=$LAB_CLIENT_NS
		[ "$side" = server ] && ns=$LAB_SERVER_NS
		_lab_nft_rules "$side" >"$LAB_DIR/sw/$side.nft" || return 1
		ip netns exec "$ns" nft -f "$LAB_DIR/sw/$side.nft" ||
			{ _lab_err "nft refused $LAB_DIR/sw/$side.nft"; return 1; }
	done
}

_lab_tcp_port() {
	case "$1" in
	socks) echo "$LAB_SOCKS_PORT" ;;
	socks_auth) echo "$LAB_SOCKS_AUTH_PORT" ;;
	http) echo "$LAB_HTTP_PORT" ;;
	ss) echo "$LAB_SS_SERVER_PORT" ;;
	*) _lab_err "unknown target '$1' (server socks socks_auth http ss all)" ;;
	esac
}

# lab_block_udp [up|down] / lab_unblock_udp: drop all UDP between the namespaces; with
# up only client-to-server datagrams, with down only server-to-client ones.
lab_block_udp() { local -; set +eu;
	case "${1:-on}" in
	on | both) echo on >"$LAB_DIR/sw/udp" ;;
	up | down) echo "$1" >"$LAB_DIR/sw/udp" ;;
	*) _lab_err "lab_block_udp [up|down]"; return 1 ;;
	esac
	_lab_nft_apply
}
lab_unblock_udp() { local -; set +eu; : >"$LAB_DIR/sw/udp" && _lab_nft_apply; }

# lab_blackhole_tcp [TARGET...]: silently drop TCP (no RST, both directions, also on
# established connections).  server = every TCP port of $LAB_SERVER_IP (both sshds' way
# in), socks/socks_auth/http/ss = that proxy's port on $LAB_PROXY_IP (ss is the ss-local to
# ss-server hop), all = every TCP packet on the veth.  Default: server.
lab_blackhole_tcp() { local -; set +eu;
	local t
	[ $# -eq 0 ] && set -- server
	for t in "$@"; do
		[ "$t" = server ] || [ "$t" = all ] || _lab_tcp_port "$t" >/dev/null || return 1
		grep -qx "$t" "$LAB_DIR/sw/tcp" 2>/dev/null || echo "$t" >>"$LAB_DIR/sw/tcp"
	done
	_lab_nft_apply
}

# lab_restore_tcp [TARGET...]: undo blackholes (all of them when no TARGET).
lab_restore_tcp() { local -; set +eu;
	local t
	if [ $# -eq 0 ]; then
		: >"$LAB_DIR/sw/tcp"
	else
		for t in "$@"; do
			grep -vx "$t" "$LAB_DIR/sw/tcp" >"$LAB_DIR/sw/tcp.new"
			mv "$LAB_DIR/sw/tcp.new" "$LAB_DIR/sw/tcp"
		done
	fi
	_lab_nft_apply
}

# lab_loss PERCENT: drop PERCENT % of packets at random, in each direction separately
# (so a round trip is lost with 1-(1-p)^2: 51 % at 30).  lab_loss 0 ends it.
lab_loss() { local -; set +eu;
	case "${1:-}" in
	'' | *[!0-9]*) _lab_err "lab_loss PERCENT (0..100)"; return 1 ;;
	esac
	[ "$1" -le 100 ] || { _lab_err "lab_loss: $1 > 100"; return 1; }
	echo "$1" >"$LAB_DIR/sw/loss" && _lab_nft_apply
}

# ---- roaming: the client's address, its uplink, its processes -------------------------
# lab_client_addr [IP]: the client's address on the uplink in use changes, as with a new
# DHCP lease: the old one is deleted first, then IP (default: the next host from .10 up
# in that uplink's /24) is added.  Deleting first matters: deleting a primary address
# deletes its secondaries with it.  Connections bound to the old address stall silently
# (nothing answers for it any more).  LAB_CLIENT_IP (LAB_CLIENT2_IP on uplink 2) follows.
lab_client_addr() { local -; set +eu;
	local up dev var old new n
	up=$(cat "$LAB_DIR/sw/uplink" 2>/dev/null || echo 1)
	if [ "$up" = 2 ]; then dev=$LAB_CLIENT2_IF var=LAB_CLIENT2_IP; else dev=$LAB_CLIENT_IF var=LAB_CLIENT_IP; fi
	old=${!var}
	if [ -n "${1:-}" ]; then
		new=$1
	else
		n=${old##*.}
		n=$((n < 10 ? 10 : n + 1))
		[ "$n" -gt 250 ] && n=10
		new=${old%.*}.$n
	fi
	ip -n "$LAB_CLIENT_NS" addr del "$old/24" dev "$dev" || return 1
	ip -n "$LAB_CLIENT_NS" addr add "$new/24" dev "$dev" || return 1
	printf -v "$var" %s "$new"
	export "${var?}"
	# The routes through uplink 2's gateway went with its only address.
	[ "$up" = 2 ] && { _lab_uplink_routes || return 1; }
	_lab_save_state
	_lab_log "client address $old -> $new ($dev)"
}

_lab_uplink_routes() {
	local ip
	for ip in "$LAB_SERVER_IP" "$LAB_PROXY_IP"; do
		ip -n "$LAB_CLIENT_NS" route replace "$ip/32" via "$LAB_SERVER2_IP" dev "$LAB_CLIENT2_IF" || return 1
	done
}

# lab_uplink 1|2: the client's way to the server moves to that uplink, as when a laptop
# goes from wifi to ethernet: the new link comes up and takes the route to the server's
# addresses, then the old link goes down (its address stays, unusable).  Uplink 1 is the
# lab's first veth (LAB_CLIENT_IP, the /24 it shares with the server), uplink 2 a second
# veth pair with its own /24 (LAB_CLIENT2_IP; the server is LAB_SERVER2_IP there and
# answers for LAB_SERVER_IP and LAB_PROXY_IP through it).  The switches above act on both.
lab_uplink() { local -; set +eu;
	local c=$LAB_CLIENT_NS ip
	case "${1:-}" in
	2)
		ip -n "$c" link set "$LAB_CLIENT2_IF" up || return 1
		_lab_uplink_routes || return 1
		ip -n "$c" link set "$LAB_CLIENT_IF" down || return 1
		;;
	1)
		ip -n "$c" link set "$LAB_CLIENT_IF" up || return 1
		for ip in "$LAB_SERVER_IP" "$LAB_PROXY_IP"; do
			ip -n "$c" route del "$ip/32" 2>/dev/null
		done
		ip -n "$c" link set "$LAB_CLIENT2_IF" down || return 1
		;;
	*) _lab_err "lab_uplink 1|2"; return 1 ;;
	esac
	echo "$1" >"$LAB_DIR/sw/uplink"
	_lab_log "uplink $1"
}

# lab_proc_tree PID...: those host PIDs and every descendant, one per line (what to
# freeze: moshman's process and what it started; never picked by name).
lab_proc_tree() { local -; set +eu;
	local p
	for p in "$@"; do
		[ -d "/proc/$p" ] || continue
		echo "$p"
		# shellcheck disable=SC2046
		lab_proc_tree $(cat "/proc/$p/task/"*/children 2>/dev/null)
	done
}

# lab_tmux_procs NAME: what the pane's program started (its descendants, not itself: tmux
# sends SIGCONT at once to a pane's own process that stops).  Start the program under a
# shell that waits for it (start_moshman does: bash -c '"$0" "$@"; echo ...').
lab_tmux_procs() { local -; set +eu;
	local p
	p=$(lab_tmux_pane_pid "$1") || return 1
	# shellcheck disable=SC2046
	lab_proc_tree $(cat "/proc/$p/task/"*/children 2>/dev/null)
}

# lab_freeze PID... / lab_thaw PID...: SIGSTOP / SIGCONT those processes, the stand-in
# for a suspended laptop (pass lab_tmux_procs's list; a frozen process's timers fire late).
lab_freeze() { local -; set +eu; [ $# -gt 0 ] && kill -STOP "$@"; }
lab_thaw() { local -; set +eu; [ $# -gt 0 ] && kill -CONT "$@"; }

# lab_proxy_kill NAME / lab_proxy_start NAME: NAME is socks, socks_auth, http, ss (the
# ss-server on the server side) or ss_local (the client's ss-local).  Kill ends the
# process, so its connections die (RST/FIN); start brings it back on the same port.
_lab_proxy_daemon() {
	case "$1" in
	socks | socks_auth | http | ss_local) echo "$1" ;;
	ss | ss_server) echo ss_server ;;
	*) _lab_err "unknown proxy '$1' (socks socks_auth http ss ss_local)" ;;
	esac
}
lab_proxy_kill() { local -; set +eu;
	local d
	d=$(_lab_proxy_daemon "${1:-}") || return 1
	_lab_stop "$d"
}
lab_proxy_start() { local -; set +eu;
	local d
	d=$(_lab_proxy_daemon "${1:-}") || return 1
	_lab_daemon_start "$d"
}
lab_proxy_alive() { local -; set +eu;
	local d
	d=$(_lab_proxy_daemon "${1:-}") || return 1
	_lab_pid_alive "$d"
}

# lab_sshd_restart [jump]: stop the listening sshd and start a new one, like a service
# restart: sessions already open (their own sshd processes) live on.
lab_sshd_restart() { local -; set +eu;
	local d=sshd
	[ "${1:-}" = jump ] && d=sshd_jump
	_lab_stop "$d" && _lab_daemon_start "$d"
}

# lab_sshd_pid [jump]: the listening sshd's PID as the server sees it.
lab_sshd_pid() { local -; set +eu;
	local d=sshd
	[ "${1:-}" = jump ] && d=sshd_jump
	cat "$LAB_DIR/run/$d.spid"
}

# ---- probes --------------------------------------------------------------------------
# lab_tcp_probe IP PORT [SECONDS]: connect from the client namespace; prints open,
# refused or timeout; returns 0 only for open.
lab_tcp_probe() { local -; set +eu;
	local rc
	lab_client timeout "${3:-3}" bash -c 'exec 3<>"/dev/tcp/$0/$1"' "$1" "$2" 2>/dev/null
	rc=$?
	case $rc in
	0) echo open; return 0 ;;
	124) echo timeout ;;
	*) echo refused ;;
	esac
	return 1
}

# lab_udp_echo_start PORT: a UDP echo server on the server (all addresses), PID recorded
# as run/udp_echo_PORT.spid.
lab_udp_echo_start() { local -; set +eu;
	_lab_spawn_server "udp_echo_$1" perl "$LAB_LIB/udp_echo.pl" "$1" &&
		_lab_wait_listen server 0.0.0.0 "$1" udp
}
lab_udp_echo_stop() { local -; set +eu; _lab_stop "udp_echo_$1"; }

# lab_udp_probe IP PORT [COUNT] [WAIT_MS]: send COUNT (default 20) numbered datagrams from
# the client namespace, print how many distinct ones came back.
lab_udp_probe() { local -; set +eu;
	lab_client perl "$LAB_LIB/udp_probe.pl" "$1" "$2" "${3:-20}" "${4:-1000}"
}

# lab_udp_rtt IP PORT: the shortest round trip of 5 datagrams, in ms (-1: none came back).
lab_udp_rtt() { local -; set +eu;
	local out
	out=$(lab_client perl "$LAB_LIB/udp_probe.pl" "$1" "$2" 5 2000 rtt) || return 1
	echo "${out#* }"
}

# lab_mosh_servers [USER]: "PID USER ARGS" of each mosh-server on the server (server PIDs).
lab_mosh_servers() { local -; set +eu;
	lab_server ps -C mosh-server -o pid=,user=,args= 2>/dev/null |
		awk -v u="${1:-}" 'u == "" || $2 == u { sub(/^ +/, ""); print }'
}

# lab_server_home USER: the host path of USER's home on the lab server (owned by USER).
lab_server_home() { local -; set +eu; echo "$LAB_DIR/srv/home/$1"; }

# ---- delay ---------------------------------------------------------------------------
# lab_delay_start NAME client|server tcp|udp LISTEN_IP:PORT TARGET_IP:PORT MS
# A forwarder of our own (tests/lab/delay.pl) that holds every chunk/datagram MS ms in
# each direction, since this kernel has no netem.  Point the client at LISTEN.
lab_delay_start() { local -; set +eu;
	local name=$1 side=$2
	shift 2
	if [ "$side" = server ]; then
		_lab_spawn_server "delay_$name" perl "$LAB_LIB/delay.pl" "$@" || return 1
	else
		_lab_spawn_client "delay_$name" perl "$LAB_LIB/delay.pl" "$@" || return 1
	fi
	_lab_wait_listen "$side" "${2%:*}" "${2##*:}" "$1"
}
lab_delay_stop() { local -; set +eu; _lab_stop "delay_$1"; }

# ---- tmux ----------------------------------------------------------------------------
# A private tmux server (socket in $LAB_DIR) living in the client namespace.
_lab_tmux() { tmux -u -S "$LAB_DIR/tmux.sock" -f "$LAB_DIR/tmux.conf" "$@"; }

# lab_tmux_start NAME CMD...: CMD in a new 100x30 session in the client namespace, with
# the caller's environment plus HOME=$LAB_HOME, TERM=tmux-256color, a UTF-8 locale.
# The pane stays after CMD exits (remain-on-exit), so its last screen can be read.
lab_tmux_start() { local -; set +eu;
	local name=$1 run
	shift
	[ $# -gt 0 ] || { _lab_err "lab_tmux_start NAME CMD..."; return 1; }
	if [ ! -f "$LAB_DIR/tmux.conf" ]; then
		cat >"$LAB_DIR/tmux.conf" <<'EOF'
set -g default-terminal tmux-256color
set -g remain-on-exit on
set -g status off
set -g history-limit 5000
set -s escape-time 10
set -g default-size 100x30
EOF
	fi
	run=$LAB_DIR/tmux/$name.run
	{
		echo '#!/bin/bash'
		(
			export HOME=$LAB_HOME TERM=tmux-256color LANG=C.UTF-8 LC_ALL=C.UTF-8
			unset TMUX TMUX_PANE
			export -p
		) | grep -Ev '^declare -[a-zA-Z]*r|^declare -x (SHELLOPTS|BASHOPTS|BASH_[A-Z_]*|SHLVL|_|PWD|OLDPWD)='
		printf 'cd %q 2>/dev/null || cd /\n' "$PWD"
		printf 'exec'
		printf ' %q' "$@"
		echo
	} >"$run"
	# Through the keeper: the tmux server forks away from the command that starts it.
	_lab_keeper_run "$LAB_DIR/tmux/$name.pid" "$LAB_DIR/tmux/$name.status" "$LAB_DIR/log/tmux.log" \
		unshare -m /bin/sh -c "$_LAB_CLIENT_SH" sh "$LAB_HOME" "${LAB_HIDE_HOME:-}" "${LAB_HIDE_SRC:-}" \
		tmux -u -S "$LAB_DIR/tmux.sock" -f "$LAB_DIR/tmux.conf" \
		new-session -d -s "$name" -x 100 -y 30 "exec bash $(printf %q "$run")" || return 1
	local i st=
	for i in $(seq 1 200); do
		[ -s "$LAB_DIR/tmux/$name.status" ] && { st=$(cat "$LAB_DIR/tmux/$name.status"); break; }
		sleep 0.05
	done
	[ "$st" = 0 ] || { _lab_err "tmux new-session $name failed (${st:-timeout}): $(tail -n 3 "$LAB_DIR/log/tmux.log")"; return 1; }
	if [ ! -s "$LAB_DIR/run/tmux.hpid" ]; then
		_lab_tmux display-message -p '#{pid}' >"$LAB_DIR/run/tmux.hpid" 2>/dev/null
	fi
}

lab_tmux_send() { local -; set +eu; local n=$1; shift; _lab_tmux send-keys -t "=$n:" "$@"; }
lab_tmux_type() { local -; set +eu; _lab_tmux send-keys -t "=$1:" -l -- "$2" && _lab_tmux send-keys -t "=$1:" Enter; }
lab_tmux_capture() { local -; set +eu; _lab_tmux capture-pane -p -t "=$1:"; }
lab_tmux_kill() { local -; set +eu; _lab_tmux kill-session -t "=$1" 2>/dev/null; }
lab_tmux_pane_pid() { local -; set +eu; _lab_tmux display-message -p -t "=$1:" '#{pane_pid}'; }

# lab_tmux_alive NAME: the session exists and its program still runs.
lab_tmux_alive() { local -; set +eu;
	[ "$(_lab_tmux display-message -p -t "=$1:" '#{pane_dead}' 2>/dev/null)" = 0 ]
}

# lab_tmux_status NAME: exit status of the pane's program once it has ended.
lab_tmux_status() { local -; set +eu;
	local s
	s=$(_lab_tmux display-message -p -t "=$1:" '#{pane_dead}:#{pane_dead_status}' 2>/dev/null) || return 1
	[ "${s%%:*}" = 1 ] || return 1
	echo "${s#*:}"
}

# lab_tmux_wait NAME REGEX [SECONDS]: wait (default 10 s) until the screen matches the
# extended REGEX; on timeout print the screen to stderr and return 1.
lab_tmux_wait() { local -; set +eu;
	local name=$1 re=$2 secs=${3:-10} end screen
	end=$(($(date +%s%N) / 1000000 + secs * 1000))
	while :; do
		screen=$(lab_tmux_capture "$name" 2>/dev/null)
		printf '%s\n' "$screen" | grep -Eq -- "$re" && return 0
		[ $(($(date +%s%N) / 1000000)) -ge $end ] && break
		sleep 0.2
	done
	{
		echo "lab_tmux_wait: '$re' not on $name's screen after ${secs}s:"
		echo "------------------------------------------------------------------"
		printf '%s\n' "$screen"
		echo "------------------------------------------------------------------"
	} >&2
	return 1
}

# ---- as a program --------------------------------------------------------------------
_lab_cli_state=/run/moshlab/cli.env

_lab_cli() {
	local cmd=${1:-status}
	[ $# -gt 0 ] && shift
	if [ -f "$_lab_cli_state" ]; then
		. "$_lab_cli_state"
		[ -n "${LAB_DIR:-}" ] && [ -f "$LAB_DIR/state.env" ] && . "$LAB_DIR/state.env"
	fi
	case "$cmd" in
	up)
		if _lab_alive; then
			echo "lab already up: $LAB_ID ($LAB_DIR)"
		else
			lab_require_root lab
			LAB_DIR=
			LAB_OWNER=cli lab_up || exit 1
			mkdir -p /run/moshlab
			printf 'LAB_DIR=%q\n' "$LAB_DIR" >"$_lab_cli_state"
			echo "lab up: $LAB_ID"
		fi
		_lab_cli_status
		echo
		echo "next: bash $0 shell client    (or: eval \"\$(bash $0 env)\"; . $0)"
		;;
	down)
		lab_down
		rm -f "$_lab_cli_state"
		echo "lab down"
		;;
	status)
		if _lab_alive; then _lab_cli_status; else echo "lab: not up"; return 1; fi
		;;
	gc)
		LAB_VERBOSE=1 lab_gc
		;;
	env)
		_lab_alive || { echo "lab: not up" >&2; return 1; }
		cat "$LAB_DIR/state.env"
		;;
	shell)
		_lab_alive || { echo "lab: not up" >&2; return 1; }
		case "${1:-client}" in
		client) lab_client bash -i ;;
		server) lab_server bash -i ;;
		*) echo "usage: $0 shell [client|server]" >&2; return 2 ;;
		esac
		;;
	*)
		echo "usage: $0 up|down|status|env|gc|shell [client|server]" >&2
		return 2
		;;
	esac
}

_lab_cli_status() {
	local d
	echo "id      $LAB_ID   dir $LAB_DIR"
	echo "client  ns $LAB_CLIENT_NS  $LAB_CLIENT_IP ($LAB_CLIENT_IF)  HOME=$LAB_HOME"
	echo "server  ns $LAB_SERVER_NS  $LAB_SERVER_IP, proxies on $LAB_PROXY_IP ($LAB_SERVER_IF)"
	echo "sshd    $LAB_SERVER_IP:$LAB_SSH_PORT  jump $LAB_JUMP_HOST:$LAB_JUMP_PORT (server side)  kbd-int $LAB_SERVER_IP:$LAB_KBD_PORT"
	echo "users   $LAB_USER (key $LAB_KEY; $LAB_PP_KEY pass $LAB_PP_PASS), $LAB_PW_USER (pass $LAB_PW_PASS), $LAB_OTHER_USER, $LAB_CSH_USER (tcsh login shell, key)"
	echo "proxies socks5 $LAB_PROXY_IP:$LAB_SOCKS_PORT, socks5+auth :$LAB_SOCKS_AUTH_PORT ($LAB_SOCKS_USER/$LAB_SOCKS_PASS), http :$LAB_HTTP_PORT, ss-local $LAB_SS_IP:$LAB_SS_PORT (client side)"
	printf 'daemons'
	for d in sshd sshd_jump sshd_kbd socks socks_auth http ss_server ss_local; do
		if _lab_pid_alive "$d"; then printf ' %s:up' "$d"; else printf ' %s:DOWN' "$d"; fi
	done
	echo
	echo "switches udp=$([ -s "$LAB_DIR/sw/udp" ] && echo "blocked($(cat "$LAB_DIR/sw/udp"))" || echo open) uplink=$(cat "$LAB_DIR/sw/uplink") tcp-blackhole=[$(tr '\n' ' ' <"$LAB_DIR/sw/tcp")] loss=$(cat "$LAB_DIR/sw/loss")%"
	echo "ssh     lab_client $LAB_SSH $LAB_USER@$LAB_SERVER_IP"
}

if [ "${BASH_SOURCE[0]}" = "$0" ]; then
	_lab_cli "$@"
	exit $?
fi
