#!/usr/bin/env bash
# Sampled reports say how far to trust them (issue 14). scenario_leaks keeps
# a 100 KB leak (100 × 1000 B) and a 1000 KiB leak (250 × 4 KiB) among
# 192 MiB of noise; under --stacks sample (N = 512 KiB, jemalloc's default)
# with fixed --sample-seed values:
#  - every stack's live bytes come with a 95 % interval (JSON
#    live_bytes_ci_low/high, text "95 % interval", the HTML's embedded JSON
#    and its table column), and each leak's interval holds its true size;
#  - a leak is either estimated (a stack with an interval) or, when no
#    sample fell in it, below the resolution the report states (JSON
#    resolution_bytes = N ln 40 > its size; text "below the sampling
#    resolution"): never dropped without a word;
#  - below_resolution is set exactly when the estimate is under N ln 40;
#  - the same seed gives the same record figures twice;
#  - with "fail" (a first-failure moment, a walk): zone and class live
#    figures at that moment are exact, not weighted samples plus the
#    unsampled blocks at face value (the double count of issue 14).
set -euo pipefail
: "${ZT_BUILD:?ZT_BUILD must point at the build directory}"
zt="$ZT_BUILD/zonetrace"
prog="$ZT_BUILD/scenario_leaks"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail() { echo "test_sampling: FAIL: $*" >&2; exit 1; }

seeds=(1 2 3 4 5 6 7 8)
for seed in "${seeds[@]}"; do
    "$zt" run --stacks sample --sample-seed "$seed" -o "$tmp/s$seed.zt" -- "$prog" \
        >"$tmp/expect$seed.txt" 2>"$tmp/run.err" || fail "seed $seed: run: $(cat "$tmp/run.err")"
    "$zt" report "$tmp/s$seed.zt" --format json -o "$tmp/s$seed.json" \
        || fail "seed $seed: json report"
    "$zt" report "$tmp/s$seed.zt" -o "$tmp/s$seed.txt" || fail "seed $seed: text report"
    "$zt" report "$tmp/s$seed.zt" --format html -o "$tmp/s$seed.html" \
        || fail "seed $seed: html report"
done
# the same seed again: the same samples
"$zt" run --stacks sample --sample-seed 1 -o "$tmp/again.zt" -- "$prog" >/dev/null 2>&1 \
    || fail "seed 1 again: run"
"$zt" report "$tmp/again.zt" --format json -o "$tmp/again.json" || fail "again: json report"

python3 - "$tmp" "${seeds[@]}" <<'PY' || fail "see above"
import json, math, re, sys
tmp, seeds = sys.argv[1], sys.argv[2:]
bad = []
estimated = absent = 0

def leaks(stacks):
    got = {}
    for s in stacks:
        for fr in s["frames"]:
            if fr.get("function") in ("leak_100k", "leak_1000k"):
                got[fr["function"]] = s
    return got

