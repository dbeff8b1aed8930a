#!/usr/bin/env bash
# The demo's HTML report in a real browser: headless Chromium (Debian's
# chromium) loads it with no script error, the DOM has the flame graph's and
# the address-space map's SVG drawn by the script, and a screenshot shows
# them: the flame graph's warm colours inside the flame graph's box, the
# map's small-region green, large-block red and first owner's navy inside
# the map's box (boxes reported by the page itself in data-layout). Then the
# flame graph's search, driven in Chromium by the page's #search=cache
# address: the match count and total the page shows equal those computed
# here from the embedded JSON (every flame-graph frame naming "cache", the
# cost of the outermost ones), and the matches are drawn highlighted; the
# timeline has one panel per series, each line spanning its own panel's
# height (no line flattened by another's scale), and labelled event markers
# in which the 160-odd coinciding NULL and map-failure events are grouped
# with counts. Skipped (exit 77, ctest's "skipped"), with a message, when
# chromium is not installed.
set -uo pipefail
: "${ZT_BUILD:?ZT_BUILD must point at the build directory}"
zt="$ZT_BUILD/zonetrace"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail() { echo "test_html_chromium: FAIL: $*" >&2; exit 1; }

chrome=$(command -v chromium || command -v chromium-browser || command -v google-chrome || true)
if [ -z "$chrome" ]; then
    echo "test_html_chromium: SKIP: chromium not found (apt-get install chromium); the HTML" \
        "report was not rendered"
    exit 77
fi

"$zt" run --device ios12-2gb -o "$tmp/demo.zt" -- "$ZT_BUILD/scenario_attrlist" \
    >/dev/null 2>"$tmp/run.err"
[ -s "$tmp/demo.zt" ] || fail "no record from scenario_attrlist: $(cat "$tmp/run.err")"
"$zt" report "$tmp/demo.zt" --format html -o "$tmp/demo.html" 2>"$tmp/err" \
    || fail "html report failed: $(cat "$tmp/err")"
# Self-contained: no scripts, images, styles or frames from elsewhere (the
# SVG namespace URI is a name, not a resource).
if sed 's#http://www.w3.org/2000/svg##g' "$tmp/demo.html" |
    grep -Eiq '<(script|img|link|iframe)[^>]+(src|href)=|url\(|https?://'; then
    fail "the HTML report refers to external resources"
fi

size=1280,1100
chrome_run() {
    timeout 90 "$chrome" --headless --no-sandbox --disable-gpu --hide-scrollbars \
        --user-data-dir="$tmp/profile-$1" --window-size=$size --virtual-time-budget=5000 "${@:2}" \
        "file://$tmp/demo.html${hash:-}" 2>>"$tmp/chrome.err"
}
chrome_run dom --dump-dom >"$tmp/dom.html" &
chrome_run shot --screenshot="$tmp/shot.png" >/dev/null &
wait
hash="#search=cache" chrome_run search --dump-dom >"$tmp/search.html"
[ -s "$tmp/dom.html" ] || fail "chromium --dump-dom printed nothing: $(tail -5 "$tmp/chrome.err")"
[ -s "$tmp/shot.png" ] || fail "chromium --screenshot wrote no PNG: $(tail -5 "$tmp/chrome.err")"

python3 - "$tmp/dom.html" "$tmp/shot.png" <<'PY' || fail "see above"
import html, json, re, struct, sys, zlib

dom = open(sys.argv[1], encoding="utf-8", errors="replace").read()
bad = []
if 'data-rendered="1"' not in dom:
    bad.append("the page's script did not finish (no data-rendered)")
if 'class="error"' in dom:
    m = re.search(r'class="error">([^<]*)', dom)
    bad.append("a chart failed to draw: %s" % (m.group(1) if m else "?"))
m = re.search(r'data-layout="([^"]*)"', dom)
layout = json.loads(html.unescape(m.group(1))) if m else {}
for part, min_rects in (("flame", 4), ("vamap", 50)):
    if part not in layout:
        bad.append("no <svg> drawn in #%s" % part)
    elif layout[part][4] < min_rects:
        bad.append("#%s has %d <rect>s, expected at least %d" % (part, layout[part][4], min_rects))
