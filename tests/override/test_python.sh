#!/usr/bin/env bash
# ----------------------------------------------------------------------------
# test_python.sh — CPython under LD_PRELOAD gives byte-identical output.
#
# A dict/str-heavy script prints digests of everything it builds, once with
# pymalloc (only >512 B blocks reach malloc) and once with PYTHONMALLOC=malloc
# (every object is a malloc block: the real stress), then a few stdlib
# regression-test modules run. Runs: reference, preloaded, and preloaded under
# the ios12-4gb device profile (PYTHONMALLOC=malloc digest script only); last,
# a 3 GiB request under ios12-1gb must raise MemoryError, not crash.
# ----------------------------------------------------------------------------
. "$(dirname "$0")/lib.bash"
zt_need python3 python3

# The pyenv shim is a shell script that execs the real interpreter; resolve it
# once so that the preloaded process is CPython itself.
PY=$(python3 -c 'import sys; print(sys.executable)') || zt_die "python3 does not start"
REGRTEST_MODULES=(test_dict test_json test_re test_collections test_unicode test_zlib test_hashlib
                  test_list test_sort test_struct test_threading_local test_sqlite3)
HAVE_REGRTEST=0
"$PY" -c 'import test.libregrtest' 2>/dev/null && HAVE_REGRTEST=1

# Fixed hash seed: set/dict-of-set iteration order must not vary between runs.
export PYTHONHASHSEED=0 PYTHONDONTWRITEBYTECODE=1

cat >"$ZT_TMP/work.py" <<'EOF'
import collections, gc, hashlib, json, random, re, sys, threading, zlib

rng = random.Random(20240601)

def out(name, obj):
    data = obj if isinstance(obj, (bytes, bytearray)) else repr(obj).encode()
    print(f"{name}: {len(data)} {hashlib.sha256(data).hexdigest()[:24]}")

letters = "abcdefghijklmnopqrstuvwxyzäöüßéλ"
words = ["".join(rng.choice(letters) for _ in range(rng.randint(1, 14))) for _ in range(20000)]
out("words", words)

# Dict churn: insert, update, delete half, reinsert (resizes both ways).
d = {}
for i in range(150000):
    k = words[i % len(words)] + str(i * 7919 % 100003)
    d[k] = d.get(k, 0) + i
out("dict", sorted(d.items()))
for k in list(d)[::2]:
    del d[k]
for i in range(0, 50000, 3):
    d[str(i)] = [i] * (i % 7)
out("dict-churn", sorted(d.items(), key=lambda kv: kv[0]))
nested = {w: {str(j): w * j for j in range(i % 5)} for i, w in enumerate(words[:3000])}
out("nested", json.dumps(nested, sort_keys=True))

# Strings: concatenation (realloc in place), join, split, replace, format, encode.
s = ""
for i in range(40000):
    s += words[i % len(words)]
    if i % 1000 == 0:
        s = s.replace("a", "A")
out("concat", s)
text = " ".join(f"{w}:{i:x}" for i, w in enumerate(words * 5))
out("join", text)
out("split", sorted(set(text.split()))[:1000])
out("upper-encode", text.upper().encode("utf-8"))
out("utf16", text.encode("utf-16"))
out("format", ["%s-%08d-%r" % (w, i, w[::-1]) for i, w in enumerate(words)])

# Regular expressions over a large text.
out("findall", re.findall(r"([a-z]+):([0-9a-f]{3,})", text))
out("sub", re.sub(r"(\w)(\w*)", lambda m: m.group(2) + m.group(1), text[:500000]))
out("counter", sorted(collections.Counter(re.findall(r"[a-z]{2}", text)).most_common(200)))

# Large blocks: bytearray growth, big lists, zlib, JSON round trip.
ba = bytearray()
for i in range(4096):
    ba += bytes([i & 0xFF]) * (i * 7 % 9000)
out("bytearray", ba)
big = [i * i for i in range(400000)]
out("biglist", big[::997])
del big
blob = zlib.compress(text.encode() * 2, 6)
out("zlib", blob)
out("unzlib", zlib.decompress(blob))
doc = [{"id": i, "w": words[i % 20000], "v": [i, str(i), i / 7]} for i in range(40000)]
out("json", json.loads(json.dumps(doc)))

