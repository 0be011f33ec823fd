#!/bin/bash
# SPDX-License-Identifier: MIT
# bench/run.sh BUILD_DIR: `make bench`.  Brings up the lab (tests/lab/lab.sh), measures
# moshman and the tools users would use instead side by side in this one run, prints a
# summary of the key ratios, and regenerates docs/benchmarks.md and docs/bench/*.png.
#
# Figures, not tests: nothing here passes or fails; a row that cannot be measured (a
# feature missing from this build, a step that broke) says so in the document instead of
# a number.  All traffic stays in the lab's namespaces or on loopback.  Every process we
# start is stopped by PID (the lab's daemons by the lab; lab_down clears the rest).
#
# Knobs (environment): BENCH_RUNS (bootstrap runs, 5), BENCH_FLOOD_S (10),
# BENCH_OUTAGE_S (30), BENCH_COST_S (60), BENCH_IDLE_S (30), BENCH_STRACE_S (10),
# BENCH_RTT_COUNT (1000), BENCH_FREEZE_S (20), BENCH_ATTACH_KEYS (keystrokes per program,
# 100), BENCH_ATTACH_ROUNDS (rounds of 100 keys through the layer alone, 3),
# BENCH_ATTACH_IDLE_S (40), BENCH_NO_DOCS=1 (print only, leave docs/ alone).
#
# BENCH_ONLY="SECTION ..." runs only those sections (latency flood recovery bootstrap cost
# dashboard idle scan roam attach) into BUILD/bench-only/ and prints the summary; it never touches
# docs/ (the document is one whole run) nor the last whole run's results in BUILD/bench/.
# A section that builds on an earlier one (flood and recovery use latency's tunnels, cost's
# tcp rows need bootstrap's) says "not measured" for those rows when run alone.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
# The whole script is one block, read before it runs: editing this file during a run
# cannot shift what bash reads next.
{
set -u

TOP=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${1:-build}
case $BUILD in /*) ;; *) BUILD=$TOP/$BUILD ;; esac
export MOSHMAN_TOP=$TOP MOSHMAN_BIN=$BUILD/moshman
M=$MOSHMAN_BIN
SECTIONS="latency flood recovery bootstrap cost dashboard idle scan roam attach"
ONLY=${BENCH_ONLY:-}
for sec in $ONLY; do
	case " $SECTIONS " in *" $sec "*) ;; *) echo "bench: unknown section '$sec' (known: $SECTIONS)" >&2; exit 2 ;; esac
done
OUT=$BUILD/bench
if [ -n "$ONLY" ]; then
	OUT=$BUILD/bench-only
	BENCH_NO_DOCS=1
fi
RES=$OUT/res
DOC=$TOP/docs/benchmarks.md
PLOTS=$TOP/docs/bench
UB=$OUT/udpbench
TSTAMP=$TOP/bench/tstamp.pl
ECHO_PORT=7000
RUNS=${BENCH_RUNS:-5}
FLOOD_S=${BENCH_FLOOD_S:-10}
OUTAGE_S=${BENCH_OUTAGE_S:-30}
COST_S=${BENCH_COST_S:-60}
IDLE_S=${BENCH_IDLE_S:-30}
STRACE_S=${BENCH_STRACE_S:-10}
RTT_COUNT=${BENCH_RTT_COUNT:-1000}
FREEZE_S=${BENCH_FREEZE_S:-20}
ATT_KEYS=${BENCH_ATTACH_KEYS:-100}
ATT_ROUNDS=${BENCH_ATTACH_ROUNDS:-3}
ATT_IDLE_S=${BENCH_ATTACH_IDLE_S:-40}

ms() { echo $(($(date +%s%N) / 1000000)); }
say() { printf 'bench: %s\n' "$*" >&2; }
T_BEGIN=$(ms)
LOAD_BEGIN=$(cut -d' ' -f1-3 /proc/loadavg)

# Results are files: put KEY VALUE, get KEY (n/a when never measured), note KEY TEXT for
# the reason a row has no figure.
put() { printf '%s\n' "$2" >"$RES/$1"; }
get() { if [ -s "$RES/$1" ]; then cat "$RES/$1"; else echo "${2:-n/a}"; fi; }
has() { [ -s "$RES/$1" ]; }
note() { put "note_$1" "$2"; say "$1: $2"; }
RECIPE_CMD="ssh -L 127.0.0.1:P:127.0.0.1:P USER@SERVER \"socat tcp4-listen:P,reuseaddr,bind=127.0.0.1 udp:127.0.0.1:$ECHO_PORT\"  +  socat udp4-listen:L,reuseaddr,bind=127.0.0.1 tcp:127.0.0.1:P"

# median/min/max of numbers on stdin (one a line; "-" lines ignored).
stats() { grep -E '^-?[0-9.]+$' | sort -g | awk '{ v[NR] = $1 } END {
	if (NR == 0) { print "n/a n/a n/a 0"; exit }
	printf "%s %s %s %d\n", v[int((NR + 1) / 2)], v[1], v[NR], NR }'; }
# ratio A B [DIGITS]: A/B, or n/a.
ratio() { awk -v a="$1" -v b="$2" -v d="${3:-1}" 'BEGIN {
	if (a !~ /^[0-9.]+$/ || b !~ /^[0-9.]+$/ || b + 0 == 0) { print "n/a"; exit }
	printf "%.*f\n", d, a / b }'; }

# BENCH_REPORT_ONLY=1: rewrite the summary, docs and plots from the last run's results
# in BUILD/bench (to fix the wording without measuring again; the figures stay that run's).
if [ "${BENCH_REPORT_ONLY:-0}" = 1 ]; then
	[ -s "$RES/total_s" ] || { echo "bench: no finished run in $OUT" >&2; exit 1; }
	. "$TOP/tests/lab/lab.sh"
	RUNS=$(get knob_runs "$RUNS") FLOOD_S=$(get knob_flood_s "$FLOOD_S")
	OUTAGE_S=$(get knob_outage_s "$OUTAGE_S") COST_S=$(get knob_cost_s "$COST_S")
	IDLE_S=$(get knob_idle_s "$IDLE_S") STRACE_S=$(get knob_strace_s "$STRACE_S")
	RTT_COUNT=$(get knob_rtt_count "$RTT_COUNT") FREEZE_S=$(get knob_freeze_s "$FREEZE_S")
	ATT_KEYS=$(get knob_att_keys "$ATT_KEYS") ATT_ROUNDS=$(get knob_att_rounds "$ATT_ROUNDS")
	ATT_IDLE_S=$(get knob_att_idle_s "$ATT_IDLE_S")
	. "$TOP/bench/report.sh"
	exit 0
fi

[ -x "$M" ] || { echo "bench: $M not built (make bench builds it)" >&2; exit 1; }
rm -rf "$OUT"
mkdir -p "$OUT" "$RES" "$PLOTS"
cc -O2 -Wall -Wextra -o "$UB" "$TOP/bench/udpbench.c" || { echo "bench: cannot build udpbench" >&2; exit 1; }
put knob_runs "$RUNS"; put knob_flood_s "$FLOOD_S"; put knob_outage_s "$OUTAGE_S"
put knob_cost_s "$COST_S"; put knob_rtt_count "$RTT_COUNT"
put knob_idle_s "$IDLE_S"; put knob_strace_s "$STRACE_S"; put knob_freeze_s "$FREEZE_S"
put knob_att_keys "$ATT_KEYS"; put knob_att_rounds "$ATT_ROUNDS"; put knob_att_idle_s "$ATT_IDLE_S"
put run_date "$(date -u '+%Y-%m-%d %H:%M UTC')"
put run_rev "$(cd "$TOP" && git rev-parse --short HEAD 2>/dev/null)$(cd "$TOP" && git diff --quiet HEAD 2>/dev/null || echo "+changes")"

. "$TOP/tests/lab/lab.sh"
lab_require_root bench
BG_PIDS=
bench_cleanup() {
	local p
	for p in $BG_PIDS; do kill "$p" 2>/dev/null; done
	lab_down
}
trap bench_cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM HUP
say "lab up"
lab_up || { echo "bench: the lab did not come up" >&2; exit 1; }
export MOSHMAN_DB=$LAB_DIR/bench/moshman.db
mkdir -p "$LAB_DIR/bench"
chmod 700 "$LAB_DIR/bench"
unset SSH_AUTH_SOCK
W=$LAB_DIR/bench
# The attach sockets (issue 12) in a private directory every program of the run shares.
export XDG_RUNTIME_DIR=$W/xdg
mkdir -p "$XDG_RUNTIME_DIR" && chmod 700 "$XDG_RUNTIME_DIR"

# ---- helpers -------------------------------------------------------------------------
add_host() {
	local name=$1
	shift
	"$M" -q host add "$name" --host "$LAB_SERVER_IP" --port "$LAB_SSH_PORT" \
		--user "$LAB_USER" --identity "$LAB_KEY" --known-hosts "$LAB_KNOWN_HOSTS" \
		--hostkey-policy strict "$@" >/dev/null
}

# ready PORT SECONDS: a datagram to 127.0.0.1:PORT (client side) comes back.
ready() {
	local end=$(($(ms) + $2 * 1000))
	while [ "$(ms)" -lt "$end" ]; do
		lab_client "$UB" rtt 127.0.0.1 "$1" 1 100 /dev/null 2>/dev/null | grep -q 'lost 0' && return 0
		sleep 0.2
	done
	return 1
}

# The unframed recipe users copy from forums (anchors.md):
#   ssh -L 127.0.0.1:P:127.0.0.1:P user@server "socat tcp4-listen:P,reuseaddr udp:127.0.0.1:ECHO"
#   socat udp4-listen:L,reuseaddr tcp:127.0.0.1:P
# recipe_start TAG P L [SSH OPTIONS...]: a fresh pair (socat without fork locks onto its
# first UDP peer, so each measurement gets its own).
recipe_start() {
	local tag=$1 p=$2 l=$3 i
	shift 3
	local -a ssh
	read -ra ssh <<<"$LAB_SSH"
	_lab_spawn_client "recipe_ssh_$tag" "${ssh[@]}" "$@" -n -o ExitOnForwardFailure=yes \
		-L "127.0.0.1:$p:127.0.0.1:$p" "$LAB_USER@$LAB_SERVER_IP" \
		"exec socat tcp4-listen:$p,reuseaddr,bind=127.0.0.1 udp:127.0.0.1:$ECHO_PORT" || return 1
	_lab_wait_listen client 127.0.0.1 "$p" tcp 2>/dev/null || { sleep 1; _lab_wait_listen client 127.0.0.1 "$p" tcp; } || return 1
	for i in $(seq 1 100); do
		lab_server ss -Hltn "sport = :$p" 2>/dev/null | grep -q "127.0.0.1:$p" && break
		sleep 0.05
	done
	_lab_spawn_client "recipe_socat_$tag" socat "udp4-listen:$l,reuseaddr,bind=127.0.0.1" "tcp:127.0.0.1:$p" || return 1
	_lab_wait_listen client 127.0.0.1 "$l" udp
}
recipe_stop() { _lab_stop "recipe_socat_$1"; _lab_stop "recipe_ssh_$1"; }

# moshman tunnel, with its state lines time-stamped (bench/tstamp.pl) in
# $LAB_DIR/log/tun_TAG.log.  tunnel_start TAG PROFILE LPORT: ready when a datagram comes
# back through it (30 s at most).
HAVE_TUNNEL=0
"$M" tunnel --help >/dev/null 2>&1 && HAVE_TUNNEL=1
tunnel_start() {
	local tag=$1 prof=$2 port=$3
	shift 3
	[ "$HAVE_TUNNEL" = 1 ] || return 1
	_lab_spawn_client "tun_$tag" perl "$TSTAMP" "$M" tunnel "$prof" \
		--local "127.0.0.1:$port" --remote "127.0.0.1:$ECHO_PORT" "$@" || return 1
	ready "$port" 30 && return 0
	say "tunnel $tag did not carry a datagram within 30 s: $(tail -n 3 "$LAB_DIR/log/tun_$tag.log" | tr '\n' ' ')"
	return 1
}
tunnel_stop() { _lab_stop "tun_$1"; }

# rtt_row KEY HOST PORT: 1,000 sequential 100-byte round trips from the client side.
rtt_row() {
	local key=$1 line
	line=$(lab_client "$UB" rtt "$2" "$3" "$RTT_COUNT" 100 "$OUT/rtt_$key.txt") || { note "rtt_$key" "udpbench failed"; return 1; }
	say "latency $key: $line"
	set -- $line
	# n N lost L p50 X p99 Y min A max B
	put "rtt_${key}_n" "$2"; put "rtt_${key}_lost" "$4"; put "rtt_${key}_p50" "$6"
	put "rtt_${key}_p99" "$8"; put "rtt_${key}_min" "${10}"; put "rtt_${key}_max" "${12}"
}

# mix_row KEY PORT: 3,000 datagrams of random sizes 8..2048, 16 in flight, through the
# tunnel at 127.0.0.1:PORT (tests/e2e/tunnel_mixed.pl): round-trip p50/p99 in ms.
mix_row() {
	local key=$1 line
	line=$(lab_client perl "$TOP/tests/e2e/tunnel_mixed.pl" 127.0.0.1 "$2" 3000 16) || { note "mix_$key" "tunnel_mixed.pl failed"; return 1; }
	say "mixed sizes $key: $line"
	set -- $line
	# n N lost L p50 X p99 Y max Z
	put "mix_${key}_n" "$2"; put "mix_${key}_lost" "$4"; put "mix_${key}_p50" "$6"
	put "mix_${key}_p99" "$8"; put "mix_${key}_max" "${10}"
}

# flood_row KEY HOST PORT
flood_row() {
	local key=$1 line k v
	line=$(lab_client "$UB" flood "$2" "$3" "$FLOOD_S" 1200 32) || { note "flood_$key" "udpbench failed"; return 1; }
	say "throughput $key: $line"
	set -- $line
	while [ $# -ge 2 ]; do put "flood_${key}_$1" "$2"; shift 2; done
}

# The server side: our echo (C, so the echo is never what is measured).
_lab_spawn_server bench_echo "$UB" echo "$ECHO_PORT" && _lab_wait_listen server 0.0.0.0 "$ECHO_PORT" udp ||
	{ echo "bench: echo server did not start" >&2; exit 1; }

"$M" sessions >/dev/null 2>&1
add_host b --transport udp
add_host bt --transport tcp
add_host bts --transport tcp --proxy "socks5://$LAB_PROXY_IP:$LAB_SOCKS_PORT"
add_host bth --transport tcp --proxy "http://$LAB_PROXY_IP:$LAB_HTTP_PORT"
# moshman installed on the server too (the build's binary on the lab user's PATH; the
# server shares this filesystem), so the tunnel's remote end is the native relay; the rows
# marked "Perl relay" force the embedded Perl relay, what a host without moshman gets.
H=$(lab_server_home "$LAB_USER")
mkdir -p "$H/bin" && ln -sf "$M" "$H/bin/moshman" && printf 'PATH=$HOME/bin:$PATH\n' >"$H/.bashrc" &&
	chown -R "$LAB_USER" "$H/bin" "$H/.bashrc"
[ "$HAVE_TUNNEL" = 1 ] || say "this build has no 'moshman tunnel': its rows stay empty"

# ---- 1. latency ----------------------------------------------------------------------
bench_latency() {
	say "1. latency: $RTT_COUNT sequential 100-byte round trips per path"
	rtt_row direct "$LAB_SERVER_IP" "$ECHO_PORT"
	if recipe_start lat 7201 7202; then
		rtt_row recipe 127.0.0.1 7202
	else
		note rtt_recipe "the socat recipe did not come up"
	fi
	recipe_stop lat
	local t p
	for t in "d bt 7101 --relay native" "p bt 7104 --relay perl" "s bts 7102 --relay native" "h bth 7103 --relay native"; do
		set -- $t
		if tunnel_start "$@"; then
			rtt_row "tun_$1" 127.0.0.1 "$3"
			case $1 in d | p) mix_row "tun_$1" "$3" ;; esac
		elif [ "$HAVE_TUNNEL" = 1 ]; then
			note "rtt_tun_$1" "moshman tunnel ($2) did not carry a datagram within 30 s"
		else
			note "rtt_tun_$1" "not measured: this build has no 'moshman tunnel'"
		fi
	done
}

# ---- 2. throughput and integrity ------------------------------------------------------
bench_flood() {
	say "2. throughput: 1,200-byte datagrams, 32 in flight, $FLOOD_S s per path"
	flood_row direct "$LAB_SERVER_IP" "$ECHO_PORT"
	if recipe_start flood 7203 7204; then
		flood_row recipe 127.0.0.1 7204
	else
		note flood_recipe "the socat recipe did not come up"
	fi
	recipe_stop flood
	if [ "$HAVE_TUNNEL" = 1 ] && ready 7101 5; then
		flood_row tun_d 127.0.0.1 7101
	else
		note flood_tun_d "not measured: $([ "$HAVE_TUNNEL" = 1 ] && echo "the tunnel was not up" || echo "this build has no 'moshman tunnel'")"
	fi
	if [ "$HAVE_TUNNEL" = 1 ] && ready 7104 5; then
		flood_row tun_p 127.0.0.1 7104
	else
		note flood_tun_p "not measured: $([ "$HAVE_TUNNEL" = 1 ] && echo "the tunnel was not up" || echo "this build has no 'moshman tunnel'")"
	fi
}

# ---- 3. recovery -----------------------------------------------------------------------
# tick_start KEY HOST PORT SECONDS: one datagram every 100 ms; a new source port after 10 s
# without a reply, as mosh-client does.
tick_start() {
	lab_client "$UB" tick "$2" "$3" "$4" 100 10000 "$OUT/tick_$1.txt" &
	BG_PIDS="$BG_PIDS $!"
	echo "$!" >"$W/tick_$1.pid"
}
tick_wait() {
	local p
	p=$(cat "$W/tick_$1.pid")
	wait "$p" 2>/dev/null
}
# recovery KEY T_CUT T_RESTORE HORIZON_S: restore-to-first-echo in s, or "never".
recovery() {
	local f=$OUT/tick_$1.txt
	[ -s "$f" ] || { put "rec_$1" "n/a"; return; }
	awk -v c="$2" -v r="$3" '$1 == "rx" && $2 < c { before++ } $1 == "rx" && $2 >= r && !first { first = $2 }
		END { printf "%d %s\n", before, first ? first : "-" }' "$f" >"$W/rec_$1"
	local before first
	read -r before first <"$W/rec_$1"
	put "rec_$1_before" "$before"
	if [ "$first" = - ]; then
		put "rec_$1" "never"
	else
		put "rec_$1" "$(awk -v a="$first" -v b="$3" 'BEGIN { printf "%.2f", (a - b) / 1000 }')"
	fi
	put "rec_$1_horizon" "$4"
}
# tunnel_events TAG T_CUT: seconds from the cut to the tunnel's first "dead/reconnect"
# line, and the text of its state lines after the cut.
tunnel_events() {
	local log=$LAB_DIR/log/tun_$1.log
	[ -s "$log" ] || return
	awk -v c="$2" '$1 >= c && /dead|reconnect|down|lost/ { printf "%.2f\n", ($1 - c) / 1000; exit }' "$log" >"$W/det"
	[ -s "$W/det" ] && put "rec_tun_$1_detect" "$(cat "$W/det")"
	awk -v c="$2" '$1 >= c && $2 == "tunnel:" { $1 = sprintf("+%.2fs", ($1 - c) / 1000); print }' "$log" | head -n 8 >"$RES/rec_tun_$1_lines"
}

bench_recovery() {
	local pre=5 post=30 dur t_cut t_res
	dur=$((pre + OUTAGE_S + post))
	say "3a. recovery: TCP to the server blackholed and UDP blocked for $OUTAGE_S s (${dur} s)"
	local have_recipe=0 have_tun=0
	recipe_start rec 7211 7212 && have_recipe=1
	[ "$HAVE_TUNNEL" = 1 ] && ready 7101 5 && have_tun=1
	tick_start direct "$LAB_SERVER_IP" "$ECHO_PORT" "$dur"
	[ $have_recipe = 1 ] && tick_start recipe 127.0.0.1 7212 "$dur"
	[ $have_tun = 1 ] && tick_start tun_d 127.0.0.1 7101 "$dur"
	sleep "$pre"
	t_cut=$(ms)
	put rec_cut "$t_cut"
	lab_blackhole_tcp server
	lab_block_udp
	sleep "$OUTAGE_S"
	t_res=$(ms)
	lab_restore_tcp
	lab_unblock_udp
	tick_wait direct
	[ $have_recipe = 1 ] && tick_wait recipe
	[ $have_tun = 1 ] && tick_wait tun_d
	recovery direct "$t_cut" "$t_res" "$post"
	if [ $have_recipe = 1 ]; then recovery recipe "$t_cut" "$t_res" "$post"; else note rec_recipe "the socat recipe did not come up"; fi
	if [ $have_tun = 1 ]; then
		recovery tun_d "$t_cut" "$t_res" "$post"
		tunnel_events d "$t_cut"
	else
		note rec_tun_d "not measured: $([ "$HAVE_TUNNEL" = 1 ] && echo "the tunnel was not up" || echo "this build has no 'moshman tunnel'")"
	fi
	recipe_stop rec
	for k in direct recipe tun_d; do say "  $k: restore to first echo $(get "rec_$k") s (echoes before the cut: $(get "rec_${k}_before" 0))"; done

	say "3b. recovery: SOCKS5 proxy killed, restarted after 10 s"
	pre=3 post=20
	dur=$((pre + 10 + post))
	have_recipe=0 have_tun=0
	recipe_start recs 7221 7222 -o "ProxyCommand=nc -X 5 -x $LAB_PROXY_IP:$LAB_SOCKS_PORT %h %p" && have_recipe=1
	[ "$HAVE_TUNNEL" = 1 ] && ready 7102 5 && have_tun=1
	[ $have_recipe = 1 ] && tick_start precipe 127.0.0.1 7222 "$dur"
	[ $have_tun = 1 ] && tick_start ptun 127.0.0.1 7102 "$dur"
	sleep "$pre"
	t_cut=$(ms)
	lab_proxy_kill socks
	sleep 10
	t_res=$(ms)
	lab_proxy_start socks
	[ $have_recipe = 1 ] && tick_wait precipe
	[ $have_tun = 1 ] && tick_wait ptun
	if [ $have_recipe = 1 ]; then recovery precipe "$t_cut" "$t_res" "$post"; else note rec_precipe "the socat recipe through SOCKS5 did not come up"; fi
	if [ $have_tun = 1 ]; then
		recovery ptun "$t_cut" "$t_res" "$post"
		tunnel_events s "$t_cut"
		[ -s "$RES/rec_tun_s_detect" ] && put rec_ptun_detect "$(get rec_tun_s_detect)"
	else
		note rec_ptun "not measured: $([ "$HAVE_TUNNEL" = 1 ] && echo "the tunnel was not up" || echo "this build has no 'moshman tunnel'")"
	fi
	recipe_stop recs
	for k in precipe ptun; do say "  $k: proxy back to first echo $(get "rec_$k") s"; done
}

# ---- 4. bootstrap ----------------------------------------------------------------------
# fast_wait NAME REGEX SECONDS: poll the pane every 20 ms.
fast_wait() {
	local end=$(($(ms) + $3 * 1000))
	while [ "$(ms)" -lt "$end" ]; do
		lab_tmux_capture "$1" 2>/dev/null | grep -Eq -- "$2" && return 0
		sleep 0.02
	done
	return 1
}
no_mosh_servers() {
	local i
	for i in $(seq 1 $(($1 * 10))); do
		[ -z "$(lab_mosh_servers "$LAB_USER")" ] && return 0
		sleep 0.1
	done
	return 1
}
# boot_one NAME CMD...: prints "MS_TO_PROMPT MS_TO_42" or fails.
boot_one() {
	local name=$1 t0 t1 t2 i
	shift
	t0=$(ms)
	lab_tmux_start "$name" "$@" || return 1
	if ! fast_wait "$name" '\$ *$' 30; then
		lab_tmux_capture "$name" >"$W/boot_fail_$name.txt" 2>&1
		lab_tmux_kill "$name"
		return 1
	fi
	t1=$(ms)
	lab_tmux_type "$name" 'echo $((6*7))'
	fast_wait "$name" '^42' 10 || { lab_tmux_kill "$name"; return 1; }
	t2=$(ms)
	lab_tmux_type "$name" exit
	for i in $(seq 1 100); do lab_tmux_alive "$name" || break; sleep 0.1; done
	lab_tmux_kill "$name"
	no_mosh_servers 10
	echo "$((t1 - t0)) $((t2 - t0))"
}
bench_bootstrap() {
	say "4. bootstrap: start to a typed echo on screen, $RUNS runs each, alternating"
	local -a ssh
	read -ra ssh <<<"$LAB_SSH"
	local r k x tcp_ok=1
	# The lab's tmux server starts with the first pane: not inside anyone's timing.
	lab_tmux_start warm sleep 1 && sleep 1.2 && lab_tmux_kill warm
	for k in mm_udp mm_tcp mosh ssh; do : >"$W/boot_$k"; done
	for r in $(seq 1 "$RUNS"); do
		x=$(boot_one "bu$r" "$M" -q connect b) && echo "$x" >>"$W/boot_mm_udp"
		if [ $tcp_ok = 1 ]; then
			if x=$(boot_one "bt$r" "$M" -q connect bt --transport tcp); then
				echo "$x" >>"$W/boot_mm_tcp"
			elif [ ! -s "$W/boot_mm_tcp" ]; then
				tcp_ok=0
				note boot_mm_tcp "not measured: 'moshman connect --transport tcp' did not reach a prompt in this build ($(grep -m1 -i 'moshman' "$W/boot_fail_bt$r.txt" 2>/dev/null | head -c 160))"
			fi
		fi
		x=$(boot_one "bm$r" mosh --ssh="$LAB_SSH" "$LAB_USER@$LAB_SERVER_IP") && echo "$x" >>"$W/boot_mosh"
		x=$(boot_one "bs$r" "${ssh[@]}" -t "$LAB_USER@$LAB_SERVER_IP") && echo "$x" >>"$W/boot_ssh"
	done
	# What an OpenSSH login alone costs here, with its default key exchange and with the
	# curve25519 one libssh uses (explains part of the gap between the rows above).
	local kx t0 t1 i
	for kx in default curve25519-sha256; do
		: >"$W/login_$kx"
		for i in $(seq 1 "$RUNS"); do
			local -a o=()
			[ "$kx" = default ] || o=(-o "KexAlgorithms=$kx")
			t0=$(ms)
			lab_client timeout 20 "${ssh[@]}" "${o[@]}" "$LAB_USER@$LAB_SERVER_IP" true </dev/null >/dev/null 2>&1 &&
				echo $(($(ms) - t0)) >>"$W/login_$kx"
		done
		set -- $(stats <"$W/login_$kx")
		put "login_${kx}_med" "$1"; put "login_${kx}_min" "$2"; put "login_${kx}_max" "$3"; put "login_${kx}_n" "$4"
	done
	put login_kex "$(lab_client "${ssh[@]}" -v "$LAB_USER@$LAB_SERVER_IP" true </dev/null 2>&1 | sed -n 's/.*kex: algorithm: //p' | head -n 1)"
	say "  ssh login alone: $(get login_default_med) ms ($(get login_kex)), $(get login_curve25519-sha256_med) ms with curve25519-sha256"
	for k in mm_udp mm_tcp mosh ssh; do
		[ -s "$W/boot_$k" ] || continue
		set -- $(cut -d' ' -f2 "$W/boot_$k" | stats)
		put "boot_${k}_med" "$1"; put "boot_${k}_min" "$2"; put "boot_${k}_max" "$3"; put "boot_${k}_n" "$4"
		put "boot_${k}_prompt" "$(cut -d' ' -f1 "$W/boot_$k" | stats | cut -d' ' -f1)"
		put "boot_${k}_all" "$(cut -d' ' -f2 "$W/boot_$k" | tr '\n' ' ')"
		say "  $k: median $1 ms to 42 on screen (min $2, max $3, $4 runs)"
	done
}

# ---- 5. cost -------------------------------------------------------------------------
# ticks PID: utime+stime in clock ticks.
ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat" 2>/dev/null; }
rss_kb() { awk '/^VmRSS:/ { print $2 }' "/proc/$1/status" 2>/dev/null; }
# cost_window TAG_IDLE TAG_BUSY PROFILE [CONNECT OPTIONS...]: two sessions, one idle and one
# printing continuously, measured over the same $COST_S s.
cost_window() {
	local ti=$1 tb=$2 prof=$3 tag pid cpid
	shift 3
	for tag in "$ti" "$tb"; do
		lab_tmux_start "$tag" "$M" -q connect "$prof" "$@" || return 1
		fast_wait "$tag" '\$ *$' 30 || { note "cost_$tag" "the session did not reach a prompt"; lab_tmux_kill "$tag"; return 1; }
	done
	# Every line differs (mosh sends only what changed on the screen; \`yes\` would
	# repaint the same screen and send nothing).
	lab_tmux_type "$tb" "seq -f 'moshman bench: continuous output, line %.0f' 1 1000000000"
	sleep 2
	local -A p0 c0 rmax
	for tag in "$ti" "$tb"; do
		pid=$(lab_tmux_pane_pid "$tag")
		cpid=$(pgrep -P "$pid" -x mosh-client | head -n 1)
		echo "$pid $cpid" >"$W/cost_$tag.pids"
		p0[$tag]=$(ticks "$pid")
		c0[$tag]=$(ticks "$cpid")
	done
	local t0 t1 i hz
	hz=$(getconf CLK_TCK)
	t0=$(ms)
	for i in $(seq 1 $((COST_S / 5))); do
		sleep 5
		for tag in "$ti" "$tb"; do
			read -r pid cpid <"$W/cost_$tag.pids"
			echo "$(rss_kb "$pid")" >>"$W/cost_$tag.rss"
			echo "$(rss_kb "$cpid")" >>"$W/cost_$tag.crss"
		done
	done
	t1=$(ms)
	for tag in "$ti" "$tb"; do
		read -r pid cpid <"$W/cost_$tag.pids"
		put "cost_${tag}_cpu" "$(awk -v a="${p0[$tag]}" -v b="$(ticks "$pid")" -v hz="$hz" -v t=$((t1 - t0)) 'BEGIN { printf "%.2f", (b - a) / hz / (t / 1000) * 100 }')"
		put "cost_${tag}_ccpu" "$(awk -v a="${c0[$tag]}" -v b="$(ticks "$cpid")" -v hz="$hz" -v t=$((t1 - t0)) 'BEGIN { printf "%.2f", (b - a) / hz / (t / 1000) * 100 }')"
		put "cost_${tag}_rss" "$(sort -n "$W/cost_$tag.rss" | tail -n 1)"
		put "cost_${tag}_crss" "$(sort -n "$W/cost_$tag.crss" | tail -n 1)"
		put "cost_${tag}_secs" "$(((t1 - t0) / 1000))"
		say "  $tag: supervisor $(get "cost_${tag}_cpu") % CPU, $(get "cost_${tag}_rss") KiB; mosh-client $(get "cost_${tag}_ccpu") %, $(get "cost_${tag}_crss") KiB"
	done
	lab_tmux_capture "$tb" >"$OUT/cost_${tb}_screen.txt" 2>&1
	lab_tmux_send "$tb" C-c
	sleep 1
	for tag in "$ti" "$tb"; do
		lab_tmux_type "$tag" exit
		for i in $(seq 1 100); do lab_tmux_alive "$tag" || break; sleep 0.1; done
		lab_tmux_kill "$tag"
	done
	no_mosh_servers 10
}
bench_cost() {
	say "5a. cost: supervisor CPU and RSS over $COST_S s, idle and printing (udp)"
	cost_window ci cb b
	if [ "$(get boot_mm_tcp_n 0)" -gt 0 ] 2>/dev/null; then
		say "5b. the same over the TCP tunnel"
		cost_window cti ctb bt --transport tcp
	else
		note cost_cti "not measured: no working --transport tcp in this build"
		note cost_ctb "not measured: no working --transport tcp in this build"
	fi
}

# ---- 5c. dashboard -----------------------------------------------------------------------
# dash_db: $W/dash_big.db (1,000 hosts, 10,000 past sessions) and $W/dash_empty.db, made
# once per run.
dash_db() {
	local big=$W/dash_big.db empty=$W/dash_empty.db cols now
	[ -s "$W/dash_db.done" ] && return 0
	rm -f "$big" "$empty"
	MOSHMAN_DB=$empty "$M" sessions >/dev/null 2>&1
	MOSHMAN_DB=$big "$M" -q host add h0000 --host 10.255.0.1 --user bench --tag bench >/dev/null || { note dash "cannot make the database"; return 1; }
	cols=$(sqlite3 "$big" "SELECT group_concat(name) FROM pragma_table_info('hosts') WHERE name NOT IN ('id', 'name')")
	now=$(date +%s)000
	sqlite3 "$big" "
		WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 999)
		INSERT INTO hosts (name, $cols) SELECT printf('h%04d', i), $cols FROM n,
			(SELECT * FROM hosts WHERE name = 'h0000');
		WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 10000)
		INSERT INTO sessions (host_id, host_name, state, path, transport, remote_addr,
			mosh_port, started_at, updated_at, ended_at)
		SELECT h.id, h.name, CASE i % 7 WHEN 0 THEN 'failed' WHEN 1 THEN 'killed' ELSE 'closed' END,
			'udp', 'udp', '10.255.0.1', 60001 + i % 999, $now - i * 60000, $now - i * 60000 + 3000000,
			$now - i * 60000 + 3000000
		FROM n JOIN hosts h ON h.id = 1 + i % 1000;" || { note dash "sqlite3 failed"; return 1; }
	put dash_hosts "$(sqlite3 "$big" 'SELECT count(*) FROM hosts')"
	put dash_sessions "$(sqlite3 "$big" 'SELECT count(*) FROM sessions')"
	echo done >"$W/dash_db.done"
}
bench_dashboard() {
	say "5c. dashboard: time to first paint and RSS, 1,000 hosts and 10,000 past sessions"
	dash_db || return 1
	local d
	for d in big empty; do
		lab_client env MOSHMAN_DB="$W/dash_$d.db" MOSHMAN_EXIT_AFTER_PAINT=1 TERM=xterm-256color \
			hyperfine -N --style none --warmup 2 --runs 20 --export-json "$OUT/dash_$d.json" \
			"script -qec $M /dev/null" >/dev/null 2>"$W/hf_$d.err" ||
			{ note "dash_$d" "hyperfine failed: $(tail -n 2 "$W/hf_$d.err" | tr '\n' ' ')"; continue; }
		set -- $(jq -r '.results[0] | "\(.median * 1000) \(.min * 1000) \(.max * 1000) \(.times | length)"' "$OUT/dash_$d.json")
		put "dash_${d}_med" "$(printf '%.1f' "$1")"; put "dash_${d}_min" "$(printf '%.1f' "$2")"
		put "dash_${d}_max" "$(printf '%.1f' "$3")"; put "dash_${d}_n" "$4"
		lab_client env MOSHMAN_DB="$W/dash_$d.db" MOSHMAN_EXIT_AFTER_PAINT=1 TERM=xterm-256color \
			script -qec "$UB maxrss $W/rss_$d $M" /dev/null >/dev/null 2>&1
		[ -s "$W/rss_$d" ] && put "dash_${d}_rss" "$(cat "$W/rss_$d")"
		say "  $d: first paint median $(get "dash_${d}_med") ms, peak RSS $(get "dash_${d}_rss") KiB"
	done
	# The floor: a pty that runs nothing.
	lab_client hyperfine -N --style none --warmup 2 --runs 20 --export-json "$OUT/dash_pty.json" \
		"script -qec true /dev/null" >/dev/null 2>&1 &&
		put dash_pty_med "$(jq -r '.results[0].median * 1000' "$OUT/dash_pty.json" | xargs printf '%.1f')"
}

# ---- 5d. idle cost ------------------------------------------------------------------------
# ctxsw PID: context switches of all its threads so far (each is the process going to
# sleep or being put to sleep: a wake-up's worth of work).
ctxsw() { cat /proc/"$1"/task/*/status 2>/dev/null | awk '/^(non)?voluntary_ctxt_switches:/ { n += $2 } END { print n + 0 }'; }
# idle_calls FILE: total system calls, and the sleeping ones (the loop waiting for its
# next event), from an `strace -c` summary.
idle_calls() {
	awk '$NF == "total" { t = $4 }
		$NF ~ /^(epoll_wait|epoll_pwait|epoll_pwait2|poll|ppoll|select|pselect6|nanosleep|clock_nanosleep)$/ { w += $4 }
		END { printf "%d %d\n", t, w }' "$1"
}
# Programs left idle in tmux panes of the lab, side by side over the same window: the
# dashboard on the big database, an idle `moshman tunnel`, and two baselines: `top -d 1`
# (a terminal program that also redraws every second) and `sleep` (the floor).
bench_idle() {
	say "5d. idle: dashboard (1,000 hosts, 10,000 sessions), moshman tunnel, top -d 1 and sleep in tmux panes, ${IDLE_S} s (+ ${STRACE_S} s under strace)"
	dash_db || { note idle_dash "no database"; return 1; }
	local tag pid hz t0 t1 tags=
	lab_tmux_start idash env MOSHMAN_DB="$W/dash_big.db" "$M" &&
		fast_wait idash 'h0[0-9]{3}' 30 && tags="$tags idash" ||
		note idle_idash "the dashboard did not paint its host list within 30 s"
	if [ "$HAVE_TUNNEL" = 1 ] && lab_tmux_start itun "$M" tunnel bt --local 127.0.0.1:7301 \
		--remote "127.0.0.1:$ECHO_PORT" && ready 7301 30; then
		tags="$tags itun"
	else
		note idle_itun "not measured: $([ "$HAVE_TUNNEL" = 1 ] && echo "the tunnel did not carry a datagram within 30 s" || echo "this build has no 'moshman tunnel'")"
	fi
	lab_tmux_start itop top -d 1 && tags="$tags itop"
	lab_tmux_start isleep sleep 3600 && tags="$tags isleep"
	# Past start-up (the tunnel's first datagram, the dashboard's first reads).
	sleep 3
	local -A p0 c0
	for tag in $tags; do
		pid=$(lab_tmux_pane_pid "$tag")
		echo "$pid" >"$W/idle_$tag.pid"
		p0[$tag]=$(ticks "$pid")
		c0[$tag]=$(ctxsw "$pid")
	done
	hz=$(getconf CLK_TCK)
	t0=$(ms)
	sleep "$IDLE_S"
	t1=$(ms)
	put idle_tick_pct "$(awk -v hz="$hz" -v t=$((t1 - t0)) 'BEGIN { printf "%.3f", 100 / hz / (t / 1000) }')"
	for tag in $tags; do
		pid=$(cat "$W/idle_$tag.pid")
		if ! kill -0 "$pid" 2>/dev/null; then
			note "idle_$tag" "the program ended during the window"
			continue
		fi
		put "idle_${tag}_cpu" "$(awk -v a="${p0[$tag]}" -v b="$(ticks "$pid")" -v hz="$hz" -v t=$((t1 - t0)) 'BEGIN { printf "%.3f", (b - a) / hz / (t / 1000) * 100 }')"
		put "idle_${tag}_rss" "$(rss_kb "$pid")"
		put "idle_${tag}_wake" "$(awk -v a="${c0[$tag]}" -v b="$(ctxsw "$pid")" -v t=$((t1 - t0)) 'BEGIN { printf "%.1f", (b - a) / (t / 1000) }')"
		put "idle_${tag}_secs" "$(((t1 - t0) / 1000))"
	done
	# System calls, in a window of their own: strace slows what it traces.
	if command -v strace >/dev/null 2>&1; then
		local spids=
		for tag in $tags; do
			has "idle_${tag}_cpu" || continue
			timeout -s INT "$STRACE_S" strace -c -f -o "$OUT/idle_$tag.strace" -p "$(cat "$W/idle_$tag.pid")" 2>"$W/idle_$tag.strace.err" &
			spids="$spids $!"
		done
		for pid in $spids; do wait "$pid"; done
		for tag in $tags; do
			if [ -s "$OUT/idle_$tag.strace" ]; then
				set -- $(idle_calls "$OUT/idle_$tag.strace")
			elif grep -q ' attached' "$W/idle_$tag.strace.err" 2>/dev/null; then
				set -- 0 0	# traced, and not one system call: strace writes no table
			else
				note "idle_${tag}_sys" "strace failed: $(head -n 1 "$W/idle_$tag.strace.err")"
				continue
			fi
			put "idle_${tag}_sys" "$(awk -v n="$1" -v t="$STRACE_S" 'BEGIN { printf "%.1f", n / t }')"
			put "idle_${tag}_waits" "$(awk -v n="$2" -v t="$STRACE_S" 'BEGIN { printf "%.1f", n / t }')"
		done
	else
		note idle_strace "strace is not installed: no system call counts"
	fi
	for tag in $tags; do
		say "  $tag: $(get "idle_${tag}_cpu") % CPU, $(get "idle_${tag}_rss") KiB, $(get "idle_${tag}_wake") context switches/s, $(get "idle_${tag}_sys") syscalls/s ($(get "idle_${tag}_waits") waits/s)"
	done
	for tag in idash itun itop isleep; do lab_tmux_kill "$tag" 2>/dev/null; done
}

