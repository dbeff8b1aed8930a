#!/usr/bin/env bash
# The CLI's contract: every failure is one line on stderr and a non-zero
# exit (2 for records that cannot be read), never a crash; `profiles` lists
# the five profiles; and the three ways a process ends (exit, fatal signal,
# SIGKILL) are each reported as such.
set -uo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/../pipe.bash"  # grep_q: no SIGPIPE under pipefail
: "${ZT_BUILD:?ZT_BUILD must point at the build directory}"
zt="$ZT_BUILD/zonetrace"
tmp=$(mktemp -d)
sleeper_pid=
trap '[ -n "$sleeper_pid" ] && kill -9 $sleeper_pid 2>/dev/null; rm -rf "$tmp"' EXIT
failures=0
passes=0
skipped= # why part of the test could not run (then exit 77)
fail() { echo "test_cli: FAIL: $*" >&2; failures=$((failures + 1)); }
pass() { passes=$((passes + 1)); }

# expect_error WANT_STATUS (any = non-zero, 0or2 = either) -- ARGS
expect_error() {
    local want=$1
    shift 2
    "$zt" "$@" >"$tmp/out" 2>"$tmp/err"
    local rc=$? lines
    lines=$(wc -l <"$tmp/err")
    if [ "$rc" -ge 128 ]; then
        fail "zonetrace $*: died of signal $((rc - 128))"
        return
    fi
    case $want in
        any) [ "$rc" -ne 0 ] || { fail "zonetrace $*: exit 0, expected failure"; return; } ;;
        0or2)
            [ "$rc" -eq 0 ] && { pass; return; }
            [ "$rc" -eq 2 ] || { fail "zonetrace $*: exit $rc, expected 0 or 2"; return; } ;;
        *) [ "$rc" -eq "$want" ] || { fail "zonetrace $*: exit $rc, expected $want: $(cat "$tmp/err")"; return; } ;;
    esac
    if [ "$lines" -ne 1 ] || ! grep -q '^zonetrace: ' "$tmp/err"; then
        fail "zonetrace $*: expected one 'zonetrace: ...' line on stderr, got $lines: $(head -c 600 "$tmp/err")"
        return
    fi
    pass
}

# ---- bad options ---------------------------------------------------------
expect_error any -- frobnicate
expect_error any -- report
expect_error any -- report "$tmp/none.zt" --top abc
expect_error any -- report "$tmp/none.zt" --top 0
expect_error any -- report "$tmp/none.zt" --by file
expect_error any -- report "$tmp/none.zt" --format xml
expect_error any -- report "$tmp/none.zt" --bogus
expect_error any -- run --device iphone-99 -- true
expect_error any -- run --stacks sometimes -- true
expect_error any -- run --unwind guess -- true
expect_error any -- run --device
expect_error any -- run --
expect_error any -- options --html
# ---- missing and damaged records ----------------------------------------
expect_error 2 -- report "$tmp/none.zt"
expect_error 2 -- report "$tmp"
: >"$tmp/empty.zt"
expect_error 2 -- report "$tmp/empty.zt"

# A real record to damage: the program exits 3.
"$zt" run -o "$tmp/exit.zt" -- "$ZT_BUILD/scenario_segv" exit 3 >/dev/null 2>"$tmp/run.err"
rc=$?
[ $rc -eq 3 ] && pass || fail "run should exit with the program's status 3, got $rc"
if [ ! -s "$tmp/exit.zt" ]; then
    fail "no record from scenario_segv exit 3: $(cat "$tmp/run.err")"
else
    "$zt" report "$tmp/exit.zt" --format json -o "$tmp/exit.json" 2>"$tmp/err" \
        || fail "report of a good record failed: $(cat "$tmp/err")"
    python3 -c '
import json, sys
t = json.load(open(sys.argv[1]))["termination"]
sys.exit(0 if t["state"] == "exited" and t["exit_code"] == 3 else 1)' "$tmp/exit.json" \
        && pass || fail "exit 3 not reported as exited with code 3"
    "$zt" report "$tmp/exit.zt" | grep_q "ended: *exited with status 3" \
        && pass || fail "text report does not say 'exited with status 3'"
    size=$(stat -c %s "$tmp/exit.zt")
    head -c $((size / 2)) "$tmp/exit.zt" >"$tmp/half.zt"
    expect_error 2 -- report "$tmp/half.zt"
    head -c 100 "$tmp/exit.zt" >"$tmp/short.zt"
    expect_error 2 -- report "$tmp/short.zt"
    cp "$tmp/exit.zt" "$tmp/version.zt"   # version: u32 after the 8-byte magic
    printf '\x63\x00\x00\x00' | dd of="$tmp/version.zt" bs=1 seek=8 conv=notrunc status=none
    expect_error 2 -- report "$tmp/version.zt"
    cp "$tmp/exit.zt" "$tmp/magic.zt"
    printf 'XXXXXXXX' | dd of="$tmp/magic.zt" bs=1 seek=0 conv=notrunc status=none
    expect_error 2 -- report "$tmp/magic.zt"
    # Random damage: still a record or a one-line rejection, never a crash.
    # 12 damaged copies, each reported in the three formats, two at a time
    # (the C reader's own test and the fuzz target go much further).
    python3 - "$tmp/exit.zt" "$tmp" <<'PY'
