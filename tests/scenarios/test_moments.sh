#!/usr/bin/env bash
# Issue 12: moments, exact peaks and rankings, end to end.
#  1. fill until NULL, free everything, exit 0 under ios12-2gb: the headline
#     names the first failure (size, zone, class, stack); --at first-failure
#     ranks the filling stack first by address space and by live bytes; the
#     exit status is 0.
#  2. moments known: each --sort ranking has its known winner, at every --at
#     moment, in JSON, text, folded and HTML; the exact peaks per stack, per
#     zone and per class equal the program's own count (malloc_size).
set -uo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/../pipe.bash"  # grep_q: no SIGPIPE under pipefail
: "${ZT_BUILD:?ZT_BUILD must point at the build directory}"
zt="$ZT_BUILD/zonetrace"
prog="$ZT_BUILD/scenario_moments"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
failures=0
fail() { echo "test_moments: FAIL: $*" >&2; failures=$((failures + 1)); }

# ---- 1. fill until NULL ------------------------------------------------------
"$zt" run --device ios12-2gb -o "$tmp/fill.zt" -- "$prog" fill >"$tmp/fill.out" 2>"$tmp/fill.err"
rc=$?
[ "$rc" -eq 0 ] || fail "fill: exit status $rc, expected 0 ($(cat "$tmp/fill.err"))"
"$zt" report "$tmp/fill.zt" >"$tmp/fill.txt" 2>&1 || fail "fill: report failed: $(cat "$tmp/fill.txt")"
# the headline: the first failure, 100000 B, large, the helper zone, fill_heap
grep -q '^failure:   NULL for 100000 B (large) from zone MallocHelperZone at fill_heap' "$tmp/fill.txt" ||
    fail "fill: the failure line does not name the first failure: $(grep -A2 '^failure' "$tmp/fill.txt")"
grep -q '^state:     at the first failure' "$tmp/fill.txt" || fail "fill: default state is not the first failure"
# the last failure is printf's 4096 B stdio buffer when no small region has room, or the
# fill's own region map when one has (libunwind, loaded by dlopen from the profiler's
# constructor since h/rssfloor, allocates a few small blocks first): either is summarised
grep -A1 '^later:' "$tmp/fill.txt" | tr -s ' \n' ' ' |
    grep -q '^later: [0-9]* more failures\? after the first (.*); the last: NULL for \(4096\|100000\) B' ||
    fail "fill: later failures not summarised: $(grep -A1 '^later' "$tmp/fill.txt")"
grep -q '^ended:     exited with status 0' "$tmp/fill.txt" || fail "fill: ending"
for sort in address-space live; do
    "$zt" report "$tmp/fill.zt" --at first-failure --sort $sort --format json -o "$tmp/fill-$sort.json" ||
        fail "fill: report --sort $sort"
    python3 - "$tmp/fill-$sort.json" "$sort" <<'PY' || failures=$((failures + 1))
import json, sys
d = json.load(open(sys.argv[1])); sort = sys.argv[2]
bad = []
if d["at"]["moment"] != "first-failure": bad.append("at %r" % d["at"])
st = sorted([s for s in d["stacks"] if s["cost"] > 0], key=lambda s: (-s["cost"], s["id"]))
fns = [f["function"] for f in st[0]["frames"]] if st else []
if "fill_heap" not in fns: bad.append("top stack by %s is %r, not fill_heap" % (sort, fns[:4]))
key = "va_bytes" if sort == "address-space" else "live_bytes"
if st and st[0][key] < 2 << 30: bad.append("fill_heap holds only %d B by %s" % (st[0][key], key))
if st and st[0]["end_live_bytes"] != 0: bad.append("fill_heap still live at the end")
if d["failures"]["null_returns"] < 1: bad.append("no NULL counted")
if bad:
    print("test_moments: FAIL: fill --sort %s: %s" % (sort, "; ".join(bad)), file=sys.stderr)
    sys.exit(1)
PY
done
"$zt" report "$tmp/fill.zt" --at end --format json | python3 -c '
import json, sys
d = json.load(sys.stdin)
live = sum(s["live_bytes"] for s in d["stacks"])
sys.exit(0 if d["at"]["moment"] == "end" and live < 1 << 20 else 1)' || fail "fill: --at end is not the freed heap"

# ---- 2. known answers ----------------------------------------------------------
"$zt" run -o "$tmp/known.zt" -- "$prog" known >"$tmp/known.out" 2>"$tmp/known.err" ||
    fail "known: run failed: $(cat "$tmp/known.err")"
declare -A winner=([leaks]=leak_site [peak]=peak_site [first-failure]=peak_site
    [allocated]=bytes_site [count]=many_site [temporary]=temp_site)
declare -A live_winner=([end]=leak_site [peak]=peak_site [first-failure]=peak_site)
for at in end peak first-failure; do
    for sort in leaks peak first-failure allocated count temporary live; do
        w=${winner[$sort]:-${live_winner[$at]}}
        "$zt" report "$tmp/known.zt" --at $at --sort $sort --format json -o "$tmp/k.json" ||
            { fail "known --at $at --sort $sort: report failed"; continue; }
        python3 - "$tmp/k.json" "$at" "$sort" "$w" <<'PY' || failures=$((failures + 1))