# ---- 5e. scan ------------------------------------------------------------------------
bench_scan() {
	if ! "$M" scan --help >/dev/null 2>&1; then
		note scan "not measured: this build has no 'moshman scan'"
		return
	fi
	say "5e. scan: one profile against 16 profiles (the same sshd), in parallel"
	local i names=
	for i in $(seq -w 1 16); do
		add_host "s$i" --transport udp
		names="$names s$i"
	done
	lab_client hyperfine -N --style none --warmup 1 --runs 5 --export-json "$OUT/scan.json" \
		"$M -q scan s01" "$M -q scan$names" \
		"sh -c 'for h in$names; do $M -q scan \$h; done'" >/dev/null 2>"$W/scan.err" ||
		{ note scan "hyperfine failed: $(tail -n 2 "$W/scan.err" | tr '\n' ' ')"; return; }
	local k=0 w
	for w in one sixteen seq; do
		set -- $(jq -r ".results[$k] | \"\(.median * 1000) \(.min * 1000) \(.max * 1000) \(.times | length)\"" "$OUT/scan.json")
		put "scan_${w}_med" "$(printf '%.0f' "$1")"; put "scan_${w}_min" "$(printf '%.0f' "$2")"
		put "scan_${w}_max" "$(printf '%.0f' "$3")"; put "scan_${w}_n" "$4"
		k=$((k + 1))
	done
	say "  scan: 1 host $(get scan_one_med) ms, 16 hosts $(get scan_sixteen_med) ms, 16 one after the other $(get scan_seq_med) ms"
}