flame_svg = re.search(r'<div id="flame"><svg.*?</svg>', dom, re.S)
if not flame_svg or "image_decode" not in flame_svg.group(0):
    bad.append("the flame graph does not name image_decode")
if bad:
    print("\n".join(bad), file=sys.stderr)
    sys.exit(1)

def read_png(path, max_rows):
    """RGB(A) 8-bit non-interlaced PNG -> (width, bytes per pixel, rows)."""
    data = open(path, "rb").read()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    pos, idat = 8, []
    while pos < len(data):
        n, typ = struct.unpack(">I4s", data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + n]
        if typ == b"IHDR":
            w, h, depth, ctype, _, _, interlace = struct.unpack(">IIBBBBB", body)
            assert depth == 8 and ctype in (2, 6) and interlace == 0, (depth, ctype)
        elif typ == b"IDAT":
            idat.append(body)
        pos += 12 + n
    raw = zlib.decompress(b"".join(idat))
    bpp = 4 if ctype == 6 else 3
    stride = w * bpp
    rows, prev = [], bytearray(stride)
    for y in range(min(h, max_rows)):
        f = raw[y * (stride + 1)]
        cur = bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
        if f == 1:
            for i in range(bpp, stride):
                cur[i] = (cur[i] + cur[i - bpp]) & 255
        elif f == 2:
            cur = bytearray((a + b) & 255 for a, b in zip(cur, prev))
        elif f == 3:
            for i in range(stride):
                left = cur[i - bpp] if i >= bpp else 0
                cur[i] = (cur[i] + ((left + prev[i]) >> 1)) & 255
        elif f == 4:
            for i in range(stride):
                a = cur[i - bpp] if i >= bpp else 0
                b, c = prev[i], prev[i - bpp] if i >= bpp else 0
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                cur[i] = (cur[i] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
        rows.append(cur)
        prev = cur
    return w, bpp, rows

bottom = max(layout[p][1] + layout[p][3] for p in ("flame", "vamap"))
w, bpp, rows = read_png(sys.argv[2], bottom + 1)
if len(rows) < bottom:
    print("the screenshot (%d rows) does not reach the charts (row %d)" % (len(rows), bottom),
          file=sys.stderr)
    sys.exit(1)

def pixels(box):
    x, y, bw, bh = box[:4]
    for yy in range(y, min(y + bh, len(rows))):
        r = rows[yy]
        for xx in range(x, min(x + bw, w), 2):
            o = xx * bpp
            yield r[o], r[o + 1], r[o + 2]

def share(box, pred):
    n = hit = 0
    for p in pixels(box):
        n += 1
        hit += pred(p)
    return hit / n if n else 0.0

def near(rgb, tol=14):
    return lambda p: all(abs(a - b) <= tol for a, b in zip(p, rgb))

# Flame graph frames: hsl(10..55, 80 %, 55..70 %): red high, blue low.
warm = share(layout["flame"], lambda p: p[0] > 200 and p[2] < 150 and p[0] - p[2] > 90)
small = share(layout["vamap"], near((0x44, 0xa3, 0x6b)))
large = share(layout["vamap"], near((0xd1, 0x49, 0x5b)))
owner = share(layout["vamap"], near((0x1f, 0x3b, 0x73)))
print("test_html_chromium: flame warm %.0f %%, map small %.0f %%, large %.0f %%, owner %.0f %%"
      % (100 * warm, 100 * small, 100 * large, 100 * owner))
for name, got, want in (("flame graph colours in the flame graph", warm, 0.15),
                        ("small-region green in the map", small, 0.05),
                        ("large-block red in the map", large, 0.05),
                        ("first owner's navy in the map", owner, 0.05)):
    if got < want:
        bad.append("%s: %.1f %% of the box, expected at least %.0f %%" % (name, 100 * got, 100 * want))
if bad:
    print("\n".join(bad), file=sys.stderr)
    sys.exit(1)
PY

python3 - "$tmp/search.html" "$tmp/demo.html" <<'PY' || fail "search and timeline (above)"
import html, json, re, sys

dom = open(sys.argv[1], encoding="utf-8", errors="replace").read()
page = open(sys.argv[2], encoding="utf-8").read()
D = json.loads(re.search(r'<script id="zt-data" type="application/json">\n(.*?)</script>',
                         page, re.S).group(1))
bad = []
if 'data-rendered="1"' not in dom or 'class="error"' in dom:
    bad.append("the page did not render with #search=cache")

# The flame graph's tree as the page builds it: user frames, outermost first,
# named "function (file:line)".
def long_name(f):
    s = f["function"] or "%s+%s" % (f["module"], f["offset"])
    if f["file"] and f["line"]:
        s += " (%s:%d)" % (f["file"].rsplit("/", 1)[-1], f["line"])
    if f["inlined"]:
        s += " [inlined]"
    return s
root = {"kids": {}, "value": 0}
for s in D["stacks"]:
    if not s["cost"]:
        continue
    fr = [f for f in s["frames"] if f["user"]] or s["frames"]
    node = root
    root["value"] += s["cost"]
    for f in reversed(fr):
        node = node["kids"].setdefault(long_name(f), {"kids": {}, "value": 0,
                                                      "full": f.get("function_full") or ""})
        node["value"] += s["cost"]
count = total = 0
def walk(name, n, inside):
    global count, total
    hit = "cache" in name.lower() or "cache" in n["full"].lower()
    if hit:
        count += 1
        total += 0 if inside else n["value"]
    for k, c in n["kids"].items():
        walk(k, c, inside or hit)
for k, c in root["kids"].items():
    walk(k, c, False)
m = re.search(r'id="flame-matches" data-matches="(\d+)" data-match-cost="(\d+)">([^<]*)<', dom)
if not m:
    bad.append("no match total in #flame-matches")
else:
    got_n, got_cost, words = int(m.group(1)), int(m.group(2)), html.unescape(m.group(3))
    print("test_html_chromium: search 'cache': %s (expected %d matches, %d)" % (words, count, total))
    if count < 2 or got_n != count or got_cost != total:
        bad.append("search 'cache': page says %d matches, %d; expected %d, %d"
                   % (got_n, got_cost, count, total))
    pct = "%.1f %%" % (100.0 * total / root["value"])
    if not words.startswith("%d matches, " % count) or not words.endswith("(%s)" % pct):
        bad.append("search total reads %r, expected '%d matches, ... (%s)'" % (words, count, pct))
flame = re.search(r'<div id="flame"><svg.*?</svg>', dom, re.S).group(0)
hl = len(re.findall(r'class="match"', flame))
if hl < 1 or hl > count:
    bad.append("%d highlighted frames drawn for %d matches" % (hl, count))

# Timeline: panels, own scales, labelled and grouped markers.
tl = re.search(r'<div id="timeline"([^>]*)>(.*?)</svg>', dom, re.S)
attrs = dict(re.findall(r'(data-[a-z-]+)="(\d+)"', tl.group(1))) if tl else {}
if attrs.get("data-panels") != "3":
    bad.append("timeline panels: %s" % attrs.get("data-panels"))
for pts in re.findall(r'<polyline points="([^"]*)"[^>]*class="series"', tl.group(2) if tl else ""):
    ys = [float(p.split(",")[1]) for p in pts.split()]
    if max(ys) - min(ys) < 40:
        bad.append("a timeline line spans only %.0f px of its 80 px panel" % (max(ys) - min(ys)))
labels = [html.unescape(t) for t in re.findall(r'class="marker-label">([^<]*)<', tl.group(2) if tl else "")]
markers, events = int(attrs.get("data-markers", 0)), int(attrs.get("data-marker-events", 0))
print("test_html_chromium: %d event markers for %d events: %s" % (markers, events, labels))
if not markers or len(labels) != markers or not all(labels):
    bad.append("event markers %d, labels %s" % (markers, labels))
if events <= markers or not any("\u00d7" in l for l in labels):
    bad.append("coinciding events are not grouped with a count: %d events, %s" % (events, labels))
if bad:
    print("\n".join(bad), file=sys.stderr)
    sys.exit(1)
PY
echo "test_html_chromium: ok"
