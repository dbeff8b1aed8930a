#!/usr/bin/env bash
# Issue 12, item 1: every way a process ends is reported as it happened,
# with and without `zonetrace run`; SIGKILL is claimed only for SIGKILL.
# Without the runner: LD_PRELOAD with ZONETRACE_STACKS=full, ZONETRACE_OUT.
set -uo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/../pipe.bash"  # grep_q: no SIGPIPE under pipefail
: "${ZT_BUILD:?ZT_BUILD must point at the build directory}"
zt="$ZT_BUILD/zonetrace"
prog="$ZT_BUILD/scenario_endings"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
failures=0
fail() { echo "test_endings: FAIL: $*" >&2; failures=$((failures + 1)); }

# check MODE CASE RC WANT_RC STATE HOW EXIT SIGNAL RUNNER DESC_RE
# (EXIT/SIGNAL "null" or a number; RUNNER "null" or "exit N" / "signal N")
check() {
    local mode=$1 case=$2 rc=$3 want_rc=$4 rec=$tmp/$1-$2.zt
    [ "$rc" -eq "$want_rc" ] || fail "$mode $case: exit status $rc, expected $want_rc"
    # --only: the named record (an exec'd run's report otherwise shows its last image)
    if ! "$zt" report --only "$rec" --format json -o "$rec.json" 2>"$tmp/err"; then
        fail "$mode $case: report failed: $(cat "$tmp/err")"
        return
    fi
    python3 - "$rec.json" "$mode $case" "${@:5}" <<'PY' || failures=$((failures + 1))
import json, re, sys
t = json.load(open(sys.argv[1]))["termination"]
what, state, how, code, sig, runner, desc = sys.argv[2:9]
num = lambda v: None if v == "null" else int(v)
bad = []
if t["state"] != state: bad.append("state %r, expected %r" % (t["state"], state))
if t["how"] != how: bad.append("how %r, expected %r" % (t["how"], how))
if t["exit_code"] != num(code): bad.append("exit_code %r, expected %s" % (t["exit_code"], code))
if t["signal"] != num(sig): bad.append("signal %r, expected %s" % (t["signal"], sig))
want_r = None
if runner != "null":
    k, v = runner.split()
    want_r = {"exit_code": int(v), "signal": None} if k == "exit" else {"exit_code": None, "signal": int(v)}
if t["runner"] != want_r: bad.append("runner %r, expected %r" % (t["runner"], want_r))
if not re.search(desc, t["description"]): bad.append("description %r, expected /%s/" % (t["description"], desc))
if "SIGKILL" in t["description"] and sig != "9": bad.append("SIGKILL claimed: %r" % t["description"])
if bad:
    print("test_endings: FAIL: %s: %s" % (what, "; ".join(bad)), file=sys.stderr)
    sys.exit(1)
PY
}

# case  argv...  | want_rc state how exit signal description
cases=(
    "return|return|3|exited|exit|3|null|^exited with status 3$"
    "exit|exit|3|exited|exit|3|null|^exited with status 3$"
    "_exit|_exit|3|exited|_exit|3|null|^exited with status 3 by _exit"
    "_Exit|_Exit|3|exited|_exit|3|null|^exited with status 3 by _exit"
    "abort|abort|134|signaled|signal|null|6|^killed by SIGABRT$"
    "segv|segv|139|signaled|signal|null|11|^killed by SIGSEGV \\(fault address 0x8\\)$"
    "term|term|143|signaled|signal|null|15|^killed by SIGTERM$"
    "signal|signal|143|signaled|signal|null|15|^killed by SIGTERM$"
    "hup|hup|129|signaled|signal|null|1|^killed by SIGHUP$"
    "int|int|130|signaled|signal|null|2|^killed by SIGINT$"
    "kill|kill|137|killed|unknown|null|9|^killed without running handlers \\(SIGKILL"
    "exec|exec|3|exec|exec|null|null|^replaced by exec"
    "fexec|fexec|3|exec|exec|null|null|^replaced by exec"
    "threads|threads|3|exited|exit|3|null|^exited with status 3$"
)

for c in "${cases[@]}"; do
    IFS='|' read -r name arg want_rc state how code sig desc <<<"$c"
    # without zonetrace run
    (LD_PRELOAD="$ZT_BUILD/libzonetrace.so" ZONETRACE_STACKS=full ZONETRACE_OUT="$tmp/plain-$name.zt" \
        "$prog" "$arg" >/dev/null 2>&1) 2>/dev/null
    check plain "$name" $? "$want_rc" "$state" "$how" "$code" "$sig" null "$desc"
    # with zonetrace run: the runner's wait status is in the record too
    "$zt" run -o "$tmp/run-$name.zt" -- "$prog" "$arg" >/dev/null 2>&1
    rc=$?
    if [ $rc -ge 128 ]; then runner="signal $((rc - 128))"; else runner="exit $rc"; fi
    rdesc=$desc
    [ "$name" = exec ] || [ "$name" = fexec ] && rdesc="^replaced by exec; the new program exited with status 3$"
    check run "$name" $rc "$want_rc" "$state" "$how" "$code" "$sig" "$runner" "$rdesc"
