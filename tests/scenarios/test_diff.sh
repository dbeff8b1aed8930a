#!/usr/bin/env bash
# zonetrace diff on two records of one program run with different inputs
# (scenario_inputs 10 100 0, then 50 100 20): grow_a grew by exactly 40
# blocks, grow_b did not change, churn shows under --sort count only; every
# format honours --top; bad input is one line and exit 2; records of a
# wrapper that exec'd (env) are followed to the program's image.
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/../pipe.bash"  # grep_q: no SIGPIPE under pipefail
: "${ZT_BUILD:?ZT_BUILD must point at the build directory}"
zt="$ZT_BUILD/zonetrace"
prog="$ZT_BUILD/scenario_inputs"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail() { echo "test_diff: FAIL: $*" >&2; exit 1; }

"$zt" run -o "$tmp/a.zt" -- "$prog" 10 100 0 >"$tmp/a.out" 2>/dev/null || fail "run A failed"
"$zt" run -o "$tmp/b.zt" -- "$prog" 50 100 20 >"$tmp/b.out" 2>/dev/null || fail "run B failed"
size_a=$(awk '$1 == "size_a" {print $2}' "$tmp/b.out")
[ -n "$size_a" ] && [ "$size_a" -ge 1000 ] || fail "no size_a from the program"

"$zt" diff "$tmp/a.zt" "$tmp/b.zt" >"$tmp/text" 2>"$tmp/err" || fail "diff failed: $(cat "$tmp/err")"
grep -q "(1 of 1 changed)" "$tmp/text" || fail "text: expected one changed stack: $(cat "$tmp/text")"
grep -Eq "^ +\+.* grow_a < main" "$tmp/text" || fail "text: grow_a did not grow: $(cat "$tmp/text")"
grep -q "grow_b" "$tmp/text" && fail "text: grow_b listed although unchanged"

"$zt" diff "$tmp/a.zt" "$tmp/b.zt" --format json -o "$tmp/d.json" || fail "json diff failed"
python3 - "$tmp/d.json" "$size_a" <<'PY' || exit 1
import json, sys
d = json.load(open(sys.argv[1])); sz = int(sys.argv[2])
rows = {r["key"]: r for r in d["rows"]}
bad = []
ga = [r for k, r in rows.items() if k.endswith("grow_a")]
if len(ga) != 1: bad.append("grow_a rows: %d" % len(ga))
else:
    r = ga[0]
    if r["delta"] != 40 * sz: bad.append("grow_a delta %d, expected %d" % (r["delta"], 40 * sz))
    if (r["a"]["live_blocks"], r["b"]["live_blocks"]) != (10, 50):
        bad.append("grow_a blocks %s -> %s" % (r["a"]["live_blocks"], r["b"]["live_blocks"]))
    if not r["frames"] or not r["frames"][0].startswith("grow_a"):
        bad.append("grow_a frames %s" % r["frames"])
if any(k.endswith("grow_b") for k in rows): bad.append("grow_b listed")
if d["metric"] != "live_bytes": bad.append("metric %s" % d["metric"])
if bad:
    print("test_diff: FAIL: json: " + "; ".join(bad), file=sys.stderr); sys.exit(1)
PY

# --sort count: churn's 20 allocations appear, with grow_a's 40 first.
"$zt" diff "$tmp/a.zt" "$tmp/b.zt" --sort count --format folded >"$tmp/count" \
    || fail "folded --sort count failed"
[ "$(wc -l <"$tmp/count")" -eq 2 ] || fail "folded --sort count: expected 2 lines: $(cat "$tmp/count")"
head -1 "$tmp/count" | grep -Eq "grow_a 10 50$" || fail "folded: first line $(head -1 "$tmp/count")"
sed -n 2p "$tmp/count" | grep -Eq "churn 0 20$" || fail "folded: second line $(sed -n 2p "$tmp/count")"

