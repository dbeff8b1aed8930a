/* ----------------------------------------------------------------------------
 * report_html.c — one self-contained HTML file: a summary written here, then
 * the JSON report embedded as data and a small script that draws a flame
 * graph of live bytes (click a frame to zoom), the address-space map coloured
 * by kind and by the stack that owns each region, the footprint timeline and
 * the top stacks. No external resources: it opens from a mail attachment.
 * The JSON writer escapes '<', so the data can never close its <script>.
 * -------------------------------------------------------------------------- */
#include "report.h"

#include <string.h>

static const char style[] =
    "body { font: 14px/1.4 system-ui, sans-serif; margin: 20px; color: #222; }\n"
    "h1 { font-size: 20px; margin: 0 0 8px; }\n"
    "h2 { font-size: 16px; margin: 24px 0 6px; border-bottom: 1px solid #ddd; }\n"
    ".summary td { padding: 1px 10px 1px 0; vertical-align: top; }\n"
    ".summary td:first-child { color: #666; }\n"
    ".diag { font-weight: bold; }\n"
    "table { border-collapse: collapse; }\n"
    "th, td { text-align: left; padding: 2px 10px 2px 0; }\n"
    "th { border-bottom: 1px solid #aaa; }\n"
    "td.frames div { font-family: ui-monospace, monospace; font-size: 12px; }\n"
    "svg text { font-family: ui-monospace, monospace; pointer-events: none; }\n"
    ".legend span { margin-right: 14px; font-size: 12px; }\n"
    ".legend i { display: inline-block; width: 12px; height: 12px; margin-right: 4px; "
    "vertical-align: -2px; }\n"
    ".note { color: #666; font-size: 12px; }\n"
    ".error { color: #b00; }\n"
    "#tip { position: absolute; display: none; background: #ffe; border: 1px solid #999; padding: "
    "4px 6px;\n"
    "       white-space: pre; font: 12px ui-monospace, monospace; pointer-events: none; }\n";

