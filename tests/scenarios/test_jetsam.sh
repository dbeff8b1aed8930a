#!/usr/bin/env bash
# Jetsam (profiler/jetsam.c): a program whose footprint grows past the limit
# is killed with SIGKILL within the stated overshoot bound, and its record
# says "jetsam: per-process-limit" with the growing stack named; a warning
# handler that frees lets it survive; --memory-limit overrides the
# profile's limit; ZONETRACE_JETSAM=off lets it run; memory the program maps
# itself counts. Small limits (64 MiB) keep it under a few seconds.
set -uo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/../pipe.bash"  # grep_q: no SIGPIPE under pipefail
: "${ZT_BUILD:?ZT_BUILD must point at the build directory}"
zt="$ZT_BUILD/zonetrace"
grow="$ZT_BUILD/scenario_jetsam_grow"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
failures=0
passes=0
fail() { echo "test_jetsam: FAIL: $*" >&2; failures=$((failures + 1)); }
pass() { passes=$((passes + 1)); }

limit=$((64 << 20))
rate=1000 # MiB/s the program grows at
# The bound stated in jetsam.c: limit + rate x (10 ms period + the monitor
# thread's scheduling delay). 10 MiB at 1000 MiB/s; the test allows 40 ms
# of delay on a loaded machine: 40 MiB.
bound=$((limit + (rate * 40 / 1000 << 20)))

json_num() { grep -o "\"$1\":[0-9]*" "$2" | head -1 | cut -d: -f2; }

# ---- a growing program is killed at the limit ---------------------------
"$zt" run --device ios12-2gb --memory-limit 64M -o "$tmp/grow.zt" -- "$grow" --rate $rate \
    >"$tmp/out" 2>"$tmp/err"
rc=$?
[ $rc -eq 137 ] && pass || fail "growing program: exit $rc, expected 137 (SIGKILL)"
grep -q "killed by jetsam" "$tmp/err" && pass || fail "zonetrace run did not say jetsam: $(cat "$tmp/err")"
"$zt" report "$tmp/grow.zt" >"$tmp/report" 2>&1 || fail "report failed: $(cat "$tmp/report")"
grep -q "^diagnosis: killed by jetsam: footprint .* passed the limit 64.0 MiB" "$tmp/report" && pass \
    || fail "no jetsam diagnosis: $(head -8 "$tmp/report")"
grep -A2 "^diagnosis:" "$tmp/report" | tr -s ' \n' ' ' | grep_q "the heap at that moment: .*cache_fill" \
    && pass || fail "the diagnosis does not name cache_fill: $(head -8 "$tmp/report")"
"$zt" report --format json "$tmp/grow.zt" >"$tmp/grow.json" 2>&1
grep -q '"reason":"jetsam: per-process-limit"' "$tmp/grow.json" && pass || fail "json has no jetsam reason"
fp=$(json_num footprint_bytes "$tmp/grow.json")
lim=$(json_num limit_bytes "$tmp/grow.json")
[ "${lim:-0}" -eq $limit ] && pass || fail "--memory-limit 64M did not override the profile: limit $lim"
if [ -n "$fp" ] && [ "$fp" -gt "$limit" ] && [ "$fp" -le "$bound" ]; then
    pass
    echo "test_jetsam: overshoot $(((fp - limit) >> 10)) KiB past the 64 MiB limit at $rate MiB/s"
else
    fail "footprint at the kill ${fp:-?} not in ($limit, $bound]"
fi

# ---- a warning handler that frees survives --------------------------------
"$zt" run --device ios12-2gb --memory-limit 64M -o "$tmp/handler.zt" -- "$grow" --handler \
    --rate $rate --max 200 >"$tmp/out" 2>"$tmp/err"
rc=$?
[ $rc -eq 0 ] && pass || fail "program with a handler: exit $rc, expected 0: $(cat "$tmp/err")"
grep -q "memory warning at" "$tmp/err" && pass || fail "the handler was not called"
"$zt" report "$tmp/handler.zt" >"$tmp/report" 2>&1
grep -q "memory warning: footprint" "$tmp/report" && pass \
    || fail "no memory-warning event in the report"

# ---- ZONETRACE_JETSAM=off lets it run ------------------------------------
ZONETRACE_JETSAM=off "$zt" run --device ios12-2gb --memory-limit 64M -o "$tmp/off.zt" -- "$grow" \
    --rate 4000 --max 128 >"$tmp/out" 2>"$tmp/err"
rc=$?
[ $rc -eq 0 ] && grep -q "grew 128 MiB" "$tmp/out" && pass \
    || fail "ZONETRACE_JETSAM=off: exit $rc, $(cat "$tmp/out" "$tmp/err")"

# ---- native: no limit, no jetsam -----------------------------------------
"$zt" run -o "$tmp/native.zt" -- "$grow" --rate 4000 --max 128 >"$tmp/out" 2>&1
rc=$?
[ $rc -eq 0 ] && pass || fail "native profile: exit $rc, expected 0 (no jetsam)"

# ---- memory mapped by the program itself counts ---------------------------
"$zt" run --device ios12-2gb --memory-limit 64M -o "$tmp/mmap.zt" -- "$grow" --mmap --rate $rate \
    >"$tmp/out" 2>"$tmp/err"
rc=$?
[ $rc -eq 137 ] && pass || fail "program growing by mmap: exit $rc, expected 137"
"$zt" report "$tmp/mmap.zt" 2>&1 | grep_q "^diagnosis: killed by jetsam" && pass \
    || fail "mmap growth: no jetsam diagnosis"
# ... and says the footprint is not the heap's (the zone never saw those pages)
"$zt" report "$tmp/mmap.zt" 2>&1 | tr -s ' \n' ' ' | grep_q "of the footprint is memory the program mapped itself" \
    && pass || fail "mmap growth: the diagnosis does not say the footprint is the program's own mappings"

echo "test_jetsam: $passes passed, $failures failed"
[ $failures -eq 0 ] || exit 1
