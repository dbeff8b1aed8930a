#!/usr/bin/env bash
# The demo's HTML report in a real browser: headless Chromium (Debian's
# chromium) loads it with no script error, the DOM has the flame graph's and
# the address-space map's SVG drawn by the script, and a screenshot shows
# them: the flame graph's warm colours inside the flame graph's box, the
# map's small-region green, large-block red and first owner's navy inside
# the map's box (boxes reported by the page itself in data-layout). Skipped
# (exit 77, ctest's "skipped"), with a message, when chromium is not installed.
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
        "file://$tmp/demo.html" 2>>"$tmp/chrome.err"
}
chrome_run dom --dump-dom >"$tmp/dom.html" &
chrome_run shot --screenshot="$tmp/shot.png" >/dev/null &
wait
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
echo "test_html_chromium: ok"
