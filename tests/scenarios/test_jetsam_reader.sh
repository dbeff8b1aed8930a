#!/usr/bin/env bash
# `zonetrace jetsam` on the JetsamEvent reports in tests/jetsam/ (written
# from the documented field list; tests/jetsam/README.md says what each
# holds): exact footprints (rpages × pageSize) and implied limits, the
# suggested run, --process and --all, JSON that parses, the folder mode
# (one line per event, the limit range, bad files reported and the rest
# still read), and every damaged or foreign file as one line and exit 2,
# never a crash. Skips (77) the JSON checks when python3 is missing.
set -uo pipefail
: "${ZT_BUILD:?ZT_BUILD must point at the build directory}"
src=${ZT_SRC:-$(cd "$(dirname "$0")/../.." && pwd)}
zt="$ZT_BUILD/zonetrace"
dir="$src/tests/jetsam"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
export LC_ALL=C.UTF-8
failures=0
passes=0
skipped=
fail() { echo "test_jetsam_reader: FAIL: $*" >&2; failures=$((failures + 1)); }
pass() { passes=$((passes + 1)); }
have_python=true
command -v python3 >/dev/null 2>&1 || { have_python=false; skipped="python3 not found: JSON not checked"; }

# run ARGS...: zonetrace into $tmp/out, $tmp/err; $rc; a signal is a failure.
run() {
    "$zt" "$@" >"$tmp/out" 2>"$tmp/err"
    rc=$?
    [ $rc -lt 128 ] || fail "zonetrace $*: died of signal $((rc - 128))"
}
# has TEXT: the last output contains TEXT (fixed string).
has() { grep -qF -- "$1" "$tmp/out" && pass || fail "$label: no '$1' in: $(head -c 3000 "$tmp/out")"; }
hasnt() { grep -qF -- "$1" "$tmp/out" && fail "$label: unexpected '$1'" || pass; }
# narrow: every output line fits in 100 terminal columns (wc -L: display
# width, a CJK character is 2).
narrow() {
    local w
    w=$(wc -L <"$tmp/out")
    [ "$w" -le 100 ] && pass || fail "$label: a line of $w columns: $(cat "$tmp/out")"
}
# one_error PATTERN: exit 2, nothing on stdout, exactly one "zonetrace: ..." line matching.
one_error() {
    [ $rc -eq 2 ] || fail "$label: exit $rc, expected 2"
    [ ! -s "$tmp/out" ] || fail "$label: output on stdout: $(head -c 300 "$tmp/out")"
    if [ "$(wc -l <"$tmp/err")" -ne 1 ] || ! grep -q "^zonetrace: .*$1" "$tmp/err"; then
        fail "$label: expected one line 'zonetrace: ...$1', got: $(head -c 600 "$tmp/err")"
    else
        pass
    fi
}

# ---- one report: iOS 14, 16 KiB pages, a per-process-limit kill ----------
label=ios14
run jetsam "$dir/ios14_per_process_limit.ips"
[ $rc -eq 0 ] && [ ! -s "$tmp/err" ] && pass || fail "$label: exit $rc: $(cat "$tmp/err")"
has "device     iPhone12,1 = iPhone 11 (4 GB RAM)"
has "OS         iPhone OS 14.1, build 18A8395"
has "page size  16 KiB"
has "largest    MyApp"
has "19 processes, 2 killed (*); the 15 largest and every killed one"
has "MyApp (pid 1234), at the event:"
has "footprint 1.37 GiB = 89603 pages × 16384 B = $((89603 * 16384)) B = 1400.0 MB"
has "killed: per-process-limit, so its limit ≈ 1400 MB"
has "measured table: iPhone 11 killed at 2068 MB of 3844 MB (iOS 13.1.3)"
# No iPhone 11 profile: the 4 GB one, said to be another device.
has "suggest: zonetrace run --device iphonexs --memory-limit 1400M -- APP"
has "iphonexs is the iPhone XS (same RAM); it models iOS 12, this report is from iOS 14"
# The killed daemon far down the list is shown; three small ones are not.
grep -qE '^\*  3\.91 MiB +250 +330  tipsd +idle-exit \[daemon,idle\]$' "$tmp/out" && pass ||
    fail "$label: the idle-exit kill of tipsd (250 pages) is not listed"
