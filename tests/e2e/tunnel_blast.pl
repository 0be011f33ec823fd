#!/usr/bin/perl
# SPDX-License-Identifier: MIT
# tunnel_blast.pl ADDR PORT COUNT [MARK]: sends COUNT datagrams of random sizes 1..2048
# to a UDP echo at ADDR:PORT (with at most 64 in flight) and checks each one that comes
# back against the length and MD5 recorded when it was sent: a merged, split or changed
# datagram is "bad".  With MARK, creates the file MARK when half are sent and goes on
# (the test flaps the link meanwhile).  Prints
#   sent N received N lost N bad N dup N seconds S
# Used by tunnel_integrity.sh (not a test itself).
use strict;
use warnings;
use Socket;
use Digest::MD5 qw(md5);
use Time::HiRes qw(time);

my ($addr, $port, $count, $mark) = @ARGV;
socket(my $s, PF_INET, SOCK_DGRAM, 0) or die "socket: $!\n";
setsockopt($s, SOL_SOCKET, SO_RCVBUF, 4 << 20);
connect($s, sockaddr_in($port, inet_aton($addr))) or die "connect: $!\n";
my (%len, %sum, %seen);
my ($sent, $recv, $bad, $dup, $small, $smallsent, $smallout) = (0, 0, 0, 0, 0, 0, 0);
# In flight: seq => when it was sent, until its echo comes or it is given up as lost
# (after 2 s: a flap loses some, and waiting for them would hold the window; a copy the
# tunnel sends again on a new link must not free room either).
my %pending;
sub inflight { return scalar(keys %pending) + $smallout }
# Random bytes to cut datagrams from (rand() per byte would be slow).
my $pool = join('', map { chr(int(rand(256))) } 1 .. 65536);
my $t0 = time;
my $last = time;
my $win = 64;
my $rin = '';
vec($rin, fileno($s), 1) = 1;

sub take {
	my ($wait) = @_;
	my $r = select(my $ready = $rin, undef, undef, $wait);
	return 0 unless $r > 0;
	my $n = sysread($s, my $buf, 65536);
	return 0 unless defined $n;
	$last = time;
	if ($n < 4) {
		$smallout-- if $smallout > 0;
		if ($buf eq "\xa5" x $n) { $small++ } else { $bad++ }
		return 1;
	}
	my $seq = unpack('N', $buf);
	if (!exists $len{$seq} || $len{$seq} != $n || $sum{$seq} ne md5($buf)) {
		$bad++;
	} elsif ($seen{$seq}++) {
		$dup++;
	} else {
		$recv++;
		delete $pending{$seq};
	}
	return 1;
}

while ($sent < $count) {
	if ($mark && $sent == int($count / 2)) {
		# Half way: tell the test, which flaps the link while we go on sending.
		open(my $f, '>', $mark) or die "$mark: $!\n";
		close $f;
	}
	if (inflight() >= $win) {
		take(0.5);
		my $old = time - 2;
		for (keys %pending) { delete $pending{$_} if $pending{$_} < $old }
		$smallout = 0 if time - $last >= 2;
		next;
	}
	my $n = 1 + int(rand(2048));
	my $buf;
	if ($n < 4) {
		# Too short for a sequence number: a fixed pattern, counted apart.
		$buf = "\xa5" x $n;
		$smallsent++;
		$smallout++;
	} else {
		$buf = pack('N', $sent) . substr($pool, int(rand(65536 - 2048)), $n - 4);
		$len{$sent} = $n;
		$sum{$sent} = md5($buf);
		$pending{$sent} = time;
	}
	send($s, $buf, 0) or die "send: $!\n";
	$sent++;
	take(0) while inflight() > 0 && take(0);
}
1 while take(2.0);
my $tracked = scalar keys %len;
$recv += $small;
printf "sent %d received %d lost %d bad %d dup %d seconds %.1f\n", $sent, $recv,
    $sent - $recv, $bad, $dup, time - $t0;
