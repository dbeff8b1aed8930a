#!/usr/bin/env bash
# The text report of scenario_sites, with what changes from run to run
# (paths, pid, times, addresses, RSS, region counts) normalized, compared to
# tests/golden/sites_report.txt. ZT_UPDATE_GOLDEN=1 rewrites the golden file
# (review the diff by eye before committing it).
set -euo pipefail
: "${ZT_BUILD:?ZT_BUILD must point at the build directory}"
: "${ZT_SRC:?ZT_SRC must point at the source directory}"
golden="$ZT_SRC/tests/golden/sites_report.txt"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# One magazine and the ios12-4gb profile (the alias of iphonexs): regions and classes do not depend
# on the number of CPUs or the host page size.
# One CPU too: nano's per-CPU blocks would otherwise depend on migrations.
pin=()
command -v taskset >/dev/null && pin=(taskset -c 0)
ZONETRACE_MAX_MAGAZINES=1 "${pin[@]}" "$ZT_BUILD/zonetrace" run --device ios12-4gb -o "$tmp/sites.zt" \
    -- "$ZT_BUILD/scenario_sites" >/dev/null 2>"$tmp/run.err" \
    || { echo "test_text_report: FAIL: sites failed: $(cat "$tmp/run.err")" >&2; exit 1; }
"$ZT_BUILD/zonetrace" report "$tmp/sites.zt" >"$tmp/raw.txt" 2>"$tmp/report.err" \
    || { echo "test_text_report: FAIL: report failed: $(cat "$tmp/report.err")" >&2; exit 1; }

normalize() {
    sed -E \
        -e "s#$tmp/#TMP/#g" \
        -e "s#$ZT_BUILD/#BUILD/#g" \
        -e 's/\(pid [0-9]+, ran [0-9.]+ s\)/(pid PID, ran T s)/' \
        -e 's/^( +)[0-9]+\.[0-9]{3} s  /\1T s  /' \
        -e 's/0x[0-9a-f]+/0xADDR/g' \
        -e 's/^(footprint: )[0-9.]+ [KMG]?i?B resident/\1N resident/' \
        -e 's/(peak )[0-9.]+ [KMG]?i?B of [0-9.]+ GiB device RAM \([0-9.]+ %\)/\1N of DEVICE RAM/' \
        -e 's/; cgroup limit [0-9.]+ [KMG]?i?B//' \
        -e 's/[0-9]+ older events lost/N older events lost/'
}
normalize <"$tmp/raw.txt" >"$tmp/report.txt"

if [ "${ZT_UPDATE_GOLDEN:-0}" = 1 ]; then
    cp "$tmp/report.txt" "$golden"
    echo "test_text_report: wrote $golden"
    exit 0
fi
if ! diff -u "$golden" "$tmp/report.txt"; then
    echo "test_text_report: FAIL: the report differs from $golden (above)." >&2
    echo "If the change is intended, rerun with ZT_UPDATE_GOLDEN=1 and review the diff." >&2
    exit 1
fi
echo "test_text_report: ok"
