#!/usr/bin/perl
# SPDX-License-Identifier: MIT
# Test driver for the remote relays (tests/e2e/relay_local.sh): plays the supervisor on
# the relay's stdin/stdout through pipes and mosh-server as a UDP echo server on
# 127.0.0.1.  Speaks the protocol on its own (docs/protocol.md), so it checks the C codec
# and the Perl relay against a second implementation.
#
# usage: driver.pl MOSHMAN_BIN native|perl CASE [COUNT]
# The Perl relay is started by `$RELAY_SHELL -c COMMAND` (default sh), as sshd would;
# RELAY_LABEL replaces the relay's name in the verdict line.
# Prints "ok - relay_local: RELAY: CASE" or "not ok - ...: why", and "# " lines with
# figures.  Exits 0 when the case passed.
use strict;
use warnings;
use Digest::MD5;
use Errno qw(EAGAIN EINTR);
use Fcntl qw(F_GETFL F_SETFL O_NONBLOCK);
use File::Temp qw(tempfile);
use POSIX qw(WNOHANG);
use Socket qw(AF_INET6 PF_INET SOCK_DGRAM inet_aton inet_ntoa inet_pton pack_sockaddr_in
    pack_sockaddr_in6 unpack_sockaddr_in unpack_sockaddr_in6);
use Time::HiRes qw(time sleep);

my ($BIN, $KIND, $CASE, $COUNT) = @ARGV;
die "usage: driver.pl MOSHMAN_BIN native|perl CASE [COUNT]\n" unless defined $CASE;
$COUNT ||= 100_000;
$SIG{PIPE} = 'IGNORE';
my $MAGIC = "\x8bMOSHMAN\r\n";
my ($HELLO, $DATA, $PING, $PONG, $CLOSE, $NOTICE) = (1 .. 6);
my $NAME = "relay_local: " . ($ENV{RELAY_LABEL} || $KIND) . ": $CASE";

my $echo = udp('127.0.0.1', 0);
my $echo_port = (unpack_sockaddr_in(getsockname($echo)))[0];
my $echo_on = 1;
my $relay_addr; # where the relay's datagrams come from, learned by the echo server
my $r;          # the relay under test

sub udp {
	my ($addr, $port) = @_;
	socket(my $s, PF_INET, SOCK_DGRAM, 0) or die "socket: $!";
	bind($s, pack_sockaddr_in($port, inet_aton($addr))) or die "bind $addr:$port: $!";
	nonblocking($s);
	return $s;
}

sub nonblocking {
	my $fl = fcntl($_[0], F_GETFL, 0) or die "fcntl: $!";
	fcntl($_[0], F_SETFL, $fl | O_NONBLOCK) or die "fcntl: $!";
}