import random, sys
orig = open(sys.argv[1], "rb").read()
for seed in range(1, 13):
    data = bytearray(orig)
    rng = random.Random(seed)
    # Half the copies damage the header and tables near the start, where a
    # bad offset or count matters most; the others anywhere.
    span = min(len(data), 8192) if rng.random() < 0.5 else len(data)
    for _ in range(rng.randint(1, 16)):
        data[rng.randrange(span)] = rng.randrange(256)
    open("%s/rand%d.zt" % (sys.argv[2], seed), "wb").write(data)
PY
    damaged() { # seed: report it in each format; failures to $tmp/rand$seed.fail
        local seed=$1 fmt rc lines
        for fmt in text json html; do
            "$zt" report "$tmp/rand$seed.zt" --format $fmt -o "$tmp/rand$seed.$fmt" \
                >/dev/null 2>"$tmp/rand$seed.$fmt.err"
            rc=$?
            lines=$(wc -l <"$tmp/rand$seed.$fmt.err")
            if [ $rc -ge 128 ]; then
                echo "report of damaged copy $seed --format $fmt died of signal $((rc - 128))"
            elif [ $rc -ne 0 ] && [ $rc -ne 2 ]; then
                echo "report of damaged copy $seed --format $fmt: exit $rc, expected 0 or 2"
            elif [ $rc -eq 2 ] && { [ "$lines" -ne 1 ] ||
                ! grep -q '^zonetrace: ' "$tmp/rand$seed.$fmt.err"; }; then
                echo "report of damaged copy $seed --format $fmt: expected one 'zonetrace: ...'" \
                    "line, got: $(head -c 300 "$tmp/rand$seed.$fmt.err")"
            fi
        done >"$tmp/rand$seed.fail"
    }
    for seed in $(seq 1 12); do
        damaged "$seed" &
        [ $((seed % 2)) -eq 0 ] && wait
    done
    wait
    for seed in $(seq 1 12); do
        if [ -s "$tmp/rand$seed.fail" ]; then
            while read -r line; do fail "$line"; done <"$tmp/rand$seed.fail"
        else
            passes=$((passes + 3))
        fi
    done
fi

# ---- the HTML report: self-contained, renders without script errors -------
# Rendering runs in the background (a few seconds each); html_rendered
# checks the results at the end.
chrome=$(command -v chromium || command -v chromium-browser || command -v google-chrome || true)
renders=()
html_check() { # record
    local name
    name=$(basename "$1" .zt)
    "$zt" report "$1" --format html -o "$tmp/$name.html" 2>"$tmp/err" \
        || { fail "html report of $1 failed: $(cat "$tmp/err")"; return; }
    # (the SVG namespace URI is a name, not a resource)
    if sed 's#http://www.w3.org/2000/svg##g' "$tmp/$name.html" |
        grep -Eiq '<(script|img|link|iframe)[^>]+(src|href)=|url\(|https?://'; then
        fail "html report refers to external resources"
    else
        pass
    fi
    [ -n "$chrome" ] || return
    timeout 60 "$chrome" --headless --no-sandbox --disable-gpu --user-data-dir="$tmp/chrome-$name" \
        --virtual-time-budget=3000 --dump-dom "file://$tmp/$name.html" >"$tmp/$name.dom" \
        2>/dev/null &
    renders+=("$name")
}
html_rendered() {
    if [ -z "$chrome" ]; then
        echo "test_cli: SKIP (part): chromium not found: HTML rendering not checked"
        skipped="chromium not found (apt-get install chromium): HTML rendering not checked"
        return
    fi
    wait
    local name
    for name in "${renders[@]}"; do
        if grep -q 'data-rendered="1"' "$tmp/$name.dom" && ! grep -q '<p class="error">' "$tmp/$name.dom"
        then
            pass
        else
            fail "the HTML report of $name.zt did not render in headless chromium (script error)"
        fi
    done
}
[ -s "$tmp/exit.zt" ] && html_check "$tmp/exit.zt"

