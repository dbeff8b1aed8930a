#!/usr/bin/env bash
# What `zonetrace run` says after the program: every record the run
# produced, as a process tree (a shell's children, a grandchild under its
# parent, an exec'd image next to the process it replaced); and for a
# static binary, which LD_PRELOAD cannot enter, why there is no record.
set -euo pipefail
: "${ZT_BUILD:?ZT_BUILD must point at the build directory}"
zt="$ZT_BUILD/zonetrace"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail() { echo "test_run_records: FAIL: $*" >&2; exit 1; }

"$zt" run -o "$tmp/r.zt" -- sh -c 'ls / >/dev/null; (exec cat /dev/null); sh -c "ls / >/dev/null; true"; true' \
    2>"$tmp/err" || fail "run failed: $(cat "$tmp/err")"
grep -q "record written to $tmp/r.zt" "$tmp/err" || fail "no main record line: $(cat "$tmp/err")"
grep -q "^zonetrace: 5 more records from processes the program started:$" "$tmp/err" \
    || fail "expected 5 more records: $(cat "$tmp/err")"
# one line per record, each naming a file that exists
n=0
while read -r line; do
    f=${line##* }
    [ -s "$f" ] || fail "listed record $f does not exist"
    n=$((n + 1))
done < <(grep -E "^ +pid [0-9]+ " "$tmp/err")
[ $n -eq 5 ] || fail "$n record lines, expected 5: $(cat "$tmp/err")"
# the grandchild (ls of the inner sh) is indented under its parent
grep -Eq "^  pid [0-9]+ /usr/bin/dash: exited with status 0" "$tmp/err" || fail "inner sh line"
grep -Eq "^    pid [0-9]+ /usr/bin/ls: exited with status 0" "$tmp/err" || fail "grandchild not nested: $(cat "$tmp/err")"
# the exec'd image follows the process it replaced, with the same pid
pid=$(grep -E "replaced by exec" "$tmp/err" | sed -E 's/^ *pid ([0-9]+) .*/\1/')
[ -n "$pid" ] || fail "no exec line"
grep -A1 "replaced by exec" "$tmp/err" | tail -1 | grep -Eq "^ +pid $pid /usr/bin/cat: exited with status 0 .*\.exec\.zt$" \
    || fail "exec'd image not after its process: $(cat "$tmp/err")"

# a program with no children: no list
"$zt" run -o "$tmp/one.zt" -- true 2>"$tmp/err"
grep -q "more record" "$tmp/err" && fail "a lone process listed children: $(cat "$tmp/err")"

# a static binary
printf 'int main(void) { return 0; }\n' >"$tmp/st.c"
cc -static -o "$tmp/st" "$tmp/st.c" 2>"$tmp/cc.err" || fail "cannot build a static program: $(cat "$tmp/cc.err")"
"$zt" run -o "$tmp/st.zt" -- "$tmp/st" 2>"$tmp/err" || fail "static: exit $?"
[ "$(wc -l <"$tmp/err")" -eq 1 ] || fail "static: expected one line: $(cat "$tmp/err")"
grep -q "is statically linked, and LD_PRELOAD cannot enter a static binary" "$tmp/err" \
    || fail "static: $(cat "$tmp/err")"
echo "test_run_records: ok"