grep -qE '^\*  1\.37 GiB +89603 +1234  MyApp +per-process-limit \[frontmost,resume\]$' "$tmp/out" &&
    pass || fail "$label: MyApp's row is not as expected"
has "(3 more, none killed)"
hasnt "wifid"
narrow
rows() { grep -cE '^[* ] +[0-9.]+ (B|KiB|MiB|GiB) ' "$tmp/out"; }
[ "$(rows)" -eq 16 ] && pass || fail "$label: expected 16 process rows, got $(rows)"
run jetsam "$dir/ios14_per_process_limit.ips" --all
[ "$(rows)" -eq 19 ] && pass || fail "--all: expected 19 process rows, got $(rows)"
label=--all has "wifid"

# ---- iOS 12 style: pageSize at the top of the body, 4 KiB pages -----------
label=ios12-4k
run jetsam "$dir/ios12_4k_highwater.ips"
[ $rc -eq 0 ] && pass || fail "$label: exit $rc: $(cat "$tmp/err")"
has "device     iPhone7,2 = iPhone 6 (1 GB RAM)"
has "OS         iPhone OS 12.4, build 16G77"
has "page size  4 KiB"
has "footprint 645 MiB = 165200 pages × 4096 B = $((165200 * 4096)) B = 645.3 MB"
has "its limit ≈ 645 MB"
has "11 processes, 3 killed (*), largest first"
grep -qE '^\*  20\.3 MiB +5200 +301  mediaplaybackd +highwater \[daemon\]$' "$tmp/out" && pass ||
    fail "$label: the highwater kill is not listed as one"
grep -qE '^\*   117 MiB +30000 +640  Maps +vm-pageshortage \[suspended\]$' "$tmp/out" && pass ||
    fail "$label: the vm-pageshortage kill is not listed as one"
has "suggest: zonetrace run --device iphone6 --memory-limit 645M -- APP"
hasnt "models iOS"
hasnt "is the"
narrow

# ---- --process: the app is not the largest, and was not killed at its limit
label=--process
run jetsam "$dir/iphone8_vm_pageshortage.ips" --process MyApp
[ $rc -eq 0 ] && pass || fail "$label: exit $rc: $(cat "$tmp/err")"
has "largest    com.apple.WebKit.WebContent"
has "MyApp (pid 990), at the event:"
has "footprint 625 MiB = 40000 pages × 16384 B = $((40000 * 16384)) B = 625.0 MB"
has "killed: vm-pageshortage; not a per-process-limit kill, so no limit follows"
hasnt "its limit ≈"
has "suggest: zonetrace run --device iphone8 --memory-limit 1364M -- APP"
has "--memory-limit from the measured table"
narrow
label=default-largest
run jetsam "$dir/iphone8_vm_pageshortage.ips"
has "com.apple.WebKit.WebContent (pid 700), at the event:"
has "(2 processes have this name; this is the largest)"
has "not killed in this event"
label=--process=absent
run jetsam "$dir/iphone8_vm_pageshortage.ips" --process=NoSuchApp
[ $rc -eq 0 ] && pass || fail "$label: exit $rc"
has "no process named NoSuchApp in this report"

# ---- the iPhone X's own profile (its model), and an unknown product --------
label=iphoneX
run jetsam "$dir/iphonex_no_profile.ips"
has "device     iPhone10,3 = iPhone X (3 GB RAM)"
has "footprint 1.36 GiB = 89090 pages × 16384 B = $((89090 * 16384)) B = 1392.0 MB"
has "suggest: zonetrace run --device iphonex --memory-limit 1392M -- APP"
hasnt "is the"
label=unknown-product
run jetsam "$dir/unknown_product.ips"
has "device     iPhone15,2"
has "its limit ≈ 3125 MB"
has "suggest: zonetrace run --memory-limit 3125M -- APP"
has "no device profile matches iPhone15,2"

