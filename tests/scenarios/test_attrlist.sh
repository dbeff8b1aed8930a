#!/usr/bin/env bash
# Issue 4, end to end: scenario_attrlist under `zonetrace run --device
# ios12-2gb`, its JSON report checked against the seed's crash.
#   crash variant: SIGSEGV at 0x8 in CA_AttrList_set; the NULL that caused it
#     came from zone QuartzCore for 24 B in tiny-32, after a tiny region map
#     that needed a 1 MiB-aligned 1 MiB hole failed; the stack charged the
#     most address space is the small-buffer cache, the image cache is next;
#     peak RSS stays under 700 MB (of the device's 2 GiB); the diagnosis says
#     address space, not physical memory.
#   nano variant: nano's 32-byte class is delegated to the helper zone, the
#     event names the stack that filled it, nothing returns NULL, exit 0.
# Both variants run in parallel (about 3 s each).
set -uo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/../pipe.bash"  # grep_q: no SIGPIPE under pipefail
: "${ZT_BUILD:?ZT_BUILD must point at the build directory}"
zt="$ZT_BUILD/zonetrace"
prog="$ZT_BUILD/scenario_attrlist"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail() { echo "test_attrlist: FAIL: $*" >&2; exit 1; }

run_variant() { # name args...
    local name=$1
    shift
    "$zt" run --device ios12-2gb -o "$tmp/$name.zt" -- "$prog" "$@" >"$tmp/$name.out" \
        2>"$tmp/$name.err"
    echo $? >"$tmp/$name.rc"
}
run_variant crash &
run_variant nano --variant nano &
wait

for v in crash nano; do
    "$zt" report "$tmp/$v.zt" --format json -o "$tmp/$v.json" 2>"$tmp/$v.report.err" \
        || fail "$v: report failed: $(cat "$tmp/$v.report.err") (run: $(cat "$tmp/$v.err"))"
    "$zt" report "$tmp/$v.zt" --top 5 >"$tmp/$v.txt" 2>&1 || fail "$v: text report failed"
done
[ "$(cat "$tmp/crash.rc")" = 139 ] \
    || fail "crash variant: zonetrace run should exit 139 (SIGSEGV), got $(cat "$tmp/crash.rc")"
[ "$(cat "$tmp/nano.rc")" = 0 ] \
    || fail "nano variant: zonetrace run should exit 0, got $(cat "$tmp/nano.rc"): $(cat "$tmp/nano.err")"

python3 - "$tmp/crash.json" "$tmp/nano.json" <<'PY' || fail "see above"
import json, sys

bad = []
def check(ok, what):
    if not ok:
        bad.append(what)

def user_functions(stack):
    return [f.get("function") for f in stack["frames"] if f.get("user")]

MiB = 1 << 20
r = json.load(open(sys.argv[1]))
stacks = {s["id"]: s for s in r["stacks"]}
t = r["termination"]
check(t["state"] == "signaled" and t["signal"] == 11,
      "crash: termination %s signal %s, expected signaled by 11 (SIGSEGV)" % (t["state"], t["signal"]))
check(t["fault_addr"] is not None and int(t["fault_addr"], 16) == 8,
      "crash: fault address %s, expected 0x8" % t["fault_addr"])
fs = t.get("fault_stack") or {"frames": []}
fnames = [f.get("function") for f in fs["frames"] if f.get("user")]
check(fnames[:1] == ["CA_AttrList_set"],
      "crash: faulting frame %r, expected CA_AttrList_set first" % fnames[:3])

