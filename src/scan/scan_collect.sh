# SPDX-License-Identifier: MIT
# moshman scan collector, format version 1.  Sent to `sh -s` on the remote host; it must
# run under dash, bash and BusyBox ash, and on hosts that lack ss, netstat, lsof or who.
# It reports the login user's mosh-server processes, their UDP ports and the utmp marks.
#
# Output: one record per line, "TAG FIELDS".  Every line starts with a tag this script
# writes, so nothing a process or a tool prints can become a record of its own, and the
# last line is "end" so that a cut-off transfer is noticed.  Free text that a process
# controls (comm, argv) travels as hex; raw tool lines (ss, netstat, who, ...) travel
# after their tag and are parsed, distrustfully, by src/scan/scanparse.c.
#
#   moshman-scan 1
#   me UID NAMEHEX                     login user
#   os NAME                            uname -s
#   boot ID|-                          Linux boot id (part of the start tokens)
#   clock NOW UPTIME|-                 epoch seconds, seconds since boot
#   mode proc|ps|none                  where process data came from
#   missing TOOL                       a tool that was wanted but absent or unusable
#   ports ss|netstat|procfd|lsof|none  where port data came from
#   proc PID PPID UID START ELAPSED TTY COMMHEX ARGSHEX
#                                      START is p:BOOTID:TICKS (from /proc) or s:LSTART
#                                      (from ps, spaces as _); ELAPSED is seconds or ps
#                                      etime; ARGSHEX is argv joined by NUL (/proc) or the
#                                      ps args text; "-" for anything unknown
#   child PPID PID TTY                 any process whose parent is a listed server
#   ss|netstat|lsof|procnet|who RAW    a line of that tool's output
#   sock PID INODE                     a UDP/TCP socket inode held by a listed server
#   warn TEXT                          something odd the collector itself noticed
#   end
#
# MOSHMAN_SCAN_SKIP (space-separated: proc ss netstat lsof who) pretends tools are
# missing; the tests use it to record the fallbacks on one machine.

LC_ALL=C
export LC_ALL
PATH=$PATH:/usr/sbin:/sbin:/usr/bin:/bin
export PATH

skip=" ${MOSHMAN_SCAN_SKIP:-} "

# True if the tool should be treated as absent.
skipped() {
	case $skip in *" $1 "*) return 0 ;; esac
	return 1
}

have() {
	skipped "$1" && return 1
	command -v "$1" >/dev/null 2>&1
}

# Prefix every line of stdin with a tag, also a last line without a newline.
tag() {
	while IFS= read -r l || [ -n "$l" ]; do
		printf '%s %s\n' "$1" "$l"
	done
}

# stdin as lower-case hex, no separators.
if command -v od >/dev/null 2>&1; then
	hex() { od -An -v -tx1 | tr -d ' \n'; }
elif command -v hexdump >/dev/null 2>&1; then
	hex() { hexdump -v -e '/1 "%02x"'; }
else
	hex() { cat >/dev/null; printf -; }
fi

me=$(id -u 2>/dev/null)
case $me in '' | *[!0-9]*) me=- ;; esac
name=$(id -un 2>/dev/null | tr -d '\n' | hex)
[ -n "$name" ] || name=-
os=$(uname -s 2>/dev/null | tr -cd 'A-Za-z0-9_.-')
now=$(date +%s 2>/dev/null)
case $now in '' | *[!0-9]*) now=- ;; esac

echo "moshman-scan 1"
echo "me $me $name"
echo "os ${os:--}"
command -v od >/dev/null 2>&1 || echo "missing od"

# Linux pty and serial device numbers to names; sets $tty.  Anything else stays
# major:minor, which is still good enough to compare with another process.
ttyname() {
	maj=$((($1 >> 8) & 4095))
	min=$((($1 & 255) | (($1 >> 12) & 1048320)))
	if [ "$1" -eq 0 ]; then
		tty=-
	elif [ "$maj" -ge 136 ] && [ "$maj" -le 143 ]; then
		tty=pts/$(((maj - 136) * 256 + min))
	elif [ "$maj" -eq 4 ] && [ "$min" -lt 64 ]; then
		tty=tty$min
	elif [ "$maj" -eq 4 ]; then
		tty=ttyS$((min - 64))
	else
		tty=$maj:$min
	fi
}

