# SPDX-License-Identifier: MIT
# moshman's remote relay in Perl, tunnel protocol version 1 (see docs/protocol.md).
#
# The supervisor starts it over an ssh exec channel with a fixed loader:
#   exec perl -e '<loader>' LENGTH --port PORT [--proto V] [--host ADDR]
# The loader reads exactly LENGTH bytes of this script from stdin and runs it, so no shell
# ever sees the script and the frame stream may follow it on stdin at once.
#
# Frames on stdin become datagrams to HOST:PORT (127.0.0.1 by default) from a UDP socket
# connected to that address; datagrams from exactly that address come back as frames on
# stdout.  Core modules only: this must run wherever Debian's mosh does.
use strict;
use warnings;
use Errno qw(EAGAIN EINTR ECONNREFUSED);
use Fcntl qw(F_GETFL F_SETFL O_NONBLOCK);
use Socket qw(SOCK_DGRAM AI_NUMERICHOST getaddrinfo);

my ($VMIN, $VMAX) = (1, 1);
my $MAGIC = "\x8bMOSHMAN\r\n";
my $DATA_MAX = 2048;
my $TEXT_MAX = 200;
my $HIGH = 256 * 1024; # queued output beyond this: stop reading until it drains
# No frame from the client for this long (it PINGs an idle link every 2 s, a busy one at
# least every 10 s): the link vanished without a FIN.  Exit, and end our sshd session too.
my $IDLE = 30;
# Sooner when the UDP side is silent too: mosh-server sends at least a heartbeat every 3 s
# to the relay it last heard from, so hearing neither side this long means another link
# took over and ours is gone (a roam's old link, which could not send its FIN).
my $ORPHAN = 10;
my ($HELLO, $DATA, $PING, $PONG, $CLOSE, $NOTICE) = (1 .. 6);
my %NAME = (1, 'HELLO', 2, 'DATA', 3, 'PING', 4, 'PONG', 5, 'CLOSE', 6, 'NOTICE');
# Payload lengths each type may have; checked on the header alone.
my %LEN = ($HELLO, [2, 66], $DATA, [0, $DATA_MAX], $PING, [8, 8], $PONG, [8, 8],
	$CLOSE, [1, 1 + $TEXT_MAX], $NOTICE, [1, 1 + $TEXT_MAX]);

my ($host, $port) = ('127.0.0.1', undef);
while (@ARGV) {
	my ($opt, $val) = splice(@ARGV, 0, 2);
	usage("$opt needs a value") unless defined $val;
	if ($opt eq '--port') {
		$port = $val;
	} elsif ($opt eq '--host') {
		$host = $val;
	} elsif ($opt eq '--idle') {
		usage('--idle must be a number of seconds (0: never)') unless $val =~ /^[0-9]{1,6}$/;
		$IDLE = $val;
	} elsif ($opt eq '--proto') {
		usage("protocol version $val is not supported (this relay speaks $VMIN..$VMAX)")
		    unless $val =~ /^[0-9]+$/ && $val >= $VMIN && $val <= $VMAX;
		($VMIN, $VMAX) = ($val, $val);
	} else {
		usage("unknown option $opt");
	}
}
usage("--port must be 1..65535") unless defined $port && $port =~ /^[0-9]+$/
    && $port >= 1 && $port <= 65535;

$SIG{PIPE} = 'IGNORE';
# A monotonic clock where Time::HiRes has one (a wall-clock jump must not end the relay).
my $now = eval {
	require Time::HiRes;
	my $id = Time::HiRes::CLOCK_MONOTONIC();
	Time::HiRes::clock_gettime($id) > 0 or die;
	sub { Time::HiRes::clock_gettime($id) };
} || sub { time };
my $last_frame = $now->();
my $last_udp = $last_frame;
binmode STDIN;
binmode STDOUT;
my ($in, $out) = ('', '');
my $state = 0;   # 0: before the client's magic, 1: before its HELLO, 2: frames
my $refused = 0; # a REFUSED notice went out since the last datagram from the peer

my $impl = sprintf('perl %vd', $^V);
$out = $MAGIC . pack('CnCC', $HELLO, 2 + length $impl, $VMIN, $VMAX) . $impl;