for seed in seeds:
    d = json.load(open("%s/s%s.json" % (tmp, seed)))
    text = open("%s/s%s.txt" % (tmp, seed)).read()
    html = open("%s/s%s.html" % (tmp, seed)).read()
    expect = {}
    for line in open("%s/expect%s.txt" % (tmp, seed)):
        f = line.split()
        if f and f[0] == "expect":
            expect[f[1]] = int(f[3])
    n = d["sample_bytes"]
    res = d.get("resolution_bytes")
    if d.get("confidence_pct") != 95 or res is None:
        bad.append("seed %s: no confidence_pct 95 / resolution_bytes in the JSON" % seed)
        continue
    if abs(res - n * math.log(40)) > 1:
        bad.append("seed %s: resolution %d != N ln 40" % (seed, res))
    if "below the sampling resolution" not in text or "95 % interval" not in text.replace("\n", " "):
        bad.append("seed %s: the text report does not state intervals and resolution" % seed)
    m = re.search(r'<script[^>]*id="zt-data"[^>]*>(.*?)</script>', html, re.S)
    if not m or "live_bytes_ci_low" not in m.group(1) or "% interval" not in html:
        bad.append("seed %s: the html report has no intervals" % seed)
    for s in d["stacks"]:
        lo, hi = s["live_bytes_ci_low"], s["live_bytes_ci_high"]
        if s["live_bytes"] and not lo <= s["live_bytes"] <= hi:
            bad.append("seed %s #%d: estimate %d outside [%d, %d]" % (seed, s["id"], s["live_bytes"], lo, hi))
        if s["below_resolution"] != (s["live_bytes"] < res):
            bad.append("seed %s #%d: below_resolution %s for %d" % (seed, s["id"], s["below_resolution"], s["live_bytes"]))
    got = leaks(d["stacks"])
    for site, truth in sorted(expect.items()):
        s = got.get(site)
        if s is None or s["live_bytes"] == 0:
            absent += 1
            if truth >= res:
                bad.append("seed %s: %s (%d B, above the resolution) dropped" % (seed, site, truth))
            continue
        estimated += 1
        lo, hi = s["live_bytes_ci_low"], s["live_bytes_ci_high"]
        print("seed %s %-10s true %8d estimate %8d [%d, %d]%s" % (seed, site, truth, s["live_bytes"],
              lo, hi, " below resolution" if s["below_resolution"] else ""))
        if not lo <= truth <= hi:
            bad.append("seed %s: %s true %d outside [%d, %d]" % (seed, site, truth, lo, hi))
        if "#%d" % s["id"] not in text:
            bad.append("seed %s: %s's stack missing from the text report" % (seed, site))
print("estimated %d leaks, %d below the resolution and absent" % (estimated, absent))
if not estimated or not absent:
    bad.append("the seeds should show both cases (estimated %d, absent %d)" % (estimated, absent))
a = json.load(open("%s/s1.json" % tmp))
b = json.load(open("%s/again.json" % tmp))
fa = sorted((s["live_bytes"], s["total_blocks"]) for s in a["stacks"])
fb = sorted((s["live_bytes"], s["total_blocks"]) for s in b["stacks"])
if fa != fb:
    bad.append("--sample-seed 1 twice gave different stacks: %s vs %s" % (fa[:4], fb[:4]))
for x in bad:
    print("test_sampling:", x, file=sys.stderr)
sys.exit(1 if bad else 0)
PY

# The first-failure moment of a sampled run: exact zone and class figures.
"$zt" run --stacks sample --sample-seed 2 -o "$tmp/f.zt" -- "$prog" fail >"$tmp/fexpect.txt" \
    2>/dev/null || fail "fail run"
"$zt" report "$tmp/f.zt" --format json --at first-failure -o "$tmp/f.json" || fail "f report"
python3 - "$tmp/f.json" "$tmp/fexpect.txt" <<'PY' || fail "see above"
import json, sys
d = json.load(open(sys.argv[1]))
size = {}
for line in open(sys.argv[2]):
    f = line.split()
    if f and f[0] == "expect-class":
        size[f[1]] = int(f[2])
bad = []
if d["at"]["moment"] != "first-failure":
    bad.append("at %r" % d["at"])
classes = {}
for z in d["zones"]:
    for c in z["classes"]:
        classes[c["block_bytes"]] = classes.get(c["block_bytes"], 0) + c["live_blocks"]
# 100 blocks of the 100 KB leak's class; 250 of the 4 KiB class plus stdout's buffer
if classes.get(size["leak_100k"]) != 100:
    bad.append("%d B class: %s live blocks, want 100" % (size["leak_100k"], classes.get(size["leak_100k"])))
if not 250 <= classes.get(size["leak_1000k"], 0) <= 252:
    bad.append("%d B class: %s live blocks, want 250 (+ stdio)" % (size["leak_1000k"], classes.get(size["leak_1000k"])))
live = sum(z["live_bytes"] for z in d["zones"])
want = 100 * size["leak_100k"] + 250 * size["leak_1000k"]
if not want <= live <= want + 3 * 4096:
    bad.append("zones hold %d live bytes at the failure, want %d (+ stdio)" % (live, want))
for x in bad:
    print("test_sampling: first failure:", x, file=sys.stderr)
sys.exit(1 if bad else 0)
PY
echo "test_sampling: ok"