# --top 1 in every format.
"$zt" diff "$tmp/a.zt" "$tmp/b.zt" --sort count --top 1 --format folded >"$tmp/t1"
[ "$(wc -l <"$tmp/t1")" -eq 1 ] || fail "folded ignores --top"
"$zt" diff "$tmp/a.zt" "$tmp/b.zt" --sort count --top 1 >"$tmp/t1"
grep -q "(1 of 2 changed)" "$tmp/t1" || fail "text ignores --top: $(cat "$tmp/t1")"
"$zt" diff "$tmp/a.zt" "$tmp/b.zt" --sort count --top 1 --format json -o "$tmp/t1.json"
python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); sys.exit(0 if len(d["rows"]) == 1 and d["changed"] == 2 else 1)' \
    "$tmp/t1.json" || fail "json ignores --top"
"$zt" diff "$tmp/a.zt" "$tmp/b.zt" --sort count --top 1 --format html -o "$tmp/t1.html"
grep -q "grow_a" "$tmp/t1.html" || fail "html: no grow_a"
grep -q "churn" "$tmp/t1.html" && fail "html ignores --top"

# --by zone and --by class: the zone and class of grow_a's blocks grew.
"$zt" diff "$tmp/a.zt" "$tmp/b.zt" --by class --format folded >"$tmp/cls"
grep -Eq ";[a-z]+-[0-9]+ [0-9]+ [0-9]+$" "$tmp/cls" || fail "by class: $(cat "$tmp/cls")"
"$zt" diff "$tmp/a.zt" "$tmp/b.zt" --by zone >"$tmp/zone" || fail "by zone failed"
grep -q "zones by change" "$tmp/zone" || fail "by zone: $(cat "$tmp/zone")"

# A record diffed with itself: no change.
"$zt" diff "$tmp/a.zt" "$tmp/a.zt" >"$tmp/same"
grep -q "no change" "$tmp/same" || fail "self diff: $(cat "$tmp/same")"

# Bad input: one line naming the problem, exit 2.
expect_usage() { # what, args...
    local what=$1
    shift
    set +e
    "$zt" diff "$@" >/dev/null 2>"$tmp/err"
    local rc=$?
    set -e
    [ $rc -eq 2 ] || fail "$what: exit $rc, expected 2"
    [ "$(wc -l <"$tmp/err")" -eq 1 ] || fail "$what: expected one error line: $(cat "$tmp/err")"
}
expect_usage "one file" "$tmp/a.zt"
expect_usage "bad sort" "$tmp/a.zt" "$tmp/b.zt" --sort bogus
grep -q "bogus" "$tmp/err" || fail "bad sort: the value is not named: $(cat "$tmp/err")"
head -c 100 "$tmp/a.zt" >"$tmp/cut.zt"
expect_usage "damaged record" "$tmp/cut.zt" "$tmp/b.zt"
grep -q "cut.zt" "$tmp/err" || fail "damaged record: the file is not named: $(cat "$tmp/err")"
expect_usage "unknown option" "$tmp/a.zt" "$tmp/b.zt" --frobnicate
"$zt" diff --help | grep_q "usage: zonetrace diff" || fail "--help"

# through a wrapper that execs (env): the records named are env's; diff
# follows each to the program's last image (<record>.exec.zt)
"$zt" run -o "$tmp/ea.zt" -- env "$prog" 10 100 0 >/dev/null 2>&1 || fail "run env A failed"
"$zt" run -o "$tmp/eb.zt" -- env "$prog" 50 100 20 >/dev/null 2>&1 || fail "run env B failed"
"$zt" diff "$tmp/ea.zt" "$tmp/eb.zt" >"$tmp/etext" 2>"$tmp/err" || fail "diff env: $(cat "$tmp/err")"
grep -q "^  A: $tmp/ea.zt.exec.zt (.*scenario_inputs" "$tmp/etext" || fail "env: A not followed to the exec'd image: $(head -3 "$tmp/etext")"
grep -Eq "^ +\+.* grow_a < main" "$tmp/etext" || fail "env: grow_a did not grow: $(cat "$tmp/etext")"
echo "test_diff: ok"