# The socket comes after the HELLO so that a failure here reaches the supervisor in-band.
my ($err, @ai) = getaddrinfo($host, $port,
    { flags => AI_NUMERICHOST, socktype => SOCK_DGRAM });
finish(2, "bad address $host: $err", 1) if $err || !@ai;
my $udp;
socket($udp, $ai[0]{family}, SOCK_DGRAM, 0)
    or finish(2, "cannot create a UDP socket: $!", 1);
connect($udp, $ai[0]{addr}) or finish(2, "cannot use UDP $host port $port: $!", 1);
my $peer = getpeername($udp);
nonblocking($udp);
nonblocking(\*STDOUT);

while (1) {
	my ($r, $w) = ('', '');
	if (length $out < $HIGH) {
		vec($r, fileno(STDIN), 1) = 1;
		vec($r, fileno($udp), 1) = 1;
	}
	vec($w, fileno(STDOUT), 1) = 1 if length $out;
	my $left;
	if ($IDLE) {
		my $t = $now->();
		my $quiet = $last_frame > $last_udp ? $last_frame : $last_udp;
		my $orphan = $quiet + $ORPHAN - $t;
		$left = $last_frame + $IDLE - $t;
		idle_exit($left > 0) if $left <= 0 || $orphan <= 0;
		$left = $orphan if $orphan < $left;
	}
	if (select($r, $w, undef, $left) < 0) {
		next if $! == EINTR;
		finish(2, "select: $!", 1);
	}
	if (vec($w, fileno(STDOUT), 1) && !write_out()) {
		print STDERR "moshman relay: cannot write to stdout: $!\n";
		exit 1;
	}
	read_udp() if vec($r, fileno($udp), 1);
	read_stdin() if vec($r, fileno(STDIN), 1);
}

sub usage {
	print STDERR "moshman relay: $_[0]\n";
	exit 2;
}

sub nonblocking {
	my $flags = fcntl($_[0], F_GETFL, 0) or die "fcntl: $!";
	fcntl($_[0], F_SETFL, $flags | O_NONBLOCK) or die "fcntl: $!";
}

sub frame {
	my ($type, $body) = @_;
	$out .= pack('Cn', $type, length $body) . $body;
}

sub text {
	my $t = substr($_[0], 0, $TEXT_MAX);
	$t =~ tr/\x20-\x7e/?/c;
	return $t;
}

# Returns false once stdout is gone.
sub write_out {
	my $n = syswrite(STDOUT, $out);
	return $! == EAGAIN || $! == EINTR if !defined $n;
	substr($out, 0, $n, '');
	return 1;
}

# Sends CLOSE, gives the output two seconds to drain, and exits.
sub finish {
	my ($status, $reason, $code) = @_;
	frame($CLOSE, pack('C', $status) . text($reason));
	my $deadline = time + 2;
	while (length $out && time < $deadline) {
		my $w = '';
		vec($w, fileno(STDOUT), 1) = 1;
		last if select(undef, $w, undef, 0.5) > 0 && !write_out();
	}
	print STDERR "moshman relay: $reason\n" if $code;
	exit $code;
}

# The client has been silent for $IDLE s: its link is gone (a roam, a route that went away:
# no FIN ever came).  sshd would keep the session, and us, for as long as TCP retries
# (~15 min, or hours on an idle connection), so end both: our parent, when it is the sshd
# session process this channel belongs to (exec'd through the login shell), gets SIGTERM.
sub idle_exit {
	my $why = $_[0]
	    ? "nothing from the client nor from the UDP peer for $ORPHAN s; another link took over and this one is gone"
	    : "nothing from the client for $IDLE s; its link is gone";
	frame($CLOSE, pack('C', 2) . text($why));
	write_out();
	my $pp = getppid();
	if ($pp > 1 && open(my $f, '<', "/proc/$pp/comm")) {
		my $comm = <$f> // '';
		chomp $comm;
		kill('TERM', $pp) if $comm eq 'sshd' || $comm eq 'sshd-session';
	}
	print STDERR "moshman relay: $why\n";
	exit 1;
}

