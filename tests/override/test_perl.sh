#!/usr/bin/env bash
# ----------------------------------------------------------------------------
# test_perl.sh — perl under LD_PRELOAD gives byte-identical output.
#
# Debian's perl uses the system malloc (usemymalloc=n), so every SV, hash
# bucket array and string buffer is a malloc block. The script builds and
# churns hashes, grows and splices strings and arrays, runs regexps with
# captures and substitutions, sorts, packs, and digests everything; it also
# forks children that allocate after fork. Output must match the reference.
# ----------------------------------------------------------------------------
. "$(dirname "$0")/lib.bash"
zt_need perl perl

cat >"$ZT_TMP/work.pl" <<'EOF'
use strict;
use warnings;
use Digest::SHA qw(sha256_hex);
use List::Util qw(sum shuffle);

my $s = 12345;
sub rnd { $s = ($s * 1103515245 + 12345) % 2147483648; return $s >> 8; }
sub out { my ($name, $data) = @_; printf "%s: %d %s\n", $name, length($data), substr(sha256_hex($data), 0, 24); }

my @letters = ('a' .. 'z', 'A' .. 'Z', '0' .. '9');
my @words = map { join '', map { $letters[rnd() % @letters] } 1 .. (1 + rnd() % 12) } 1 .. 30000;
out("words", join ',', @words);

# Hash churn: insert, update, delete, nested structures.
my %h;
for my $i (0 .. 120000) {
    my $k = $words[$i % @words] . ($i * 7919 % 100003);
    $h{$k} .= chr(65 + $i % 26);
}
out("hash", join ';', map { "$_=$h{$_}" } sort keys %h);
delete @h{ grep { length($_) % 3 == 0 } keys %h };
out("hash-del", join ';', map { "$_=$h{$_}" } sort keys %h);
my %nested;
for my $i (0 .. 40000) {
    push @{ $nested{ $words[$i % 500] }{ $i % 7 } }, [$i, "v$i" x ($i % 4)];
}
out("nested", join '|', map { my $w = $_; map { "$w/$_:" . scalar @{ $nested{$w}{$_} } } sort keys %{ $nested{$w} } } sort keys %nested);
undef %nested;

# Strings: append (realloc in place), substr, reverse, sprintf, join/split.
my $str = '';
for my $i (0 .. 50000) {
    $str .= $words[$i % @words];
    substr($str, $i % length($str), 1, uc substr($str, $i % length($str), 1)) if $i % 97 == 0;
}
out("append", $str);
my $text = join ' ', map { sprintf "%s:%x", $words[$_ % @words], $_ } 0 .. 100000;
out("text", $text);
out("split", join ',', (sort { $a cmp $b } split / /, $text)[0 .. 2000]);
out("reverse", scalar reverse $text);

# Regular expressions.
my @pairs = $text =~ /([a-z]+):([0-9a-f]{3,})/g;
out("match", join ',', @pairs);
(my $sub = substr($text, 0, 600000)) =~ s/(\w)(\w*)/$2$1/g;
out("subst", $sub);
my %count;
$count{$1}++ while $text =~ /\b([A-Z][a-z]+)/g;
out("count", join ',', map { "$_=$count{$_}" } sort keys %count);
out("tr", ($text =~ tr/a-z/A-Z/r));

# Arrays: push/splice/sort numeric, pack/unpack.
my @a = map { rnd() } 1 .. 150000;
splice(@a, $_ * 500, 10, (0) x 20) for 0 .. 200;
out("sort", pack 'N*', sort { $a <=> $b } @a);
out("unpack", join ',', unpack('n*', pack('N*', @a[0 .. 50000])));
out("sum", sum(map { $_ % 1000 } @a));

# Children allocate after fork; their output is collected in order.
my @kids;
for my $n (0 .. 3) {
    pipe(my $r, my $w) or die;
    my $pid = fork // die "fork: $!";
    if (!$pid) {
        close $r;
        my %k; $k{"$n-$_"} = "x" x ($_ % 50) for 1 .. 50000;
        print $w sha256_hex(join ',', map { "$_$k{$_}" } sort keys %k);
        close $w;
        exit 0;
    }
    close $w;
    push @kids, [$pid, $r];
}
for my $k (@kids) {
    my $fh = $k->[1];
    my $d = <$fh>;
    waitpid($k->[0], 0);
    print "child: ", substr($d, 0, 24), " status $?\n";
}
EOF

export PERL_HASH_SEED=0 PERL_PERTURB_KEYS=0 LC_ALL=C
workload() {
    "${ZT_RUNV[@]}" perl "$ZT_TMP/work.pl"
}

zt_ref
zt_case zt zt
zt_check_used zt
zt_compare ref zt -

zt_finish
