# SPDX-License-Identifier: MIT
# moshman kill script, format version 1.  Run as `sh -s -- [-f] [-s TERM|USR1] PID:START...`
# with this text on stdin; START is the token scan_collect.sh reported for that pid.
# Runs under dash, bash and BusyBox ash.
#
# For each pid it checks again that the process is a mosh-server of the login user and
# still has the start token it had when it was scanned (a pid reused since then has
# another), signals it, then waits up to 10 s for all signalled servers together.  With
# -f, what is still there after the wait gets SIGKILL (checked once more first).
#
# Output, one record per line:
#   moshman-kill 1
#   me UID
#   kill PID RESULT SIGNALS WAITED
#     RESULT: gone (no such process, nothing sent), not-mosh, not-owner, start-changed,
#             bad-request (nothing sent for these either), exited, killed (after
#             SIGKILL), alive (still running), failed (kill refused);
#     SIGNALS: what was sent, e.g. TERM or TERM,KILL, or "-";
#     WAITED: whole seconds waited for this pid.
#   end

LC_ALL=C
export LC_ALL
PATH=$PATH:/usr/sbin:/sbin:/usr/bin:/bin
export PATH

sig=TERM
force=0
while [ $# -gt 0 ]; do
	case $1 in
	-f) force=1 ;;
	-s)
		shift
		sig=${1:-}
		;;
	--) ;;
	-*) break ;;
	*) break ;;
	esac
	shift
done

echo "moshman-kill 1"
me=$(id -u 2>/dev/null)
case $me in '' | *[!0-9]*) me=- ;; esac
echo "me $me"

case $sig in
TERM | USR1) ;;
*)
	for r in "$@"; do
		p=${r%%:*}
		case $p in '' | *[!0-9]*) p=0 ;; esac
		echo "kill $p bad-request - 0"
	done
	echo "end"
	exit 0
	;;
esac

# The same start token as scan_collect.sh computes; sets $tok ("-" if the process is
# gone or a zombie) and $uid, $comm, $arg0.
useproc=0
if [ -r /proc/self/stat ] && [ -r /proc/uptime ]; then
	useproc=1
	boot=-
	[ -r /proc/sys/kernel/random/boot_id ] &&
		IFS= read -r boot </proc/sys/kernel/random/boot_id
	case $boot in '' | *[!0-9a-f-]*) boot=- ;; esac
fi

probe() {
	tok=- uid='' comm='' arg0=''
	if [ $useproc = 1 ]; then
		s=
		IFS= read -r s 2>/dev/null </proc/"$1"/stat || return 0
		s=${s##*\) }
		# shellcheck disable=SC2086
		set -- "$1" $s
		[ $# -ge 21 ] || return 0
		case $2 in Z | X) return 0 ;; esac
		tok=p:$boot:${21}
		IFS= read -r comm 2>/dev/null </proc/"$1"/comm
		while read -r k v _; do
			[ "$k" = Uid: ] && uid=$v && break
		done 2>/dev/null </proc/"$1"/status
		# argv[0] is the text before the first NUL.
		arg0=$(dd if=/proc/"$1"/cmdline bs=4096 count=1 2>/dev/null | tr '\0' '\n' | sed -n 1p)
	else
		st=$(ps -o stat= -p "$1" 2>/dev/null) || return 0
		case $st in '' | Z* | *' 'Z*) return 0 ;; esac
		t=$(ps -o lstart= -p "$1" 2>/dev/null | tr -s ' \n' '__' | tr -cd 'A-Za-z0-9:_.-')
		t=${t#_}
		t=${t%_}
		[ -n "$t" ] && tok=s:$t
		uid=$(ps -o uid= -p "$1" 2>/dev/null | tr -d ' ')
		comm=$(ps -o comm= -p "$1" 2>/dev/null)
		arg0=$(ps -o args= -p "$1" 2>/dev/null | sed -n '1s/ .*//p')
	fi
}

# True while pid $1 is still the process that had start token $2.
same() {
	probe "$1"
	[ "$tok" != - ] && [ "$tok" = "$2" ]
}

nap=0.2
sleep $nap 2>/dev/null || nap=1

pending=
for r in "$@"; do
	p=${r%%:*} want=${r#*:}
	case $p in '' | *[!0-9]*)
		echo "kill 0 bad-request - 0"
		continue
		;;
	esac
	case $r in *:?*) ;; *)
		echo "kill $p bad-request - 0"
		continue
		;;
	esac
	case $want in *[!A-Za-z0-9:_.-]* | -)
		echo "kill $p bad-request - 0"
		continue
		;;
	esac
	probe "$p"
	if [ "$tok" = - ]; then
		echo "kill $p gone - 0"
	elif [ "${comm##*/}" != mosh-server ] || [ "${arg0##*/}" != mosh-server ]; then
		echo "kill $p not-mosh - 0"
	elif [ "$uid" != "$me" ]; then
		echo "kill $p not-owner - 0"
	elif [ "$tok" != "$want" ]; then
		echo "kill $p start-changed - 0"
	elif kill -s "$sig" "$p" 2>/dev/null; then
		pending="$pending $p:$want"
	else
		echo "kill $p failed $sig 0"
	fi
done

# Wait for all of them together, up to 10 s.
ticks=0
max=50
[ $nap = 1 ] && max=10
while [ -n "$pending" ] && [ $ticks -lt $max ]; do
	sleep $nap
	ticks=$((ticks + 1))
	left=
	for r in $pending; do
		p=${r%%:*}
		if same "$p" "${r#*:}"; then
			left="$left $r"
		else
			echo "kill $p exited $sig $((ticks * 10 / max))"
		fi
	done
	pending=$left
done

for r in $pending; do
	p=${r%%:*}
	if [ $force = 1 ] && same "$p" "${r#*:}"; then
		kill -s KILL "$p" 2>/dev/null
		n=0
		while same "$p" "${r#*:}" && [ $n -lt 10 ]; do
			sleep $nap
			n=$((n + 1))
		done
		if same "$p" "${r#*:}"; then
			echo "kill $p alive $sig,KILL 10"
		else
			echo "kill $p killed $sig,KILL 10"
		fi
	elif same "$p" "${r#*:}"; then
		echo "kill $p alive $sig 10"
	else
		echo "kill $p exited $sig 10"
	fi
done
echo "end"