sub notice_refused {
	return if $refused;
	$refused = 1;
	frame($NOTICE, pack('C', 1) . text("nothing is listening on $host port $port"));
}

sub read_udp {
	# Bounded, so a flood from the UDP side cannot starve stdin.
	for (1 .. 64) {
		my $from = recv($udp, my $buf, 65536, 0);
		if (!defined $from) {
			return if $! == EAGAIN || $! == EINTR;
			return notice_refused() if $! == ECONNREFUSED;
			finish(2, "UDP receive failed: $!", 1);
		}
		# connect() already makes the kernel drop other senders; this says it twice.
		next unless $from eq $peer;
		$refused = 0;
		$last_udp = $now->();
		if (length $buf > $DATA_MAX) {
			frame($NOTICE, pack('C', 2) . text('dropped a datagram of ' . length($buf)
			    . " bytes (limit $DATA_MAX)"));
			next;
		}
		frame($DATA, $buf);
		return if length $out >= $HIGH;
	}
}

sub read_stdin {
	my $n = sysread(STDIN, $in, 65536, length $in);
	if (!defined $n) {
		return if $! == EAGAIN || $! == EINTR;
		finish(2, "cannot read stdin: $!", 1);
	}
	if ($n == 0) {
		finish(0, 'stdin closed', 0) if $in eq '' && $state != 1;
		finish(1, 'stdin ended inside the handshake', 1) if $state < 2;
		finish(1, 'stdin ended inside a ' . ($NAME{ord $in} || 'unknown') . ' frame', 1);
	}
	my $pos = 0;
	if ($state == 0) {
		my $n = length $in < length $MAGIC ? length $in : length $MAGIC;
		finish(1, 'expected the moshman tunnel handshake, got "'
		    . text(substr($in, 0, 64)) . '"', 1)
		    if substr($in, 0, $n) ne substr($MAGIC, 0, $n);
		return if $n < length $MAGIC;
		($pos, $state) = (length $MAGIC, 1);
	}
	while (length($in) - $pos >= 3) {
		my ($type, $len) = unpack("x${pos}Cn", $in);
		my $lim = $LEN{$type};
		finish(1, sprintf('unknown frame type 0x%02x (length %d)', $type, $len), 1)
		    unless $lim;
		finish(1, "expected HELLO as the first frame, got $NAME{$type}", 1)
		    if $state == 1 && $type != $HELLO;
		finish(1, 'unexpected second HELLO', 1) if $state == 2 && $type == $HELLO;
		finish(1, "DATA frame of $len bytes exceeds the $DATA_MAX-byte datagram limit", 1)
		    if $type == $DATA && $len > $DATA_MAX;
		finish(1, "$NAME{$type} frame of $len bytes; expected $lim->[0]..$lim->[1]", 1)
		    if $len < $lim->[0] || $len > $lim->[1];
		last if length($in) - $pos < 3 + $len;
		$last_frame = $now->();
		handle($type, substr($in, $pos + 3, $len));
		$pos += 3 + $len;
	}
	substr($in, 0, $pos, '');
}

sub handle {
	my ($type, $body) = @_;
	if ($type == $DATA) {
		# A datagram that cannot go now is lost, as UDP would lose it; mosh resends.
		notice_refused() if !defined send($udp, $body, 0) && $! == ECONNREFUSED;
	} elsif ($type == $PING) {
		frame($PONG, $body);
	} elsif ($type == $HELLO) {
		my ($cmin, $cmax) = unpack('CC', $body);
		finish(1, "HELLO announces protocol versions $cmin..$cmax", 1)
		    if $cmin == 0 || $cmin > $cmax;
		my $hi = $cmax < $VMAX ? $cmax : $VMAX;
		my $lo = $cmin > $VMIN ? $cmin : $VMIN;
		finish(3, "no common protocol version: relay speaks $VMIN..$VMAX, "
		    . "client $cmin..$cmax", 1) if $hi < $lo;
		$state = 2;
	} elsif ($type == $CLOSE) {
		finish(0, 'closed by the client', 0);
	}
	# PONG and NOTICE need no answer.
}
