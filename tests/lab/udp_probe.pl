#!/usr/bin/perl
# SPDX-License-Identifier: MIT
# udp_probe.pl IP PORT COUNT WAIT_MS [rtt]: send COUNT numbered datagrams 5 ms apart, then
# wait up to WAIT_MS after the last one; print how many distinct numbers came back (and,
# with "rtt", the shortest round trip in milliseconds, -1 when none came back).
use strict;
use warnings;
use Socket;
use Time::HiRes qw(time sleep);

my ($ip, $port, $count, $wait_ms, $want_rtt) = @ARGV;
die "usage: udp_probe.pl IP PORT COUNT WAIT_MS\n" unless defined $wait_ms;
socket(my $s, PF_INET, SOCK_DGRAM, 0) or die "socket: $!\n";
my $to = sockaddr_in($port, inet_aton($ip));
my $tag = sprintf "%d-%d", $$, int(rand(1e9));
my (%got, %sent);
my $best = -1;

sub drain {
	my ($until) = @_;
	while (1) {
		my $left = $until - time;
		last if $left <= 0;
		my $rin = '';
		vec($rin, fileno($s), 1) = 1;
		last unless select(my $rout = $rin, undef, undef, $left) > 0;
		recv($s, my $buf, 2048, 0);
		next unless $buf =~ /^\Q$tag\E (\d+)$/;
		$got{$1} = 1;
		my $rtt = (time - $sent{$1}) * 1000;
		$best = $rtt if $best < 0 || $rtt < $best;
	}
}

for my $i (1 .. $count) {
	$sent{$i} = time;
	send($s, "$tag $i", 0, $to);
	drain(time + 0.005);
}
drain(time + $wait_ms / 1000);
if (defined $want_rtt && $want_rtt eq 'rtt') {
	printf "%d %d\n", scalar(keys %got), $best;
} else {
	print scalar(keys %got), "\n";
}
