#!/usr/bin/env bash
# Records are sparse and small (issue 14): they grow on demand from their
# header (record.c, FORMAT.md §1.3).
#  - a tiny program (tests/scenarios/tiny.c: four mallocs, one leak) run
#    under `zonetrace run` leaves a record under 64 KiB, apparent size and
#    allocated blocks alike, which still reports the leak and its line;
#  - a record that grew large (5000 distinct stacks, each leaking one
#    block) reads back exactly: every stack, one block each;
#  - SIGKILL while the record grows (65536 new stacks in about half a
#    second) leaves a readable record at any moment: the report succeeds
#    and says killed.
set -euo pipefail
: "${ZT_BUILD:?ZT_BUILD must point at the build directory}"
zt="$ZT_BUILD/zonetrace"
prog="$ZT_BUILD/scenario_tiny"
tmp=$(mktemp -d)
pid=
cleanup() {
    [ -n "$pid" ] && kill -9 "$pid" 2>/dev/null
    rm -rf "$tmp"
}
trap cleanup EXIT
fail() { echo "test_record_size: FAIL: $*" >&2; exit 1; }
unset DEBUGINFOD_URLS
limit=65536

# 1. a tiny program
"$zt" run -o "$tmp/tiny.zt" -- "$prog" 2>"$tmp/run.err" || fail "tiny: run: $(cat "$tmp/run.err")"
apparent=$(stat -c %s "$tmp/tiny.zt")
allocated=$(du -B1 "$tmp/tiny.zt" | cut -f1)
echo "test_record_size: tiny program: $apparent B apparent, $allocated B allocated," \
    "$(gzip -c "$tmp/tiny.zt" | wc -c) B gzipped"
[ "$apparent" -lt $limit ] || fail "tiny: the record is $apparent B (apparent), not under $limit"
[ "$allocated" -lt $limit ] || fail "tiny: the record takes $allocated B on disk, not under $limit"
"$zt" report "$tmp/tiny.zt" >"$tmp/tiny.txt" 2>&1 || fail "tiny: report: $(cat "$tmp/tiny.txt")"
grep -q "exited with status 0" "$tmp/tiny.txt" || fail "tiny: ending: $(cat "$tmp/tiny.txt")"
grep -q "32 B live at the end, 100 % of it from main (tiny.c:" "$tmp/tiny.txt" ||
    fail "tiny: the leak is not reported: $(cat "$tmp/tiny.txt")"

# 2. a record that grew: 5000 distinct stacks read back exactly
"$zt" run --depth 64 -o "$tmp/many.zt" -- "$prog" stacks 5000 2>"$tmp/run.err" ||
    fail "stacks: run: $(cat "$tmp/run.err")"
size=$(stat -c %s "$tmp/many.zt")
[ "$size" -gt $((4 * limit)) ] || fail "stacks: the record did not grow ($size B)"
"$zt" report "$tmp/many.zt" --format json -o "$tmp/many.json" 2>"$tmp/report.err" ||
    fail "stacks: report: $(cat "$tmp/report.err")"
python3 - "$tmp/many.json" <<'PY' || fail "stacks: the record does not read back exactly"
import json, sys
d = json.load(open(sys.argv[1]))
leaf = [s for s in d["stacks"] if any(f["function"] == "leaf" for f in s["frames"])]
paths = {tuple(f["pc"] for f in s["frames"]) for s in leaf}
bad = [s["id"] for s in leaf if s["live_blocks"] != 1 or s["total_blocks"] != 1]
size = {s["live_bytes"] for s in leaf}
print("test_record_size: %d stacks through leaf, %d distinct, live bytes %s" %
      (len(leaf), len(paths), sorted(size)))
ok = len(leaf) == 5000 and len(paths) == 5000 and not bad and len(size) == 1
sys.exit(0 if ok else 1)
PY

# 3. SIGKILL while the record grows
for delay in 0.02 0.05 0.1 0.2 0.35; do
    rm -f "$tmp/kill.zt"
    ZONETRACE_STACKS=full ZONETRACE_DEPTH=64 ZONETRACE_OUT="$tmp/kill.zt" \
        LD_PRELOAD="$ZT_BUILD/libzonetrace.so" "$prog" forever >"$tmp/fifo.out" &
    pid=$!
    for _ in $(seq 100); do grep -q ready "$tmp/fifo.out" && break; sleep 0.02; done
    sleep "$delay"
    kill -9 "$pid"
    wait "$pid" 2>/dev/null || true
    pid=
    size=$(stat -c %s "$tmp/kill.zt")
    "$zt" report "$tmp/kill.zt" >"$tmp/kill.txt" 2>&1 ||
        fail "killed after ${delay}s ($size B): report failed: $(head -3 "$tmp/kill.txt")"
    grep -q "killed" "$tmp/kill.txt" || fail "killed after ${delay}s: $(head -5 "$tmp/kill.txt")"
    echo "test_record_size: killed after ${delay}s: $size B, read"
done
echo "test_record_size: ok"