# ---- 6. roaming and waking ---------------------------------------------------------------
# One session per program, in a pane under a waiting shell (so the whole client side can
# be frozen: tmux would continue the pane's own process).  Each event, then a line typed
# at once; the time from the event to its echo on screen, polled every 20 ms.
# roam_echo TAG WORD: prints ms from now to WORD-2 on screen, or "never" after 30 s.
roam_echo() {
	local t0=$(ms)
	lab_tmux_type "$1" "echo $2-\$((1+1))"
	if fast_wait "$1" "^$2-2" 30; then echo $(($(ms) - t0)); else echo never; fi
}
# roam_events KEY ID T0 T1 FILE: session ID's events from T0 to T1 (epoch ms), as
# "+S.SS s KIND: MESSAGE" lines in FILE (from `moshman events ID --json`).
roam_events() {
	[ -n "$2" ] || return 0
	"$M" events "$2" --json 2>/dev/null | jq -r --argjson a "$3" --argjson b "$4" '.[] |
		select(.at >= $a and .at <= $b) | "+\((.at - $a) / 1000 * 100 | floor / 100) s \(.kind): \(.message | gsub("\n"; " "))"' >"$5" 2>/dev/null
}
# roam_keep KEY EV: of the runs of event EV, the slowest one's events become
# roam_KEY_EV_events (the document's measured cause when a target is missed).
roam_keep() {
	local f=$W/roam_$1_$2 i=0 v worst=-1 wi=0
	while read -r v; do
		i=$((i + 1))
		case $v in never) v=999999999 ;; esac
		[ "$v" -gt "$worst" ] 2>/dev/null && { worst=$v; wi=$i; }
	done <"$f"
	[ "$wi" -gt 0 ] && [ -s "${f}_ev_$wi" ] && head -n 12 "${f}_ev_$wi" >"$RES/roam_$1_$2_events"
	return 0
}
# roam_blackhole KEY TAG ID: all traffic to the server cut $OUTAGE_S s (TCP blackholed;
# UDP blocked, already so for tcp), a line typed at once (so mosh-client keeps sending);
# after the restore, the time to that line's echo.  For moshman: from the cut to the
# first "suspect" event (a second connection tried) and to "link dead".
roam_blackhole() {
	local key=$1 tag=$2 id=$3 t_cut t_res v
	sleep 1
	t_cut=$(ms)
	lab_blackhole_tcp server
	[ "$key" = tcp ] || lab_block_udp
	lab_tmux_type "$tag" "echo bh-\$((2+2))"
	sleep "$OUTAGE_S"
	t_res=$(ms)
	lab_restore_tcp
	[ "$key" = tcp ] || lab_unblock_udp
	if fast_wait "$tag" '^bh-4' 30; then v=$(($(ms) - t_res)); else v=never; fi
	echo "$v" >"$W/roam_${key}_blackhole"
	echo "$v" >>"$W/roam_${key}_blackhole_all"
	[ -n "$id" ] || return 0
	roam_events "$key" "$id" "$t_cut" "$(($(ms) + 500))" "$W/roam_${key}_blackhole_ev_1"
	head -n 12 "$W/roam_${key}_blackhole_ev_1" >"$RES/roam_${key}_blackhole_events"
	"$M" events "$id" --json 2>/dev/null | jq -r --argjson a "$t_cut" --argjson b "$t_res" '
		[.[] | select(.at >= $a and .at <= $b)] as $e
		| [([$e[] | select(.message | test("suspect"))][0].at), ([$e[] | select(.message | test("link dead"))][0].at)]
		| map(if . == null then "-" else ((. - $a) / 10 | floor / 100 | tostring) end) | join(" ")' >"$W/roam_${key}_dead" 2>/dev/null
	read -r v t_res <"$W/roam_${key}_dead" 2>/dev/null
	if [ -n "${v:-}" ] && [ "$v" != - ]; then put "roam_${key}_suspect" "$v"; else note "roam_${key}_suspect" "no 'suspect' event during the ${OUTAGE_S} s blackhole"; fi
	if [ -n "${t_res:-}" ] && [ "$t_res" != - ]; then put "roam_${key}_dead" "$t_res"; else note "roam_${key}_dead" "no 'link dead' event during the ${OUTAGE_S} s blackhole"; fi
}
# roam_run KEY "EVENT..." CMD...: the events (addr uplink freeze blackhole) on one session
# of CMD; results roam_KEY_EVENT_*.  Key tcp runs with UDP blocked throughout.
roam_run() {
	local key=$1 evs=$2 tag=ro$1 i ev procs id= t_ev
	shift 2
	[ "$key" = tcp ] && lab_block_udp
	lab_tmux_start "$tag" bash -c '"$@"; sleep 600' sh "$@" || { [ "$key" = tcp ] && lab_unblock_udp; return 1; }
	if ! fast_wait "$tag" '\$ *$' 30; then
		note "roam_$key" "the session did not reach a prompt"
		lab_tmux_kill "$tag"
		[ "$key" = tcp ] && lab_unblock_udp
		return 1
	fi
	lab_tmux_type "$tag" 'echo $((6*7))'
	fast_wait "$tag" '^42' 10
	[ "$1" = "$M" ] && id=$(newest_session)
	for ev in addr uplink freeze blackhole; do rm -f "$W/roam_${key}_$ev"*; done
	for ev in addr uplink freeze; do : >"$W/roam_${key}_$ev"; done
	i=0
	case " $evs " in *" addr "*)
		for i in $(seq 1 "$RUNS"); do
			sleep 1
			t_ev=$(ms)
			lab_client_addr
			roam_echo "$tag" "a$i" >>"$W/roam_${key}_addr"
			roam_events "$key" "$id" "$t_ev" "$(($(ms) + 200))" "$W/roam_${key}_addr_ev_$i"
		done ;;
	esac
	case " $evs " in *" uplink "*)
		i=0
		for ev in 2 1; do
			i=$((i + 1))
			sleep 1
			t_ev=$(ms)
			lab_uplink "$ev"
			roam_echo "$tag" "u$ev" >>"$W/roam_${key}_uplink"
			roam_events "$key" "$id" "$t_ev" "$(($(ms) + 200))" "$W/roam_${key}_uplink_ev_$i"
		done ;;
	esac
	case " $evs " in *" freeze "*)
		sleep 1
		procs=$(lab_tmux_procs "$tag")
		# shellcheck disable=SC2086
		lab_freeze $procs
		lab_client_addr
		sleep "$FREEZE_S"
		# Events from the thaw (the whole client side slept until then).
		t_ev=$(ms)
		# shellcheck disable=SC2086
		lab_thaw $procs
		roam_echo "$tag" frozen >>"$W/roam_${key}_freeze"
		roam_events "$key" "$id" "$t_ev" "$(($(ms) + 200))" "$W/roam_${key}_freeze_ev_1" ;;
	esac
	case " $evs " in *" blackhole "*) roam_blackhole "$key" "$tag" "$id" ;; esac
	lab_tmux_type "$tag" exit
	for i in $(seq 1 100); do lab_tmux_alive "$tag" || break; sleep 0.1; done
	lab_tmux_kill "$tag"
	[ "$key" = tcp ] && lab_unblock_udp
	no_mosh_servers 10
	for ev in $evs; do
		[ -s "$W/roam_${key}_$ev" ] || { note "roam_${key}_$ev" "no run finished"; continue; }
		set -- $(stats <"$W/roam_${key}_$ev")
		put "roam_${key}_${ev}_med" "$1"; put "roam_${key}_${ev}_max" "$3"; put "roam_${key}_${ev}_n" "$4"
		put "roam_${key}_${ev}_all" "$(tr '\n' ' ' <"$W/roam_${key}_$ev")"
		# A run that never echoed is the worst figure: the median and max say so.
		if grep -q never "$W/roam_${key}_$ev"; then
			put "roam_${key}_${ev}_never" "$(grep -c never "$W/roam_${key}_$ev")"
			put "roam_${key}_${ev}_max" never
			[ "$4" = 0 ] && put "roam_${key}_${ev}_med" never
		fi
		[ -n "$id" ] && roam_keep "$key" "$ev"
		say "  $key after $ev: median $(get "roam_${key}_${ev}_med") ms (max $(get "roam_${key}_${ev}_max"), all: $(get "roam_${key}_${ev}_all"))"
	done
	case " $evs " in *" blackhole "*) [ -n "$id" ] && say "  $key blackhole: suspect after $(get "roam_${key}_suspect") s, link dead after $(get "roam_${key}_dead") s" ;; esac
}
bench_roam() {
	say "6. roaming and waking: address change ($RUNS runs), uplink switch (there and back), ${FREEZE_S} s freeze with a new address, ${OUTAGE_S} s of all traffic to the server cut; event to echo"
	add_host rudp --transport udp
	add_host rtcp --transport tcp
	add_host rauto --transport auto
	roam_run mosh "addr uplink freeze blackhole" mosh --ssh="$LAB_SSH" "$LAB_USER@$LAB_SERVER_IP"
	roam_run udp "addr uplink freeze" "$M" -q connect rudp
	roam_run tcp "addr uplink freeze blackhole" "$M" -q connect rtcp
	roam_run auto "addr uplink freeze blackhole" "$M" -q connect rauto
}

