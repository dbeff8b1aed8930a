#!/usr/bin/env bash
# ----------------------------------------------------------------------------
# test_xz.sh — multi-threaded xz under LD_PRELOAD: identical stream, round trip.
#
# A ~50 MB deterministic file (generated text in four rotations plus a
# high-entropy gzip tail) is compressed with `xz -T2` (two encoder threads,
# fourteen 4 MiB blocks whose buffers come and go on worker threads) and
# decompressed with `xz -T2 -d` (threaded decoder). The .xz stream must be
# byte-identical to the reference run's and must decompress to the input.
# ----------------------------------------------------------------------------
. "$(dirname "$0")/lib.bash"
zt_need xz xz-utils

awk -v target=12582912 '
    function rnd() { s = (s * 69069 + 1) % 4294967296; return int(s / 65536) }
    BEGIN {
        s = 5; bytes = 0
        split("the quick brown fox jumps over lazy dog while zonetrace counts every block", w, " ")
        while (bytes < target) {
            n = 3 + rnd() % 14; line = sprintf("%06d", rnd() % 1000000)
            for (j = 0; j < n; j++) line = line " " w[1 + rnd() % 13] (rnd() % 7 ? "" : rnd())
            print line; bytes += length(line) + 1
        }
    }' >"$ZT_TMP/part.txt"
{
    cat "$ZT_TMP/part.txt"
    tr 'a-z' 'n-za-m' <"$ZT_TMP/part.txt"
    tr '0-9a-z' 'a-z0-9' <"$ZT_TMP/part.txt"
    tr 'a-m' 'A-M' <"$ZT_TMP/part.txt"
    gzip -n -1 -c "$ZT_TMP/part.txt"
} >"$ZT_TMP/input.bin"

workload() {
    "${ZT_RUNV[@]}" xz -T2 -1 --block-size=4MiB -c "$ZT_TMP/input.bin" >input.bin.xz
    "${ZT_RUNV[@]}" xz -T2 -d -c input.bin.xz >roundtrip.bin
    cmp "$ZT_TMP/input.bin" roundtrip.bin
    "${ZT_RUNV[@]}" xz --robot -l input.bin.xz | grep -v '^totals'
    rm roundtrip.bin
}

zt_ref
zt_case zt zt
zt_check_used zt nostats # xz closes stderr before exit (tuklib_exit)
zt_compare ref zt - input.bin.xz

zt_case ios26 zt ZONETRACE_DEVICE=iphone12-ios26 # xzone
zt_check_used ios26 nostats
zt_compare ref ios26 - input.bin.xz

zt_finish
