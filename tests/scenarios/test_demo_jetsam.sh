#!/usr/bin/env bash
# The demo's second act (`zonetrace demo --variant jetsam`): on the seed's
# device (iPhone 6s Plus, ios12-2gb, limit 1392 MiB) a cache that ignores
# the memory warning is killed by jetsam and the report names the cache;
# with --variant jetsam-handled its warning handler trims the cache and the
# program exits 0. Each run maps about 1.4 GB for a few seconds.
set -uo pipefail
: "${ZT_BUILD:?ZT_BUILD must point at the build directory}"
zt="$ZT_BUILD/zonetrace"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
failures=0
fail() { echo "test_demo_jetsam: FAIL: $*" >&2; failures=$((failures + 1)); }

"$zt" demo --variant jetsam -o "$tmp" >"$tmp/killed" 2>"$tmp/killed.err"
rc=$?
[ $rc -eq 0 ] || fail "demo --variant jetsam exited $rc: $(tail -3 "$tmp/killed.err")"
grep -q "^ended: *killed by jetsam (SIGKILL): per-process-limit" "$tmp/killed" ||
    fail "no jetsam termination line: $(grep ended "$tmp/killed")"
grep -q "iPhone 6s Plus limit 1.36 GiB" "$tmp/killed" || fail "the headline names no device limit"
grep -q "of it from cache_fill (jetsam_grow.c" "$tmp/killed" || fail "the cache is not named"
grep -q "memory warning: footprint" "$tmp/killed" || fail "no memory warning event"
[ -s "$tmp/demo-jetsam.html" ] || fail "no HTML report"

"$zt" demo --variant jetsam-handled -o "$tmp" >"$tmp/handled" 2>"$tmp/handled.err"
rc=$?
[ $rc -eq 0 ] || fail "demo --variant jetsam-handled exited $rc"
grep -q "^ended: *exited with status 0" "$tmp/handled" ||
    fail "the handled variant did not survive: $(grep ended "$tmp/handled")"
grep -q "trimmed the cache" "$tmp/handled.err" || fail "the handler did not run"
grep -q "killed by jetsam" "$tmp/handled" && fail "the handled variant says killed"

"$zt" demo --variant nope >/dev/null 2>"$tmp/bad"
rc=$?
[ $rc -eq 2 ] && [ "$(wc -l <"$tmp/bad")" -eq 1 ] || fail "a bad variant: exit $rc, $(cat "$tmp/bad")"

[ $failures -eq 0 ] || exit 1
echo "test_demo_jetsam: ok"
