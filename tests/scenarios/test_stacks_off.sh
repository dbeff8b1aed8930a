#!/usr/bin/env bash
# --stacks off records no allocation (no hooks run), but the walk at exit
# sees every live block: the report must give the per-zone and per-class
# live bytes exactly from it, not "0 B live at the end" (issue 14).
# scenario_leaks ends with 100 blocks of its 1000 B class and 250 of its
# 4 KiB class live (plus stdio's buffer); the text report's diagnosis and
# zone table and the JSON's zones and classes must say so.
set -euo pipefail
: "${ZT_BUILD:?ZT_BUILD must point at the build directory}"
zt="$ZT_BUILD/zonetrace"
prog="$ZT_BUILD/scenario_leaks"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail() { echo "test_stacks_off: FAIL: $*" >&2; exit 1; }

"$zt" run --stacks off -o "$tmp/off.zt" -- "$prog" >"$tmp/expect.txt" 2>"$tmp/run.err" \
    || fail "run: $(cat "$tmp/run.err")"
"$zt" report "$tmp/off.zt" -o "$tmp/off.txt" || fail "text report"
"$zt" report "$tmp/off.zt" --by class -o "$tmp/class.txt" || fail "text report --by class"
"$zt" report "$tmp/off.zt" --format json -o "$tmp/off.json" || fail "json report"
grep -q "0 B live at the end" "$tmp/off.txt" && fail "the report says 0 B live: $(cat "$tmp/off.txt")"
python3 - "$tmp/off.json" "$tmp/expect.txt" "$tmp/off.txt" "$tmp/class.txt" <<'PY' || fail "see above"
import json, re, sys
d = json.load(open(sys.argv[1]))
text, bycls = open(sys.argv[3]).read(), open(sys.argv[4]).read()
size = {}
for line in open(sys.argv[2]):
    f = line.split()
    if f and f[0] == "expect-class":
        size[f[1]] = int(f[2])
bad = []
if d["stacks_mode"] != "off":
    bad.append("stacks_mode %r" % d["stacks_mode"])
blocks, nbytes = {}, {}
for z in d["zones"]:
    for c in z["classes"]:
        blocks[c["block_bytes"]] = blocks.get(c["block_bytes"], 0) + c["live_blocks"]
        nbytes[c["block_bytes"]] = nbytes.get(c["block_bytes"], 0) + c["live_bytes"]
small, big = size["leak_100k"], size["leak_1000k"]
if blocks.get(small) != 100 or nbytes.get(small) != 100 * small:
    bad.append("%d B class: %s blocks, %s B; want 100, %d" % (small, blocks.get(small), nbytes.get(small), 100 * small))
if not 250 <= blocks.get(big, 0) <= 252 or nbytes.get(big) != blocks.get(big, 0) * big:
    bad.append("%d B class: %s blocks, %s B; want 250 (+ stdio)" % (big, blocks.get(big), nbytes.get(big)))
live = sum(z["live_bytes"] for z in d["zones"])
want = 100 * small + 250 * big
if not want <= live <= want + 3 * 4096:
    bad.append("zones: %d live bytes, want %d (+ stdio)" % (live, want))
if live != sum(nbytes.values()):
    bad.append("zones %d != classes %d" % (live, sum(nbytes.values())))
# the heap is the zones' sum; what nothing counted is null, not 0
if d["heap"]["live_bytes"] != live:
    bad.append("heap live_bytes %r != zones' %d" % (d["heap"]["live_bytes"], live))
for k in ("total_bytes", "total_blocks", "peak_bytes", "requested_bytes"):
    if d["heap"][k] is not None or d["zones"][0][k] is not None:
        bad.append("%s: %r / %r, want null (not counted)" % (k, d["heap"][k], d["zones"][0][k]))
# the text: the diagnosis names the live heap; the class table shows the leak's class
m = re.search(r"diagnosis:.*?([\d.]+ [KM]iB) live at the end", text)
if not m:
    bad.append("text diagnosis has no live figure: %s" % text[:400])
if not re.search(r"tiny-%d\s+\S+\s+98.4 KiB\s+100\b" % small, bycls):
    bad.append("--by class does not show the %d B class with 98.4 KiB in 100 blocks:\n%s" % (small, bycls))
for x in bad:
    print("test_stacks_off:", x, file=sys.stderr)
sys.exit(1 if bad else 0)
PY
echo "test_stacks_off: ok"
