#!/usr/bin/env bash
# Every report view honours --top, --depth, --by and --sort (issue 14), on a
# record of scenario_views (four sites of known live size, 64 x 70000 B >
# 64 x 5000 B > 64 x 600 B in its own zone "views-zone" > 64 x 48 B, each
# under the same seven-level chain, so each site's stack has nine user
# frames):
#  - --top 1 / --top 3 give exactly one / three stacks in text (the stack
#    lines), JSON (stacks[] and view.rows), folded (lines) and HTML (the
#    embedded document's stacks and data-top), the biggest site first;
#    without --top, JSON and folded keep every stack and HTML at most 100;
#  - --depth 1 / --depth 5 give that many frames per stack in each format
#    (text: one line per frame plus "... N more frames");
#  - --by zone / --by class: the rows of that dimension, --top of them, in
#    each format (text headers, JSON view.rows, folded "ZONE" / "ZONE;CLASS"
#    lines, the HTML's embedded rows and heading); --sort count reorders
#    them by allocations;
#  - --sort count ranks the stacks by allocations in JSON, folded and HTML;
#  - bad values of --top, --depth, --by, --sort, --format: exit 2 with one
#    line naming the flag and the value.
set -uo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/../pipe.bash"  # grep_q: no SIGPIPE under pipefail
: "${ZT_BUILD:?ZT_BUILD must point at the build directory}"
zt="$ZT_BUILD/zonetrace"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail() { echo "test_views: FAIL: $*" >&2; exit 1; }

"$zt" run --stacks full -o "$tmp/v.zt" -- "$ZT_BUILD/scenario_views" >/dev/null 2>"$tmp/run.err" ||
    fail "scenario_views failed: $(cat "$tmp/run.err")"
rec="$tmp/v.zt"

report() { # OUT ARGS...: the report into OUT, failing the test if it fails
    local out=$1
    shift
    "$zt" report "$rec" "$@" >"$out" 2>"$tmp/err" || fail "report $*: $(cat "$tmp/err")"
}

# The HTML report's embedded JSON document, for python.
html_json() { # HTML -> JSON on stdout
    python3 -c '
import re, sys
h = open(sys.argv[1]).read()
m = re.search(r"<script id=\"zt-data\" type=\"application/json\">\n(.*?)</script>", h, re.S)
print(m.group(1) if m else "{}")' "$1"
}

# ---- --top -------------------------------------------------------------
for n in 1 3; do
    report "$tmp/t.txt" --top $n
    got=$(sed -n '/^top stacks/,/^footprint/p' "$tmp/t.txt" | grep -cE '^  #[0-9]+ ')
    [ "$got" = $n ] || fail "text --top $n shows $got stacks"
    grep -q "^top stacks by live bytes ($n of " "$tmp/t.txt" || fail "text --top $n header"

    report "$tmp/t.json" --format json --top $n
    report "$tmp/t.folded" --format folded --top $n
    report "$tmp/t.html" --format html --top $n
    html_json "$tmp/t.html" >"$tmp/th.json"
    grep -q "<body data-top=\"$n\">" "$tmp/t.html" || fail "html --top $n: data-top"
    python3 - "$n" "$tmp/t.json" "$tmp/t.folded" "$tmp/th.json" <<'PY' || fail "--top $n (above)"
import json, sys
n = int(sys.argv[1])
bad = []
for what, path in (("json", sys.argv[2]), ("html", sys.argv[4])):
    d = json.load(open(path))
    st = d["stacks"]
    if len(st) != n:
        bad.append("%s --top %d: %d stacks" % (what, n, len(st)))
    if len(d["view"]["rows"]) != n or d["view"]["top"] != n:
        bad.append("%s --top %d: view %s" % (what, n, d["view"]))
    if st and st[0]["frames"][0]["function"] != "views_leaf":
        bad.append("%s: first stack's frame is %s" % (what, st[0]["frames"][0]["function"]))
    if st and st[0]["live_bytes"] < 64 * 70000:
        bad.append("%s: first stack holds %d live bytes, not the 70000 B site's" %
                   (what, st[0]["live_bytes"]))
    costs = [s["cost"] for s in st]
    if costs != sorted(costs, reverse=True):
        bad.append("%s: stacks not ranked by cost: %s" % (what, costs))
lines = open(sys.argv[3]).read().splitlines()
if len(lines) != n:
    bad.append("folded --top %d: %d lines" % (n, len(lines)))
if lines and not lines[0].split(" ")[0].endswith(";views_leaf"):
    bad.append("folded: first line %s" % lines[0])
if bad:
    print("\n".join(bad), file=sys.stderr)
    sys.exit(1)
PY
done

