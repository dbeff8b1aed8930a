#!/usr/bin/env bash
# End to end: run scenario_sites under `zonetrace run`, report as JSON, and
# check each allocation site's live blocks and bytes against what the
# program itself measured with malloc_size(): exactly with --stacks full,
# within 10 % for the big sites with --stacks sample:4096 (where the report
# must say that its numbers are estimates).
set -euo pipefail
: "${ZT_BUILD:?ZT_BUILD must point at the build directory}"
zt="$ZT_BUILD/zonetrace"
prog="$ZT_BUILD/scenario_sites"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail() { echo "test_sites: FAIL: $*" >&2; exit 1; }

# `test_sites.sh --unwind fp` (test_unwind_fp.sh): the exact check only,
# with frame-pointer stacks.
unwind=()
if [ "${1:-}" = --unwind ]; then
    unwind=(--unwind "$2")
fi

check() { # mode tolerance sites...
    local mode=$1 tol=$2
    shift 2
    "$zt" run --stacks "$mode" "${unwind[@]}" -o "$tmp/$mode.zt" -- "$prog" >"$tmp/expect.txt" \
        2>"$tmp/run.err" || fail "$mode: sites exited non-zero: $(cat "$tmp/run.err")"
    grep -q "record written to $tmp/$mode.zt" "$tmp/run.err" \
        || fail "$mode: run did not say where the record is: $(cat "$tmp/run.err")"
    "$zt" report "$tmp/$mode.zt" --format json -o "$tmp/$mode.json" 2>"$tmp/report.err" \
        || fail "$mode: report failed: $(cat "$tmp/report.err")"
    python3 - "$tmp/$mode.json" "$tmp/expect.txt" "$tol" "$@" <<'PY' || fail "$mode: see above"
import json, sys
report = json.load(open(sys.argv[1]))
tol = float(sys.argv[3])
want = set(sys.argv[4:])
expect = {}
for line in open(sys.argv[2]):
    f = line.split()
    if f and f[0] == "expect":
        expect[f[1]] = (int(f[2]), int(f[3]))
bad = []
if report["termination"]["state"] != "exited" or report["termination"]["exit_code"] != 0:
    bad.append("termination %r" % report["termination"]["state"])
for site, (blocks, nbytes) in sorted(expect.items()):
    if want and site not in want:
        continue
    got_blocks = got_bytes = 0
    nstacks = 0
    for s in report["stacks"]:
        if any(fr.get("function") == site for fr in s["frames"]):
            got_blocks += s["live_blocks"]
            got_bytes += s["live_bytes"]
            nstacks += 1
    if nstacks == 0:
        bad.append("%s: no stack has it among its frames" % site)
        continue
    if tol == 0:
        ok = got_blocks == blocks and got_bytes == nbytes
    else:
        ok = abs(got_bytes - nbytes) <= tol * nbytes and abs(got_blocks - blocks) <= tol * blocks
    print("  %-20s expected %6d blocks %10d bytes, report %6d blocks %10d bytes%s"
          % (site, blocks, nbytes, got_blocks, got_bytes, "" if ok else "   <-- wrong"))
    if not ok:
        bad.append(site)
# Sampled counts are estimates, and the report says so.
if report["estimated"] != (report["stacks_mode"] == "sample"):
    bad.append("estimated is %r in %s mode" % (report["estimated"], report["stacks_mode"]))
if report["stacks_mode"] == "sample" and "~" not in report["diagnosis"]:
    bad.append("sampled diagnosis without '~': %s" % report["diagnosis"])
if len(expect) < 7:
    bad.append("the program printed %d expectations, not 7" % len(expect))
# The custom zone's blocks are in the zone named by the program.
# (The name is set after malloc_create_zone; a record that only captured
# the name at creation shows it unnamed: noted, not failed.)
custom = [z for z in report["zones"] if z["index"] >= 1 and z["name"] != "MallocHelperZone"]
if len(custom) != 1:
    bad.append("expected one custom zone, got %s" % [z["name"] for z in custom])
else:
    if custom[0]["name"] != "sites-zone":
        print("  note: the custom zone is reported as %r, not 'sites-zone'" % custom[0]["name"])
    # The per-zone split puts site_zone_alloc's blocks in that zone (the zone
    # also holds the copy of its name, as in libmalloc).
    zi = custom[0]["index"]
    split = sum(pz["live_blocks"] for s in report["stacks"] for pz in s["per_zone"]
                if pz["zone"] == zi and any(f.get("function") == "site_zone_alloc"
                                            for f in s["frames"]))
    if tol == 0 and split != expect["site_zone_alloc"][0]:
        bad.append("per-zone split: %d live blocks of site_zone_alloc in the custom zone" % split)
if bad:
    print("mismatch: " + "; ".join(bad), file=sys.stderr)
    sys.exit(1)
PY
    "$zt" report "$tmp/$mode.zt" >"$tmp/$mode.txt" 2>"$tmp/report.err" \
        || fail "$mode: text report failed: $(cat "$tmp/report.err")"
    if [ "${mode%%:*}" = sample ]; then
        local note='mean 4.00 KiB between samples; block and byte counts are unbiased estimates'
        # (the line goes on with the intervals and the resolution: test_sampling.sh)
        grep -q "^sampled: *$note," "$tmp/$mode.txt" \
            || fail "$mode: the text report does not say its counts are estimates"
        grep -q '^diagnosis: .* ~' "$tmp/$mode.txt" \
            || fail "$mode: the text diagnosis does not mark its bytes as estimated"
    elif grep -q '^sampled:' "$tmp/$mode.txt"; then
        fail "$mode: the text report calls exact counts estimates"
    fi
}

echo "stacks full (exact)${unwind[*]:+, ${unwind[*]}}:"
check full 0
if [ ${#unwind[@]} -gt 0 ]; then
    # The stacks really are frame-pointer walks.
    python3 -c 'import json,sys; sys.exit(json.load(open(sys.argv[1]))["unwind"] != sys.argv[2])' \
        <("$zt" report "$tmp/full.zt" --format json) "${unwind[1]}" \
        || fail "the record says unwind is not ${unwind[1]}"
    echo "test_sites: ok"
    exit 0
fi
echo "stacks sample:4096 (big sites within 10 %):"
check sample:4096 0.10 site_small_4k site_large_1m
echo "test_sites: ok"
