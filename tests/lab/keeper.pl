#!/usr/bin/perl
# SPDX-License-Identifier: MIT
# keeper.pl FIFO: the client side's parent for long-lived lab processes.
#
# This machine's PID 1 does not reap orphans, so a daemon that outlives its parent (the
# tmux server, ss-local, a mosh-client whose tmux died) would stay a zombie forever.  The
# keeper is a child subreaper: it starts such daemons on request, so they and every
# orphan below them become its children, and it reaps them.
#
# Requests are lines on FIFO, tab-separated, each field hex-encoded:
#	PIDFILE STATUSFILE LOGFILE ENVFILE ARG...
# The keeper forks; the child starts a new session, points stdin at /dev/null and
# stdout/stderr at LOGFILE, takes its environment from ENVFILE (`env -0` output), writes
# its PID to PIDFILE and execs ARG...  When that child ends, its exit status goes to
# STATUSFILE (if not empty).  Each file is written as NAME.tmp, then renamed.
use strict;
use warnings;
use POSIX qw(:sys_wait_h setsid);

my $fifo = shift or die "usage: keeper.pl FIFO\n";
$0 = 'moshlab-keeper';
# PR_SET_CHILD_SUBREAPER = 36; prctl is syscall 157 on x86_64, 167 on aarch64.
my $nr = { x86_64 => 157, aarch64 => 167, i686 => 172, i386 => 172 }->{(POSIX::uname())[4]} // 157;
syscall($nr, 36, 1, 0, 0, 0) == 0 or warn "keeper: prctl(PR_SET_CHILD_SUBREAPER): $!\n";
$SIG{PIPE} = 'IGNORE';
my $stop = 0;
$SIG{TERM} = $SIG{INT} = sub { $stop = 1 };
$SIG{HUP} = 'IGNORE';

# Read and write, so the FIFO never reports EOF when a writer goes away.
open(my $in, '+<', $fifo) or die "keeper: $fifo: $!\n";
my %status_for;    # pid -> status file
my $buf = '';

sub put {
	my ($file, $text) = @_;
	return unless length $file;
	open(my $fh, '>', "$file.tmp") or return;
	print $fh $text;
	close $fh;
	rename "$file.tmp", $file;
}

sub spawn {
	my ($pidfile, $statusfile, $log, $envfile, @argv) = @_;
	return unless @argv;
	my $pid = fork;
	if (!defined $pid) {
		put($statusfile, "127\n");
		return;
	}
	if ($pid == 0) {
		setsid();
		$SIG{$_} = 'DEFAULT' for qw(PIPE TERM INT HUP);
		open(STDIN, '<', '/dev/null');
		open(STDOUT, '>>', length $log ? $log : '/dev/null');
		open(STDERR, '>&', \*STDOUT);
		if (length $envfile && open(my $e, '<', $envfile)) {
			local $/;
			my $all = <$e>;
			%ENV = ();
			for my $kv (split /\0/, $all) {
				my ($k, $v) = split /=/, $kv, 2;
				$ENV{$k} = $v if defined $v && length $k;
			}
		}
		put($pidfile, "$$\n");
		exec { $argv[0] } @argv;
		print STDERR "keeper: exec $argv[0]: $!\n";
		POSIX::_exit(127);
	}
	$status_for{$pid} = $statusfile;
}

while (!$stop) {
	my $rin = '';
	vec($rin, fileno($in), 1) = 1;
	if (select(my $rout = $rin, undef, undef, 0.2) > 0) {
		my $n = sysread($in, $buf, 65536, length $buf);
		while ($buf =~ s/^([^\n]*)\n//) {
			my @f = map { pack 'H*', $_ } split /\t/, $1, -1;
			spawn(@f) if @f >= 5;
		}
	}
	while ((my $pid = waitpid(-1, WNOHANG)) > 0) {
		my $sf = delete $status_for{$pid};
		put($sf, ($? & 127 ? 128 + ($? & 127) : $? >> 8) . "\n") if defined $sf;
	}
}
# Asked to stop: what is still ours goes with us.
kill 'TERM', keys %status_for;
exit 0;