sub fr { pack('Cn', $_[0], length $_[1]) . $_[1] }
sub client_hello { $MAGIC . fr($HELLO, pack('CC', $_[0] // 1, $_[1] // 1) . 'driver') }

# Starts the relay with its UDP peer at $port, the way the supervisor would.
sub spawn {
	my ($port, @extra) = @_;
	my ($efh, $errfile) = tempfile('relay-stderr.XXXXXX', TMPDIR => 1, UNLINK => 1);
	pipe(my $child_in, my $to_child) or die;
	pipe(my $from_child, my $child_out) or die;
	my @cmd = ($BIN, 'relay', '--port', $port, @extra);
	my $script = '';
	if ($KIND eq 'perl') {
		my $cmd = `"$BIN" relay --print-perl-command --port $port @extra`;
		$script = `"$BIN" relay --print-perl`;
		die "cannot get the Perl relay from $BIN\n" if $? || $script eq '';
		chomp $cmd;
		# What sshd does with an exec request: the login shell gets one string.
		@cmd = ($ENV{RELAY_SHELL} || 'sh', '-c', $cmd);
	}
	my $pid = fork() // die "fork: $!";
	if ($pid == 0) {
		open(STDIN, '<&', $child_in) or die;
		open(STDOUT, '>&', $child_out) or die;
		open(STDERR, '>&', $efh) or die;
		close $_ for ($to_child, $from_child);
		exec @cmd or die "exec: $!";
	}
	close $_ for ($child_in, $child_out);
	nonblocking($to_child);
	nonblocking($from_child);
	$r = { pid => $pid, in => $to_child, out => $from_child, errfile => $errfile,
	    wbuf => $script, rbuf => '', hello => undef, frames => [], eof => 0,
	    status => undef };
	return $r;
}

sub stderr_text {
	open(my $f, '<', $r->{errfile}) or return '';
	local $/;
	my $t = <$f> // '';
	$t =~ s/\s+$//;
	return $t;
}

sub parse_frames {
	if (!defined $r->{hello}) {
		return if length $r->{rbuf} < length($MAGIC) + 3;
		die "relay output does not start with the magic\n"
		    if substr($r->{rbuf}, 0, length $MAGIC) ne $MAGIC;
		my ($t, $len) = unpack('Cn', substr($r->{rbuf}, length $MAGIC, 3));
		die "relay's first frame is type $t, not HELLO\n" if $t != $HELLO;
		return if length $r->{rbuf} < length($MAGIC) + 3 + $len;
		my $body = substr($r->{rbuf}, length($MAGIC) + 3, $len);
		substr($r->{rbuf}, 0, length($MAGIC) + 3 + $len, '');
		my ($vmin, $vmax) = unpack('CC', $body);
		$r->{hello} = { vmin => $vmin, vmax => $vmax, impl => substr($body, 2) };
	}
	my $pos = 0;
	while (length($r->{rbuf}) - $pos >= 3) {
		my ($t, $len) = unpack("x${pos}Cn", $r->{rbuf});
		die "relay sent a frame of type $t\n" if $t < 1 || $t > 6;
		die "relay sent a frame of $len bytes\n" if $len > 2048;
		last if length($r->{rbuf}) - $pos < 3 + $len;
		push @{$r->{frames}}, [$t, substr($r->{rbuf}, $pos + 3, $len)];
		$pos += 3 + $len;
	}
	substr($r->{rbuf}, 0, $pos, '');
}

sub reap {
	return 1 if defined $r->{status};
	my $p = waitpid($r->{pid}, WNOHANG);
	$r->{status} = $? if $p == $r->{pid};
	return defined $r->{status};
}

# Moves bytes until $done->() is true or $timeout seconds pass; returns $done->().
# $read_relay = 0 leaves the relay's stdout unread (to fill its pipe).
sub pump {
	my ($timeout, $done, $read_relay) = @_;
	$read_relay //= 1;
	my $deadline = time + $timeout;
	while (!$done->()) {
		my $left = $deadline - time;
		return 0 if $left <= 0;
		my ($rin, $win) = ('', '');
		vec($rin, fileno($r->{out}), 1) = 1 if $read_relay && !$r->{eof};
		vec($rin, fileno($echo), 1) = 1;
		vec($win, fileno($r->{in}), 1) = 1 if length $r->{wbuf} && $r->{in};
		my $n = select(my $ro = $rin, my $wo = $win, undef, $left < 0.05 ? $left : 0.05);
		reap();
		next if $n <= 0;
		if ($r->{in} && vec($wo, fileno($r->{in}), 1)) {
			my $w = syswrite($r->{in}, $r->{wbuf});
			if (defined $w) {
				substr($r->{wbuf}, 0, $w, '');
			} elsif ($! != EAGAIN && $! != EINTR) {
				$r->{wbuf} = ''; # the relay has gone; its exit says why
			}
		}
		if (vec($ro, fileno($r->{out}), 1)) {
			my $got = sysread($r->{out}, $r->{rbuf}, 1 << 20, length $r->{rbuf});
			$r->{eof} = 1 if defined $got && $got == 0;
			parse_frames();
		}
		if (vec($ro, fileno($echo), 1)) {
			for (1 .. 256) {
				my $from = recv($echo, my $buf, 65536, 0);
				last unless defined $from;
				$relay_addr = $from;
				send($echo, $buf, 0, $from) if $echo_on;
			}
		}
	}
	return 1;
}

sub send_frames { $r->{wbuf} .= join('', @_) }

sub close_stdin {
	pump(5, sub { !length $r->{wbuf} });
	close($r->{in});
	$r->{in} = undef;
}

# Waits for the relay to exit; returns its status ($?) or undef.
sub wait_exit {
	my ($timeout) = @_;
	pump($timeout, sub { reap() });
	return $r->{status};
}

sub next_frame {
	my ($timeout) = @_;
	pump($timeout, sub { @{$r->{frames}} || $r->{eof} });
	return shift @{$r->{frames}};
}

sub handshake {
	send_frames(client_hello());
	pump(10, sub { defined $r->{hello} }) or die "no HELLO from the relay\n";
}

sub pass {
	print "ok - $NAME\n";
	finish(0);
}

sub fail {
	my ($why) = @_;
	$why =~ s/\s+$//;
	my $err = $r ? stderr_text() : '';
	$err =~ s/\n/ | /g;
	print "not ok - $NAME: $why", ($err ne '' ? " (relay stderr: $err)" : ''), "\n";
	finish(1);
}

sub finish {
	if ($r && !reap()) {
		kill('TERM', $r->{pid});
		waitpid($r->{pid}, 0);
	}
	exit $_[0];
}

sub expect_close {
	my ($status, $like, $code) = @_;
	my $f;
	while (defined($f = next_frame(5)) && $f->[0] != $CLOSE) {
	}
	fail('no CLOSE frame from the relay') unless $f;
	my ($st, $reason) = unpack('Ca*', $f->[1]);
	fail("CLOSE status $st ($reason), expected $status") if $st != $status;
	fail("CLOSE reason '$reason' lacks '$like'") if index($reason, $like) < 0;
	my $x = wait_exit(5);
	fail('relay still running 5 s after its CLOSE') unless defined $x;
	fail("relay died of signal " . ($x & 127)) if $x & 127;
	fail('relay exited ' . ($x >> 8) . ", expected $code") if ($x >> 8) != $code;
	return $reason;
}

# A deterministic pool of random bytes; datagrams are slices of it, tagged with their
# sequence number so no two in flight look alike.
my $POOL = '';
{
	my $s = 12345;
	$POOL .= pack('N', $s = ($s * 1103515245 + 12345) % 2**31) for 1 .. 40000;
}

sub datagram {
	my ($seq, $size) = @_;
	my $d = substr($POOL, ($seq * 7919) % (length($POOL) - 2048), $size);
	my $tag = pack('N', $seq);
	substr($d, 0, $size < 4 ? $size : 4, substr($tag, 0, $size < 4 ? $size : 4));
	return $d;
}

my %cases;

$cases{hello} = sub {
	handshake();
	my $h = $r->{hello};
	fail("relay announces versions $h->{vmin}..$h->{vmax}") unless $h->{vmin} == 1
	    && $h->{vmax} == 1;
	my $want = $KIND eq 'perl' ? qr/^perl 5\.\d+\.\d+$/ : qr/^moshman \d/;
	fail("relay calls itself '$h->{impl}'") unless $h->{impl} =~ $want;
	print "# $KIND relay says: $h->{impl}\n";
	send_frames(fr($CLOSE, "\0bye"));
	expect_close(0, 'closed by the client', 0);
	pass();
};

# COUNT datagrams of random sizes 1..2048, 64 in flight, PINGs among them; every one
# must come back whole, alone and unchanged, in order.
$cases{integrity} = sub {
	my $window = 64;
	my @inflight;
	my ($sent, $ok, $lost, $bad, $bytes) = (0, 0, 0, 0, 0);
	my ($md5_out, $md5_in) = (Digest::MD5->new, Digest::MD5->new);
	my (%pings, $pongs, $badpong) = ((), 0, 0);
	srand(42);
	# No waiting for the relay's HELLO: the client's may follow the script at once.
	send_frames(client_hello());
	my $t0 = time;
	my $last = time;
	while ($ok + $lost + $bad < $COUNT) {
		while ($sent < $COUNT && @inflight < $window) {
			my $d = datagram($sent, 1 + int(rand(2048)));
			push @inflight, $d;
			$md5_out->add(pack('n', length $d), $d);
			$bytes += length $d;
			send_frames(fr($DATA, $d));
			if ($sent % 1000 == 0) {
				my $tok = pack('NN', $sent, 0xfeedf00d);
				$pings{$tok} = 1;
				send_frames(fr($PING, $tok));
			}
			$sent++;
		}
		pump(1, sub { @{$r->{frames}} || $r->{eof} });
		if (!@{$r->{frames}}) {
			fail('relay closed its output') if $r->{eof};
			last if time - $last > 5;
			next;
		}
		$last = time;
		while (my $f = shift @{$r->{frames}}) {
			my ($t, $body) = @$f;
			if ($t == $PONG) {
				delete $pings{$body} ? $pongs++ : $badpong++;
				next;
			}
			fail("unexpected frame type $t") if $t != $DATA;
			$md5_in->add(pack('n', length $body), $body);
			my $i = 0;
			$i++ while $i < @inflight && $inflight[$i] ne $body;
			if ($i == @inflight) {
				$bad++;
				next;
			}
			$lost += $i;
			splice(@inflight, 0, $i + 1);
			$ok++;
		}
	}
	my $secs = time - $t0;
	$lost += @inflight;
	my $pings = int(($COUNT - 1) / 1000) + 1;
	my ($sum_out, $sum_in) = ($md5_out->hexdigest, $md5_in->hexdigest); # resets them
	printf "# %s: %d datagrams, %.1f MB each way, in %.2f s: %.0f datagrams/s, %.1f MB/s;"
	    . " intact %d, lost %d, corrupted %d; md5 %s; pongs %d/%d\n", $KIND, $sent,
	    $bytes / 1e6, $secs, $ok / $secs, $bytes / 1e6 / $secs, $ok, $lost, $bad,
	    $sum_out eq $sum_in ? "equal ($sum_in)" : 'DIFFERENT', $pongs, $pings;
	fail("$bad datagrams came back changed, merged or split") if $bad;
	fail("$lost datagrams lost on loopback") if $lost;
	fail('checksums differ') if $sum_out ne $sum_in;
	fail("pongs: $pongs of $pings, $badpong with unknown tokens")
	    if $pongs != $pings || $badpong;
	send_frames(fr($CLOSE, "\0done"));
	expect_close(0, 'closed', 0);
	pass();
};

$cases{ping} = sub {
	handshake();
	my @rtt;
	for my $i (1 .. 500) {
		my $tok = pack('NN', $i, int(rand(2**32)));
		my $t = time;
		send_frames(fr($PING, $tok));
		my $f = next_frame(5);
		fail("no PONG for PING $i") unless $f;
		fail("PING $i answered by type $f->[0]") unless $f->[0] == $PONG;
		fail("PONG $i carries another token") unless $f->[1] eq $tok;
		push @rtt, (time - $t) * 1e6;
	}
	@rtt = sort { $a <=> $b } @rtt;
	printf "# %s: PING->PONG through pipes: median %.0f us, p99 %.0f us (500 pings)\n",
	    $KIND, $rtt[@rtt / 2], $rtt[int(@rtt * 0.99)];
	# The same for a 100-byte datagram: frame -> relay -> UDP echo -> relay -> frame.
	@rtt = ();
	for my $i (1 .. 500) {
		my $d = datagram($i, 100);
		my $t = time;
		send_frames(fr($DATA, $d));
		my $f = next_frame(5);
		fail("datagram $i did not come back intact") unless $f && $f->[1] eq $d;
		push @rtt, (time - $t) * 1e6;
	}
	@rtt = sort { $a <=> $b } @rtt;
	printf "# %s: 100-byte datagram through relay and echo: median %.0f us, p99 %.0f us\n",
	    $KIND, $rtt[@rtt / 2], $rtt[int(@rtt * 0.99)];
	pass();
};

$cases{close} = sub {
	handshake();
	send_frames(fr($DATA, 'before close'));
	send_frames(fr($CLOSE, "\0user quit"));
	expect_close(0, 'closed by the client', 0);
	pass();
};

$cases{eof} = sub {
	handshake();
	close_stdin();
	my $x = wait_exit(5);
	fail('relay still running 5 s after stdin closed') unless defined $x;
	fail("relay exit status $x after stdin closed") if $x != 0;
	pass();
};

$cases{'garbage-handshake'} = sub {
	send_frames("GET / HTTP/1.1\r\nHost: x\r\n\r\n");
	my $why = expect_close(1, 'expected the moshman tunnel handshake', 1);
	fail("stderr lacks the reason") if index(stderr_text(), 'handshake') < 0;
	print "# $KIND: $why\n";
	pass();
};

$cases{'garbage-frame'} = sub {
	handshake();
	send_frames(fr($DATA, 'fine'), "\x7f\x00\x02zz");
	print '# ', $KIND, ': ', expect_close(1, 'unknown frame type 0x7f', 1), "\n";
	pass();
};

# Random bytes, then stdin closes: whether the relay trips on a frame or is left inside
# one, it must end with a non-zero exit and not by a signal.
$cases{'garbage-random'} = sub {
	for my $seed (1 .. 20) {
		spawn($echo_port) if $seed > 1;
		srand($seed);
		send_frames(client_hello(), join('', map { chr(int(rand(256))) } 1 .. 4096));
		close_stdin();
		my $x = wait_exit(5);
		fail("seed $seed: relay still running") unless defined $x;
		fail("seed $seed: relay died of signal " . ($x & 127)) if $x & 127;
		fail("seed $seed: relay exited 0 on garbage") if $x == 0;
	}
	pass();
};

$cases{oversize} = sub {
	handshake();
	send_frames(pack('Cn', $DATA, 4000) . ('x' x 4000));
	print '# ', $KIND, ': ', expect_close(1, '4000 bytes', 1), "\n";
	pass();
};

$cases{version} = sub {
	send_frames(client_hello(2, 3));
	print '# ', $KIND, ': ', expect_close(3, 'no common protocol version', 1), "\n";
	pass();
};

# Only 127.0.0.1:<mosh port> may talk to the relay: datagrams from another port and from
# another loopback address with the same port are dropped.
$cases{foreign} = sub {
	handshake();
	send_frames(fr($DATA, 'prime'));
	my $f = next_frame(5);
	fail('the first datagram did not come back') unless $f && $f->[1] eq 'prime';
	my ($rport, $raddr) = unpack_sockaddr_in($relay_addr);
	fail('relay sends from ' . inet_ntoa($raddr) . ', not 127.0.0.1')
	    if inet_ntoa($raddr) ne '127.0.0.1';
	my $other_port = udp('127.0.0.1', 0);
	my $other_addr = udp('127.0.0.2', $echo_port);
	send($other_port, 'from another port', 0, $relay_addr) or fail("send: $!");
	send($other_addr, 'from 127.0.0.2', 0, $relay_addr) or fail("send: $!");
	send($echo, 'marker', 0, $relay_addr) or fail("send: $!");
	$f = next_frame(5);
	fail('the marker did not arrive') unless $f;
	fail("a foreign datagram got through: '$f->[1]'") if $f->[1] ne 'marker';
	pump(0.3, sub { 0 });
	fail("a foreign datagram got through late: '$r->{frames}[0][1]'") if @{$r->{frames}};
	print "# $KIND: relay at 127.0.0.1:$rport ignored 127.0.0.1:other and "
	    . "127.0.0.2:$echo_port\n";
	pass();
};

# Nothing listens on the port: the relay says so with a NOTICE and carries on.
$cases{refused} = sub {
	my $gone = udp('127.0.0.1', 0);
	my $port = (unpack_sockaddr_in(getsockname($gone)))[0];
	close $gone;
	spawn($port);
	handshake();
	send_frames(fr($DATA, 'anyone?'));
	my $f = next_frame(5);
	fail('no NOTICE for a refused port') unless $f && $f->[0] == $NOTICE;
	my ($code, $text) = unpack('Ca*', $f->[1]);
	fail("NOTICE code $code: $text") unless $code == 1 && $text =~ /nothing is listening/;
	send_frames(fr($DATA, 'again'), fr($PING, '12345678'));
	while (($f = next_frame(5)) && $f->[0] == $NOTICE) {
	}
	fail('relay did not answer after the refusal') unless $f && $f->[0] == $PONG;
	print "# $KIND: NOTICE $code \"$text\"\n";
	pass();
};

# Frames arrive one byte at a time: partial reads on the relay's stdin.
$cases{trickle} = sub {
	send_frames(client_hello());
	my @d = map { datagram($_, 1 + ($_ * 97) % 2048) } 0 .. 19;
	my $bytes = join('', map { fr($DATA, $_) } @d[0 .. 4]) . fr($PING, 'trickle!');
	for my $i (0 .. length($bytes) - 1) {
		send_frames(substr($bytes, $i, 1));
		pump(1, sub { !length $r->{wbuf} });
		sleep(0.0005) if $i % 50 == 0;
	}
	send_frames(map { fr($DATA, $_) } @d[5 .. 19]);
	my @got;
	while (@got < 21) {
		my $f = next_frame(5) or last;
		push @got, $f;
	}
	fail('got ' . scalar(@got) . ' of 21 frames') unless @got == 21;
	my @data = map { $_->[1] } grep { $_->[0] == $DATA } @got;
	fail('PONG missing') unless grep { $_->[0] == $PONG && $_->[1] eq 'trickle!' } @got;
	for my $i (0 .. 19) {
		fail("datagram $i came back changed") unless defined $data[$i] && $data[$i] eq $d[$i];
	}
	pass();
};

# The supervisor stops reading while mosh-server floods: the relay's stdout fills (partial
# writes), it stops reading UDP and the kernel drops the excess.  What does come through
# must be whole datagrams in order, and the relay must still answer afterwards.
$cases{backpressure} = sub {
	handshake();
	send_frames(fr($DATA, 'prime'));
	my $f = next_frame(5);
	fail('the first datagram did not come back') unless $f && $f->[1] eq 'prime';
	my $n = 4000;
	my @d = map { datagram($_, 1500 + $_ % 548) } 0 .. $n - 1;
	my $sent = 0;
	for my $d (@d) {
		$sent++ if send($echo, $d, 0, $relay_addr);
	}
	pump(1, sub { 0 }, 0); # still not reading: the relay must sit and wait
	fail('relay exited while its output was blocked') if reap();
	send_frames(fr($PING, 'still ok'));
	my ($got, $i, $pong) = (0, 0, 0);
	while (my $g = next_frame(3)) {
		if ($g->[0] == $PONG) {
			$pong = $g->[1] eq 'still ok';
			last;
		}
		fail("unexpected frame type $g->[0]") unless $g->[0] == $DATA;
		$i++ while $i < @d && $d[$i] ne $g->[1];
		fail("datagram $got is not one that was sent, or out of order") if $i == @d;
		$got++;
		$i++;
	}
	fail('no PONG after the flood') unless $pong;
	fail("only $got datagrams came through") if $got < 100;
	print "# $KIND: flood of $sent datagrams while blocked: $got came through whole "
	    . "and in order, the rest dropped\n";
	pass();
};

# --host: the peer may be any numeric address, here ::1.
$cases{ipv6} = sub {
	my $e6;
	if (!socket($e6, AF_INET6, SOCK_DGRAM, 0)
	    || !bind($e6, pack_sockaddr_in6(0, inet_pton(AF_INET6, '::1')))) {
		print "skip - $NAME: no IPv6 loopback here ($!)\n";
		finish(0);
	}
	spawn((unpack_sockaddr_in6(getsockname($e6)))[0], '--host', '::1');
	handshake();
	send_frames(fr($DATA, 'over six'));
	my $f;
	pump(5, sub { my $rin = ''; vec($rin, fileno($e6), 1) = 1; select($rin, undef, undef, 0) > 0 });
	my $from = recv($e6, my $buf, 4096, 0);
	fail('no datagram reached [::1]') unless defined $from && $buf eq 'over six';
	send($e6, 'and back', 0, $from);
	$f = next_frame(5);
	fail('the reply from [::1] did not come back') unless $f && $f->[1] eq 'and back';
	pass();
};

# Nothing to do means no CPU: the relay sleeps in select/poll.
$cases{idle} = sub {
	handshake();
	send_frames(fr($DATA, 'x'));
	next_frame(5);
	my $cpu = sub {
		open(my $f, '<', "/proc/$r->{pid}/stat") or return undef;
		my @s = split ' ', (<$f> =~ s/^.*\) //r);
		return $s[11] + $s[12]; # utime + stime, in clock ticks
	};
	my $before = $cpu->();
	fail('cannot read /proc') unless defined $before;
	pump(3, sub { 0 });
	my $used = $cpu->() - $before;
	printf "# %s: %d clock ticks of CPU in 3 s idle\n", $KIND, $used;
	fail("relay used $used ticks of CPU while idle") if $used > 3;
	pass();
};

# --idle: a client silent that long is gone; a frame restarts the count.  (The parent
# here is the driver, not sshd: nothing else is signalled.)
$cases{silent} = sub {
	spawn($echo_port, '--idle', 2);
	handshake();
	pump(1.2, sub { 0 });
	send_frames(fr($PING, 'abcdefgh'));
	my $f = next_frame(5);
	fail('no PONG') unless $f && $f->[0] == $PONG;
	my $t0 = time;
	my $reason = expect_close(2, 'nothing from the client for 2 s', 1);
	my $took = time - $t0;
	printf "# %s: exited %.2f s after the last frame (%s)\n", $KIND, $took, $reason;
	fail(sprintf('exited %.2f s after the last frame, expected ~2 s', $took))
	    if $took < 1.5 || $took > 4;
	pass();
};

fail("unknown case $CASE") unless $cases{$CASE};
# Those pick their own port or options.
spawn($echo_port) unless $CASE eq 'refused' || $CASE eq 'ipv6' || $CASE eq 'silent';
eval { $cases{$CASE}->(); 1 } or fail($@);
