#!/usr/bin/env bash
# `zonetrace report` on the records of one run's processes (report_tree.c):
# tests/scenarios/children.c forks a child and fork+execs another, which
# fails an allocation. The parent's record alone, or the three records
# named, give the process tree (3 processes, both children under the
# parent) and the full report of the child that failed; JSON has a
# 3-entry "processes" array with the parent links; folded merges the
# stacks prefixed "name;pid N;"; a truncated child record among them is one
# error line naming it, the other two are still reported, exit non-zero.
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/../pipe.bash"  # grep_q: no SIGPIPE under pipefail
: "${ZT_BUILD:?ZT_BUILD must point at the build directory}"
zt="$ZT_BUILD/zonetrace"
prog="$ZT_BUILD/scenario_children"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail() { echo "test_report_tree: FAIL: $*" >&2; exit 1; }

"$zt" run -o "$tmp/r.zt" -- "$prog" >"$tmp/run.out" 2>"$tmp/run.err" || fail "run: $(cat "$tmp/run.err")"
grep -q "^children: 0 3$" "$tmp/run.out" || fail "the children did not run: $(cat "$tmp/run.out")"
mapfile -t kids < <(ls "$tmp"/r.zt.*.zt)
[ ${#kids[@]} -eq 2 ] || fail "expected 2 child records: ${kids[*]}"

# the tree from the parent's record, and from the three records named
check_text() { # $1: what was asked, then the output file
    local what=$1 f=$2
    grep -q "^processes: 3 records as a process tree" "$f" || fail "$what: no tree header: $(head -5 "$f")"
    # the parent at depth 0, two children indented under it
    local lines parent
    lines=$(sed -n '3,5p' "$f")
    parent=$(sed -n '3p' "$f" | sed -E 's/^[ *] ([0-9]+) .*/\1/')
    [ -n "$parent" ] && [ "$parent" -gt 0 ] || fail "$what: first row is not the parent: $lines"
    [ "$(grep -cE '^[ *]   [0-9]+ ' <<<"$lines")" -eq 2 ] || fail "$what: two children not indented: $lines"
    # the child that failed is the one reported in full, marked *
    grep -Eq '^\*   [0-9]+ .*scenario_children child +exited with status 3; first failure: NULL for' "$f" \
        || fail "$what: the failing child is not marked: $lines"
    grep -q "^reported below: pid [0-9]*.*the first process that failed an allocation" "$f" \
        || fail "$what: no 'reported below' line"
    grep -Eq "^zonetrace report: .*/r\.zt\.[0-9]+\.zt$" "$f" || fail "$what: the full report is not a child's"
    grep -q "^ended: *exited with status 3" "$f" || fail "$what: the full report is not the failing child's"
}
"$zt" report "$tmp/r.zt" >"$tmp/tree.txt" 2>"$tmp/tree.err" || fail "report parent: $(cat "$tmp/tree.err")"
[ ! -s "$tmp/tree.err" ] || fail "report parent: stderr: $(cat "$tmp/tree.err")"
check_text "parent's record" "$tmp/tree.txt"
"$zt" report "${kids[1]}" "$tmp/r.zt" "${kids[0]}" >"$tmp/abc.txt" 2>"$tmp/abc.err" || fail "report A B C: $(cat "$tmp/abc.err")"
check_text "three records" "$tmp/abc.txt"
diff <(sed -n '1,6p' "$tmp/tree.txt") <(sed -n '1,6p' "$tmp/abc.txt") >/dev/null \
    || fail "the tree differs when the records are named: $(diff <(sed -n '1,6p' "$tmp/tree.txt") <(sed -n '1,6p' "$tmp/abc.txt"))"

# --pid: the parent's report instead
"$zt" report --pid "$(sed -n '3p' "$tmp/tree.txt" | sed -E 's/^[ *] ([0-9]+) .*/\1/')" "$tmp/r.zt" >"$tmp/pid.txt"
grep -q "^zonetrace report: $tmp/r.zt$" "$tmp/pid.txt" || fail "--pid did not pick the parent"
grep -q "chosen by --pid" "$tmp/pid.txt" || fail "--pid: no word of it"
if "$zt" report --pid 999999999 "$tmp/r.zt" >/dev/null 2>"$tmp/err"; then fail "--pid of no record succeeded"; fi
grep -q "^zonetrace: report: --pid 999999999: no readable record" "$tmp/err" || fail "--pid none: $(cat "$tmp/err")"

# JSON: the usual report plus 3 processes, the children's ppid the parent's pid
"$zt" report --format json "$tmp/r.zt" >"$tmp/tree.json"
python3 - "$tmp/tree.json" <<'PY' || fail "json: see above"
import json, sys
d = json.load(open(sys.argv[1]))
p = d["processes"]
assert len(p) == 3, p
root = p[0]
assert root["depth"] == 0 and root["parent_record"] is None, root
for c in p[1:]:
    assert c["ppid"] == root["pid"] and c["depth"] == 1 and c["parent_record"] == root["record"], c
rep = [x for x in p if x["reported"]]
assert len(rep) == 1 and rep[0]["pid"] == d["pid"] and rep[0]["first_failure"], rep
assert d["unreadable"] == []
assert d["format"] == "zonetrace-report" and "stacks" in d
PY

# folded: every process's stacks, prefixed by name and pid
"$zt" report --format folded "$tmp/r.zt" >"$tmp/tree.folded"
[ "$(sed -E 's/^scenario_children;pid ([0-9]+);.*/\1/' "$tmp/tree.folded" | sort -u | wc -l)" -eq 3 ] \
    || fail "folded: not 3 processes: $(cat "$tmp/tree.folded")"
grep -vEq '^scenario_children;pid [0-9]+;.*main.* [0-9]+$' "$tmp/tree.folded" \
    && fail "folded: a line without the prefix: $(cat "$tmp/tree.folded")"

# HTML: the tree table
"$zt" report --format html -o "$tmp/tree.html" "$tmp/r.zt"
[ "$(grep -c '^<tr><td style="padding-left' "$tmp/tree.html")" -eq 3 ] || fail "html: not 3 process rows"

# a lone record: the report as before (no tree)
"$zt" run -o "$tmp/one.zt" -- true 2>/dev/null
"$zt" report "$tmp/one.zt" >"$tmp/one.txt"
head -1 "$tmp/one.txt" | grep_q "^zonetrace report: $tmp/one.zt$" || fail "a lone record: $(head -2 "$tmp/one.txt")"
"$zt" report --format json "$tmp/one.zt" | grep_q '"processes"' && fail "a lone record's JSON has processes"

# a wrapper that execs the program (env, then sh with a newline in its
# script, as `python3 -c` scripts have): with no trouble, the program's last
# image is reported in full, not env; the newline is shown as \n, so every
# process is one line of the tree
"$zt" run -o "$tmp/w.zt" -- env sh -c 'true
exit 0' >/dev/null 2>"$tmp/w.err" || fail "run env sh: $(cat "$tmp/w.err")"
"$zt" report "$tmp/w.zt" >"$tmp/w.txt" 2>"$tmp/w.err" || fail "report env sh: $(cat "$tmp/w.err")"
grep -q "^processes: 2 records as a process tree" "$tmp/w.txt" || fail "env sh: $(head -4 "$tmp/w.txt")"
grep -q '^\* [0-9]* .* sh -c true\\nexit 0 ' "$tmp/w.txt" || fail "env sh: sh not marked, or its newline raw: $(sed -n '2,5p' "$tmp/w.txt")"
grep -q "^reported below: pid [0-9]* (sh), the program, the last image" "$tmp/w.txt" || fail "env sh: $(grep '^reported' "$tmp/w.txt")"
grep -q '^command: .* -c true\\nexit 0 *(pid' "$tmp/w.txt" || fail "env sh: command line: $(grep -A1 '^command' "$tmp/w.txt")"
"$zt" report --only "$tmp/w.zt" >"$tmp/wo.txt" || fail "--only failed"
grep -q "^processes:" "$tmp/wo.txt" && fail "--only: the tree is shown"
grep -q "^ended: *replaced by exec" "$tmp/wo.txt" || fail "--only: not env's own record: $(grep '^ended' "$tmp/wo.txt")"
"$zt" report --only "$tmp/w.zt" "$tmp/w.zt" >/dev/null 2>&1 && fail "--only with two records accepted"

# a driver and its workers (gcc, cc1, as): gcc is reported (no trouble), and
# the line under it names cc1, the largest peak heap
if command -v gcc >/dev/null; then
    echo 'int f(void) { return 1; }' >"$tmp/f.c"
    "$zt" run -o "$tmp/g.zt" -- gcc -c "$tmp/f.c" -o "$tmp/f.o" >/dev/null 2>"$tmp/g.err" || fail "run gcc: $(cat "$tmp/g.err")"
    "$zt" report "$tmp/g.zt" >"$tmp/g.txt" 2>"$tmp/g.err" || fail "report gcc: $(cat "$tmp/g.err")"
    grep -q "^reported below: pid [0-9]* (gcc" "$tmp/g.txt" || fail "gcc: $(grep -A1 '^reported' "$tmp/g.txt")"
    grep -Eq "^ +the largest peak heap is pid ([0-9]+) \(cc1, .*\): zonetrace report --pid \1$" "$tmp/g.txt" ||
        fail "gcc: cc1 not named as the largest: $(grep -A1 '^reported' "$tmp/g.txt")"
fi

# a truncated child record among them (the one that did not fail): one error
# line naming it, the rest reported, exit non-zero
failed=$(python3 -c 'import json,sys; print([p["record"] for p in json.load(open(sys.argv[1]))["processes"] if p["reported"]][0])' "$tmp/tree.json")
if [ "$failed" = "${kids[0]}" ]; then kids=("${kids[1]}" "${kids[0]}"); fi
head -c 3000 "${kids[0]}" >"$tmp/cut" && mv "$tmp/cut" "${kids[0]}"
for args in "$tmp/r.zt" "$tmp/r.zt ${kids[0]} ${kids[1]}"; do
    rc=0
    # shellcheck disable=SC2086
    "$zt" report $args >"$tmp/cut.txt" 2>"$tmp/cut.err" || rc=$?
    [ $rc -ne 0 ] || fail "truncated ($args): exit 0"
    [ "$(wc -l <"$tmp/cut.err")" -eq 1 ] || fail "truncated ($args): expected one error line: $(cat "$tmp/cut.err")"
    grep -q "^zonetrace: ${kids[0]}: truncated" "$tmp/cut.err" || fail "truncated ($args): $(cat "$tmp/cut.err")"
    grep -q "^processes: 2 records as a process tree" "$tmp/cut.txt" || fail "truncated ($args): $(head -6 "$tmp/cut.txt")"
    grep -q "^  unreadable: ${kids[0]}: truncated" "$tmp/cut.txt" || fail "truncated ($args): not listed"
    grep -q "^ended: *exited with status 3" "$tmp/cut.txt" || fail "truncated ($args): no full report"
done
rc=0
"$zt" report --format json "$tmp/r.zt" >"$tmp/cut.json" 2>/dev/null || rc=$?
[ $rc -ne 0 ] || fail "truncated json: exit 0"
python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); assert len(d["processes"])==2 and len(d["unreadable"])==1, d["unreadable"]' "$tmp/cut.json" \
    || fail "truncated json"
echo "test_report_tree: ok"