# ---- profiles and options ----------------------------------------------
"$zt" profiles >"$tmp/profiles" 2>&1 || fail "profiles exited non-zero"
for p in native macos15-arm64 iphone6 iphone6s-plus iphone7-plus iphone8 \
    iphonex iphonexs ipad-air2 macos-arm64 ios12-1gb ios12-2gb ios12-4gb; do
    grep -q "^$p " "$tmp/profiles" && pass || fail "profiles does not list $p"
done
"$zt" profiles --sources | grep_q "xnu-4903.221.2 osfmk/arm/pmap.c" && pass \
    || fail "profiles --sources does not give the windows' source"
"$zt" profiles --bogus 2>/dev/null && fail "profiles --bogus should fail" || pass
"$zt" options --markdown | grep_q '^- `ZONETRACE_DEVICE`' && pass \
    || fail "options --markdown does not list ZONETRACE_DEVICE"

# ---- a fatal signal ----------------------------------------------------
"$zt" run -o "$tmp/segv.zt" -- "$ZT_BUILD/scenario_segv" >/dev/null 2>"$tmp/run.err"
rc=$?
[ $rc -eq 139 ] && pass || fail "run of a SIGSEGV program should exit 139, got $rc"
if "$zt" report "$tmp/segv.zt" --format json -o "$tmp/segv.json" 2>"$tmp/err"; then
    python3 -c '
import json, sys
t = json.load(open(sys.argv[1]))["termination"]
ok = t["state"] == "signaled" and t["signal"] == 11 and int(t["fault_addr"], 16) == 8
print("termination:", t["state"], t["signal"], t["fault_addr"]) if not ok else None
sys.exit(0 if ok else 1)' "$tmp/segv.json" && pass || fail "SIGSEGV at 0x8 not reported"
    "$zt" report "$tmp/segv.zt" | grep_q "killed by SIGSEGV (fault address 0x8)" \
        && pass || fail "text report does not name SIGSEGV and the fault address"
    html_check "$tmp/segv.zt"
else
    fail "report of the SIGSEGV record failed: $(cat "$tmp/err")"
fi

# ---- SIGKILL mid-run (jetsam / OOM killer) ------------------------------
mkfifo "$tmp/fifo"
"$zt" run -o "$tmp/kill.zt" -- "$ZT_BUILD/scenario_sleeper" >"$tmp/fifo" 2>"$tmp/run.err" &
zt_pid=$!
exec 3<"$tmp/fifo"
expect_line=
while read -r -t 30 line <&3; do
    case $line in
        expect*) expect_line=$line ;;
        ready) break ;;
    esac
done
sleeper_pid=$(pgrep -P $zt_pid -f scenario_sleeper | head -1)
if [ -z "$sleeper_pid" ] || [ -z "$expect_line" ]; then
    fail "scenario_sleeper did not start under zonetrace run: $(cat "$tmp/run.err")"
    kill $zt_pid 2>/dev/null
else
    kill -9 "$sleeper_pid"
    wait $zt_pid
    rc=$?
    sleeper_pid=
    [ $rc -eq 137 ] && pass || fail "run of a SIGKILLed program should exit 137, got $rc"
    if "$zt" report "$tmp/kill.zt" --format json -o "$tmp/kill.json" 2>"$tmp/err"; then
        python3 - "$tmp/kill.json" $expect_line <<'PY' && pass || fail "SIGKILL record wrong"
import json, sys
r = json.load(open(sys.argv[1]))
site, blocks, nbytes = sys.argv[3], int(sys.argv[4]), int(sys.argv[5])
bad = []
if r["termination"]["state"] != "killed":
    bad.append("termination %r, expected killed" % r["termination"]["state"])
got_b = got_n = 0
for s in r["stacks"]:
    if any(f.get("function") == site for f in s["frames"]):
        got_b += s["live_blocks"]
        got_n += s["live_bytes"]
if (got_b, got_n) != (blocks, nbytes):
    bad.append("%s: %d blocks %d bytes live, expected %d %d" % (site, got_b, got_n, blocks, nbytes))
if bad:
    print("; ".join(bad), file=sys.stderr)
    sys.exit(1)
PY
        "$zt" report "$tmp/kill.zt" | grep_q "killed without running handlers" \
            && pass || fail "text report does not say killed without running handlers"
        html_check "$tmp/kill.zt"
    else
        fail "report of the SIGKILL record failed: $(cat "$tmp/err")"
    fi
fi
exec 3<&-
html_rendered

echo "test_cli: $passes passed, $failures failed"
[ $failures -eq 0 ] || exit 1
if [ -n "$skipped" ]; then
    echo "test_cli: SKIP: $skipped (everything else passed)"
    exit 77 # ctest's SKIP_RETURN_CODE: a partial run is not a pass
fi
