#!/bin/bash
# test_fuzz_reader — a short, bounded libFuzzer run (about 20 s) of the
# record reader and the four report formats (build/fuzz_reader, built when
# clang is available). Seeds are real records from the preload library,
# cut to their used part (file_bytes patched to match) so that mutations
# land in data the reader looks at rather than in 1 MiB of trailing zeros.
set -u
build=${ZT_BUILD:?ZT_BUILD not set}
fuzzer=$build/fuzz_reader
if [ ! -x "$fuzzer" ]; then
    echo "test_fuzz_reader: SKIP: $fuzzer not built (needs clang and ZT_FUZZ=ON)"
    exit 77 # ctest's SKIP_RETURN_CODE
fi
# The target must drive the reports too, not only the reader.
for sym in zt_report_text zt_report_json zt_report_folded zt_report_html; do
    if ! nm "$fuzzer" 2>/dev/null | grep -q " T $sym\$"; then
        echo "test_fuzz_reader: FAIL: $fuzzer does not contain $sym (reports not fuzzed)"
        exit 1
    fi
done
work=$(mktemp -d /tmp/zt_fuzz.XXXXXX)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/corpus"
unset DEBUGINFOD_URLS

# seed NAME ENV... -- CMD...: record CMD, keep the used part as corpus/NAME.
seed() {
    local name=$1
    shift
    local envs=()
    while [ "$1" != -- ]; do envs+=("$1"); shift; done
    shift
    env "${envs[@]}" ZONETRACE_OUT="$work/$name.zt" ZONETRACE_MONITOR_MS=0 \
        LD_PRELOAD="$build/libzonetrace.so" "$@" >/dev/null 2>&1 || true
    [ -s "$work/$name.zt" ] || return 0
    python3 - "$work/$name.zt" "$work/corpus/$name" <<'PY'
import struct, sys
d = bytearray(open(sys.argv[1], "rb").read())
used = struct.unpack_from("<Q", d, 32)[0]          # header.used_bytes
if 0 < used <= len(d):
    struct.pack_into("<Q", d, 24, used)             # header.file_bytes
    d = d[:used]
open(sys.argv[2], "wb").write(d)
PY
}
if [ -f "$build/libzonetrace.so" ]; then
    seed true ZONETRACE_STACKS=full -- /bin/true
    if [ -x "$build/scenario_sites" ]; then
        seed sites ZONETRACE_STACKS=full ZONETRACE_DEVICE=ios12-2gb -- "$build/scenario_sites"
        seed sampled ZONETRACE_STACKS=sample:4096 -- "$build/scenario_sites"
    fi
    # moments (issue 12): a first failure, per-zone failures, the end
    if [ -x "$build/scenario_moments" ]; then
        seed moments ZONETRACE_STACKS=full -- "$build/scenario_moments" known
    fi
fi
printf 'ZTRACE\r\n' > "$work/corpus/magic_only"
max_len=$(( $(wc -c "$work"/corpus/* | sort -n | tail -2 | head -1 | awk '{print $1}') + 4096 ))
seeds=$(ls "$work/corpus" | tr '\n' ' ')
cd "$work" || exit 1
"$fuzzer" -max_total_time=20 -runs=200000 -max_len=$max_len -rss_limit_mb=2048 \
    -timeout=10 corpus > fuzz.log 2>&1
rc=$?
if [ $rc -ne 0 ]; then
    tail -40 fuzz.log
    echo "test_fuzz_reader: FAIL: libFuzzer exit status $rc (crash, leak or timeout above)"
    exit 1
fi
echo "test_fuzz_reader: ok ($(grep -o 'Done [0-9]* runs' fuzz.log | tail -1), seeds: $seeds)"