cands=
mode=none
if ! skipped proc && [ -r /proc/self/stat ] && [ -r /proc/uptime ]; then
	mode=proc
	boot=-
	[ -r /proc/sys/kernel/random/boot_id ] &&
		IFS= read -r boot </proc/sys/kernel/random/boot_id
	case $boot in '' | *[!0-9a-f-]*) boot=- ;; esac
	read -r up _ </proc/uptime
	up=${up%%.*}
	hz=$(getconf CLK_TCK 2>/dev/null)
	case $hz in '' | *[!0-9]* | 0) hz=100 ;; esac
	echo "boot $boot"
	echo "clock $now $up"
	echo "mode proc"
	# comm is the executable's name as the kernel saw it; the parser checks argv too.
	for d in /proc/[0-9]*; do
		p=${d#/proc/}
		c=
		IFS= read -r c 2>/dev/null <"$d/comm" || continue
		[ "$c" = mosh-server ] || continue
		s=
		IFS= read -r s 2>/dev/null <"$d/stat" || continue
		uid=
		while read -r k v _; do
			[ "$k" = Uid: ] && uid=$v && break
		done 2>/dev/null <"$d/status"
		[ "$uid" = "$me" ] || continue
		# Fields after the last ") " are stat fields 3.. : 4 ppid, 7 tty_nr, 22 starttime.
		s=${s##*\) }
		# shellcheck disable=SC2086
		set -- $s
		[ $# -ge 20 ] || continue
		# A zombie is already dead; its parent has yet to reap it.
		case $1 in Z | X) continue ;; esac
		ppid=$2 start=${20}
		ttyname "$5"
		el=$((up - start / hz))
		args=$(dd if="$d/cmdline" bs=4096 count=1 2>/dev/null | hex)
		comm=$(printf '%s' "$c" | hex)
		echo "proc $p $ppid $uid p:$boot:$start $el $tty $comm ${args:--}"
		cands="$cands $p"
	done
	if [ -n "$cands" ]; then
		for d in /proc/[0-9]*; do
			s=
			IFS= read -r s 2>/dev/null <"$d/stat" || continue
			s=${s##*\) }
			# shellcheck disable=SC2086
			set -- $s
			case "$cands " in *" $2 "*) ;; *) continue ;; esac
			ttyname "$5"
			echo "child $2 ${d#/proc/} $tty"
		done
	fi
elif ! skipped ps && ps -o pid= -p $$ >/dev/null 2>&1; then
	mode="ps"
	echo "clock $now -"
	echo "mode ps"
	# Only pids come from this listing: a command line with a newline in it can add a
	# line here, but every value below is asked about that pid alone.
	for p in $(ps -axo pid=,args= 2>/dev/null | while read -r q rest; do
		case $rest in *mosh-server*) echo "$q" ;; esac
	done | sort -un); do
		case $p in *[!0-9]*) continue ;; esac
		# shellcheck disable=SC2046
		set -- $(ps -o pid=,ppid=,uid=,etime=,stat= -p "$p" 2>/dev/null)
		[ $# -eq 5 ] && [ "$1" = "$p" ] || continue
		case $5 in Z* | X*) continue ;; esac
		ppid=$2 uid=$3 el=$4
		[ "$uid" = "$me" ] || continue
		st=$(ps -o lstart= -p "$p" 2>/dev/null | tr -s ' \n' '__' | tr -cd 'A-Za-z0-9:_.-')
		st=${st#_}
		st=${st%_}
		[ -n "$st" ] && st=s:$st || st=-
		tty=$(ps -o tty= -p "$p" 2>/dev/null | tr -cd 'A-Za-z0-9/._-')
		comm=$(ps -o comm= -p "$p" 2>/dev/null | hex)
		args=$(ps -o args= -p "$p" 2>/dev/null | hex)
		echo "proc $p $ppid $uid ${st:--} $el ${tty:--} ${comm:--} ${args:--}"
		cands="$cands $p"
	done
	if [ -n "$cands" ]; then
		ps -axo ppid=,pid=,tty= 2>/dev/null | while read -r pp p t _; do
			case "$cands " in *" $pp "*) ;; *) continue ;; esac
			echo "child $pp $p $(printf '%s' "$t" | tr -cd 'A-Za-z0-9/._-')"
		done
	fi
else
	echo "clock $now -"
	echo "mode none"
	echo "missing ps"
fi

# UDP ports: ss, else netstat, else the socket inodes in /proc, else lsof.
ports=none
if have ss && out=$(ss -lunp 2>/dev/null); then
	ports=ss
	printf '%s\n' "$out" | grep 'mosh-server' | tag ss
else
	echo "missing ss"
	if have netstat && out=$(netstat -lunp 2>/dev/null); then
		ports=netstat
		printf '%s\n' "$out" | grep 'mosh-server' | tag netstat
	else
		echo "missing netstat"
	fi
fi
if [ $ports = none ] && [ $mode = proc ]; then
	ports=procfd
	inodes=
	for p in $cands; do
		for f in /proc/"$p"/fd/*; do
			l=$(readlink "$f" 2>/dev/null) || continue
			case $l in socket:\[*\]) l=${l#socket:[} l=${l%]} ;; *) continue ;; esac
			echo "sock $p $l"
			inodes="$inodes|$l"
		done
	done
	# Only the lines of those sockets: a busy host has thousands.
	[ -n "$inodes" ] && cat /proc/net/udp /proc/net/udp6 2>/dev/null |
		grep -E " (${inodes#|}) " | tag procnet
elif [ $ports = none ]; then
	if have lsof; then
		ports=lsof
		l=$(echo $cands | tr ' ' ',')
		[ -n "$l" ] && lsof -nP -a -iUDP -p "$l" -Fpn 2>/dev/null | tag lsof
	else
		echo "missing lsof"
	fi
fi
echo "ports $ports"

# utmp marks.  All lines are sent, so that the parser can notice a line that a host
# name with a newline in it has broken in two.
if have who && out=$(who 2>/dev/null); then
	[ -n "$out" ] && printf '%s\n' "$out" | tag who
else
	echo "missing who"
fi
echo "end"
