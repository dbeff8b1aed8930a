#!/usr/bin/env bash
# End to end (issue 14): a double free and two invalid frees (a pointer
# 16 bytes into a block, the address of a local variable) under
# `zonetrace run`, on native and two device profiles (iOS 12's nano v2 and
# iOS 26's xzone). Each must still abort as libmalloc does (SIGABRT, exit
# status 134, libmalloc's "*** error for object" line: libmalloc-166.220.1
# src/malloc.c:1739-1760), and now also:
#  - stderr says what happened in words, naming the allocation (stack id and
#    image+offset) and the first free, without a raw caller address alone;
#  - the report (text, JSON, HTML) headline says "double free of a 64 B
#    block allocated at df_alloc (…) (first freed at df_first_free (…))",
#    or "invalid free of 0x… (a stack address / inside the heap …)", and
#    names the function that made the bad call;
#  - the crash stack leads with the program's frame that called free, not
#    with abort's, raise's, free's or zonetrace's own frames.
# With --on-error report the program goes on and the report still says it.
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/../pipe.bash"  # grep_q: no SIGPIPE under pipefail
: "${ZT_BUILD:?ZT_BUILD must point at the build directory}"
zt="$ZT_BUILD/zonetrace"
prog="$ZT_BUILD/scenario_double_free"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail() { echo "test_double_free: FAIL: $*" >&2; exit 1; }

# run DEVICE CASE [ARGS...]: expect an abort; leaves $tmp/r.zt, $tmp/run.err
run_abort() {
    local device=$1
    shift
    local rc=0
    "$zt" run --device "$device" -o "$tmp/r.zt" -- "$prog" "$@" >"$tmp/run.out" 2>"$tmp/run.err" \
        || rc=$?
    [ "$rc" = 134 ] || fail "$device $*: exit status $rc, not 134 (SIGABRT): $(cat "$tmp/run.err")"
    grep -q "malloc: \*\*\* error for object 0x[0-9a-f]*: pointer being freed was not allocated" \
        "$tmp/run.err" || fail "$device $*: libmalloc's line is missing: $(cat "$tmp/run.err")"
    grep -q "called from scenario_double_free+0x[0-9a-f]*;" "$tmp/run.err" \
        || fail "$device $*: the caller is not named as image+offset: $(cat "$tmp/run.err")"
}

# report_check CASE HEAD_REGEX BAD_CALLER: text, JSON and HTML agree.
report_check() {
    local what=$1 head=$2 caller=$3
    "$zt" report "$tmp/r.zt" >"$tmp/r.txt" 2>"$tmp/rep.err" || fail "$what: report: $(cat "$tmp/rep.err")"
    # The diagnosis is wrapped over lines: join them.
    local diag
    diag=$(awk '/^diagnosis:/{on=1} on&&/^$/{exit} on' "$tmp/r.txt" | sed 's/^ *//; s/^diagnosis: //' | tr '\n' ' ')
    echo "$diag" | grep -Eq "$head" || fail "$what: text diagnosis is '$diag', wanted /$head/"
    echo "$diag" | grep_q "called at $caller " || fail "$what: text diagnosis lacks $caller: '$diag'"
    grep -q "crashed with SIGABRT; no allocation failed" "$tmp/r.txt" \
        && fail "$what: the old headline is still there"
    # The crash stack: first line after "ended:" is "at <the bad caller>".
    grep -A1 "^ended:" "$tmp/r.txt" | grep_q "^ *at $caller (double_free.c" \
        || fail "$what: crash stack does not lead with $caller: $(grep -A4 '^ended:' "$tmp/r.txt")"
    "$zt" report "$tmp/r.zt" --format json -o "$tmp/r.json" || fail "$what: json report"
    python3 - "$tmp/r.json" "$head" "$caller" "$what" <<'PY' || fail "$what: JSON: see above"
import json, re, sys
d = json.load(open(sys.argv[1]))
head, caller, what = sys.argv[2], sys.argv[3], sys.argv[4]
bad = []
if not re.search(head, d["diagnosis"]):
    bad.append("diagnosis %r" % d["diagnosis"])
t = d["termination"]
if t["signal_name"] != "SIGABRT":
    bad.append("signal %r" % t["signal_name"])
user = [f for f in t["fault_stack"]["frames"] if f["user"]]
if not user or user[0]["function"] != caller:
    bad.append("crash stack leads with %r" % (user[0]["function"] if user else None))
for f in user:
    fn = f["function"] or ""
    if fn in ("free", "abort", "raise") or fn.startswith(("zt_", "__pthread_kill", "__GI_")) \
            or f["module"].startswith("libzonetrace"):
        bad.append("allocator frame %r in the crash stack" % fn)
ev = [e for e in d["events"] if e["type"] == "bad_free"]
if len(ev) != 1:
    bad.append("%d bad_free events" % len(ev))
else:
    b = ev[0]["bad_free"]
    if b["what"] != what:
        bad.append("bad_free.what %r, wanted %r" % (b["what"], what))
    if what == "double_free":
        first = lambda fr: [f["function"] for f in fr if f["user"]][:1]
        if not b["allocated_by"] or first(b["allocated_by"]) != ["df_alloc"]:
            bad.append("allocated_by %r" % b["allocated_by"])
        if not b["first_freed_by"] or first(b["first_freed_by"]) != ["df_first_free"]:
            bad.append("first_freed_by %r" % b["first_freed_by"])
        if ev[0]["size"] != 64:
            bad.append("size %r" % ev[0]["size"])
if bad:
    print("test_double_free: " + "; ".join(bad), file=sys.stderr)
    sys.exit(1)
PY
    "$zt" report "$tmp/r.zt" --format html -o "$tmp/r.html" || fail "$what: html report"
    grep -Eq "class=\"diag\">${head#^}" "$tmp/r.html" \
        || fail "$what: HTML diagnosis: $(grep -o 'class="diag">[^<]*' "$tmp/r.html")"
}

