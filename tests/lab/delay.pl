#!/usr/bin/perl
# SPDX-License-Identifier: MIT
# delay.pl tcp|udp LISTEN_IP:PORT TARGET_IP:PORT MS
# A forwarder that holds everything MS milliseconds in each direction, for tests that
# need latency on a kernel without tc netem.  TCP: one upstream connection per accepted
# one, bytes kept in order, EOF passed on after the delay too.  UDP: one upstream socket
# per client address (so a client that changes source port looks like a roaming client
# to the server, as through a NAT).  One process, one select loop, no threads.
use strict;
use warnings;
use Socket qw(:DEFAULT);
use IO::Socket::INET;
use Time::HiRes qw(time);
use Errno qw(EAGAIN EINTR EWOULDBLOCK);

my ($proto, $listen, $target, $ms) = @ARGV;
die "usage: delay.pl tcp|udp LISTEN_IP:PORT TARGET_IP:PORT MS\n"
    unless defined $ms && $proto =~ /^(tcp|udp)$/ && $ms =~ /^\d+$/;
my $delay = $ms / 1000;
my ($lip, $lport) = $listen =~ /^(.+):(\d+)$/ or die "bad listen address\n";
my ($tip, $tport) = $target =~ /^(.+):(\d+)$/ or die "bad target address\n";
$SIG{TERM} = sub { exit 0 };
$SIG{PIPE} = 'IGNORE';

# Pending items: [due_time, handle_to_write, data (undef = EOF), udp_dest_or_undef]
my @queue;

sub queue_push { push @queue, [time + $delay, @_] }

sub next_timeout {
	return undef unless @queue;
	my $t = $queue[0][0] - time;
	return $t < 0 ? 0 : $t;
}

if ($proto eq 'udp') {
	my $ls = IO::Socket::INET->new(Proto => 'udp', LocalAddr => $lip, LocalPort => $lport,
	    ReuseAddr => 1) or die "listen $listen: $!\n";
	my %up;      # client sockaddr -> upstream socket
	my %client;  # fileno(upstream) -> client sockaddr
	my $dest = sockaddr_in($tport, inet_aton($tip));
	while (1) {
		my $rin = '';
		vec($rin, fileno($ls), 1) = 1;
		vec($rin, fileno($_), 1) = 1 for values %up;
		my $n = select(my $rout = $rin, undef, undef, next_timeout());
		if ($n > 0) {
			if (vec($rout, fileno($ls), 1)) {
				my $from = recv($ls, my $buf, 65535, 0);
				if (defined $from) {
					my $u = $up{$from};
					unless ($u) {
						$u = IO::Socket::INET->new(Proto => 'udp') or die "socket: $!\n";
						$up{$from} = $u;
						$client{fileno($u)} = $from;
					}
					queue_push($u, $buf, $dest);
				}
			}
			for my $u (values %up) {
				next unless vec($rout, fileno($u), 1);
				my $from = recv($u, my $buf, 65535, 0);
				queue_push($ls, $buf, $client{fileno($u)}) if defined $from;
			}
		}
		while (@queue && $queue[0][0] <= time) {
			my $q = shift @queue;
			send($q->[1], $q->[2], 0, $q->[3]);
		}
	}
}

# TCP
my $ls = IO::Socket::INET->new(Proto => 'tcp', LocalAddr => $lip, LocalPort => $lport,
    ReuseAddr => 1, Listen => 64) or die "listen $listen: $!\n";
my %peer;    # fileno -> the other socket
my %sock;    # fileno -> socket
my %closed;  # fileno -> 1 once we stopped reading it
while (1) {
	my $rin = '';
	vec($rin, fileno($ls), 1) = 1;
	for my $fd (keys %sock) {
		vec($rin, $fd, 1) = 1 unless $closed{$fd};
	}
	my $n = select(my $rout = $rin, undef, undef, next_timeout());
	if ($n > 0) {
		if (vec($rout, fileno($ls), 1)) {
			my $c = $ls->accept;
			if ($c) {
				my $u = IO::Socket::INET->new(Proto => 'tcp', PeerAddr => $tip,
				    PeerPort => $tport, Timeout => 10);
				if ($u) {
					$sock{fileno($c)} = $c;
					$sock{fileno($u)} = $u;
					$peer{fileno($c)} = $u;
					$peer{fileno($u)} = $c;
				} else {
					close $c;
				}
			}
		}
		for my $fd (keys %sock) {
			next unless vec($rout, $fd, 1) && !$closed{$fd};
			my $r = sysread($sock{$fd}, my $buf, 65536);
			next if !defined $r && ($! == EINTR || $! == EAGAIN);
			if ($r) {
				queue_push($peer{$fd}, $buf, undef);
			} else {
				$closed{$fd} = 1;
				queue_push($peer{$fd}, undef, undef);
			}
		}
	}
	while (@queue && $queue[0][0] <= time) {
		my $q = shift @queue;
		my ($h, $data) = ($q->[1], $q->[2]);
		my $fd = fileno($h);
		next unless defined $fd && $sock{$fd};
		if (defined $data) {
			my $off = 0;
			while ($off < length $data) {
				my $w = syswrite($h, $data, length($data) - $off, $off);
				last unless defined $w;
				$off += $w;
			}
		} else {
			shutdown($h, 1);
			my $p = $peer{$fd};
			# Both directions ended: forget the pair.
			if ($closed{$fd} && $closed{fileno($p)}) {
				for my $s ($h, $p) {
					my $f = fileno($s);
					delete $sock{$f};
					delete $peer{$f};
					delete $closed{$f};
					close $s;
				}
			}
		}
	}
}