# Without --top: JSON and folded keep every stack, the HTML at most 100.
report "$tmp/all.json" --format json
report "$tmp/all.folded" --format folded
report "$tmp/all.html" --format html
html_json "$tmp/all.html" >"$tmp/allh.json"
python3 - "$tmp/all.json" "$tmp/all.folded" "$tmp/allh.json" <<'PY' || fail "defaults (above)"
import json, sys
d = json.load(open(sys.argv[1]))
h = json.load(open(sys.argv[3]))
bad = []
if d["view"]["top"] is not None or len(d["stacks"]) != d["view"]["stacks_total"]:
    bad.append("json without --top: %d of %d stacks" % (len(d["stacks"]), d["view"]["stacks_total"]))
if len(d["stacks"]) < 5:
    bad.append("json: only %d stacks (scenario_views has at least 5)" % len(d["stacks"]))
live = [s for s in d["stacks"] if s["cost"] > 0]
if len(open(sys.argv[2]).read().splitlines()) != len(live):
    bad.append("folded without --top is not one line per stack with a cost")
if h["view"]["top"] != 100 or len(h["stacks"]) != min(100, len(live)):
    bad.append("html without --top: top %s, %d stacks" % (h["view"]["top"], len(h["stacks"])))
if bad:
    print("\n".join(bad), file=sys.stderr)
    sys.exit(1)
PY