# ---- JSON -------------------------------------------------------------------
if $have_python; then
    for f in ios14_per_process_limit ios12_4k_highwater iphone8_vm_pageshortage iphonex_no_profile \
        unknown_product; do
        run jetsam "$dir/$f.ips" --format json --process MyApp
        python3 -m json.tool "$tmp/out" >/dev/null 2>&1 && pass ||
            fail "$f --format json does not parse: $(head -c 400 "$tmp/out")"
    done
    run jetsam "$dir/ios12_4k_highwater.ips" --format json
    python3 - "$tmp/out" <<'PY' && pass || fail "ios12 JSON: wrong numbers"
import json, sys
d = json.load(open(sys.argv[1]))
r = d["reports"][0]
assert r["page_size"] == 4096 and r["product"] == "iPhone7,2" and r["build"] == "16G77"
assert r["device_name"] == "iPhone 6" and r["largest_process"] == "MyApp"
assert all(p["footprint_bytes"] == p["rpages"] * 4096 for p in r["processes"])
assert [p["rpages"] for p in r["processes"]] == sorted((p["rpages"] for p in r["processes"]), reverse=True)
assert len(r["processes"]) == 11 and sum(p["killed"] for p in r["processes"]) == 3
assert r["process"]["name"] == "MyApp" and r["process"]["footprint_bytes"] == 165200 * 4096
assert r["implied_limit_mb"] == 645
s = r["suggestion"]
assert s["device"] == "iphone6" and s["memory_limit_mb"] == 645
assert s["command"] == "zonetrace run --device iphone6 --memory-limit 645M -- APP"
assert d["errors"] == [] and d["skipped"] == []
PY
    run jetsam "$dir" --format json --process MyApp
    [ $rc -eq 2 ] && pass || fail "folder --format json: exit $rc, expected 2 (bad files)"
    python3 - "$tmp/out" <<'PY' && pass || fail "folder JSON: wrong content: $(head -c 800 "$tmp/out")"
import json, sys
d = json.load(open(sys.argv[1]))
assert len(d["reports"]) == 7, len(d["reports"])
assert [s.rsplit("/", 1)[1] for s in d["skipped"]] == ["crash_309.ips"]
assert sorted(e["file"].rsplit("/", 1)[1] for e in d["errors"]) == [
    "bad_absurd_rpages.ips", "bad_no_pagesize.ips", "bad_not_json.ips", "bad_truncated.ips"]
lim = {(l["process"], l["product"]): (l["min_mb"], l["max_mb"], l["kills"]) for l in d["limits"]}
assert lim[("MyApp", "iPhone10,4")] == (1364, 1366, 2), lim
assert lim[("MyApp", "iPhone7,2")] == (645, 645, 1)
assert lim[("MyApp", "iPhone12,1")] == (1400, 1400, 1)
assert ("BigGame", "iPhone10,3") not in lim  # --process MyApp
PY
fi

# ---- several files and folders -----------------------------------------------
label=two-files
run jetsam "$dir/iphone8_limit_a.ips" "$dir/iphone8_limit_b.ips"
[ $rc -eq 0 ] && [ ! -s "$tmp/err" ] && pass || fail "$label: exit $rc: $(cat "$tmp/err")"
has "every report: iPhone10,4 = iPhone 8, iPhone OS 12.1, build 16B92"
has "limit of MyApp on iPhone10,4 (iPhone 8): ≈ 1364 .. 1366 MB (2 per-process-limit kills)"
has "suggest: zonetrace run --device iphone8 --memory-limit 1364M -- APP"
narrow
label=folder
run jetsam "$dir" --process MyApp
[ $rc -eq 2 ] && pass || fail "$label: exit $rc, expected 2 (4 bad files)"
[ "$(wc -l <"$tmp/err")" -eq 4 ] && pass || fail "$label: expected 4 error lines: $(cat "$tmp/err")"
for f in bad_absurd_rpages bad_no_pagesize bad_not_json bad_truncated; do
    [ "$(grep -c "^zonetrace: .*/$f\.ips: " "$tmp/err")" -eq 1 ] && pass ||
        fail "$label: not one error line for $f.ips: $(cat "$tmp/err")"
done
[ "$(grep -cE '  20[0-9]{2}-[0-9]{2}-[0-9]{2} ' "$tmp/out")" -eq 7 ] && pass ||
    fail "$label: expected one line per event (7): $(cat "$tmp/out")"
