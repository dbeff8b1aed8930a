#!/usr/bin/env bash
# The text report `zonetrace demo` prints (issue 4), compared to
# tests/golden/demo_report.txt with what changes from run to run normalized:
# paths, pid, times, addresses, resident sizes. One magazine and one CPU, so
# that region and block counts do not depend on the machine. Also checks that it
# fits one screen: at most 52 lines of at most 100 columns.
# ZT_UPDATE_GOLDEN=1 rewrites the golden file (review the diff by eye).
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/../pipe.bash"  # grep_q: no SIGPIPE under pipefail
: "${ZT_BUILD:?ZT_BUILD must point at the build directory}"
: "${ZT_SRC:?ZT_SRC must point at the source directory}"
golden="$ZT_SRC/tests/golden/demo_report.txt"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail() { echo "test_demo_report: FAIL: $*" >&2; exit 1; }

# One CPU too: nano's per-CPU blocks would otherwise depend on migrations.
pin=()
command -v taskset >/dev/null && pin=(taskset -c 0)
ZONETRACE_MAX_MAGAZINES=1 "${pin[@]}" "$ZT_BUILD/zonetrace" demo -o "$tmp" >"$tmp/raw.txt" 2>"$tmp/err" \
    || fail "zonetrace demo failed: $(cat "$tmp/err" "$tmp/raw.txt")"
[ ! -s "$tmp/err" ] || fail "zonetrace demo wrote to stderr: $(cat "$tmp/err")"
head -1 "$tmp/raw.txt" | grep_q '^running ' || fail "the first line does not say running…"
[ -s "$tmp/demo-attrlist.html" ] || fail "no HTML report at $tmp/demo-attrlist.html"
grep -q "$tmp/demo-attrlist.html" "$tmp/raw.txt" || fail "the demo does not say where the HTML is"
lines=$(wc -l <"$tmp/raw.txt")
[ "$lines" -le 52 ] || fail "the demo printed $lines lines; one screen is about 50"
wide=$(awk '{ n = length($0) } n > 100 { print NR ": " n }' "$tmp/raw.txt")
[ -z "$wide" ] || fail "lines wider than 100 columns: $wide"

normalize() {
    sed -E \
        -e "s#$tmp/#TMP/#g" \
        -e "s#$ZT_BUILD/#BUILD/#g" \
        -e 's/\(pid [0-9]+, ran [0-9.]+ s\)/(pid PID, ran T s)/' \
        -e 's/^  +[0-9]+\.[0-9]{3} s /  T s /' \
        -e 's/0x[0-9a-f]{5,}/0xADDR/g' \
        -e 's/^(footprint: )[0-9.]+ [KMG]?i?B resident/\1N resident/' \
        -e 's/(peak )[0-9.]+ [KMG]?i?B of ([0-9.]+ GiB device RAM) \([0-9]+ %\)/\1N of \2/'
}
normalize <"$tmp/raw.txt" >"$tmp/report.txt"

if [ "${ZT_UPDATE_GOLDEN:-0}" = 1 ]; then
    cp "$tmp/report.txt" "$golden"
    echo "test_demo_report: wrote $golden"
    exit 0
fi
# The README shows this run (between <!-- demo:begin --> and the end of its first ``` block),
# with the demo's default paths (build/): it must be what the demo prints today.
readme="$ZT_SRC/README.md"
awk '/<!-- demo:begin -->/ { on = 1 } on && /^```/ { if (inblk) exit; inblk = 1; next } inblk' "$readme" |
    sed -E -e 's#^(zonetrace report: )build/#\1TMP/#' -e 's#(address-space map\): )build/#\1TMP/#' \
        -e 's#^(command: +)build/#\1BUILD/#' | normalize >"$tmp/readme.txt"
[ -s "$tmp/readme.txt" ] || fail "no demo output block in $readme"

if ! diff -u "$tmp/readme.txt" "$tmp/report.txt"; then
    echo "test_demo_report: FAIL: README.md's demo output differs from a real run (above, + = the run)." >&2
    echo "Paste a real run (build/zonetrace demo, pinned as this test runs it) into the README." >&2
    exit 1
fi
if ! diff -u "$golden" "$tmp/report.txt"; then
    echo "test_demo_report: FAIL: the demo's report differs from $golden (above)." >&2
    echo "If the change is intended, rerun with ZT_UPDATE_GOLDEN=1 and review the diff." >&2
    exit 1
fi
echo "test_demo_report: ok"