for device in native iphone6 iphone12-ios26; do
    run_abort "$device" double
    grep -Eq "zonetrace: double free of 0x[0-9a-f]+ \(a 64 B block allocated by stack #[0-9]+ at scenario_double_free\+0x[0-9a-f]+, first freed at scenario_double_free\+0x[0-9a-f]+\); see the report: zonetrace report $tmp/r.zt" \
        "$tmp/run.err" || fail "$device double: stderr: $(cat "$tmp/run.err")"
    report_check double_free \
        "^double free of a 64 B block allocated at df_alloc \(double_free.c:[0-9]+\) \(first freed at df_first_free \(double_free.c:[0-9]+\)\)" \
        df_second_free

    run_abort "$device" interior
    grep -Eq "zonetrace: invalid free of 0x[0-9a-f]+ \(inside the heap, not a block's start\)" \
        "$tmp/run.err" || fail "$device interior: stderr: $(cat "$tmp/run.err")"
    report_check interior "^invalid free of 0x[0-9a-f]+ \(inside the heap, not a block's start\)" \
        df_interior_free

    run_abort "$device" stack
    grep -Eq "zonetrace: invalid free of 0x[0-9a-f]+ \(a stack address\)" "$tmp/run.err" \
        || fail "$device stack: stderr: $(cat "$tmp/run.err")"
    report_check stack "^invalid free of 0x[0-9a-f]+ \(a stack address\)" df_stack_free
done

# A tiny (non-nano) and a large block on native: other allocators, the same story.
for bytes in 4000 300000; do
    run_abort native double "$bytes"
    grep -Eq "zonetrace: double free of 0x[0-9a-f]+ \(a [0-9]+ B block allocated by stack #[0-9]+ at scenario_double_free\+0x[0-9a-f]+, first freed at" \
        "$tmp/run.err" || fail "double $bytes: stderr: $(cat "$tmp/run.err")"
    "$zt" report "$tmp/r.zt" --format json -o "$tmp/r.json"
    python3 -c 'import json,re,sys; d=json.load(open(sys.argv[1])); sys.exit(0 if re.match(r"double free of a \S+ \S+ block allocated at df_alloc .*first freed at df_first_free", d["diagnosis"]) else 1)' \
        "$tmp/r.json" || fail "double $bytes: diagnosis: $(grep diagnosis "$tmp/r.json")"
done

# --on-error report: no abort; the report still leads with the double free.
"$zt" run --on-error report -o "$tmp/r.zt" -- "$prog" double >"$tmp/run.out" 2>"$tmp/run.err" \
    || fail "on-error report: exit status $?: $(cat "$tmp/run.err")"
grep -q "double_free: survived" "$tmp/run.out" || fail "on-error report: the program did not go on"
"$zt" report "$tmp/r.zt" >"$tmp/r.txt"
grep -A2 "^diagnosis:" "$tmp/r.txt" | tr '\n' ' ' | grep_q "double free of a 64 B block allocated at df_alloc.*went on" \
    || fail "on-error report: $(grep -A2 '^diagnosis:' "$tmp/r.txt")"

# Stacks off (a record, no stacks): the double free is still named, its allocation unknown.
"$zt" run --stacks off -o "$tmp/r.zt" -- "$prog" double >/dev/null 2>"$tmp/run.err" || true
grep -q "zonetrace: double free of 0x[0-9a-f]* (where it was allocated is not known" "$tmp/run.err" \
    || fail "stacks off: stderr: $(cat "$tmp/run.err")"
"$zt" report "$tmp/r.zt" | grep_q "^diagnosis: double free of 0x[0-9a-f]* (where it was allocated was not recorded)" \
    || fail "stacks off: $(grep -A1 '^diagnosis' <("$zt" report "$tmp/r.zt"))"
echo "test_double_free: ok"