ev = r["events"]
nulls = [i for i, e in enumerate(ev) if e["type"] == "null_returned"]
check(nulls, "crash: no null_returned event")
if nulls:
    i = nulls[-1]
    e = ev[i]
    zone = r["zones"][e["zone"]]["name"] if 0 <= e["zone"] < len(r["zones"]) else None
    check(zone == "QuartzCore", "crash: last NULL from zone %r, expected QuartzCore" % zone)
    check(e["size"] == 24, "crash: last NULL for %d B, expected 24" % e["size"])
    check(e["kind"] == "tiny" and e["class_name"] == "tiny-32",
          "crash: last NULL in %s/%s, expected tiny/tiny-32" % (e["kind"], e["class_name"]))
    st = stacks.get(e["stack_id"])
    check(st is not None and "CA_AttrList_set" in user_functions(st)[:1],
          "crash: last NULL's stack is not CA_AttrList_set's")
    maps = [m for m in ev[:i] if m["type"] == "map_failed" and m["stack_id"] == e["stack_id"]]
    check(maps, "crash: no map_failed event before the last NULL from the same stack")
    if maps:
        m = maps[-1]
        check(m["kind"] == "tiny" and m["size"] == MiB and m["align"] == MiB,
              "crash: failed map %s %d B aligned %d, expected tiny 1 MiB aligned 1 MiB"
              % (m["kind"], m["size"], m["align"]))
        check(m["largest_aligned"] < MiB,
              "crash: a 1 MiB-aligned hole of %d B was left" % m["largest_aligned"])
        check(m["va_limit"] > 0 and m["va_used"] > 0.95 * m["va_limit"],
              "crash: address space %d of %d at the failure, expected nearly full"
              % (m["va_used"], m["va_limit"]))

by_va = sorted(r["stacks"], key=lambda s: (-s["va_bytes"], s["id"]))
top = [user_functions(s)[:1] for s in by_va[:2]]
check(top and top[0] == ["small_buffer_cache_fill"],
      "crash: top address-space stack %r, expected small_buffer_cache_fill" % (top[:1],))
check(len(top) > 1 and top[1] == ["image_decode"],
      "crash: second address-space stack %r, expected image_decode" % (top[1:2],))
peak = r["peak_rss_bytes"]
check(0 < peak < 700e6, "crash: peak RSS %d B, expected under 700 MB" % peak)
check(r["ram_bytes"] == 2 << 30, "crash: device RAM %d, expected 2 GiB" % r["ram_bytes"])
check(r["diagnosis"].startswith("address space exhausted (or fragmented), not physical memory")
      or r["diagnosis"].startswith("address space fragmented, not physical memory"),
      "crash: diagnosis %r" % r["diagnosis"])

n = json.load(open(sys.argv[2]))
t = n["termination"]
check(t["state"] == "exited" and t["exit_code"] == 0,
      "nano: termination %s %s, expected exited 0" % (t["state"], t.get("exit_code")))
stacks = {s["id"]: s for s in n["stacks"]}
dele = [e for e in n["events"] if e["type"] == "nano_delegated"]
check(dele, "nano: no nano_delegated event")
if dele:
    e = dele[0]
    check(e["class_name"] == "nano-32", "nano: delegated class %s, expected nano-32" % e["class_name"])
    st = stacks.get(e["stack_id"])
    check(st is not None and "nano_fill_32_byte_class" in user_functions(st),
          "nano: the delegation's stack (id %d) is not nano_fill_32_byte_class" % e["stack_id"])
check(not [e for e in n["events"] if e["type"] == "null_returned"], "nano: a NULL was returned")
tiny32 = [c for z in n["zones"] if z["name"] != "DefaultMallocZone" for c in z["classes"]
          if c["name"] == "tiny-32"]
check(tiny32 and tiny32[0]["total_blocks"] > 0,
      "nano: no tiny-32 allocation in the helper zone after the delegation")
if bad:
    print("\n".join("test_attrlist: " + b for b in bad), file=sys.stderr)
    sys.exit(1)
PY

# The text reports say the same, in words.
for want in "killed by SIGSEGV (fault address 0x8)" "at CA_AttrList_set" "from zone QuartzCore" \
    "1 MiB-aligned 1 MiB hole" "not physical memory" "small_buffer_cache_fill" "image_decode"; do
    tr '\n' ' ' <"$tmp/crash.txt" | sed 's/  */ /g' | grep_q -F "$want" \
        || fail "crash text report lacks '$want':"$'\n'"$(cat "$tmp/crash.txt")"
done
for want in "nano class nano-32 full: delegated" "filled by nano_fill_32_byte_class" \
    "exited with status 0"; do
    tr '\n' ' ' <"$tmp/nano.txt" | sed 's/  */ /g' | grep_q -F "$want" \
        || fail "nano text report lacks '$want':"$'\n'"$(cat "$tmp/nano.txt")"
done
echo "test_attrlist: ok"