# ---- --depth -----------------------------------------------------------
for dep in 1 5; do
    report "$tmp/d.txt" --top 3 --depth $dep
    # Frames: the "at" line and the indented lines under it, per stack.
    counts=$(sed -n '/^top stacks/,/^footprint/p' "$tmp/d.txt" | awk '
        /^  #[0-9]+ / { if (n) print n; n = 0; next }
        /^         at / { n++; next }
        /^            [^ .]/ { n++ }
        END { if (n) print n }' | sort -u | tr '\n' ' ')
    [ "$counts" = "$dep " ] || fail "text --depth $dep: frames per stack: $counts"
    grep -q "^            \.\.\. $((9 - dep)) more frames" "$tmp/d.txt" ||
        fail "text --depth $dep does not say how many frames it left out"

    report "$tmp/d.json" --format json --top 3 --depth $dep
    report "$tmp/d.folded" --format folded --top 3 --depth $dep
    report "$tmp/d.html" --format html --top 3 --depth $dep
    html_json "$tmp/d.html" >"$tmp/dh.json"
    python3 - "$dep" "$tmp/d.json" "$tmp/d.folded" "$tmp/dh.json" <<'PY' || fail "--depth $dep (above)"
import json, sys
dep = int(sys.argv[1])
bad = []
for what, path in (("json", sys.argv[2]), ("html", sys.argv[4])):
    d = json.load(open(path))
    if d["view"]["depth"] != dep:
        bad.append("%s: view.depth %s" % (what, d["view"]["depth"]))
    for s in d["stacks"]:
        fr = s["frames"]
        if len(fr) != dep or not all(f["user"] for f in fr):
            bad.append("%s --depth %d: stack %d has %d frames" % (what, dep, s["id"], len(fr)))
        elif fr[0]["function"] != "views_leaf":
            bad.append("%s: innermost kept frame is %s" % (what, fr[0]["function"]))
        if fr and fr[0].get("function_full") != fr[0]["function"]:
            bad.append("%s: a C name's function_full differs: %s" % (what, fr[0]))
for line in open(sys.argv[3]).read().splitlines():
    frames = line.rsplit(" ", 1)[0].split(";")
    if len(frames) != dep or frames[-1] != "views_leaf":
        bad.append("folded --depth %d: %s" % (dep, line))
if bad:
    print("\n".join(bad), file=sys.stderr)
    sys.exit(1)
PY
done

# ---- --by zone / class, and --sort ---------------------------------------
report "$tmp/z.txt" --by zone --top 1
grep -cE '^zone [^ ]+: ' "$tmp/z.txt" | grep_q -x 1 ||
    fail "text --by zone --top 1: $(grep -E '^zone [^ ]+: ' "$tmp/z.txt")"
grep -q "^zones by live: 1 of " "$tmp/z.txt" || fail "text --by zone --top 1: no 'zones by live: 1 of' line"
grep -q "^zone MallocHelperZone:" "$tmp/z.txt" || fail "text --by zone: the biggest zone is not first"
report "$tmp/c.txt" --by class --top 2
grep -q "^size classes by live bytes (2 of " "$tmp/c.txt" || fail "text --by class --top 2 header"
[ "$(sed -n '/^size classes by/,/^footprint/p' "$tmp/c.txt" | grep -cE '^  [a-z]+-[0-9]+ ')" = 2 ] ||
    fail "text --by class --top 2 rows"
report "$tmp/cc.txt" --by class --sort count --top 3
grep -q "^size classes by allocations (3 of " "$tmp/cc.txt" ||
    fail "text --by class --sort count header: $(grep '^size classes' "$tmp/cc.txt")"

for by in zone class; do
    report "$tmp/b.json" --format json --by $by --top 2
    report "$tmp/bc.json" --format json --by $by --sort count
    report "$tmp/b.folded" --format folded --by $by --top 2
    report "$tmp/b.html" --format html --by $by --top 2
    html_json "$tmp/b.html" >"$tmp/bh.json"
    python3 - "$by" "$tmp/b.json" "$tmp/b.folded" "$tmp/bh.json" "$tmp/bc.json" <<'PY' ||
import json, sys
by = sys.argv[1]
bad = []
for what, path in (("json", sys.argv[2]), ("html", sys.argv[4])):
    v = json.load(open(path))["view"]
    if v["by"] != by or len(v["rows"]) != 2:
        bad.append("%s --by %s --top 2: by %s, %d rows" % (what, by, v["by"], len(v["rows"])))
        continue
    if v["rows"][0]["zone_name"] != "MallocHelperZone" or v["rows"][0]["cost"] < 64 * 70000:
        bad.append("%s --by %s: first row %s" % (what, by, v["rows"][0]))
    if by == "class" and not all("class" in r and "name" in r for r in v["rows"]):
        bad.append("%s --by class rows have no class" % what)
    costs = [r["cost"] for r in v["rows"]]
    if costs != sorted(costs, reverse=True) or costs != [r["live_bytes"] for r in v["rows"]]:
        bad.append("%s --by %s: rows not ranked by live bytes: %s" % (what, by, costs))
v = json.load(open(sys.argv[5]))["view"]
costs = [r["cost"] for r in v["rows"]]
if v["rows_sort"] != "count" or costs != [r["total_blocks"] for r in v["rows"]] or \
        costs != sorted(costs, reverse=True):
    bad.append("json --by %s --sort count: %s %s" % (by, v["rows_sort"], costs))
lines = open(sys.argv[3]).read().splitlines()
want_semis = 0 if by == "zone" else 1
if len(lines) != 2 or any(l.rsplit(" ", 1)[0].count(";") != want_semis for l in lines):
    bad.append("folded --by %s --top 2: %s" % (by, lines))
if lines and not lines[0].startswith("MallocHelperZone"):
    bad.append("folded --by %s: first line %s" % (by, lines[0]))
if bad:
    print("\n".join(bad), file=sys.stderr)
    sys.exit(1)
PY
        fail "--by $by (above)"
done
grep -q "<h2>Zones by live" <("$zt" report "$rec" --format html --by zone) || fail "html --by zone heading"
"$zt" report "$rec" --format folded --by class | grep_q "^views-zone;tiny-608 " ||
    fail "folded --by class has no views-zone;tiny-608 line (the 600 B site in its own zone)"

# --sort count ranks the stacks by allocations in every machine format.
report "$tmp/s.json" --format json --sort count --top 2
report "$tmp/s.folded" --format folded --sort count --top 2
report "$tmp/s.html" --format html --sort count --top 2
html_json "$tmp/s.html" >"$tmp/sh.json"
python3 - "$tmp/s.json" "$tmp/s.folded" "$tmp/sh.json" "$tmp/all.json" <<'PY' || fail "--sort count (above)"
import json, sys
full = json.load(open(sys.argv[4]))["stacks"]
want = sorted((s for s in full if s["total_blocks"]), key=lambda s: (-s["total_blocks"], s["id"]))[:2]
bad = []
for what, path in (("json", sys.argv[1]), ("html", sys.argv[3])):
    d = json.load(open(path))
    got = [(s["id"], s["cost"]) for s in d["stacks"]]
    if d["sort"] != "count" or got != [(s["id"], s["total_blocks"]) for s in want]:
        bad.append("%s --sort count: %s, want %s" % (what, got, [(s["id"], s["total_blocks"]) for s in want]))
costs = [int(l.rsplit(" ", 1)[1]) for l in open(sys.argv[2]).read().splitlines()]
if costs != [s["total_blocks"] for s in want]:
    bad.append("folded --sort count costs %s" % costs)
if bad:
    print("\n".join(bad), file=sys.stderr)
    sys.exit(1)
PY

# ---- bad values: one line naming the flag, exit 2 --------------------------
for args in "--top 0" "--top x" "--top -1" "--depth 0" "--depth x" "--depth 1001" "--depth=-2" \
    "--by file" "--sort size" "--format pdf"; do
    flag=${args%%[ =]*}
    value=${args#*[ =]}
    # shellcheck disable=SC2086
    "$zt" report "$rec" $args >"$tmp/out" 2>"$tmp/err"
    rc=$?
    [ $rc = 2 ] || fail "report $args: exit $rc, expected 2"
    [ "$(wc -l <"$tmp/err")" = 1 ] || fail "report $args: not one line: $(cat "$tmp/err")"
    grep -qF -- "$flag $value" "$tmp/err" || fail "report $args: does not name '$flag $value': $(cat "$tmp/err")"
    [ -s "$tmp/out" ] && fail "report $args wrote a report anyway"
done
echo "test_views: ok"
