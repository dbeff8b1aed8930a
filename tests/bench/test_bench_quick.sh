#!/usr/bin/env bash
# ----------------------------------------------------------------------------
# test_bench_quick.sh — smoke test of the benchmark suite: `bench/run --quick`
# must run every workload under every configuration and write a report and a
# chart, a default report name must not overwrite an earlier report, and a
# configuration whose allocator dies must show up as "failed (exit N)" in the
# report rather than stop the runner. No timing is checked.
# Env: ZT_BUILD (build dir), ZT_SRC (source dir).
# ----------------------------------------------------------------------------
set -u
SRC=${ZT_SRC:-$(cd "$(dirname "$0")/../.." && pwd)}
BUILD=${ZT_BUILD:-$SRC/build}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

# 1. the real thing, quick
"$SRC/bench/run" --quick --build "$BUILD" --out "$tmp/quick.md" >"$tmp/log" 2>&1 ||
    { tail -20 "$tmp/log" >&2; fail "bench/run --quick exited non-zero"; }
[ -s "$tmp/quick.md" ] || fail "no report written"
[ -s "$tmp/quick.svg" ] || { tail -5 "$tmp/log" >&2; fail "no chart written (gnuplot)"; }
grep -q "<svg" "$tmp/quick.svg" || fail "the chart is not an SVG"
wall=$(awk '/^## /{on = /^## Wall time, 1 thread/} on' "$tmp/quick.md")
[ -n "$wall" ] || fail "no wall-time table"
for w in churn mixed server prodcons large fragment replay; do
    row=$(echo "$wall" | grep -m1 "^| $w | ") || fail "no $w row in the wall-time table"
    # the glibc baseline cell must be a time, never a failure
    echo "$row" | grep -Eq "^\| $w \| [0-9.]+ s \|" || fail "glibc failed on $w: $row"
done
for c in mimalloc jemalloc heaptrack zt-off zt-full-fp; do
    grep -q "^| $c | " "$tmp/quick.md" || fail "configuration $c missing from the report"
done
grep -q "Profiler memory per live block" "$tmp/quick.md" || fail "no profiler memory table"
cpu=$(awk '/^## /{on = /^## CPU time, 1 thread/} on' "$tmp/quick.md")
echo "$cpu" | grep -Eq '^\| \*\*geomean\*\* \| – \| \*\*[0-9.]+\*\* \|' ||
    fail "no geometric-mean row in the CPU-time table"
goals=$(awk '/^## /{on = /^## Goals, 1 thread/} on' "$tmp/quick.md")
[ -n "$goals" ] || fail "no goals table"
for g in "zt-off / glibc, CPU time, churn" "zt-off / glibc, peak RSS, replay" \
    "zt-off / mimalloc, CPU time, geomean" "zt-full-fp / zt-off, CPU time, geomean" \
    "zt-full-unwind / heaptrack, CPU time, geomean" "zt-sample / zt-off, CPU time, geomean"; do
    row=$(echo "$goals" | grep -F -m1 "| $g |") || fail "goal '$g' missing from the goals table"
    # a verdict is computed for every goal (timing values themselves are not checked)
    echo "$row" | grep -Eq '\| [0-9.]+ \| (met|\*\*missed\*\*)' ||
        fail "goal without a verdict: $row"
done

# 2. a default report name never overwrites an earlier report (a committed
#    result of the same day): <date>.md, then <date>-2.md, <date>-3.md
python3 - "$SRC/bench/run" "$tmp" <<'PY' || fail "a default report name would overwrite a report"
import importlib.machinery, importlib.util, os, sys
loader = importlib.machinery.SourceFileLoader("bench_run", sys.argv[1])
spec = importlib.util.spec_from_loader("bench_run", loader)
run = importlib.util.module_from_spec(spec)
loader.exec_module(run)
p = os.path.join(sys.argv[2], "2026-01-01.md")
assert run.unused_report_path(p) == p
open(p, "w").close()
assert run.unused_report_path(p) == p[:-3] + "-2.md", run.unused_report_path(p)
open(p[:-3] + "-2.md", "w").close()
assert run.unused_report_path(p) == p[:-3] + "-3.md", run.unused_report_path(p)
PY

# 3. robustness: a "zonetrace" that exits 7 at load is reported, not fatal
if command -v gcc >/dev/null; then
    mkdir -p "$tmp/fake"
    ln -s "$BUILD/bench" "$tmp/fake/bench"
    cat >"$tmp/die.c" <<'C'
#include <unistd.h>
__attribute__((constructor)) static void die(void) { _exit(7); }
C
    gcc -shared -fPIC -o "$tmp/fake/libzonetrace.so" "$tmp/die.c" ||
        fail "cannot build the fake library"
    "$SRC/bench/run" --quick --build "$tmp/fake" --only churn --allocators zt-off,zt-full-fp \
        --out "$tmp/fake.md" >"$tmp/log2" 2>&1 ||
        { tail -20 "$tmp/log2" >&2; fail "the runner stopped on a failing configuration"; }
    grep -q "failed (exit 7)" "$tmp/fake.md" ||
        fail "a failing configuration is not reported as 'failed (exit 7)'"
else
    # Exit 77: ctest's "skipped" (SKIP_RETURN_CODE), never a pass.
    echo "bench quick: SKIP: gcc not found: failure reporting not checked (report and chart OK)"
    exit 77
fi
echo "bench quick: report, chart and failure reporting OK"