# ---- 7. the attach layer (issue 12) -------------------------------------------------------
# sess_field ID FIELD: a field of session ID from `moshman sessions --json`.
sess_field() { "$M" sessions --json 2>/dev/null | jq -r --argjson id "$1" --arg f "$2" '.[] | select(.id == $id) | .[$f] // empty'; }
newest_session() { "$M" sessions --json 2>/dev/null | jq -r 'max_by(.id).id // empty'; }
# keyecho_put KEY LINE: "NAME n N p50 US p90 US min US max US lost L" into att_key_KEY_*.
keyecho_put() {
	local key=$1
	shift
	set -- $*
	[ "${2:-}" = n ] && [ "${3:-0}" -gt 0 ] 2>/dev/null || return 1
	put "att_key_${key}_n" "$3"; put "att_key_${key}_p50" "$5"; put "att_key_${key}_p90" "$7"
	put "att_key_${key}_min" "$9"; put "att_key_${key}_max" "${11}"; put "att_key_${key}_lost" "${13}"
}
# vctxsw PID: voluntary context switches of all its threads so far: each is the process
# going to sleep, one wake-up (the involuntary ones are other work preempting it, which on
# this shared machine would compare the load of two windows, not the two states).
vctxsw() { cat /proc/"$1"/task/*/status 2>/dev/null | awk '/^voluntary_ctxt_switches:/ { n += $2 } END { print n + 0 }'; }
# sup_cli_stat SUP CLI: "WAKE_UPS TICKS" of both together, then the wake-ups of each.
sup_cli_stat() { echo "$(($(vctxsw "$1") + $(vctxsw "$2"))) $(($(ticks "$1") + $(ticks "$2"))) $(vctxsw "$1") $(vctxsw "$2")"; }
# att_idle_window det|att SUP CLI SECONDS: SECONDS of both left alone, added to that
# state's totals in IDLE_det / IDLE_att ("WAKE_UPS TICKS SUP_WAKE CLI_WAKE MS").
att_idle_window() {
	local s0 t0 a0 b0 s1 t1 a1 b1 w0 w1 acc=IDLE_$1
	read -r s0 t0 a0 b0 <<<"$(sup_cli_stat "$2" "$3")"
	w0=$(ms)
	sleep "$4"
	w1=$(ms)
	read -r s1 t1 a1 b1 <<<"$(sup_cli_stat "$2" "$3")"
	# shellcheck disable=SC2086
	set -- ${!acc:-0 0 0 0 0}
	printf -v "$acc" '%s %s %s %s %s' $((s1 - s0 + $1)) $((t1 - t0 + $2)) $((a1 - a0 + $3)) \
		$((b1 - b0 + $4)) $((w1 - w0 + $5))
}
# att_idle_put det|att: that state's totals (IDLE_det / IDLE_att) into att_idle_*.
att_idle_put() {
	local k=$1 hz acc=IDLE_$1 dw dt da db t
	hz=$(getconf CLK_TCK)
	read -r dw dt da db t <<<"${!acc}"
	put "att_idle_${k}_wake" "$(awk -v d="$dw" -v t="$t" 'BEGIN { printf "%.2f", d / (t / 1000) }')"
	put "att_idle_${k}_sup_wake" "$(awk -v d="$da" -v t="$t" 'BEGIN { printf "%.2f", d / (t / 1000) }')"
	put "att_idle_${k}_cli_wake" "$(awk -v d="$db" -v t="$t" 'BEGIN { printf "%.2f", d / (t / 1000) }')"
	put "att_idle_${k}_cpu" "$(awk -v d="$dt" -v hz="$hz" -v t="$t" 'BEGIN { printf "%.3f", d / hz / (t / 1000) * 100 }')"
	put "att_idle_${k}_ticks" "$dt"
	put att_idle_secs "$((t / 1000))"
	put att_idle_tick_pct "$(awk -v hz="$hz" -v t="$t" 'BEGIN { printf "%.3f", 100 / hz / (t / 1000) }')"
}
bench_attach() {
	local keys=$ATT_KEYS pe=$OUT/ptyecho ec=$OUT/echo-client id sup cli r line
	say "7. attach layer: keystroke to echo with prediction off ($keys keys per program), the layer alone (ptyecho, $ATT_ROUNDS x 100 keys), attach to a drawn screen ($RUNS runs), idle detached vs attached (${ATT_IDLE_S} s each)"
	cc -O2 -Wall -Wextra -o "$pe" "$TOP/bench/ptyecho.c" -lutil || { note att_key "cannot build bench/ptyecho.c"; return 1; }
	add_host bp --transport udp --predict never
	# 7a. A real session each, side by side, the keys alternating between them.
	lab_tmux_start akm mosh --predict=never --ssh="$LAB_SSH" "$LAB_USER@$LAB_SERVER_IP" &&
		lab_tmux_start akc "$M" -q connect bp || { note att_key "tmux did not start the sessions"; return 1; }
	if fast_wait akm '\$ *$' 30 && fast_wait akc '\$ *$' 30; then
		lab_tmux_type akm 'clear' && lab_tmux_type akc 'clear'
		sleep 1
		line=$(perl "$TOP/bench/keyecho.pl" "$LAB_DIR/tmux.sock" "$keys" "$OUT" akm akc 2>"$W/keyecho.err")
		printf '%s\n' "$line" >"$OUT/keyecho.txt"
		keyecho_put mosh "$(grep '^akm ' <<<"$line")" || note att_key_mosh "no keystroke echoed ($(head -c 200 "$W/keyecho.err"))"
		keyecho_put mm "$(grep '^akc ' <<<"$line")" || note att_key_mm "no keystroke echoed ($(head -c 200 "$W/keyecho.err"))"
		say "  keystroke to echo (us): mosh $(get att_key_mosh_p50) p50 $(get att_key_mosh_p90) p90; moshman connect $(get att_key_mm_p50) p50 $(get att_key_mm_p90) p90"
	else
		note att_key "the sessions did not reach a prompt"
	fi
	for r in akm akc; do
		lab_tmux_type "$r" exit
	done
	for r in $(seq 1 100); do lab_tmux_alive akm || lab_tmux_alive akc || break; sleep 0.1; done
	lab_tmux_kill akm
	lab_tmux_kill akc
	no_mosh_servers 10
	# 7b. The layer alone: an echo in raw mode as "mosh-client", on a pty of its own and
	# through `moshman attach`, alternating (no network, no mosh: only the layer).
	printf '#!/bin/sh\n[ "$1" = -c ] && { echo 8; exit 0; }\nstty raw -echo\nexec cat\n' >"$ec"
	chmod +x "$ec"
	if MOSHMAN_MOSH_CLIENT=$ec lab_client "$M" -q connect -d bp </dev/null >/dev/null 2>"$W/att_echo.err" &&
		id=$(newest_session) && [ -n "$id" ]; then
		: >"$W/att_direct"
		: >"$W/att_through"
		for r in $(seq 1 "$ATT_ROUNDS"); do
			lab_client "$pe" 100 "$ec" >>"$W/att_direct"
			lab_client "$pe" 100 "$M" attach "$id" >>"$W/att_through"
		done
		cp "$W/att_direct" "$W/att_through" "$OUT/"
		sup=$(sess_field "$id" supervisor_pid)
		[ -n "$sup" ] && kill -TERM "$sup" 2>/dev/null
		# The median of the rounds' p50 and p90.
		local k f
		for k in direct through; do
			for f in p50 p90; do
				put "att_pty_${k}_$f" "$(awk -v k="$f" '{ for (i = 1; i < NF; i++) if ($i == k) print $(i + 1) }' "$W/att_$k" | stats | cut -d' ' -f1)"
			done
			put "att_pty_${k}_n" "$(awk '{ n += $2 } END { print n + 0 }' "$W/att_$k")"
		done
		say "  the layer alone (us): pty $(get att_pty_direct_p50) p50 $(get att_pty_direct_p90) p90; through attach $(get att_pty_through_p50) p50 $(get att_pty_through_p90) p90"
	else
		note att_pty "the session with the echo client did not start: $(head -c 200 "$W/att_echo.err")"
	fi
	# 7c. Attach to a drawn screen: a real session, its screen filled, detached; the time
	# from starting `moshman attach` until the screen's last line is on the new terminal.
	if lab_client "$M" -q connect -d bp </dev/null >/dev/null 2>"$W/att_real.err" &&
		id=$(newest_session) && [ -n "$id" ]; then
		lab_client "$pe" -t 'for i in $(seq 1 27); do printf "%099d\n" $i; done; echo drawn-$((6*7))\r' "$M" attach "$id" >/dev/null
		: >"$W/att_draw"
		for r in $(seq 1 "$RUNS"); do
			lab_client "$pe" -u drawn-42 "$M" attach "$id" | awk '$2 >= 0 { printf "%.1f\n", $2 / 1000 }' >>"$W/att_draw"
		done
		set -- $(stats <"$W/att_draw")
		put att_draw_med "$1"; put att_draw_min "$2"; put att_draw_max "$3"; put att_draw_n "$4"
		put att_draw_all "$(tr '\n' ' ' <"$W/att_draw")"
		say "  attach to a drawn screen: median $1 ms (max $3, $4 of $RUNS runs)"
		# 7d. Idle, detached and then attached (a terminal that shows nothing new):
		# context switches (wake-ups) and CPU ticks of the supervisor and mosh-client.
		sup=$(sess_field "$id" supervisor_pid) cli=$(sess_field "$id" client_pid)
		if [ -n "$sup" ] && [ -n "$cli" ] && [ -d "/proc/$sup" ] && [ -d "/proc/$cli" ]; then
			# Two windows of each state, alternating (detached, attached, detached,
			# attached), half of ATT_IDLE_S each, after the drawn screen has settled: a
			# single detached-then-attached pair gave the first window the session's
			# leftover activity.  Each window starts 2 s after the attach or detach.
			local half=$(((ATT_IDLE_S + 1) / 2)) st
			IDLE_det= IDLE_att=
			sleep 5
			for st in det att det att; do
				if [ "$st" = det ]; then
					att_idle_window det "$sup" "$cli" "$half"
				else
					lab_client "$pe" -h $((half + 4)) "$M" attach "$id" >/dev/null &
					r=$!
					sleep 2
					att_idle_window att "$sup" "$cli" "$half"
					wait "$r"
					sleep 2 # the detach's own writes (row, event) stay out of the next window
				fi
			done
			att_idle_put det
			att_idle_put att
			say "  idle ${ATT_IDLE_S} s, supervisor + mosh-client: detached $(get att_idle_det_wake) wake-ups/s $(get att_idle_det_cpu) % CPU; attached $(get att_idle_att_wake) wake-ups/s $(get att_idle_att_cpu) % CPU"
		else
			note att_idle "the session's supervisor or mosh-client was not found"
		fi
		lab_client "$pe" -t 'exit\r' "$M" attach "$id" >/dev/null
		for r in $(seq 1 50); do [ -d "/proc/$sup" ] || break; sleep 0.1; done
		[ -d "/proc/$sup" ] && kill -TERM "$sup" 2>/dev/null
		no_mosh_servers 10
	else
		note att_draw "the real session did not start: $(head -c 200 "$W/att_real.err")"
		note att_idle "the real session did not start"
	fi
}

for sec in $SECTIONS; do
	[ -z "$ONLY" ] || case " $ONLY " in *" $sec "*) ;; *) continue ;; esac
	"bench_$sec"
done
for t in d p s h; do tunnel_stop "$t"; done

T_END=$(ms)
put total_s "$(((T_END - T_BEGIN) / 1000))"
put load_begin "$LOAD_BEGIN"
put load_end "$(cut -d' ' -f1-3 /proc/loadavg)"
. "$TOP/bench/report.sh"
exit 0
}
