#!/usr/bin/env bash
# Bad ZONETRACE_* values: a preloaded program that allocates (`ls`) must
# stop before running, with exit status 2 and exactly one line on stderr,
# "zonetrace: ZONETRACE_X=value: why", naming the variable. Every option of
# the table that has a bad value is covered (ZONETRACE_OUT takes any path:
# one it cannot create is a warning, and the program runs). INT options are
# also checked at and just past both ends of the range the table declares.
#
# The options are read when the library loads (a constructor), so even a
# program that never allocates (coreutils `true`) is stopped the same way.
set -uo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/../pipe.bash"  # grep_q: no SIGPIPE under pipefail
: "${ZT_BUILD:?ZT_BUILD must point at the build directory}"
lib="$ZT_BUILD/libzonetrace.so"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
failures=0
checked=0
fail() { echo "test_options: FAIL: $*" >&2; failures=$((failures + 1)); }

ls_bin=$(command -v ls)
true_bin=$(command -v true)

bad_values=(
    ZONETRACE_DEVICE=iphone-99
    ZONETRACE_VA_LIMIT=12Q
    ZONETRACE_VA_LIMIT=-1
    ZONETRACE_NANO=maybe
    ZONETRACE_ENTITLEMENT=increased-memory
    ZONETRACE_XZONE_BUCKETS=typed
    ZONETRACE_NANO_CLASS_BLOCKS=1,2,3
    ZONETRACE_MAX_MAGAZINES=65
    ZONETRACE_MAX_MAGAZINES=many
    ZONETRACE_SEED=-1
    ZONETRACE_SEED=lucky
    ZONETRACE_ON_ERROR=ignore
    ZONETRACE_VERBOSE=perhaps
    ZONETRACE_STACKS=sometimes
    ZONETRACE_STACKS=sample:0
    ZONETRACE_SAMPLE_SEED=-1
    ZONETRACE_SAMPLE_SEED=1000000000
    ZONETRACE_SAMPLE_SEED=lucky
    ZONETRACE_UNWIND=guess
    ZONETRACE_DEPTH=0
    ZONETRACE_DEPTH=129
    ZONETRACE_DEPTH=deep
    ZONETRACE_MONITOR_MS=-1
    ZONETRACE_MONITOR_MS=3600001
    ZONETRACE_MEMORY_LIMIT=64Q
    ZONETRACE_JETSAM=maybe
    ZONETRACE_WARNING_SIGNAL=SIGNOPE
)

# Every option in the table that can be bad is in the list above.
covered=" ${bad_values[*]%%=*} "
nvars=0
for var in $("$ZT_BUILD/zonetrace" options --markdown |
             sed -n 's/^- `\(ZONETRACE_[A-Z_]*\)`.*/\1/p'); do
    nvars=$((nvars + 1))
    [ "$var" = ZONETRACE_OUT ] && continue
    case $covered in
        *" $var "*) ;;
        *) fail "$var has no bad value in this test" ;;
    esac
done
[ $nvars -ge 12 ] || fail "zonetrace options --markdown listed $nvars options, expected 12 or more"

