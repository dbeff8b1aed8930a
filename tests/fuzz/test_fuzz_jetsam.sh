#!/bin/bash
# test_fuzz_jetsam — a short, bounded libFuzzer run (about 15 s) of the JSON
# parser and the JetsamEvent reader (build/fuzz_jetsam, built when clang is
# available), seeded with the test reports in tests/jetsam/ (good, damaged
# and foreign ones) and a dictionary of the report's JSON punctuation and
# field names, so that mutations reach the field checks and not only the
# tokenizer.
set -u
build=${ZT_BUILD:?ZT_BUILD not set}
src=${ZT_SRC:-$(cd "$(dirname "$0")/../.." && pwd)}
fuzzer=$build/fuzz_jetsam
if [ ! -x "$fuzzer" ]; then
    echo "test_fuzz_jetsam: SKIP: $fuzzer not built (needs clang and ZT_FUZZ=ON)"
    exit 77 # ctest's SKIP_RETURN_CODE
fi
work=$(mktemp -d /tmp/zt_fuzz_jetsam.XXXXXX)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/corpus"
cp "$src"/tests/jetsam/*.ips "$work/corpus/" || exit 1
cat >"$work/dict" <<'DICT'
"{"
"}"
"["
"]"
":"
","
"\\u"
"\\ud83d\\ude00"
"\"bug_type\":\"298\""
"\"bug_type\":298"
"\"pageSize\""
"\"memoryStatus\""
"\"memoryPages\""
"\"processes\""
"\"rpages\""
"\"lifetimeMax\""
"\"reason\""
"\"states\""
"\"product\""
"\"os_version\""
"\"build\""
"\"pid\""
"\"name\""
"true"
"false"
"null"
"-0.5e+3"
"16384"
"4096"
DICT
cd "$work" || exit 1
"$fuzzer" -max_total_time=15 -runs=300000 -max_len=12000 -rss_limit_mb=2048 -timeout=10 \
    -dict=dict corpus >fuzz.log 2>&1
rc=$?
if [ $rc -ne 0 ]; then
    tail -40 fuzz.log
    echo "test_fuzz_jetsam: FAIL: libFuzzer exit status $rc (crash, leak or timeout above)"
    exit 1
fi
echo "test_fuzz_jetsam: ok ($(grep -o 'Done [0-9]* runs' fuzz.log | tail -1))"