import json, sys
d = json.load(open(sys.argv[1])); at, sort, w = sys.argv[2:5]
st = sorted([s for s in d["stacks"] if s["cost"] > 0], key=lambda s: (-s["cost"], s["id"]))
fns = [f["function"] for f in st[0]["frames"]] if st else []
bad = []
if d["at"]["moment"] != at: bad.append("at %r" % d["at"]["moment"])
if d["sort"] != sort: bad.append("sort %r" % d["sort"])
if w not in fns: bad.append("winner %r, expected %s" % (fns[:4], w))
if bad:
    print("test_moments: FAIL: known --at %s --sort %s: %s" % (at, sort, "; ".join(bad)), file=sys.stderr)
    sys.exit(1)
PY
        # the same winner first in folded (its cost is the same key) and text
        "$zt" report "$tmp/known.zt" --at $at --sort $sort --format folded | head -1 | grep_q "$w" ||
            fail "known --at $at --sort $sort: folded's first line is not $w"
        "$zt" report "$tmp/known.zt" --at $at --sort $sort --top 1 | grep -A5 '^top stacks' | grep_q "$w" ||
            fail "known --at $at --sort $sort: text's top stack is not $w"
    done
    "$zt" report "$tmp/known.zt" --at $at --format html -o "$tmp/k.html" && grep -q '"moment":"'$at'"' "$tmp/k.html" ||
        fail "known --at $at: html"
    "$zt" report "$tmp/known.zt" --at $at --by zone | grep_q "^zone moments:" || fail "known --at $at --by zone"
done
# exact peaks against the program's own count
"$zt" report "$tmp/known.zt" --at end --format json -o "$tmp/k.json"
python3 - "$tmp/k.json" "$tmp/known.out" <<'PY' || failures=$((failures + 1))
import json, sys
d = json.load(open(sys.argv[1]))
expect = {}
name_bytes = 0
for line in open(sys.argv[2]):
    p = line.split()
    if p and p[0] in ("expect-peak", "expect-live"): expect[(p[0], p[1])] = (int(p[2]), int(p[3]))
    if p and p[0] == "expect-name": name_bytes = int(p[1])
bad = []
zone = [z for z in d["zones"] if z["name"] == "moments"]
if len(zone) != 1: bad.append("zone 'moments' not found")
else:
    z = zone[0]
    if (z["peak_blocks"], z["peak_bytes"]) != expect[("expect-peak", "zone")]:
        bad.append("zone peak %r, counted %r" % ((z["peak_blocks"], z["peak_bytes"]), expect[("expect-peak", "zone")]))
    # classes: each class's peak is that of the one site using it
    by_class = {c["block_bytes"]: c for c in z["classes"]}
    for site, size in (("leak_site", 112), ("many_site", 16), ("temp_site", 32), ("peak_site", 65536)):
        eb, ey = expect[("expect-peak", site)]
        if name_bytes == size: eb, ey = eb + 1, ey + size  # the zone's name lives in it
        c = by_class.get(size)
        if c is None or (c["peak_blocks"], c["peak_bytes"]) != (eb, ey):
            bad.append("class %d peak %r, counted %r" % (size, c and (c["peak_blocks"], c["peak_bytes"]), (eb, ey)))
for site in ("leak_site", "many_site", "temp_site", "bytes_site", "peak_site"):
    st = [s for s in d["stacks"] if any(f["function"] == site for f in s["frames"])
          and not any(f["function"] == "fail_site" for f in s["frames"])]
    if len(st) != 1: bad.append("%s: %d stacks" % (site, len(st))); continue
    got = (st[0]["peak_blocks"], st[0]["peak_bytes"])
    if got != expect[("expect-peak", site)]: bad.append("%s peak %r, counted %r" % (site, got, expect[("expect-peak", site)]))
ts = [s for s in d["stacks"] if any(f["function"] == "temp_site" for f in s["frames"])]
if ts and ts[0]["temp_blocks"] != 20000: bad.append("temp_site temporary %d, expected 20000" % ts[0]["temp_blocks"])
# requested as well as allocated: 1000 x 100 B is 100,000 B requested
leak = [s for s in d["stacks"] if any(f["function"] == "leak_site" for f in s["frames"])]
if leak:
    l = leak[0]
    if (l["requested_live_bytes"], l["requested_exact"], l["requested_bytes"]) != (100000, True, 100000):
        bad.append("leak_site requested %r" % ((l["requested_live_bytes"], l["requested_exact"], l["requested_bytes"]),))
    if l["live_bytes"] != expect[("expect-peak", "leak_site")][1]:
        bad.append("leak_site allocated %d, counted %d" % (l["live_bytes"], expect[("expect-peak", "leak_site")][1]))
if bad:
    print("test_moments: FAIL: peaks: " + "; ".join(bad), file=sys.stderr)
    sys.exit(1)
PY
"$zt" report "$tmp/known.zt" --by zone | grep_q "^zone moments: .*peak 4.11 MiB in 51001 blocks" ||
    fail "text --by zone does not show the exact zone peak"
"$zt" report "$tmp/known.zt" --at end | grep_q "1000 allocated, 109 KiB; req 97.7 KiB" ||
    fail "text does not show the leak's requested bytes next to the allocated ones"
# a moment the record does not have: one clear line, status 2
"$zt" report "$tmp/fill.zt" --at peak-va >/dev/null 2>&1 || true
"$zt" report "$tmp/known.zt" --at bogus >/dev/null 2>&1; [ $? -eq 2 ] || fail "--at bogus: not a usage error"
[ "$failures" -eq 0 ] && echo "test_moments: ok"
exit $((failures > 0))