# Cycles for the collector.
class Node:
    def __init__(self, v):
        self.v, self.next, self.data = v, None, "x" * (v % 300)
for r in range(5):
    nodes = [Node(i) for i in range(20000)]
    for a, b in zip(nodes, nodes[1:] + nodes[:1]):
        a.next = b
    del nodes
    print("gc", r, gc.collect() > 0)

# Threads allocating concurrently; results joined in a fixed order.
results = [None] * 4
def worker(n):
    local = {}
    for i in range(25000):
        local[f"{n}-{i}"] = str(i) * (i % 11)
    results[n] = hashlib.sha256(repr(sorted(local.items())).encode()).hexdigest()[:24]
ts = [threading.Thread(target=worker, args=(n,)) for n in range(4)]
for t in ts:
    t.start()
for t in ts:
    t.join()
print("threads", results)

# fork() while other threads allocate: the child must find the allocator
# usable (fork handlers), allocate, and exit cleanly.
import os
stop = False
def churn():
    while not stop:
        [bytearray(i * 97) for i in range(300)]
ts = [threading.Thread(target=churn) for _ in range(3)]
for t in ts:
    t.start()
statuses = []
for i in range(12):
    pid = os.fork()
    if pid == 0:
        d = {str(j): "y" * (j % 40) for j in range(20000 + i)}
        os._exit(0 if len(d) == 20000 + i else 1)
    statuses.append(os.waitpid(pid, 0)[1])
stop = True
for t in ts:
    t.join()
print("forks", statuses)
EOF

# STEPS selects what one run does: digest (pymalloc), digest-malloc, regrtest.
workload() {
    local step
    for step in $STEPS; do
        case $step in
            digest) "${ZT_RUNV[@]}" "$PY" "$ZT_TMP/work.py" >digest.txt ;;
            digest-malloc) "${ZT_RUNV[@]}" PYTHONMALLOC=malloc "$PY" "$ZT_TMP/work.py" >digest-malloc.txt ;;
            regrtest)
                # Durations vary; the counts and the verdict must not. Quiet:
                # some tests compare a child interpreter's stderr.
                "${ZT_RUN[@]}" "$PY" -m test -q "${REGRTEST_MODULES[@]}" >regrtest.log 2>&1 ||
                    { echo "regrtest failed:"; tail -n 30 regrtest.log; exit 1; }
                grep -E '^(Total tests|Total test files|Result):' regrtest.log >regrtest.txt
                ;;
        esac
    done
}

STEPS="digest digest-malloc"
[ $HAVE_REGRTEST = 1 ] && STEPS="$STEPS regrtest" ||
    zt_skip_part "the 'test' package is absent from $PY: stdlib regression tests not run"
zt_ref
files=(digest.txt digest-malloc.txt)
[ $HAVE_REGRTEST = 1 ] && files+=(regrtest.txt)

zt_case zt zt
zt_check_used zt
zt_compare ref zt "${files[@]}"

# Under a limited profile every block over 15 KiB is a large block mapped and
# unmapped on its own (as on iOS), which costs system time: one script run.
STEPS="digest-malloc"
zt_case ios zt ZONETRACE_DEVICE=ios12-4gb
zt_check_used ios
zt_compare ref ios digest-malloc.txt

# Today's iPhone: xzone (an iPhone 12 on iOS 26.1), same bytes.
zt_case ios26 zt ZONETRACE_DEVICE=iphone12-ios26
zt_check_used ios26
zt_compare ref ios26 digest-malloc.txt

# Address space running out must surface as MemoryError, not as a crash: a
# 3 GiB request cannot fit the ios12-1gb profile's single 2 GiB window.
oom=$(timeout 120 env LD_PRELOAD="$ZT_LIB" ZONETRACE_DEVICE=ios12-1gb "$PY" -c '
try:
    b = bytearray(3 << 30)
    print("allocated", len(b))
except MemoryError:
    print("MemoryError")
x = [str(i) for i in range(100000)]
print("alive", len(x))' 2>&1)
case "$(basename "$ZT_LIB")" in
    libzonetrace*)
        [ "$oom" = "MemoryError
alive 100000" ] || zt_fail "3 GiB bytearray under ios12-1gb: expected MemoryError then alive, got: $oom"
        ;;
esac

zt_finish