grep -qE '^iphone8_limit_a +2018-12-25 09:00 +iPhone10,4 +12\.1 +MyApp +1\.33 GiB +per-process-limit$' \
    "$tmp/out" && pass || fail "$label: the line of iphone8_limit_a is not as expected"
grep -qE '^iphonex_no_profile .* MyApp +- +\(not in this report\)$' "$tmp/out" && pass ||
    fail "$label: a report without the process should say so"
has "skipped 1 report of another kind (bug_type not 298): crash_309.ips"
has "limit of MyApp on iPhone10,4 (iPhone 8): ≈ 1364 .. 1366 MB (2 per-process-limit kills)"
has "limit of MyApp on iPhone7,2 (iPhone 6): ≈ 645 MB (1 per-process-limit kill)"
has "limit of MyApp on iPhone12,1 (iPhone 11): ≈ 1400 MB (1 per-process-limit kill)"
narrow
mkdir "$tmp/good"
cp "$dir"/iphone8_*.ips "$tmp/good/"
cp "$dir/iphone8_limit_a.ips" "$tmp/good/JetsamEvent-2018-12-25-090000.ips"
cp "$dir/crash_309.ips" "$tmp/good/"
echo "not a report" >"$tmp/good/notes.txt"
label=clean-folder
run jetsam "$tmp/good" --process MyApp
[ $rc -eq 0 ] && [ ! -s "$tmp/err" ] && pass || fail "$label: exit $rc: $(cat "$tmp/err")"
has "limit of MyApp on iPhone10,4 (iPhone 8): ≈ 1364 .. 1366 MB (3 per-process-limit kills)"
has "JetsamEvent-2018-12-25-090000  2018-12-25 09:00"
hasnt "notes"

# ---- damaged and foreign files: one line each, exit 2 ------------------------
for case in "bad_truncated:byte 5762: .*(truncated?)" "crash_309:bug_type 309" \
    "bad_not_json:not JSON: byte 0" "bad_no_pagesize:field memoryStatus.pageSize: missing" \
    "bad_absurd_rpages:field processes\[1\]\.rpages: expected a page count, found 1e+30"; do
    f=${case%%:*}
    label=$f
    run jetsam "$dir/$f.ips"
    one_error "/$f\.ips: .*${case#*:}"
    label="$f --format json"
    run jetsam "$dir/$f.ips" --format json
    one_error "/$f\.ips: "
done
label=named-foreign
run jetsam "$dir/crash_309.ips" "$dir/iphone8_limit_a.ips"
[ $rc -eq 2 ] && [ "$(wc -l <"$tmp/err")" -eq 1 ] && pass ||
    fail "$label: a named non-jetsam file among others: exit $rc, $(cat "$tmp/err")"
has "iphone8_limit_a"

# Made-up damage: no input may crash it or print more than one line.
printf '{"bug_type":"298"}\n' >"$tmp/header_only.ips"
printf '{"bug_type":"298"}\n{"product":"iPhone10,4","pageSize":16384,"processes":[]} x' >"$tmp/trailing.ips"
printf '{"bug_type":"298"}\n{"product":"iPhone10,4","pageSize":12288,"processes":[]}' >"$tmp/page3.ips"
printf '{"bug_type":"298"}\n{"product":"iPhone10,4","pageSize":16384,"processes":[{"name":"a","rpages":-5}]}' >"$tmp/negative.ips"
printf '{"bug_type":"298"}\n{"product":"iPhone10,4","pageSize":16384,"processes":[{"name":"a\\u0000","rpages":1}]}' >"$tmp/nul.ips"
printf '{"bug_type":"298"}\n{"product":"iPhone10,4","pageSize":16384,"processes":[{"name":"\xff","rpages":1}]}' >"$tmp/utf8.ips"
printf '{"bug_type":"298"}\n{"product":"iPhone10,4","pageSize":16384,"processes":[{"name":"a","rpages":1,}]}' >"$tmp/comma.ips"
printf '{"bug_type":"298"}\n{"product":7,"pageSize":16384,"processes":[]}' >"$tmp/product.ips"
printf '{"bug_type":"298","x\\n":1 2}' >"$tmp/newline_key.ips"
printf '\x00\x01\x02' >"$tmp/binary.ips"
: >"$tmp/empty.ips"
for f in header_only:missing trailing:"after the report body" page3:"not a page size" \
    negative:"-5 is not a plausible page count" nul:'\\u0000' utf8:"invalid UTF-8" \
    comma:"expected a member name" product:"field product: expected a string" \
    newline_key:"expected ',' or '}'" binary:"not JSON" empty:"empty file"; do
    label=${f%%:*}
    run jetsam "$tmp/${f%%:*}.ips"
    one_error "${f#*:}"
