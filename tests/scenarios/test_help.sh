#!/usr/bin/env bash
# The CLI's conventions: `--help` on every subcommand (exit 0, to stdout,
# nothing on stderr); -V and --version; every user option of the options
# table is a `zonetrace run` flag (the list comes from `zonetrace options
# --markdown`, i.e. the table), checked by the table's own rules with an
# error naming the flag, and reaching the program; errors in words.
set -uo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/../pipe.bash"  # grep_q: no SIGPIPE under pipefail
: "${ZT_BUILD:?ZT_BUILD must point at the build directory}"
zt="$ZT_BUILD/zonetrace"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
failures=0
fail() { echo "test_help: FAIL: $*" >&2; failures=$((failures + 1)); }

for cmd in run report diff jetsam profiles options demo; do
    for h in --help -h; do
        "$zt" $cmd $h >"$tmp/out" 2>"$tmp/err"
        rc=$?
        [ $rc -eq 0 ] || fail "$cmd $h: exit $rc"
        [ -s "$tmp/err" ] && fail "$cmd $h: wrote to stderr: $(head -1 "$tmp/err")"
        head -1 "$tmp/out" | grep_q "^usage: zonetrace $cmd" \
            || fail "$cmd $h: first line $(head -1 "$tmp/out")"
    done
done
"$zt" --help | grep_q "^usage: zonetrace COMMAND" || fail "--help"
for v in -V --version; do
    "$zt" $v | grep -Eq '^zonetrace [0-9]+\.[0-9]+\.[0-9]+$' || fail "$v: $("$zt" $v 2>&1)"
done

# Every user option is a run flag, from the table.
"$zt" options --markdown >"$tmp/md" || fail "options --markdown"
"$zt" run --help >"$tmp/runhelp"
n=0
while read -r line; do
    env=$(sed -E 's/^- `([A-Z_]+)`.*/\1/' <<<"$line")
    flag=$(sed -E 's/^- `[A-Z_]+` \/ `(--[a-z-]+)`.*/\1/' <<<"$line")
    [ "$flag" != "$line" ] || { fail "options --markdown: no flag for $env"; continue; }
    want="--$(tr 'A-Z_' 'a-z-' <<<"${env#ZONETRACE_}")"
    [ "$flag" = "$want" ] || fail "$env: flag $flag, expected $want"
    [ "$flag" = --out ] && continue # -o/--output FILE in run's own list
    grep -q -- "^  $flag" "$tmp/runhelp" || fail "run --help does not list $flag"
    n=$((n + 1))
done <"$tmp/md"
[ $n -ge 15 ] || fail "only $n flags"

# A bad value: one line naming the flag, exit 2, the program not started.
bad() { # flag value
    "$zt" run "$1" "$2" -- touch "$tmp/started" >/dev/null 2>"$tmp/err"
    local rc=$?
    [ $rc -eq 2 ] || fail "run $1 $2: exit $rc, expected 2"
    [ "$(wc -l <"$tmp/err")" -eq 1 ] || fail "run $1 $2: $(cat "$tmp/err")"
    grep -q -- "^zonetrace: $1 $2: " "$tmp/err" || fail "run $1 $2: the flag is not named: $(cat "$tmp/err")"
    [ -e "$tmp/started" ] && fail "run $1 $2: the program ran"
    rm -f "$tmp/started"
}
bad --max-magazines 65
bad --depth 0
bad --monitor-ms -1
bad --va-limit lots
bad --on-error ignore
bad --jetsam maybe
bad --device iphone99
bad --warning-signal SIGNOPE
bad --nano sometimes

# A flag reaches the program as its option (ZONETRACE_VERBOSE prints them).
"$zt" run --stacks off --verbose --max-magazines 3 --on-error=report -- true 2>"$tmp/err" >/dev/null \
    || fail "run with flags failed: $(cat "$tmp/err")"
grep -q "ZONETRACE_MAX_MAGAZINES=3" "$tmp/err" || fail "--max-magazines did not reach the program"
grep -q "ZONETRACE_ON_ERROR=report" "$tmp/err" || fail "--on-error did not reach the program"
# and overrides the environment
ZONETRACE_MAX_MAGAZINES=5 "$zt" run --stacks off --verbose --max-magazines 2 -- true 2>"$tmp/err" >/dev/null
grep -q "ZONETRACE_MAX_MAGAZINES=2" "$tmp/err" || fail "the flag did not override the variable"
# `zonetrace options` says what run defaults profiling to
"$zt" options | grep -E "^ZONETRACE_STACKS" | grep_q "run: full" || fail "options: STACKS under run"

# Unknown flags and bad values are named; errors in words.
"$zt" run --frobnicate -- true 2>"$tmp/err"
[ $? -eq 2 ] && grep -q -- "--frobnicate" "$tmp/err" || fail "run --frobnicate: $(cat "$tmp/err")"
"$zt" demo --variant foo >/dev/null 2>"$tmp/err"
[ $? -eq 2 ] && grep -q "foo" "$tmp/err" || fail "demo --variant foo: $(cat "$tmp/err")"
"$zt" demo -o "$tmp/missing/dir" >/dev/null 2>"$tmp/err"
[ $? -eq 2 ] && grep -q "No such file or directory" "$tmp/err" && ! grep -q "errno" "$tmp/err" \
    || fail "demo -o missing: $(cat "$tmp/err")"
"$zt" profiles extra >/dev/null 2>"$tmp/err"
[ $? -eq 2 ] && grep -q "extra" "$tmp/err" || fail "profiles extra: $(cat "$tmp/err")"

[ $failures -eq 0 ] || exit 1
echo "test_help: ok ($n run flags)"