done

# exec: the new image (profiled too) wrote its own record next to the old one.
for mode in plain run plain-f run-f; do
    rec=$tmp/${mode%-f}-exec.zt.exec.zt
    [ "$mode" = "${mode%-f}" ] || rec=$tmp/${mode%-f}-fexec.zt.exec.zt
    if "$zt" report "$rec" --format json -o "$tmp/x.json" 2>"$tmp/err"; then
        python3 -c 'import json,sys; t=json.load(open(sys.argv[1]))["termination"]
sys.exit(0 if (t["state"], t["exit_code"]) == ("exited", 3) else 1)' "$tmp/x.json" \
            || fail "$mode exec: the new image's record does not say exit 3"
    else
        fail "$mode exec: no record of the new image: $(cat "$tmp/err")"
    fi
done

# sh -c: dash leaves with _exit; under zonetrace run the status comes from
# the runner as well. The shell's record is the root one.
LD_PRELOAD="$ZT_BUILD/libzonetrace.so" ZONETRACE_STACKS=full ZONETRACE_OUT="$tmp/plain-sh.zt" \
    sh -c "\"$prog\" return; exit 5" >/dev/null 2>&1
rc=$?
[ $rc -eq 5 ] || fail "plain sh: exit status $rc, expected 5"
"$zt" report "$tmp/plain-sh.zt" --format json -o "$tmp/sh.json" 2>"$tmp/err" \
    && python3 -c 'import json,sys; t=json.load(open(sys.argv[1]))["termination"]
sys.exit(0 if t["state"] == "exited" and t["exit_code"] == 5 and "SIGKILL" not in t["description"] else 1)' "$tmp/sh.json" \
    || fail "plain sh -c: not reported as exit 5: $(cat "$tmp/err" "$tmp/sh.json" 2>/dev/null | head -c 300)"
"$zt" run -o "$tmp/run-sh.zt" -- sh -c "\"$prog\" return; exit 5" >/dev/null 2>&1
rc=$?
[ $rc -eq 5 ] || fail "run sh: exit status $rc, expected 5"
"$zt" report "$tmp/run-sh.zt" --format json -o "$tmp/sh.json" 2>"$tmp/err" \
    && python3 -c 'import json,sys; t=json.load(open(sys.argv[1]))["termination"]
sys.exit(0 if t["state"] == "exited" and t["exit_code"] == 5 and t["runner"] == {"exit_code": 5, "signal": None} else 1)' "$tmp/sh.json" \
    || fail "run sh -c: not reported as exit 5"

# timeout sends SIGTERM to zonetrace run, which forwards it to the child.
(timeout 1.5 "$zt" run -o "$tmp/run-timeout.zt" -- "$ZT_BUILD/scenario_sleeper" >/dev/null 2>&1) 2>/dev/null
"$zt" report "$tmp/run-timeout.zt" | grep_q "^ended: *killed by SIGTERM$" \
    || fail "timeout: not reported as killed by SIGTERM: $("$zt" report "$tmp/run-timeout.zt" 2>&1 | grep ended)"

# A program's own SIGTERM handler still runs, and sigaction shows it SIG_DFL
# before it installs one (the runtime's handler is invisible).
LD_PRELOAD="$ZT_BUILD/libzonetrace.so" ZONETRACE_STACKS=full ZONETRACE_OUT="$tmp/py.zt" \
    python3 -c 'import signal, os, sys
assert signal.getsignal(signal.SIGINT) is signal.default_int_handler, signal.getsignal(signal.SIGINT)
assert signal.getsignal(signal.SIGTERM) == signal.SIG_DFL, signal.getsignal(signal.SIGTERM)
signal.signal(signal.SIGTERM, lambda s, f: sys.exit(7))
os.kill(os.getpid(), signal.SIGTERM)' 2>"$tmp/err"
rc=$?
[ $rc -eq 7 ] || fail "python: own SIGTERM handler: exit $rc, expected 7: $(cat "$tmp/err")"

if [ $failures -ne 0 ]; then
    echo "test_endings: $failures failure(s)" >&2
    exit 1
fi
echo "test_endings: all endings reported as they happened"
