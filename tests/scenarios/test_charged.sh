#!/usr/bin/env bash
# "charged" means one thing everywhere (issue 14; profiler/cli/charge.h):
#  - `zonetrace report --help` defines it, and the README carries the same
#    paragraph word for word;
#  - for every stack of one record (scenario_sites, stacks full, native:
#    nano, tiny, small, medium and large blocks), the JSON's charged_bytes,
#    the HTML's embedded copy, the text report's "charged" column and, when
#    chromium is here, the HTML address-space legend give the same figure
#    (the legend once showed the region sizes the stack was the top owner
#    of: the whole 512 MiB nano region for a small leak).
set -euo pipefail
: "${ZT_BUILD:?ZT_BUILD must point at the build directory}"
: "${ZT_SRC:?ZT_SRC must point at the source tree}"
zt="$ZT_BUILD/zonetrace"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail() { echo "test_charged: FAIL: $*" >&2; exit 1; }

"$zt" report --help >"$tmp/help.txt"
python3 - "$tmp/help.txt" "$ZT_SRC/README.md" <<'PY' || fail "see above"
import sys
help_text = open(sys.argv[1]).read()
readme = open(sys.argv[2]).read()
i = help_text.find("\nCharged: ")
if i < 0:
    sys.exit("test_charged: report --help does not define 'Charged:'")
definition = " ".join(help_text[i:].split())
if definition not in " ".join(readme.replace("`", "").split()):
    sys.exit("test_charged: the README does not carry report --help's definition:\n" + definition)
PY

"$zt" run -o "$tmp/sites.zt" -- "$ZT_BUILD/scenario_sites" >/dev/null 2>"$tmp/run.err" \
    || fail "run: $(cat "$tmp/run.err")"
"$zt" report "$tmp/sites.zt" --format json --top 100 -o "$tmp/r.json" || fail "json report"
"$zt" report "$tmp/sites.zt" --top 100 -o "$tmp/r.txt" || fail "text report"
"$zt" report "$tmp/sites.zt" --format html -o "$tmp/r.html" || fail "html report"

dom=""
chrome=$(command -v chromium || command -v chromium-browser || command -v google-chrome || true)
if [ -n "$chrome" ]; then
    timeout 90 "$chrome" --headless --no-sandbox --disable-gpu --user-data-dir="$tmp/profile" \
        --virtual-time-budget=5000 --dump-dom "file://$tmp/r.html" >"$tmp/dom.html" \
        2>"$tmp/chrome.err" || true
    [ -s "$tmp/dom.html" ] && dom="$tmp/dom.html"
fi

python3 - "$tmp/r.json" "$tmp/r.txt" "$tmp/r.html" "$dom" <<'PY' || fail "see above"
import html, json, re, sys
d = json.load(open(sys.argv[1]))
text = open(sys.argv[2]).read()
page = open(sys.argv[3]).read()
dom = open(sys.argv[4]).read() if sys.argv[4] else ""
bad = []

def fmt(n):  # zt_fmt_bytes
    if n < 1024:
        return "%d B" % n
    v, u = float(n), 0
    while v >= 1000 and u < 4:
        v, u = v / 1024, u + 1
    unit = ["B", "KiB", "MiB", "GiB", "TiB"][u]
    return ("%.2f %s" if v < 10 else "%.1f %s" if v < 100 else "%.0f %s") % (v, unit)

def parse(s):
    v, unit = s.split()
    return float(v) * 1024 ** ["B", "KiB", "MiB", "GiB", "TiB"].index(unit)

charged = {s["id"]: s["charged_bytes"] for s in d["stacks"]}
if not any(charged.values()):
    bad.append("no stack is charged anything")
if any(s["charged_bytes"] != s["va_bytes"] for s in d["stacks"]):
    bad.append("charged_bytes differs from the stack's va_bytes")
m = re.search(r'<script[^>]*id="zt-data"[^>]*>(.*?)</script>', page, re.S)
embedded = json.loads(html.unescape(m.group(1))) if m else None
if not embedded:
    bad.append("no embedded JSON in the HTML")
else:
    for s in embedded["stacks"]:
        if s["id"] in charged and s["charged_bytes"] != charged[s["id"]]:
            bad.append("#%d: html %d, json %d" % (s["id"], s["charged_bytes"], charged[s["id"]]))
# text rows: "  #ID  LIVE  CHARGED  BLOCKS  PEAK  where"
rows = 0
for line in text.splitlines():
    m = re.match(r"\s+#(\d+)\s+(\d[\d.]* [KMGT]?i?B)\s+(\d[\d.]* [KMGT]?i?B)\s+\d+\s", line)
    if not m:
        continue
    rows += 1
    sid, col = int(m.group(1)), m.group(3)
    if col != fmt(charged.get(sid, -1)):
        bad.append("#%d: text charged %s, json %s" % (sid, col, fmt(charged.get(sid, 0))))
if rows < 5:
    bad.append("only %d stack rows in the text report" % rows)
if dom:
    legend = re.findall(r"#(\d+)[^<]*?\(charged (\d[\d.]* [KMGT]?i?B)\)", dom)
    if not legend:
        bad.append("the html legend shows no charged figure")
    for sid, shown in legend:
        want = charged.get(int(sid))
        # JS toFixed may round a tie the other way: half a unit in the last digit
        digits = shown.split()[0]
        step = 10 ** -(len(digits.split(".")[1]) if "." in digits else 0)
        scale = parse(shown) / float(digits) if float(digits) else 1
        if want is None or abs(parse(shown) - want) > step * scale * 0.51:
            bad.append("legend #%s: charged %s, json %s" % (sid, shown, want and fmt(want)))
    print("legend: %d stacks checked" % len(legend))
else:
    print("test_charged: chromium not found: the rendered legend was not checked")
for x in bad:
    print("test_charged:", x, file=sys.stderr)
sys.exit(1 if bad else 0)
PY
echo "test_charged: ok"
