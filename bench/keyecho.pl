#!/usr/bin/perl
# SPDX-License-Identifier: MIT
# keyecho.pl SOCKET KEYS OUTDIR NAME...: keystroke to echo in tmux panes, as a user sees
# it.  One tmux control-mode client (no fork per poll, so the poll is sub-millisecond)
# types a letter into pane NAME (send-keys) at a shell prompt and polls capture-pane of
# the cursor's line until the letter is on it; KEYS letters per pane, the panes taken in
# turn key by key (so a slow moment of the machine falls on all of them alike), the first
# of them alternating, a random 40-120 ms pause before each key.  Every 16
# letters the line is wiped (C-u) and its echo awaited.  For each NAME one line
# "NAME n N p50 US p90 US min US max US lost L" (microseconds), every time in
# OUTDIR/keyecho_NAME.txt.  Figures, not a test (bench/run.sh, section attach).
use strict;
use warnings;
use IPC::Open2;
use Time::HiRes qw(time sleep);

my ($sock, $keys, $outdir, @names) = @ARGV;
die "usage: keyecho.pl SOCKET KEYS OUTDIR NAME...\n" unless defined $outdir && @names && $keys > 0;

# A control client attached to the first pane's session; a control client without a
# size of its own does not change the panes' size (tmux >= 3.2 ignores it).
my $pid = open2(my $from, my $to, 'tmux', '-u', '-S', $sock, '-C', 'attach', '-t', "=$names[0]");
$to->autoflush(1);

# reply: the next command's output lines (undef on %error or EOF); notifications
# (%output ...) come only between replies.
sub reply {
	my (@out, $in);
	while (my $l = <$from>) {
		$l =~ s/\r?\n\z//;
		if (!$in) {
			$in = 1 if $l =~ /^%begin /;
			next;
		}
		return \@out if $l =~ /^%end /;
		return undef if $l =~ /^%error /;
		push @out, $l;
	}
	return undef;
}

# cmd TEXT: run one tmux command, its output lines.
sub cmd {
	print $to "$_[0]\n";
	return reply();
}
# The attach itself is answered first.
defined reply() or die "keyecho.pl: tmux -C attach -t $names[0] failed\n";

sub cursor_line {
	my ($n) = @_;
	my $y = cmd("display-message -p -t '=$n:' '#{cursor_y}'");
	return undef unless $y && @$y && $y->[0] =~ /^\d+$/;
	my $l = cmd("capture-pane -p -t '=$n:' -S $y->[0] -E $y->[0]");
	return $l && @$l ? $l->[0] : '';
}

# until_line N TEST SECONDS: poll the cursor's line until TEST(line) holds; seconds taken.
sub until_line {
	my ($n, $test, $secs) = @_;
	my $t0 = time;
	while (time - $t0 < $secs) {
		my $l = cursor_line($n);
		return time - $t0 if defined $l && $test->($l);
		sleep 0.0002;
	}
	return undef;
}

my (%t, %lost, %typed, %base);
for my $n (@names) {
	$t{$n} = [];
	$lost{$n} = 0;
	$typed{$n} = '';
	cmd("send-keys -t '=$n:' C-u");
	until_line($n, sub { $_[0] =~ /\$\s*$/ }, 5);
	$base{$n} = cursor_line($n) // '';
	$base{$n} =~ s/\s+$//;
}
for my $i (0 .. $keys - 1) {
	# Which pane goes first alternates, and the pause before each key is random: mosh
	# paces its datagrams with timers of its own, and a fixed rhythm would let one pane
	# meet them at a better moment every time (found: the first pane's p50 was 3-5 ms
	# lower whichever program it held).
	for my $n ($i % 2 ? reverse(@names) : @names) {
		my $c = chr(ord('a') + $i % 26);
		if (length $typed{$n} >= 16) {
			cmd("send-keys -t '=$n:' C-u");
			my $b = $base{$n};
			until_line($n, sub { my $l = $_[0]; $l =~ s/\s+$//; $l eq $b }, 5);
			$typed{$n} = '';
			sleep 0.05;
		}
		my $want = $typed{$n} . $c;
		my $t0 = time;
		cmd("send-keys -t '=$n:' -l $c");
		my $ok = until_line($n, sub { $_[0] =~ /\Q$want\E\s*$/ }, 3);
		if (defined $ok) {
			push @{ $t{$n} }, int((time - $t0) * 1e6);
			$typed{$n} = $want;
		} else {
			# Lost: start the line again, so later letters are measured from a known state.
			$lost{$n}++;
			$typed{$n} = 'x' x 16;
		}
		sleep 0.04 + rand 0.08;
	}
}
for my $n (@names) {
	cmd("send-keys -t '=$n:' C-u");
	open(my $f, '>', "$outdir/keyecho_$n.txt") or die "$outdir/keyecho_$n.txt: $!\n";
	print $f "$_\n" for @{ $t{$n} };
	close $f;
	my @s = sort { $a <=> $b } @{ $t{$n} };
	my $k = @s;
	if ($k == 0) {
		print "$n n 0 lost $lost{$n}\n";
		next;
	}
	printf "%s n %d p50 %d p90 %d min %d max %d lost %d\n", $n, $k, $s[int($k / 2)],
	    $s[int($k * 9 / 10)], $s[0], $s[-1], $lost{$n};
}
close $to;
waitpid($pid, 0);