done
if $have_python; then
    python3 - "$tmp" <<'PY'
import os, sys
t = sys.argv[1]
open(os.path.join(t, "deep.ips"), "w").write('{"bug_type":"298"}\n' + "[" * 100000)
open(os.path.join(t, "many.ips"), "w").write('{"bug_type":"298"}\n[' + "0," * 2000000 + "0]")
PY
    label=deep
    run jetsam "$tmp/deep.ips"
    one_error "nested deeper than 64 levels"
    label=many
    run jetsam "$tmp/many.ips"
    one_error "more than 262144 values"
    # Odd names stay on their line and in their column.
    python3 - "$tmp/odd.ips" <<'PY'
import json, sys
procs = [{"name": "tab\there\nnewline", "pid": 1, "rpages": 10, "reason": "per-process-limit"},
         {"name": "日本語のアプリ名はとても長いのでこの列に入りきらないかもしれない", "pid": 2, "rpages": 9},
         {"name": "x" * 300, "pid": 3, "rpages": 8, "states": ["a" * 200]}]
body = {"product": "iPhone10,4\u0007", "pageSize": 16384, "largestProcess": "tab\there\nnewline",
        "processes": procs}
open(sys.argv[1], "w").write('{"bug_type":298,"os_version":"iPhone OS 12.1 (16B92)"}\n' + json.dumps(body))
PY
    label=odd-names
    run jetsam "$tmp/odd.ips"
    [ $rc -eq 0 ] && pass || fail "$label: exit $rc: $(cat "$tmp/err")"
    narrow
    has "tab?here?newline (pid 1), at the event:"
    run jetsam "$tmp/odd.ips" --format json
    python3 -m json.tool "$tmp/out" >/dev/null 2>&1 && pass || fail "odd names: JSON does not parse"
    # Every cut of a real report: exit 0 or one line and 2, never a crash.
    size=$(stat -c %s "$dir/ios12_4k_highwater.ips")
    bad=0
    for cut in $(seq 0 97 "$size"); do
        head -c "$cut" "$dir/ios12_4k_highwater.ips" >"$tmp/cut.ips"
        "$zt" jetsam "$tmp/cut.ips" >/dev/null 2>"$tmp/err"
        rc=$?
        if [ $rc -ne 2 ] || [ "$(wc -l <"$tmp/err")" -ne 1 ]; then
            bad=$((bad + 1))
            [ $bad -le 3 ] && fail "cut at $cut: exit $rc, $(head -c 300 "$tmp/err")"
        fi
    done
    [ $bad -eq 0 ] && pass
fi

# ---- options ------------------------------------------------------------------
label=usage
run jetsam
one_error "which reports"
run jetsam "$dir/ios14_per_process_limit.ips" --format xml
one_error "expected text or json"
run jetsam "$dir/ios14_per_process_limit.ips" --frobnicate
one_error "unknown option"
run jetsam "$tmp/none.ips"
one_error "none.ips: No such file"
mkdir "$tmp/emptydir"
run jetsam "$tmp/emptydir"
one_error "no .ips files"
run --help
label=help has "jetsam FILE.ips... | DIR"

echo "test_jetsam_reader: $passes passed, $failures failed"
[ $failures -eq 0 ] || exit 1
if [ -n "$skipped" ]; then
    echo "test_jetsam_reader: SKIP: $skipped (everything else passed)"
    exit 77 # ctest's SKIP_RETURN_CODE: a partial run is not a pass
fi
