#!/usr/bin/perl
# SPDX-License-Identifier: MIT
# tstamp.pl CMD...: run CMD with its stderr (and stdout) prefixed, line by line, by the
# wall clock in milliseconds, so bench/run.sh can line up a program's state changes with
# the moment it flipped a switch.  SIGTERM/SIGINT are passed on to CMD.
use strict;
use warnings;
use Time::HiRes qw(time);

$| = 1;
pipe(my $r, my $w) or die "pipe: $!\n";
my $pid = fork() // die "fork: $!\n";
if ($pid == 0) {
	close $r;
	open STDOUT, '>&', $w or die;
	open STDERR, '>&', $w or die;
	exec @ARGV or die "exec $ARGV[0]: $!\n";
}
close $w;
$SIG{$_} = sub { kill 'TERM', $pid } for qw(TERM INT HUP);
while (my $l = <$r>) {
	printf "%d %s", int(time() * 1000), $l;
}
waitpid($pid, 0);
exit($? >> 8);
