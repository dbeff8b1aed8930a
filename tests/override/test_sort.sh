#!/usr/bin/env bash
# ----------------------------------------------------------------------------
# test_sort.sh — GNU sort of a 100 MB file under LD_PRELOAD is byte-identical.
#
# The input is ~1.9 M generated lines of varying length with many shared
# prefixes and duplicates. sort runs with a 50 MB buffer (so it spills to
# temporary files and merges) and two threads: a plain byte-order sort, a
# numeric sort on the second field, and a unique sort on the first field.
# ----------------------------------------------------------------------------
. "$(dirname "$0")/lib.bash"
zt_need sort coreutils

# 100 MiB of lines "abc-01234 word17 word233 …<TAB>number". The LCG stays
# below 2^53 so that every awk computes it exactly.
awk -v seed=1 -v target=104857600 '
    function rnd() { s = (s * 69069 + 1) % 4294967296; return int(s / 65536) }
    BEGIN {
        s = seed + 0; bytes = 0
        split("alpha beta gamma delta epsilon zeta eta theta iota kappa lambda mu", w, " ")
        while (bytes < target) {
            n = rnd() % 9
            line = sprintf("%c%c%c-%05d", 97 + rnd() % 26, 97 + rnd() % 26, 97 + rnd() % 4,
                           rnd() % 40000)
            for (j = 0; j < n; j++) line = line " " w[1 + rnd() % 12] (rnd() % 1000)
            line = line "\t" sprintf("%.0f", rnd() * 65536 + rnd())
            print line
            bytes += length(line) + 1
        }
    }' >"$ZT_TMP/input.txt"

export LC_ALL=C
workload() {
    mkdir tmp
    "${ZT_RUNV[@]}" sort -S 50M --parallel=2 -T tmp "$ZT_TMP/input.txt" >sorted.txt
    "${ZT_RUNV[@]}" sort -S 50M --parallel=2 -T tmp -t "$(printf '\t')" -k2,2n -k1,1 \
        "$ZT_TMP/input.txt" >numeric.txt
    "${ZT_RUNV[@]}" sort -S 20M -T tmp -u -k1,1 "$ZT_TMP/input.txt" >unique.txt
    wc -l sorted.txt numeric.txt unique.txt
}

zt_ref
zt_case zt zt
zt_check_used zt nostats # sort closes stderr in an atexit handler
zt_compare ref zt - sorted.txt numeric.txt unique.txt

zt_case ios26 zt ZONETRACE_DEVICE=iphone12-ios26 # xzone
zt_check_used ios26 nostats
zt_compare ref ios26 - sorted.txt numeric.txt unique.txt

zt_finish
