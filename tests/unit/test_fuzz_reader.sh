#!/bin/bash
# test_fuzz_reader — a short, bounded libFuzzer run of the record reader
# (build/fuzz_reader, built when clang is available), seeded with a real
# record when the preload library can produce one.
set -u
build=${ZT_BUILD:?ZT_BUILD not set}
fuzzer=$build/fuzz_reader
if [ ! -x "$fuzzer" ]; then
    echo "test_fuzz_reader: SKIP: $fuzzer not built (needs clang and ZT_FUZZ=ON)"
    exit 0
fi
work=$(mktemp -d /tmp/zt_fuzz.XXXXXX)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/corpus"
if [ -f "$build/libzonetrace.so" ]; then
    ZONETRACE_STACKS=full ZONETRACE_OUT="$work/corpus/seed.zt" ZONETRACE_MONITOR_MS=0 \
        LD_PRELOAD="$build/libzonetrace.so" /bin/true || true
    # The seed is 2 MiB of mostly zeros: keep the used part as a second seed.
    if [ -f "$work/corpus/seed.zt" ]; then
        head -c 200000 "$work/corpus/seed.zt" > "$work/corpus/seed_head.zt"
    fi
fi
printf 'ZTRACE\r\n' > "$work/corpus/magic_only"
cd "$work" || exit 1
"$fuzzer" -max_total_time=20 -runs=200000 -max_len=2200000 -rss_limit_mb=2048 \
    -timeout=10 corpus > fuzz.log 2>&1
rc=$?
if [ $rc -ne 0 ]; then
    tail -40 fuzz.log
    echo "test_fuzz_reader: FAIL: libFuzzer exit status $rc (crash, leak or timeout above)"
    exit 1
fi
echo "test_fuzz_reader: ok ($(grep -o 'Done [0-9]* runs' fuzz.log | tail -1))"
