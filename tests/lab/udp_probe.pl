#!/usr/bin/perl
# udp_probe.pl IP PORT COUNT WAIT_MS: send COUNT numbered datagrams 5 ms apart, then wait
# up to WAIT_MS after the last one; print how many distinct numbers came back.
use strict;
use warnings;
use Socket;
use Time::HiRes qw(time sleep);

my ($ip, $port, $count, $wait_ms) = @ARGV;
die "usage: udp_probe.pl IP PORT COUNT WAIT_MS\n" unless defined $wait_ms;
socket(my $s, PF_INET, SOCK_DGRAM, 0) or die "socket: $!\n";
my $to = sockaddr_in($port, inet_aton($ip));
my $tag = sprintf "%d-%d", $$, int(rand(1e9));
my %got;

sub drain {
	my ($until) = @_;
	while (1) {
		my $left = $until - time;
		last if $left <= 0;
		my $rin = '';
		vec($rin, fileno($s), 1) = 1;
		last unless select(my $rout = $rin, undef, undef, $left) > 0;
		recv($s, my $buf, 2048, 0);
		$got{$1} = 1 if $buf =~ /^\Q$tag\E (\d+)$/;
	}
}

for my $i (1 .. $count) {
	send($s, "$tag $i", 0, $to);
	drain(time + 0.005);
}
drain(time + $wait_ms / 1000);
print scalar(keys %got), "\n";
