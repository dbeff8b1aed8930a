#!/usr/bin/env bash
# Issue 11's second story on a modern phone: an iPhone 12 on iOS 26 (xzone
# malloc, 4 GB) is killed by jetsam long before its heap address space (2 +
# 5.375 GiB) runs out. Apple publishes no per-process limit for iPhone 12
# and later (reference/modern_apple.md §4, §6.6), so the test supplies one:
# 2068 MiB, the measured limit of the 4 GB iPhone 11 under iOS 13 (the
# stackoverflow.com/a/15200855 table), which is what a user would pass as
# --memory-limit. The report must say jetsam, name the cache, and show the
# address space far from full and segments of xzone's groups in the map.
set -uo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/../pipe.bash"  # grep_q: no SIGPIPE under pipefail
: "${ZT_BUILD:?ZT_BUILD must point at the build directory}"
zt="$ZT_BUILD/zonetrace"
grow="$ZT_BUILD/scenario_jetsam_grow"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail() { echo "test_jetsam_ios26: FAIL: $*" >&2; exit 1; }

limit=$((2068 << 20))
"$zt" run --device iphone12-ios26 --memory-limit 2068M -o "$tmp/k.zt" -- "$grow" --rate 2000 \
    >"$tmp/out" 2>"$tmp/err"
rc=$?
[ $rc -eq 137 ] || fail "exit $rc, expected 137 (SIGKILL by jetsam): $(tail -3 "$tmp/err")"
"$zt" report --at end "$tmp/k.zt" >"$tmp/report" 2>&1 || fail "report failed: $(cat "$tmp/report")"
grep -q "^ended: *killed by jetsam (SIGKILL): per-process-limit" "$tmp/report" \
    || fail "no jetsam ending: $(grep -E '^(ended|device)' "$tmp/report")"
grep -q "^device: *iphone12-ios26" "$tmp/report" || fail "device line: $(grep '^device' "$tmp/report")"
grep -A2 "^diagnosis:" "$tmp/report" | tr -s ' \n' ' ' | grep_q "cache_fill" \
    || fail "the diagnosis does not name cache_fill: $(grep -A2 '^diagnosis' "$tmp/report")"
"$zt" report --at end --format json "$tmp/k.zt" >"$tmp/k.json" 2>&1 || fail "json report failed"
python3 - "$tmp/k.json" "$limit" <<'PY' || exit 1
import json, sys
d = json.load(open(sys.argv[1])); limit = int(sys.argv[2])
bad = []
j = d["termination"]
if j.get("reason") != "jetsam: per-process-limit": bad.append("reason %s" % j.get("reason"))
if j["limit_bytes"] != limit: bad.append("limit %s, expected %d" % (j["limit_bytes"], limit))
fp = j["footprint_bytes"]
if not (limit < fp <= limit + (256 << 20)): bad.append("footprint at the kill %s not just past the limit" % fp)
va = d.get("address_space") or {}
used, lim = va.get("used_bytes"), va.get("limit_bytes")
if used is None or lim is None: bad.append("no address_space used/limit in the JSON: %s" % sorted(va))
elif not used < lim // 2: bad.append("address space %d of %d: not far from full" % (used, lim))
if bad:
    print("test_jetsam_ios26: FAIL: " + "; ".join(bad), file=sys.stderr); sys.exit(1)
PY
echo "test_jetsam_ios26: ok"
