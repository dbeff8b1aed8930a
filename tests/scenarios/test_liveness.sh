#!/usr/bin/env bash
# How the commands decide whether the process behind a record still marked
# "running" is alive (profiler/cli/alive.c, writer_alive; the reader itself
# reads only the file):
#  - a live process is "still running";
#  - a SIGKILLed process whose parent has not reaped it yet (a zombie) is
#    "killed", not "still running";
#  - a pid now held by a process that started after the record's last
#    heartbeat (pid reuse) is "killed" too.
set -uo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/../pipe.bash"  # grep_q: no SIGPIPE under pipefail
: "${ZT_BUILD:?ZT_BUILD must point at the build directory}"
zt="$ZT_BUILD/zonetrace"
tmp=$(mktemp -d)
pids=()
cleanup() {
    for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null; done
    rm -rf "$tmp"
}
trap cleanup EXIT
failures=0
fail() { echo "test_liveness: FAIL: $*" >&2; failures=$((failures + 1)); }

state_of() { # record → termination state from the JSON report
    "$zt" report "$1" --format json 2>"$tmp/err" |
        python3 -c 'import json,sys; print(json.load(sys.stdin)["termination"]["state"])' \
        2>>"$tmp/err"
}

# The profiled sleeper's parent is `sleep`, which never waits for children:
# once SIGKILLed, the sleeper stays a zombie until that sleep ends.
mkfifo "$tmp/fifo"
(
    ZONETRACE_STACKS=full ZONETRACE_OUT="$tmp/zombie.zt" LD_PRELOAD="$ZT_BUILD/libzonetrace.so" \
        "$ZT_BUILD/scenario_sleeper" >"$tmp/fifo" &
    echo $! >"$tmp/sleeper.pid"
    exec sleep 60
) &
pids+=($!)
disown
exec 3<"$tmp/fifo"
ready=
while read -r -t 30 line <&3; do
    [ "$line" = ready ] && { ready=1; break; }
done
sleeper=$(cat "$tmp/sleeper.pid" 2>/dev/null)
if [ -z "$ready" ] || [ -z "$sleeper" ]; then
    fail "scenario_sleeper did not start"
    exit 1
fi
pids+=("$sleeper")

s=$(state_of "$tmp/zombie.zt")
[ "$s" = running ] || fail "a live process is reported as '$s', not running: $(cat "$tmp/err")"
"$zt" report "$tmp/zombie.zt" | grep_q "still running (pid $sleeper)" \
    || fail "text report of a live process does not say still running"

kill -9 "$sleeper"
for _ in $(seq 100); do
    st=$(awk '{ sub(/.*\) /, ""); print $1 }' "/proc/$sleeper/stat" 2>/dev/null)
    [ "$st" = Z ] && break
    sleep 0.05
done
if [ "$st" != Z ]; then
    fail "the SIGKILLed sleeper is not a zombie (state '$st'): cannot test"
else
    s=$(state_of "$tmp/zombie.zt")
    [ "$s" = killed ] || fail "a zombie (killed, not reaped) is reported as '$s', not killed"
    out=$("$zt" report "$tmp/zombie.zt")
    grep -q "killed without running handlers" <<<"$out" \
        || fail "text report of a zombie: $(grep ended: <<<"$out")"
    grep -q "still running" <<<"$out" && fail "text report of a zombie says still running"
fi

# Pid reuse: the killed record with its pid replaced by a process that started
# after the record's last heartbeat (moved 10 s into the past; the monitor
# period set to 0 so that a stale heartbeat alone does not decide).
sleep 30 &
other=$!
pids+=("$other")
disown
python3 - "$tmp/zombie.zt" "$tmp/reused.zt" "$other" <<'PY'
import struct, sys, time
d = bytearray(open(sys.argv[1], "rb").read())
past = time.time_ns() - 10 * 10**9
struct.pack_into("<i", d, 40, int(sys.argv[3]))   # header.pid
struct.pack_into("<Q", d, 48, past - 10**9)       # header.start_wall_ns
struct.pack_into("<Q", d, 56, past)               # header.heartbeat_wall_ns
struct.pack_into("<I", d, 64, 0)                  # header.monitor_ms
open(sys.argv[2], "wb").write(d)
PY
s=$(state_of "$tmp/reused.zt")
[ "$s" = killed ] || fail "a record whose pid now belongs to a newer process is '$s', not killed"
# ...while the same record with a heartbeat after that process started is
# still that process (a live snapshot).
python3 - "$tmp/reused.zt" "$tmp/current.zt" <<'PY'
import struct, sys, time
d = bytearray(open(sys.argv[1], "rb").read())
struct.pack_into("<Q", d, 56, time.time_ns())     # header.heartbeat_wall_ns
open(sys.argv[2], "wb").write(d)
PY
s=$(state_of "$tmp/current.zt")
[ "$s" = running ] || fail "a record with a current heartbeat is '$s', not running"
exec 3<&-

[ $failures -eq 0 ] && echo "test_liveness: ok"
[ $failures -eq 0 ]
