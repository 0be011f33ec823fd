#!/usr/bin/perl
# SPDX-License-Identifier: MIT
# udp_echo.pl PORT [ADDRESS]: send every datagram back to where it came from.
use strict;
use warnings;
use Socket;

my ($port, $addr) = @ARGV;
die "usage: udp_echo.pl PORT [ADDRESS]\n" unless defined $port && $port =~ /^\d+$/;
$addr //= '0.0.0.0';
socket(my $s, PF_INET, SOCK_DGRAM, 0) or die "socket: $!\n";
setsockopt($s, SOL_SOCKET, SO_REUSEADDR, 1);
bind($s, sockaddr_in($port, inet_aton($addr))) or die "bind $addr:$port: $!\n";
$SIG{TERM} = sub { exit 0 };
while (1) {
	my $from = recv($s, my $buf, 65535, 0);
	next unless defined $from;
	send($s, $buf, 0, $from);
}
