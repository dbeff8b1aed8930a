#!/usr/bin/env bash
# End to end (issue 11): scenario_xzone_highwater on an iPhone 12 under iOS 26
# (xzone) runs out of address space through the pointer heap's high-water
# mark, at the figure the model predicts from the profile and the geometry;
# under iOS 17.5 (nano + magazines) the same program runs to its end. The
# text report, normalized, must match tests/golden/xzone_report.txt
# (ZT_UPDATE_GOLDEN=1 rewrites it).
set -euo pipefail
: "${ZT_BUILD:?ZT_BUILD must point at the build directory}"
: "${ZT_SRC:?ZT_SRC must point at the source directory}"
zt="$ZT_BUILD/zonetrace"
prog="$ZT_BUILD/scenario_xzone_highwater"
golden="$ZT_SRC/tests/golden/xzone_report.txt"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail() { echo "test_xzone_highwater: FAIL: $*" >&2; exit 1; }
pin=()
command -v taskset >/dev/null && pin=(taskset -c 0)

# The figure. iphone12-ios26 (zone/profile.c): 2 GiB below the shared region,
# which starts at 6 GiB (window 0 = [4, 6) GiB), and [12, 17.375) GiB above
# it (xnu-11417.121.6 osfmk/arm64/pmap.c:501-508, shared_region.h:90-91).
# xzone maps 4 MiB segments at 4 MiB alignment (xzone_malloc.h:19-26); both
# windows start on a 4 MiB boundary, so they hold 512 + 1376 segment slots.
# The run turns the early allocator off (MallocXzoneEarlyAlloc=0, libmalloc's
# own switch): its arena is page-aligned and blocks one or two slots
# depending on where the hint puts it, and which call sites use up its budget
# depends on the slid return addresses (the pointer bucket hash), which would
# make the golden report differ by a few blocks from run to run. Every slot
# then ends as a pointer segment: the live data is a few percent and freed
# pointer chunks are never given back, so when malloc fails the heap holds
# exactly 1888 pointer segments and all 7.375 GiB are in use.
MiB=$((1 << 20)); GiB=$((1 << 30))
win0=$((2 * GiB)); win1=$((17 * GiB + 3 * GiB / 8 - 12 * GiB))
limit=$((win0 + win1))
slots=$((win0 / (4 * MiB) + win1 / (4 * MiB)))
[ "$slots" -eq 1888 ] || fail "slot arithmetic: $slots"

rc=0
MallocXzoneEarlyAlloc=0 "${pin[@]}" "$zt" run --device iphone12-ios26 --stacks full --unwind fp -o "$tmp/x.zt" -- "$prog" \
    >"$tmp/out.txt" 2>"$tmp/run.err" || rc=$?
[ "$rc" -eq 3 ] || fail "expected exit status 3 (malloc returned NULL), got $rc: $(cat "$tmp/run.err")"
grep -q "out of address space (blocks of" "$tmp/out.txt" || fail "no failure line: $(cat "$tmp/out.txt")"
"$zt" report "$tmp/x.zt" --format json -o "$tmp/x.json" 2>"$tmp/report.err" \
    || fail "report failed: $(cat "$tmp/report.err")"
python3 - "$tmp/x.json" "$limit" "$slots" <<'PY' || fail "see above"
import json, sys
r = json.load(open(sys.argv[1]))
limit, slots = int(sys.argv[2]), int(sys.argv[3])
MiB = 1 << 20
bad = []
evs = [e for e in r["events"] if e["type"] in ("map_failed", "null_returned")]
if not evs:
    bad.append("no map_failed / null_returned event")
else:
    e = evs[0]
    if e["va_limit"] != limit:
        bad.append("va_limit %d, the profile says %d" % (e["va_limit"], limit))
    ptr = [g for g in r["regions"] if g["kind"] == "xz-pointer"]
    data = [g for g in r["regions"] if g["kind"] == "xz-data"]
    P = len(ptr)
    if any(g["bytes"] != 4 * MiB for g in ptr):
        bad.append("a pointer segment is not 4 MiB")
    if P != slots:
        bad.append("%d pointer segments, the model predicts %d" % (P, slots))
    if data:
        bad.append("%d data segments, want none (no early arena, no huge block live)" % len(data))
    if e["va_used"] != slots * 4 * MiB or e["va_used"] != limit:
        bad.append("va_used at the failure %d, want %d" % (e["va_used"], slots * 4 * MiB))
    live = sum(g["used_bytes"] for g in ptr)
    if live * 20 > P * 4 * MiB:
        bad.append("pointer segments hold %d bytes live: more than 5 %%" % live)
for b in bad:
    print("test_xzone_highwater:", b, file=sys.stderr)
sys.exit(1 if bad else 0)
PY

# The same program on nano + magazines: freed regions go back, it finishes.
ZONETRACE_DEVICE=iphone12-ios17.5 LD_PRELOAD="$ZT_BUILD/libzonetrace.so" "$prog" >"$tmp/mag.txt" \
    || fail "under iphone12-ios17.5 it failed: $(tail -2 "$tmp/mag.txt")"
grep -q "all 32 rounds done" "$tmp/mag.txt" || fail "magazines: $(tail -1 "$tmp/mag.txt")"

"$zt" report "$tmp/x.zt" >"$tmp/raw.txt" 2>"$tmp/report.err" \
    || fail "text report failed: $(cat "$tmp/report.err")"
grep -q "^xzone:     pointer segments are never returned: " "$tmp/raw.txt" \
    || fail "the report does not explain the pointer high-water: $(head -12 "$tmp/raw.txt")"
sed -E \
    -e "s#$tmp/#TMP/#g" \
    -e "s#$ZT_BUILD/#BUILD/#g" \
    -e 's/\(pid [0-9]+, ran [0-9.]+ s\)/(pid PID, ran T s)/' \
    -e 's/^( +)[0-9]+\.[0-9]{3} s  /\1T s  /' \
    -e 's/^(state: +at the first failure )\([0-9.]+ s\)/\1(T s)/' \
    -e 's/0x[0-9a-f]+/0xADDR/g' \
    -e 's/^(footprint: )[0-9.]+ [KMG]?i?B resident/\1N resident/' \
    -e 's/(peak )[0-9.]+ [KMG]?i?B of [0-9.]+ GiB device RAM \([0-9.]+ %\)/\1N of DEVICE RAM/' \
    -e 's/; cgroup limit [0-9.]+ [KMG]?i?B//' \
    -e 's/[0-9]+ older events lost/N older events lost/' \
    <"$tmp/raw.txt" >"$tmp/report.txt"
if [ "${ZT_UPDATE_GOLDEN:-0}" = 1 ]; then
    cp "$tmp/report.txt" "$golden"
    echo "test_xzone_highwater: wrote $golden"
    exit 0
fi
diff -u "$golden" "$tmp/report.txt" \
    || fail "the report differs from $golden (above); ZT_UPDATE_GOLDEN=1 rewrites it"
echo "test_xzone_highwater: ok"