/* One line per string: ISO C only promises literals of 4095 bytes. */
static const char *const script[] = {
    "<script>\n",
    "\"use strict\";\n",
    "(function () {\n",
    "  var D = JSON.parse(document.getElementById(\"zt-data\").textContent);\n",
    "  var SVGNS = \"http://www.w3.org/2000/svg\";\n",
    "  var KIND_COLOR = {nano: \"#8e6cc4\", tiny: \"#3f88c5\", small: \"#44a36b\", medium: ",
    "\"#e0a030\",\n",
    "                    large: \"#d1495b\", free: \"#e8e8e8\"};\n",
    "  function el(tag, attrs, parent) {\n",
    "    var e = document.createElementNS(SVGNS, tag);\n",
    "    for (var k in attrs) e.setAttribute(k, attrs[k]);\n",
    "    if (parent) parent.appendChild(e);\n",
    "    return e;\n",
    "  }\n",
    "  function html(tag, text, parent, cls) {\n",
    "    var e = document.createElement(tag);\n",
    "    if (text !== undefined && text !== null) e.textContent = text;\n",
    "    if (cls) e.className = cls;\n",
    "    if (parent) parent.appendChild(e);\n",
    "    return e;\n",
    "  }\n",
    "  function bytes(n) {\n",
    "    var u = [\"B\", \"KiB\", \"MiB\", \"GiB\", \"TiB\"], i = 0;\n",
    "    if (n < 1024) return n + \" B\";\n",
    "    while (n >= 1024 && i < 4) { n /= 1024; i++; }\n",
    "    return (n < 10 ? n.toFixed(2) : n < 100 ? n.toFixed(1) : n.toFixed(0)) + \" \" + u[i];\n",
    "  }\n",
    "  function frameName(f) { return f.function || (f.module + \"+\" + f.offset); }\n",
    "  function frameLong(f) {\n",
    "    var s = frameName(f);\n",
    "    if (f.file && f.line) s += \" (\" + f.file.replace(/.*\\//, \"\") + \":\" + f.line + ",
    "\")\";\n",
    "    if (f.inlined) s += \" [inlined]\";\n",
    "    return s;\n",
    "  }\n",
    "  function userFrames(s) {\n",
    "    var v = s.frames.filter(function (f) { return f.user; });\n",
    "    return v.length ? v : s.frames;\n",
    "  }\n",
    "  var stackById = {};\n",
    "  D.stacks.forEach(function (s) { stackById[s.id] = s; });\n",
    "  function stackLabel(id) {\n",
    "    var s = stackById[id];\n",
    "    if (!s) return id ? \"stack #\" + id : \"-\";\n",
    "    var f = userFrames(s);\n",
    "    return \"#\" + id + \" \" + (f.length ? frameLong(f[0]) : \"(no frames)\");\n",
    "  }\n",
    "  var tip = document.getElementById(\"tip\");\n",
    "  function hover(node, text) {\n",
    "    node.addEventListener(\"mousemove\", function (ev) {\n",
    "      tip.textContent = text; tip.style.display = \"block\";\n",
    "      tip.style.left = (ev.pageX + 12) + \"px\"; tip.style.top = (ev.pageY + 12) + \"px\";\n",
    "    });\n",
    "    node.addEventListener(\"mouseleave\", function () { tip.style.display = \"none\"; });\n",
    "  }\n",
    "\n",
    "  /* ---- flame graph of the --sort cost, s.cost (outermost frame at the bottom) ---- */\n",
    "  function buildTree() {\n",
    "    var root = {name: \"all (\" + D.sort + \", \" + D.at.moment + \")\", value: 0, kids: {}, "
    "order: []};\n",
    "    D.stacks.forEach(function (s) {\n",
    "      if (!s.cost) return;\n",
    "      var fr = userFrames(s).slice().reverse(), node = root;\n",
    "      root.value += s.cost;\n",
    "      fr.forEach(function (f) {\n",
    "        var k = frameLong(f), c = node.kids[k];\n",
    "        if (!c) { c = node.kids[k] = {name: k, value: 0, kids: {}, order: []}; ",
    "node.order.push(c); }\n",
    "        c.value += s.cost;\n",
    "        node = c;\n",
    "      });\n",
    "    });\n",
    "    return root;\n",
    "  }\n",
    "  function depthOf(n) {\n",
    "    var d = 0;\n",
    "    n.order.forEach(function (c) { d = Math.max(d, depthOf(c)); });\n",
    "    return d + 1;\n",
    "  }\n",
    "  function hue(name) {\n",
    "    var h = 0;\n",
    "    for (var i = 0; i < name.length; i++) h = (h * 31 + name.charCodeAt(i)) >>> 0;\n",
    "    return \"hsl(\" + (10 + h % 45) + \",80%,\" + (55 + (h >> 8) % 15) + \"%)\";\n",
    "  }\n",
    "  var flameRoot = buildTree();\n",
    "  function drawFlame(focus) {\n",
    "    var box = document.getElementById(\"flame\");\n",
    "    box.innerHTML = \"\";\n",
    "    if (!flameRoot.value) { html(\"p\", \"No live heap (or no stacks recorded).\", box); ",
    "return; }\n",
    "    var W = Math.max(box.clientWidth || 1000, 600), RH = 18, depth = depthOf(focus);\n",
    "    var H = depth * RH + 4;\n",
    "    var svg = el(\"svg\", {width: W, height: H, viewBox: \"0 0 \" + W + \" \" + H}, box);\n",
    "    function draw(n, x, w, level) {\n",
    "      if (w < 0.5) return;\n",
    "      var y = H - (level + 1) * RH;\n",
    "      var g = el(\"g\", {}, svg);\n",
    "      el(\"rect\", {x: x, y: y, width: Math.max(w - 1, 0.5), height: RH - 1, rx: 2,\n",
    "                  fill: level === 0 ? \"#bbb\" : hue(n.name)}, g);\n",
    "      if (w > 40) {\n",
    "        var t = el(\"text\", {x: x + 4, y: y + 13, \"font-size\": 12}, g);\n",
    "        var maxc = Math.floor((w - 8) / 7);\n",
    "        t.textContent = n.name.length > maxc ? n.name.slice(0, Math.max(maxc - 1, 1)) + ",
    "\"\\u2026\" : n.name;\n",
    "      }\n",
    "      hover(g, n.name + \"\\n\" + bytes(n.value) + \" live (\" +\n",
    "            (100 * n.value / flameRoot.value).toFixed(1) + \" %)\");\n",
    "      g.style.cursor = \"pointer\";\n",
    "      g.addEventListener(\"click\", function () { drawFlame(n === focus ? flameRoot : n); ",
    "});\n",
    "      var cx = x;\n",
    "      n.order.slice().sort(function (a, b) { return b.value - a.value; }).forEach(function ",
    "(c) {\n",
    "        var cw = w * c.value / n.value;\n",
    "        draw(c, cx, cw, level + 1);\n",
    "        cx += cw;\n",
    "      });\n",
    "    }\n",
    "    draw(focus, 0, W, 0);\n",
    "  }\n",
    "\n",
    "  /* ---- address-space map: by kind, and by owner ---- */\n",
    "  /* Owner colours stay clear of the kind colours above: a green owner on\n",
    "   * a red (large) region would read as \"small\". */\n",
    "  var OWNER_COLORS = [\"#1f3b73\", \"#c9a227\", \"#17a2b8\", \"#8c564b\", \"#e377c2\", ",
    "\"#6b8e23\",\n",
    "                      \"#ff7f50\", \"#4b0082\", \"#708090\", \"#000000\"];\n",
    "  function drawMap() {\n",
    "    var box = document.getElementById(\"vamap\");\n",
    "    var W = Math.max(box.clientWidth || 1000, 600);\n",
    "    var items = [];   /* {base, bytes, kind, region} laid out on one axis per window */\n",
    "    var windows = {};\n",
    "    if (D.va_runs.length) {\n",
    "      D.va_runs.forEach(function (v) {\n",
    "        (windows[v.window] = windows[v.window] || []).push({base: parseInt(v.base, 16), ",
    "bytes: v.bytes, kind: v.kind});\n",
    "      });\n",
    "    } else if (D.regions.length) {\n",
    "      /* Unlimited profile: regions side by side, gaps left out. */\n",
    "      windows[0] = D.regions.slice().sort(function (a, b) { return parseInt(a.base, 16) - ",
    "parseInt(b.base, 16); })\n",
    "        .map(function (r) { return {base: parseInt(r.base, 16), bytes: r.bytes, kind: ",
    "r.kind}; });\n",
    "      html(\"p\", \"No address-space limit: regions are shown side by side, the gaps between ",
    "them left out.\", box, \"note\");\n",
    "    } else {\n",
    "      html(\"p\", \"No regions recorded.\", box);\n",
    "      return;\n",
    "    }\n",
    "    var regions = D.regions.map(function (r) {\n",
    "      return {base: parseInt(r.base, 16), bytes: r.bytes, kind: r.kind, used: r.used_bytes,\n",
    "              owner: r.top_stack, zone: r.zone};\n",
    "    });\n",
    "    /* Owners: the stacks charged most address space get their own colour. */\n",
    "    var ownerBytes = {};\n",
    "    regions.forEach(function (r) { if (r.owner) ownerBytes[r.owner] = (ownerBytes[r.owner] "
    "|| ",
    "0) + r.bytes; });\n",
    "    var owners = Object.keys(ownerBytes).sort(function (a, b) { return ownerBytes[b] - ",
    "ownerBytes[a]; }).slice(0, OWNER_COLORS.length);\n",
    "    var ownerColor = {};\n",
    "    owners.forEach(function (o, i) { ownerColor[o] = OWNER_COLORS[i]; });\n",
    "    var BH = 26, GAP = 30;\n",
    "    var keys = Object.keys(windows);\n",
    "    var H = keys.length * (2 * BH + GAP) + 10;\n",
    "    var svg = el(\"svg\", {width: W, height: H}, box);\n",
    "    keys.forEach(function (k, wi) {\n",
    "      var runs = windows[k];\n",
    "      var total = 0;\n",
    "      runs.forEach(function (r) { total += r.bytes; });\n",
    "      if (!total) return;\n",
    "      var y0 = 10 + wi * (2 * BH + GAP);\n",
    "      var t = el(\"text\", {x: 0, y: y0 - 2, \"font-size\": 11}, svg);\n",
    "      t.textContent = (D.va_runs.length ? \"window \" + k + \": \" : \"heap regions: \") + ",
    "bytes(total);\n",
    "      /* position of an address on this axis */\n",
    "      var pos = [], acc = 0;\n",
    "      runs.forEach(function (r) { pos.push({base: r.base, end: r.base + r.bytes, x: acc}); ",
    "acc += r.bytes; });\n",
    "      function xOf(a) {\n",
    "        for (var i = 0; i < pos.length; i++)\n",
    "          if (a >= pos[i].base && a <= pos[i].end) return (pos[i].x + a - pos[i].base) * W / ",
    "total;\n",
    "        return -1;\n",
    "      }\n",
    "      runs.forEach(function (r) {\n",
    "        var x = xOf(r.base), w = r.bytes * W / total;\n",
    "        var rect = el(\"rect\", {x: x, y: y0, width: Math.max(w, 0.5), height: BH - 2,\n",
    "                               fill: KIND_COLOR[r.kind] || \"#999\"}, svg);\n",
    "        hover(rect, r.kind + \" \" + bytes(r.bytes) + \" at 0x\" + r.base.toString(16));\n",
    "      });\n",
    "      regions.forEach(function (r) {\n",
    "        var x = xOf(r.base);\n",
    "        if (x < 0) return;\n",
    "        var w = Math.max(r.bytes * W / total, 1);\n",
    "        var occ = r.bytes ? r.used / r.bytes : 0;\n",
    "        var label = r.kind + \" region \" + bytes(r.bytes) + \" at 0x\" + "
    "r.base.toString(16) ",
    "+\n",
    "                    \"\\nlive \" + bytes(r.used) + \" (\" + (100 * occ).toFixed(1) + \" % ",
    "used)\" +\n",
    "                    \"\\nowner: \" + stackLabel(r.owner);\n",
    "        var a = el(\"rect\", {x: x, y: y0, width: w, height: BH - 2, fill: "
    "KIND_COLOR[r.kind] ",
    "|| \"#999\",\n",
    "                            \"fill-opacity\": 0.35 + 0.65 * occ}, svg);\n",
    "        hover(a, label);\n",
    "        var b = el(\"rect\", {x: x, y: y0 + BH, width: w, height: BH - 2,\n",
    "                            fill: ownerColor[r.owner] || (r.owner ? \"#777\" : \"#ccc\")}, ",
    "svg);\n",
    "        hover(b, label);\n",
    "      });\n",
    "    });\n",
    "    var legend = html(\"div\", null, box, \"legend\");\n",
    "    Object.keys(KIND_COLOR).forEach(function (k) {\n",
    "      var s = html(\"span\", null, legend);\n",
    "      html(\"i\", null, s).style.background = KIND_COLOR[k];\n",
    "      s.appendChild(document.createTextNode(k));\n",
    "    });\n",
    "    html(\"div\", \"Top bar: kind (darker = fuller). Bottom bar: the stack charged most of ",
    "each region:\", box, \"note\");\n",
    "    var ol = html(\"div\", null, box, \"legend\");\n",
    "    owners.forEach(function (o) {\n",
    "      var s = html(\"span\", null, ol);\n",
    "      html(\"i\", null, s).style.background = ownerColor[o];\n",
    "      s.appendChild(document.createTextNode(stackLabel(+o) + \" (\" + bytes(ownerBytes[o]) + ",
    "\")\"));\n",
    "    });\n",
    "  }\n",
    "\n",
    "  /* ---- footprint timeline ---- */\n",
    "  function drawTimeline() {\n",
    "    var box = document.getElementById(\"timeline\");\n",
    "    var T = D.timeline;\n",
    "    if (!T.length) { html(\"p\", \"No footprint samples (the run was shorter than one "
    "monitor ",
    "period).\", box); return; }\n",
    "    var W = Math.max(box.clientWidth || 1000, 600), H = 220, L = 70, B = 24;\n",
    "    var series = [[\"rss_bytes\", \"RSS\", \"#d1495b\"], [\"live_bytes\", \"live heap\", ",
    "\"#3f88c5\"],\n",
    "                  [\"va_used_bytes\", \"heap address space\", \"#44a36b\"]];\n",
    "    var tmax = T[T.length - 1].time_ns || 1, vmax = 1;\n",
    "    T.forEach(function (s) { series.forEach(function (q) { vmax = Math.max(vmax, s[q[0]]); ",
    "}); });\n",
    "    var svg = el(\"svg\", {width: W, height: H}, box);\n",
    "    el(\"line\", {x1: L, y1: H - B, x2: W - 5, y2: H - B, stroke: \"#444\"}, svg);\n",
    "    el(\"line\", {x1: L, y1: 5, x2: L, y2: H - B, stroke: \"#444\"}, svg);\n",
    "    for (var i = 0; i <= 4; i++) {\n",
    "      var y = H - B - (H - B - 10) * i / 4;\n",
    "      el(\"text\", {x: 2, y: y + 4, \"font-size\": 10}, svg).textContent = ",
    "bytes(Math.round(vmax * i / 4));\n",
    "      el(\"text\", {x: L + (W - L - 10) * i / 4, y: H - 6, \"font-size\": 10,\n",
    "                  \"text-anchor\": i === 0 ? \"start\" : i === 4 ? \"end\" : \"middle\"}, ",
    "svg).textContent =\n",
    "        (tmax * i / 4 / 1e9).toFixed(2) + \" s\";\n",
    "    }\n",
    "    series.forEach(function (q) {\n",
    "      var pts = T.map(function (s) {\n",
    "        return (L + (W - L - 10) * s.time_ns / tmax).toFixed(1) + \",\" +\n",
    "               (H - B - (H - B - 10) * s[q[0]] / vmax).toFixed(1);\n",
    "      }).join(\" \");\n",
    "      var pl = el(\"polyline\", {points: pts, fill: \"none\", stroke: q[2], "
    "\"stroke-width\": ",
    "2}, svg);\n",
    "      hover(pl, q[1]);\n",
    "    });\n",
    "    D.events.forEach(function (e) {\n",
    "      if (e.type !== \"null_returned\" && e.type !== \"map_failed\") return;\n",
    "      var x = L + (W - L - 10) * Math.min(e.time_ns / tmax, 1);\n",
    "      var ln = el(\"line\", {x1: x, y1: 5, x2: x, y2: H - B, stroke: \"#000\", ",
    "\"stroke-dasharray\": \"3,3\"}, svg);\n",
    "      hover(ln, e.description);\n",
    "    });\n",
    "    var legend = html(\"div\", null, box, \"legend\");\n",
    "    series.forEach(function (q) {\n",
    "      var s = html(\"span\", null, legend);\n",
    "      html(\"i\", null, s).style.background = q[2];\n",
    "      s.appendChild(document.createTextNode(q[1]));\n",
    "    });\n",
    "  }\n",
    "\n",
    "  /* ---- tables ---- */\n",
    "  function drawTables() {\n",
    "    var zt = document.getElementById(\"zones\");\n",
    "    var t = html(\"table\", null, zt);\n",
    "    var h = html(\"tr\", null, t);\n",
    "    [\"zone\", \"live bytes\", \"live blocks\", \"address space\", ",
    "\"allocated\", \"peak\", \"peak blocks\"].forEach(function (c) { html(\"th\", c, h); });\n",
    "    D.zones.forEach(function (z) {\n",
    "      var r = html(\"tr\", null, t);\n",
    "      [z.name, bytes(z.live_bytes), z.live_blocks, bytes(z.va_bytes), ",
    "bytes(z.total_bytes), bytes(z.peak_bytes), z.peak_blocks].forEach(function (c) { ",
    "html(\"td\", c, r); });\n",
    "    });\n",
    "    var st = document.getElementById(\"stacks\");\n",
    "    var top = D.stacks.filter(function (s) { return s.cost > 0; })\n",
    "      .sort(function (a, b) { return b.cost - a.cost || a.id - b.id; }).slice(0, ",
    "TOP);\n",
    "    if (!top.length) { html(\"p\", \"No live stacks.\", st); return; }\n",
    "    var t2 = html(\"table\", null, st);\n",
    "    var h2 = html(\"tr\", null, t2);\n",
    "    [\"stack\", D.sort, \"live bytes\", \"blocks\", \"address space\", \"peak\", ",
    "\"peak blocks\", \"frames (innermost first)\"].forEach(function (c) { html(\"th\", c, h2); "
    "});\n",
    "    top.forEach(function (s) {\n",
    "      var r = html(\"tr\", null, t2);\n",
    "      html(\"td\", \"#\" + s.id, r);\n",
    "      html(\"td\", D.sort == \"count\" || D.sort == \"temporary\" ? s.cost : bytes(s.cost), "
    "r);\n",
    "      html(\"td\", bytes(s.live_bytes), r);\n",
    "      html(\"td\", s.live_blocks, r);\n",
    "      html(\"td\", bytes(s.va_bytes), r);\n",
    "      html(\"td\", bytes(s.peak_bytes), r);\n",
    "      html(\"td\", s.peak_blocks, r);\n",
    "      var fr = html(\"td\", null, r, \"frames\");\n",
    "      userFrames(s).slice(0, 8).forEach(function (f) { html(\"div\", frameLong(f), fr); });\n",
    "    });\n",
    "  }\n",
    "\n",
    "  var TOP = +document.body.getAttribute(\"data-top\") || 10;\n",
    "  var parts = [[\"flame\", function () { drawFlame(flameRoot); }], [\"vamap\", drawMap],\n",
    "               [\"timeline\", drawTimeline], [\"zones\", drawTables]];\n",
    "  parts.forEach(function (p) {\n",
    "    try { p[1](); } catch (e) {\n",
    "      html(\"p\", \"Could not draw this part: \" + e, document.getElementById(p[0]), ",
    "\"error\");\n",
    "      throw e;\n",
    "    }\n",
    "  });\n",
    "  /* Where the charts landed, for tests that check a screenshot. */\n",
    "  var layout = {};\n",
    "  [\"flame\", \"vamap\", \"timeline\"].forEach(function (id) {\n",
    "    var svg = document.querySelector(\"#\" + id + \" svg\");\n",
    "    if (!svg) return;\n",
    "    var b = svg.getBoundingClientRect();\n",
    "    layout[id] = [Math.round(b.left + window.scrollX), Math.round(b.top + window.scrollY),\n",
    "                  Math.round(b.width), Math.round(b.height), ",
    "svg.querySelectorAll(\"rect\").length];\n",
    "  });\n",
    "  document.body.setAttribute(\"data-layout\", JSON.stringify(layout));\n",
    "  document.body.setAttribute(\"data-rendered\", \"1\");\n",
    "})();\n",
    "</script>\n",
    "</body>\n",
    "</html>\n",
    NULL,
};

