#!/usr/bin/perl
# SPDX-License-Identifier: MIT
# tunnel_mixed.pl ADDR PORT COUNT [INFLIGHT]: sends COUNT datagrams of random sizes
# 8..2048 to a UDP echo at ADDR:PORT, keeping INFLIGHT (16) outstanding: each reply sends
# the next one.  A datagram not back within 3 s counts as lost and is replaced.  Prints
#   n N lost L p50 MS p99 MS max MS
# (round trips in ms, to 0.1 ms).  Used by tunnel_stall.sh and bench/run.sh (not a test
# itself).  The issue it guards: a relay that leaves bytes it has already read unprocessed
# until its next wake-up stalls mixed sizes by up to a second.
use strict;
use warnings;
use Socket;
use Time::HiRes qw(time);

my ($addr, $port, $count, $win) = @ARGV;
die "usage: tunnel_mixed.pl ADDR PORT COUNT [INFLIGHT]\n" unless $count;
$win ||= 16;
socket(my $s, PF_INET, SOCK_DGRAM, 0) or die "socket: $!\n";
setsockopt($s, SOL_SOCKET, SO_RCVBUF, 4 << 20);
connect($s, sockaddr_in($port, inet_aton($addr))) or die "connect: $!\n";
my $pool = join('', map { chr(int(rand(256))) } 1 .. 4096);
my (%sent_at, @rtt);
my ($next, $lost, $done) = (0, 0, 0);
my $rin = '';
vec($rin, fileno($s), 1) = 1;
my $deadline = time + 30 + $count / 50;

sub send_one {
	my $size = 8 + int(rand(2041));
	my $dg = pack('N', $next) . substr($pool, int(rand(2000)), $size - 4);
	$sent_at{$next++} = time;
	send($s, $dg, 0);
}

send_one() for 1 .. $win;
while ($done < $count && time < $deadline) {
	my $n = select(my $ready = $rin, undef, undef, 0.5);
	my $now = time;
	if ($n > 0 && defined sysread($s, my $buf, 65536)) {
		next if length $buf < 4;
		my $seq = unpack('N', $buf);
		my $t = delete $sent_at{$seq};
		next unless defined $t;
		push @rtt, ($now - $t) * 1000;
		$done++;
		send_one() if $next < $count;
	}
	for my $seq (keys %sent_at) {
		next if $now - $sent_at{$seq} < 3;
		delete $sent_at{$seq};
		($lost, $done) = ($lost + 1, $done + 1);
		send_one() if $next < $count;
	}
}
my @v = sort { $a <=> $b } @rtt;
if (!@v) {
	print "n 0 lost $lost p50 - p99 - max -\n";
	exit 0;
}
printf "n %d lost %d p50 %.1f p99 %.1f max %.1f\n", scalar @v, $lost,
    $v[int($#v / 2)], $v[int(@v * 99 / 100 + 0.999) - 1], $v[-1];