for kv in "${bad_values[@]}"; do
    var=${kv%%=*}
    value=${kv#*=}
    env "$kv" LD_PRELOAD="$lib" "$ls_bin" / >"$tmp/out" 2>"$tmp/err"
    rc=$?
    lines=$(wc -l <"$tmp/err")
    checked=$((checked + 1))
    if [ $rc -ne 2 ]; then
        fail "$kv ls: exit $rc, expected 2 ($(head -c 300 "$tmp/err"))"
    elif [ "$lines" -ne 1 ]; then
        fail "$kv ls: $lines lines on stderr, expected 1: $(head -c 600 "$tmp/err")"
    elif ! grep -qF "zonetrace: $var=$value: " "$tmp/err"; then
        fail "$kv ls: the line does not name the variable: $(cat "$tmp/err")"
    elif [ -s "$tmp/out" ]; then
        fail "$kv ls: the program ran anyway"
    fi
    # A program that never allocates is stopped too.
    env "$kv" LD_PRELOAD="$lib" "$true_bin" >"$tmp/out" 2>"$tmp/err"
    rc=$?
    lines=$(wc -l <"$tmp/err")
    if [ $rc -ne 2 ] || [ "$lines" -ne 1 ] || ! grep -qF "zonetrace: $var=$value: " "$tmp/err"; then
        fail "$kv true: want exit 2 and one line naming the variable, got exit $rc: $(head -c 300 "$tmp/err")"
    fi
done

# Every INT option's range, as the table declares it (`zonetrace options
# --markdown` prints "range `MIN..MAX`"): both ends are accepted, one past
# either end is rejected with "expected MIN..MAX", and the default is inside.
nranges=0
while IFS=' ' read -r var def min max; do
    nranges=$((nranges + 1))
    [ "$def" -ge "$min" ] && [ "$def" -le "$max" ] ||
        fail "$var: default $def outside its range $min..$max"
    for value in "$min" "$max"; do
        env "$var=$value" LD_PRELOAD="$lib" "$ls_bin" / >"$tmp/out" 2>"$tmp/err"
        rc=$?
        [ $rc -eq 0 ] && [ ! -s "$tmp/err" ] && grep -qx tmp "$tmp/out" ||
            fail "$var=$value (an end of its range): exit $rc, stderr: $(head -c 300 "$tmp/err")"
    done
    for value in $((min - 1)) $((max + 1)); do
        env "$var=$value" LD_PRELOAD="$lib" "$true_bin" >/dev/null 2>"$tmp/err"
        rc=$?
        checked=$((checked + 1))
        [ $rc -eq 2 ] && [ "$(cat "$tmp/err")" = "zonetrace: $var=$value: expected $min..$max" ] ||
            fail "$var=$value (outside $min..$max): exit $rc, stderr: $(head -c 300 "$tmp/err")"
    done
done < <("$ZT_BUILD/zonetrace" options --markdown |
         sed -n 's/^- `\(ZONETRACE_[A-Z_]*\)` \/ `--[a-z-]*` (default `\(-\{0,1\}[0-9]*\)`, range `\(-\{0,1\}[0-9]*\)\.\.\(-\{0,1\}[0-9]*\)`).*/\1 \2 \3 \4/p')
[ $nranges -ge 3 ] || fail "zonetrace options --markdown showed $nranges ranges, expected 3 or more"

# Internal options (set by `zonetrace run`, ZONETRACE_ROOT_PID) are not listed.
"$ZT_BUILD/zonetrace" options | grep_q ZONETRACE_ROOT_PID &&
    fail "zonetrace options lists the internal ZONETRACE_ROOT_PID"

# Two bad values: still one line (the first problem), status 2.
ZONETRACE_DEVICE=iphone-99 ZONETRACE_DEPTH=0 LD_PRELOAD="$lib" "$ls_bin" / >/dev/null 2>"$tmp/err"
rc=$?
[ $rc -eq 2 ] && [ "$(wc -l <"$tmp/err")" -eq 1 ] \
    || fail "two bad values: exit $rc, stderr: $(cat "$tmp/err")"

# Good values of the same options run the program normally.
ZONETRACE_DEVICE=ios12-2gb ZONETRACE_VA_LIMIT=2G ZONETRACE_NANO=off ZONETRACE_MAX_MAGAZINES=2 \
    ZONETRACE_ON_ERROR=report ZONETRACE_VERBOSE=off ZONETRACE_UNWIND=fp ZONETRACE_DEPTH=128 \
    ZONETRACE_MONITOR_MS=0 LD_PRELOAD="$lib" "$ls_bin" / >"$tmp/out" 2>"$tmp/err"
rc=$?
[ $rc -eq 0 ] && [ ! -s "$tmp/err" ] && grep -qx tmp "$tmp/out" \
    || fail "good values: exit $rc, stderr: $(head -c 300 "$tmp/err")"

# ZONETRACE_OUT has no bad value: a file that cannot be created is one
# warning line naming it, and the program runs.
ZONETRACE_STACKS=full ZONETRACE_OUT="$tmp/no/such/dir/x.zt" LD_PRELOAD="$lib" "$ls_bin" / \
    >"$tmp/out" 2>"$tmp/err"
rc=$?
[ $rc -eq 0 ] && [ "$(wc -l <"$tmp/err")" -eq 1 ] && grep -qF "$tmp/no/such/dir/x.zt" "$tmp/err" &&
    grep -qx tmp "$tmp/out" \
    || fail "uncreatable ZONETRACE_OUT: exit $rc, stderr: $(head -c 300 "$tmp/err")"

echo "test_options: $checked bad values checked, $failures failure(s)"
[ $failures -eq 0 ]
