#!/usr/bin/env bash
# ZONETRACE_VERBOSE=1: the library prints the profile and every option at
# start, and per-zone statistics and the heap address space at exit. Checked
# on scenario_sites under ios12-2gb, whose live blocks are known (its
# "expect" lines): the zone names, and numbers that add up — each zone holds
# at least the program's live blocks in it and not much more, the custom
# zone exactly its 8 blocks plus the copy of its name, "touched" and
# "allocated" are at least "in use", the address space fits the limit.
set -uo pipefail
: "${ZT_BUILD:?ZT_BUILD must point at the build directory}"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

ZONETRACE_VERBOSE=1 ZONETRACE_DEVICE=ios12-2gb LD_PRELOAD="$ZT_BUILD/libzonetrace.so" \
    "$ZT_BUILD/scenario_sites" >"$tmp/out" 2>"$tmp/err"
rc=$?
if [ $rc -ne 0 ]; then
    echo "test_verbose: FAIL: scenario_sites exited $rc: $(head -c 500 "$tmp/err")" >&2
    exit 1
fi
"$ZT_BUILD/zonetrace" options --markdown | sed -n 's/^- `\(ZONETRACE_[A-Z_]*\)`.*/\1/p' \
    >"$tmp/vars"

python3 - "$tmp/err" "$tmp/out" "$tmp/vars" <<'PY'
import re, sys
err = open(sys.argv[1]).read().splitlines()
expect = {}
for line in open(sys.argv[2]):
    f = line.split()
    if f and f[0] == "expect":
        expect[f[1]] = (int(f[2]), int(f[3]))
variables = open(sys.argv[3]).read().split()
bad = []
def check(cond, what):
    if not cond:
        bad.append(what)

check(all(l.startswith("zonetrace: ") for l in err), "a stderr line without 'zonetrace: '")
check(len(expect) == 7, "scenario_sites printed %d expectations, not 7" % len(expect))

# ---- at start: the profile, then one line per option -------------------
# ios12-2gb is an alias: the profile line names the row it means
check(err and re.match(r"zonetrace: zonetrace [0-9.]+, profile iphone6s-plus: ", err[0]),
      "first line is not the version and profile: %r" % (err[:1],))
options = {}
for l in err:
    m = re.match(r"zonetrace: option (ZONETRACE_[A-Z_]+)=(.*)$", l)
    if m:
        options[m.group(1)] = m.group(2)
check(sorted(options) == sorted(variables),
      "options printed %s, the table has %s" % (sorted(options), sorted(variables)))
for var, shown in (("ZONETRACE_DEVICE", "ios12-2gb"), ("ZONETRACE_VERBOSE", "1"),
                   ("ZONETRACE_DEPTH", "32 (default)")):
    check(options.get(var) == shown, "%s shown as %r, not %r" % (var, options.get(var), shown))
last_option = max(i for i, l in enumerate(err) if " option " in l)

# ---- at exit: per-zone statistics ---------------------------------------
zones = {}
zone_re = re.compile(r'zonetrace: zone (\d+) "([^"]*)": (\d+) blocks in use, (\d+) bytes in use, '
                     r'(\d+) bytes touched, (\d+) bytes allocated$')
for i, l in enumerate(err):
    m = zone_re.match(l)
    if m:
        check(i > last_option, "zone statistics before the options")
        zones[m.group(2)] = dict(index=int(m.group(1)), blocks=int(m.group(3)),
                                 in_use=int(m.group(4)), touched=int(m.group(5)),
                                 allocated=int(m.group(6)))
check(list(zones) == ["DefaultMallocZone", "MallocHelperZone", "sites-zone"],
      "zones %s, expected DefaultMallocZone (nano), MallocHelperZone, sites-zone" % list(zones))
if len(zones) == 3:
    def want(sites):
        return (sum(expect[s][0] for s in sites), sum(expect[s][1] for s in sites))
    # ios12-2gb: nano serves up to 256 B, so 16 B and 64 B blocks are in zone 0.
    for name, sites, slack in (
            ("DefaultMallocZone", ["site_small_16", "site_thread_worker"], 64 << 10),
            ("MallocHelperZone",
             ["site_tiny_500", "site_small_4k", "site_large_1m", "site_realloc_grow"], 256 << 10)):
        z, (blocks, nbytes) = zones[name], want(sites)
        check(blocks <= z["blocks"] <= blocks + 1000,
              "%s: %d blocks in use, the program holds %d there" % (name, z["blocks"], blocks))
        check(nbytes <= z["in_use"] <= nbytes + slack,
              "%s: %d bytes in use, the program holds %d there" % (name, z["in_use"], nbytes))
    z = zones["sites-zone"]
    blocks, nbytes = expect["site_zone_alloc"]
    name_copy = 16  # "sites-zone" + NUL, one 16 B quantum, kept in the zone as libmalloc does
    check(z["blocks"] == blocks + 1 and z["in_use"] == nbytes + name_copy,
          "sites-zone: %d blocks, %d bytes in use; expected %d, %d" %
          (z["blocks"], z["in_use"], blocks + 1, nbytes + name_copy))
    for name, z in zones.items():
        check(z["touched"] >= z["in_use"] and z["allocated"] >= z["in_use"],
              "%s: touched %d / allocated %d below in use %d" %
              (name, z["touched"], z["allocated"], z["in_use"]))
va_re = re.compile(r"zonetrace: heap address space: (\d+) bytes used, (\d+) peak, limit (\d+) ")
va = [va_re.match(l) for l in err]
va = [m for m in va if m]
check(len(va) == 1, "%d heap address space lines" % len(va))
if va and len(zones) == 3:
    used, peak, limit = (int(x) for x in va[0].groups())
    check(limit == (2 << 30) + (896 << 20), "limit %d, expected 2 GiB + 0.875 GiB" % limit)
    check(used <= peak <= limit, "used %d, peak %d, limit %d" % (used, peak, limit))
    # The helper's and the custom zone's regions and large blocks lie in the
    # windows (the nano region does not).
    inside = zones["MallocHelperZone"]["in_use"] + zones["sites-zone"]["in_use"]
    check(used >= inside, "address space used %d below the bytes in use there %d" % (used, inside))
if bad:
    print("test_verbose: FAIL: " + "; ".join(bad), file=sys.stderr)
    sys.exit(1)
print("test_verbose: ok (%d options, %d zones)" % (len(options), len(zones)))
PY
