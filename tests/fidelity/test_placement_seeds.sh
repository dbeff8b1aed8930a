#!/usr/bin/env bash
# `zonetrace run --seeds N`: runs a program under N seeds of libmalloc's
# region ASLR entropy (ZONETRACE_SEED 0..N-1: libmalloc-166.220.1
# src/vm.c:41-80 mvm_aslr_init, the 7 entropic bits of malloc_entropy[1]),
# keeps one record per seed and prints the spread of the failure point (heap
# address space in use at the first map failure). Bad values of --seeds and
# --seed are one line on stderr and exit 2.
set -uo pipefail
: "${ZT_BUILD:?ZT_BUILD must point at the build directory}"
zt="$ZT_BUILD/zonetrace"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
failures=0
fail() { echo "test_placement_seeds: FAIL: $*" >&2; failures=$((failures + 1)); }

cc=${CC:-cc}
command -v "$cc" >/dev/null || { echo "test_placement_seeds: no C compiler ($cc): skipped"; exit 77; }
# A program that fills the address space with large blocks and tiny blocks
# until malloc returns NULL (about 0.5 s per run on ios12-1gb).
cat >"$tmp/fill.c" <<'EOF'
#include <stdlib.h>
int main(void)
{
    for (;;) {
        if (!malloc(40000)) return 0;
        for (int i = 0; i < 8; i++)
            if (!malloc(900)) return 0;
    }
}
EOF
"$cc" -O1 -o "$tmp/fill" "$tmp/fill.c" || { fail "cannot compile the test program"; exit 1; }

# ---- a spread over three seeds ------------------------------------------------
"$zt" run --seeds 3 --device ios12-1gb --stacks sample -o "$tmp/out.zt" -- "$tmp/fill" \
    >"$tmp/stdout" 2>"$tmp/stderr"
rc=$?
[ "$rc" -eq 0 ] || fail "run --seeds 3: exit $rc ($(head -1 "$tmp/stderr"))"
grep -q 'ZONETRACE_SEED 0\.\.2' "$tmp/stdout" || fail "no seed range in: $(head -1 "$tmp/stdout")"
for k in 0 1 2; do
    grep -Eq "^ +$k +[0-9]+ .*(map, [0-9.]+ MiB|none).*out\.seed-$k\.zt" "$tmp/stdout" ||
        fail "no line for seed $k"
    [ -s "$tmp/out.seed-$k.zt" ] || fail "no record out.seed-$k.zt"
done
# Seed 0 draws entropic bits 47 (hint 0x101d00000), seed 1 bits 65 (below
# window 0: from the bottom).
grep -Eq '^ +0 +47 +0x101d00000 ' "$tmp/stdout" || fail "seed 0 is not bits 47 at 0x101d00000"
grep -Eq '^ +1 +65 +bottom ' "$tmp/stdout" || fail "seed 1 is not bits 65 from the bottom"
grep -Eq '^the failure point ranges from [0-9.]+ to [0-9.]+ MiB of heap address space over 3 seeds \(median [0-9.]+ MiB\)' \
    "$tmp/stdout" || fail "no spread line in: $(cat "$tmp/stdout")"
"$zt" report "$tmp/out.seed-1.zt" >/dev/null 2>&1 || fail "report of out.seed-1.zt failed"

# ---- bad values: one line, exit 2 ---------------------------------------------
for args in "--seeds 0" "--seeds x" "--seeds 1001" "--seeds=-3" "--seed -1" "--seed 1x" \
    "--seeds 2 --seed 1" "--seeds 2 --stacks off"; do
    # shellcheck disable=SC2086
    "$zt" run $args -- "$tmp/fill" >"$tmp/out" 2>"$tmp/err"
    rc=$?
    lines=$(wc -l <"$tmp/err")
    [ "$rc" -eq 2 ] || fail "run $args: exit $rc, expected 2"
    [ "$lines" -eq 1 ] || fail "run $args: $lines lines on stderr, expected 1: $(cat "$tmp/err")"
    grep -q '^zonetrace: --seed' "$tmp/err" || fail "run $args: $(cat "$tmp/err")"
done

# An output directory that does not exist: refused before the first run, not
# N runs without records and a spread over none.
"$zt" run --seeds 2 -o "$tmp/no/such/dir/s.zt" -- "$tmp/fill" >"$tmp/out" 2>"$tmp/err"
rc=$?
[ "$rc" -eq 2 ] || fail "--seeds into a missing directory: exit $rc, expected 2"
[ "$(wc -l <"$tmp/err")" -eq 1 ] && grep -q "cannot write records in" "$tmp/err" ||
    fail "--seeds into a missing directory: $(cat "$tmp/err")"
[ -s "$tmp/out" ] && fail "--seeds into a missing directory ran anyway: $(cat "$tmp/out")"

if [ "$failures" -gt 0 ]; then
    echo "test_placement_seeds: $failures failure(s)" >&2
    exit 1
fi
echo "test_placement_seeds: ok"