#define text zt_html_text
void zt_html_text(FILE *out, const char *s)
{
    for (; s && *s; s++) {
        switch (*s) {
        case '<':
            fputs("&lt;", out);
            break;
        case '>':
            fputs("&gt;", out);
            break;
        case '&':
            fputs("&amp;", out);
            break;
        case '"':
            fputs("&quot;", out);
            break;
        default:
            fputc(*s, out);
        }
    }
}

static void row(FILE *out, const char *key, const char *value, const char *cls)
{
    fprintf(out, "<tr><td>%s</td><td%s%s%s>", key, cls ? " class=\"" : "", cls ? cls : "",
            cls ? "\"" : "");
    text(out, value);
    fputs("</td></tr>\n", out);
}

void zt_report_html(FILE *out, zt_report_t *r)
{
    const zt_model_t *m = r->m;
    char line[2048], b1[32], b2[32];
    fputs(
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>zonetrace: ",
        out);
    text(out, m->exe ? m->exe : "record");
    fprintf(out, "</title>\n<style>\n%s</style>\n</head>\n<body data-top=\"%u\">\n", style,
            r->opt.top);
    fputs("<h1>zonetrace report</h1>\n<table class=\"summary\">\n", out);
    row(out, "record", r->opt.path ? r->opt.path : "", NULL);
    size_t n = 0;
    line[0] = 0;
    for (unsigned i = 0; i < m->argc && n < sizeof line - 1; i++)
        n += (size_t)snprintf(line + n, sizeof line - n, "%s%s", i ? " " : "",
                              m->argv[i] ? m->argv[i] : "");
    if (n >= sizeof line) n = sizeof line - 1;
    if (!m->argc) snprintf(line, sizeof line, "%s", m->exe ? m->exe : "?");
    row(out, "command", line, NULL);
    snprintf(line, sizeof line, "%d, device %s, ran %s", m->pid, m->device ? m->device : "?",
             zt_fmt_secs(m->duration_ns, b1));
    row(out, "pid", line, NULL);
    if (zt_report_sampling_note(m, line, sizeof line)) row(out, "sampled", line, NULL);
    zt_report_ending(m, line, sizeof line);
    if (m->term.state == ZT_TERM_SIGNALED && m->term.fault_stack_id) {
        zt_rframes_t f = zt_report_frames(r, m->term.fault_stack_id, true);
        n = strlen(line);
        for (unsigned i = f.first; i < f.end && i < f.first + 8 && n < sizeof line - 1; i++)
            n += (size_t)snprintf(line + n, sizeof line - n, "%s%s", i == f.first ? " at " : " < ",
                                  zt_sym_describe(&f.v[i]));
        zt_rframes_free(&f);
    }
    row(out, "ended", line, NULL);
    zt_report_at_words(m, line, sizeof line);
    n = strlen(line);
    snprintf(line + n, sizeof line - n, "; stacks ranked by %s; exact heap peak %s in %llu blocks",
             zt_report_sort_words(zt_report_sort_of(r)), zt_fmt_bytes(m->heap.peak_bytes, b1),
             (unsigned long long)m->heap.peak_blocks);
    row(out, "state", line, NULL);
    zt_report_cause_text(r, line, sizeof line);
    if (line[0]) row(out, m->term.state == ZT_TERM_EXITED ? "failure" : "cause", line, NULL);
    zt_report_later_text(r, line, sizeof line);
    if (line[0]) row(out, "later", line, NULL);
    char detail[1024];
    zt_report_diagnosis_parts(r, line, sizeof line, detail, sizeof detail);
    row(out, "diagnosis", line, "diag");
    if (detail[0]) row(out, "", detail, NULL);
    snprintf(line, sizeof line, "peak RSS %s%s%s", zt_fmt_bytes(zt_report_peak_rss(m), b1),
             m->ram_bytes ? " of device RAM " : "",
             m->ram_bytes ? zt_fmt_bytes(m->ram_bytes, b2) : "");
    row(out, "footprint", line, NULL);
    fputs("</table>\n", out);
    if (r->opt.tree_out) r->opt.tree_out(out, r, ZT_FMT_HTML); /* several processes */
    fputs("<h2>Stacks by the ranking above (flame graph; click to zoom)</h2>\n"
          "<div id=\"flame\"></div>\n"
          "<h2>Address space</h2>\n<div id=\"vamap\"></div>\n"
          "<h2>Footprint over time</h2>\n<div id=\"timeline\"></div>\n"
          "<h2>Zones</h2>\n<div id=\"zones\"></div>\n"
          "<h2>Top stacks by the ranking above</h2>\n<div id=\"stacks\"></div>\n"
          "<div id=\"tip\"></div>\n"
          "<noscript><p>The charts need JavaScript; the data is in this file as "
          "JSON.</p></noscript>\n"
          "<script id=\"zt-data\" type=\"application/json\">\n",
          out);
    zt_report_json(out, r);
    fputs("</script>\n", out);
    for (const char *const *piece = script; *piece; piece++)
        fputs(*piece, out);
}
