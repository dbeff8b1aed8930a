/* ----------------------------------------------------------------------------
 * report_html.c — one self-contained HTML file: a summary written here, then
 * the JSON report embedded as data and a small script that draws a flame
 * graph of live bytes (click a frame to zoom), the address-space map coloured
 * by kind and by the stack that owns each region, the footprint timeline and
 * the top stacks. No external resources: it opens from a mail attachment.
 * The JSON writer escapes '<', so the data can never close its <script>.
 *
 * Its size is bounded by --top: the embedded document holds the top N
 * stacks by the sort (HTML_TOP_DEFAULT without --top; a cc1 report holding
 * every stack was 64 MB), and the map's owner legend gets the first frame of
 * its ten owners separately (zt-owners). The flame graph has a search box
 * (#search=TEXT in the address runs it at load); the timeline draws each
 * series in its own panel and labels its event markers. --by zone, class or
 * region turns the flame graph and the table into those rows.
 * -------------------------------------------------------------------------- */
#include "report.h"

#include <stdlib.h>
#include <string.h>

/* Stacks embedded without --top: enough for a readable flame graph, and a
 * bounded file (each stack is about 250 bytes per frame). */
#define HTML_TOP_DEFAULT 100
/* The map's owner colours (OWNER_COLORS in the script). */
#define OWNERS 10

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
    "#searchbar { margin: 0 0 6px; font-size: 13px; }\n"
    "#searchbar input { font: 13px ui-monospace, monospace; width: 320px; padding: 2px 4px; }\n"
    "#flame-matches { margin-left: 10px; font-weight: bold; color: #a020a0; }\n"
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
    "  var KIND_COLOR = {nano: \"#8e6cc4\", tiny: \"#3f88c5\", small: \"#44a36b\", medium: \""
    "#e0a030\",\n",
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
    "  /* zt_fmt_bytes (report.c), so a figure reads the same as in the text report */\n",
    "  function bytes(n) {\n",
    "    var u = [\"B\", \"KiB\", \"MiB\", \"GiB\", \"TiB\"], i = 0;\n",
    "    if (n === null) return \"\u2013\"; /* not counted (stacks off) */\n",
    "    if (n < 1024) return n + \" B\";\n",
    "    while (n >= 1000 && i < 4) { n /= 1024; i++; }\n",
    "    return (n < 10 ? n.toFixed(2) : n < 100 ? n.toFixed(1) : n.toFixed(0)) + \" \" + u[i"
    "];\n",
    "  }\n",
    "  function frameName(f) { return f.function || (f.module + \"+\" + f.offset); }\n",
    "  var COUNTS = D.sort === \"count\" || D.sort === \"temporary\";\n",
    "  var BY = D.view.by;\n",
    "  if (BY !== \"stack\") COUNTS = D.view.rows_sort === \"count\" || D.view.rows_sort === "
    "\"temporary\";\n",
    "  function cost(n) { return COUNTS ? n + \"\" : bytes(n); }\n",
    "  function frameLong(f) {\n",
    "    var s = frameName(f);\n",
    "    if (f.file && f.line) s += \" (\" + f.file.replace(/.*\\//, \"\") + \":\" + f.line +"
    " \")\";\n",
    "    if (f.inlined) s += \" [inlined]\";\n",
    "    return s;\n",
    "  }\n",
    "  function userFrames(s) {\n",
    "    var v = s.frames.filter(function (f) { return f.user; });\n",
    "    return v.length ? v : s.frames;\n",
    "  }\n",
    "  var stackById = {};\n",
    "  D.stacks.forEach(function (s) { stackById[s.id] = s; });\n",
    "  var OWNER_LABEL = JSON.parse(document.getElementById(\"zt-owners\").textContent);\n",
    "  function stackLabel(id) {\n",
    "    var s = stackById[id];\n",
    "    if (!s && OWNER_LABEL[id]) return \"#\" + id + \" \" + OWNER_LABEL[id];\n",
    "    if (!s) return id ? \"stack #\" + id : \"-\";\n",
    "    var f = userFrames(s);\n",
    "    return \"#\" + id + \" \" + (f.length ? frameLong(f[0]) : \"(no frames)\");\n",
    "  }\n",
    "  var tip = document.getElementById(\"tip\");\n",
    "  function hover(node, text) {\n",
    "    node.addEventListener(\"mousemove\", function (ev) {\n",
    "      tip.textContent = text; tip.style.display = \"block\";\n",
    "      tip.style.left = (ev.pageX + 12) + \"px\"; tip.style.top = (ev.pageY + 12) + \"px"
    "\";\n",
    "    });\n",
    "    node.addEventListener(\"mouseleave\", function () { tip.style.display = \"none\"; })"
    ";\n",
    "  }\n",
    "\n",
    "  /* ---- flame graph of the --sort cost, s.cost (outermost frame at the bottom) ---- */"
    "\n",
    "  /* Paths outermost first with their cost: the stacks' user frames, or with\n",
    "   * --by the zone, zone > class, or kind > zone > region rows. */\n",
    "  function paths() {\n",
    "    if (BY === \"stack\")\n",
    "      return D.stacks.map(function (s) {\n",
    "        return {cost: s.cost, names: userFrames(s).slice().reverse().map(function (f) {"
    "\n",
    "          var full = f.function_full && f.function_full !== f.function ? f.function_full"
    " : null;\n",
    "          return [frameLong(f), full];\n",
    "        })};\n",
    "      });\n",
    "    return D.view.rows.map(function (r) {\n",
    "      var names = BY === \"zone\" ? [r.zone_name] : BY === \"class\" ? [r.zone_name, r.n"
    "ame]\n",
    "                  : [r.kind, r.zone_name, r.base + \" (\" + bytes(r.bytes) + \")\"];\n",
    "      return {cost: r.cost, names: names.map(function (n) { return [n, null]; })};\n",
    "    });\n",
    "  }\n",
    "  function buildTree() {\n",
    "    var root = {name: \"all (\" + (BY === \"stack\" ? D.sort : BY + \" by \" + D.view.ro"
    "ws_sort) +\n",
    "                \", \" + D.at.moment + \")\", value: 0, kids: {}, order: []};\n",
    "    paths().forEach(function (p) {\n",
    "      if (!p.cost) return;\n",
    "      var node = root;\n",
    "      root.value += p.cost;\n",
    "      p.names.forEach(function (nm) {\n",
    "        var k = nm[0], c = node.kids[k];\n",
    "        if (!c) { c = node.kids[k] = {name: k, full: nm[1], value: 0, kids: {}, order: ["
    "], parent: node}; node.order.push(c); }\n",
    "        c.value += p.cost;\n",
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
    "  var flameRoot = buildTree(), flameFocus = flameRoot, searchTerm = \"\";\n",
    "  var MATCH_COLOR = \"#e040e0\";\n",
    "  function matches(n) {\n",
    "    if (!searchTerm) return false;\n",
    "    return n.name.toLowerCase().indexOf(searchTerm) >= 0 ||\n",
    "           (n.full && n.full.toLowerCase().indexOf(searchTerm) >= 0);\n",
    "  }\n",
    "  /* Search: every frame whose name holds the text (no case), highlighted;\n",
    "   * the total counts each matching frame, and its cost once: a match under\n",
    "   * another match adds nothing (the outer one already holds it), as\n",
    "   * flamegraph.pl's search does. */\n",
    "  function search(text) {\n",
    "    searchTerm = (text || \"\").trim().toLowerCase();\n",
    "    var count = 0, total = 0;\n",
    "    (function walk(n, inside) {\n",
    "      var hit = n !== flameRoot && matches(n);\n",
    "      if (hit) { count++; if (!inside) total += n.value; }\n",
    "      n.order.forEach(function (c) { walk(c, inside || hit); });\n",
    "    })(flameRoot, false);\n",
    "    var out = document.getElementById(\"flame-matches\");\n",
    "    out.setAttribute(\"data-matches\", count);\n",
    "    out.setAttribute(\"data-match-cost\", total);\n",
    "    out.textContent = !searchTerm ? \"\" : count + \" match\" + (count === 1 ? \"\" : \""
    "es\") + \", \" +\n",
    "      cost(total) + \" (\" + (flameRoot.value ? (100 * total / flameRoot.value).toFixed("
    "1) : \"0.0\") +\n",
    "      \" %)\";\n",
    "    drawFlame(flameFocus);\n",
    "  }\n",
    "  var searchBox = document.getElementById(\"flame-search\");\n",
    "  searchBox.addEventListener(\"input\", function () { search(searchBox.value); });\n",
    "  document.getElementById(\"flame-clear\").addEventListener(\"click\", function () {\n",
    "    searchBox.value = \"\"; search(\"\");\n",
    "  });\n",
    "  function drawFlame(focus) {\n",
    "    var box = document.getElementById(\"flame\");\n",
    "    box.innerHTML = \"\";\n",
    "    flameFocus = focus;\n",
    "    if (!flameRoot.value) { html(\"p\", \"No live heap (or no stacks recorded).\", box);"
    " return; }\n",
    "    var W = Math.max(box.clientWidth || 1000, 600), RH = 18, depth = depthOf(focus);\n",
    "    var H = depth * RH + 4;\n",
    "    var svg = el(\"svg\", {width: W, height: H, viewBox: \"0 0 \" + W + \" \" + H}, box)"
    ";\n",
    "    function draw(n, x, w, level) {\n",
    "      if (w < 0.5) return;\n",
    "      var y = H - (level + 1) * RH;\n",
    "      var g = el(\"g\", {}, svg);\n",
    "      var hit = level > 0 && matches(n);\n",
    "      el(\"rect\", {x: x, y: y, width: Math.max(w - 1, 0.5), height: RH - 1, rx: 2,\n",
    "                  fill: hit ? MATCH_COLOR : level === 0 ? \"#bbb\" : hue(n.name),\n",
    "                  \"class\": hit ? \"match\" : \"frame\"}, g);\n",
    "      if (w > 40) {\n",
    "        var t = el(\"text\", {x: x + 4, y: y + 13, \"font-size\": 12}, g);\n",
    "        var maxc = Math.floor((w - 8) / 7);\n",
    "        t.textContent = n.name.length > maxc ? n.name.slice(0, Math.max(maxc - 1, 1)) + "
    "\"\\u2026\" : n.name;\n",
    "      }\n",
    "      hover(g, n.name + (n.full ? \"\\n\" + n.full : \"\") + \"\\n\" + cost(n.value) + "
    "\" \" +\n",
    "            (BY === \"stack\" ? D.sort : D.view.rows_sort) + \" (\" +\n",
    "            (100 * n.value / flameRoot.value).toFixed(1) + \" %)\");\n",
    "      g.style.cursor = \"pointer\";\n",
    "      g.addEventListener(\"click\", function () { flameFocus = n === focus ? flameRoot :"
    " n; drawFlame(flameFocus); });\n",
    "      var cx = x;\n",
    "      n.order.slice().sort(function (a, b) { return b.value - a.value; }).forEach(functi"
    "on (c) {\n",
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
    "  var OWNER_COLORS = [\"#1f3b73\", \"#c9a227\", \"#17a2b8\", \"#8c564b\", \"#e377c2\", "
    "\"#6b8e23\",\n",
    "                      \"#ff7f50\", \"#4b0082\", \"#708090\", \"#000000\"];\n",
    "  function drawMap() {\n",
    "    var box = document.getElementById(\"vamap\");\n",
    "    var W = Math.max(box.clientWidth || 1000, 600);\n",
    "    var items = [];   /* {base, bytes, kind, region} laid out on one axis per window */"
    "\n",
    "    var windows = {};\n",
    "    if (D.va_runs.length) {\n",
    "      D.va_runs.forEach(function (v) {\n",
    "        (windows[v.window] = windows[v.window] || []).push({base: parseInt(v.base, 16), "
    "bytes: v.bytes, kind: v.kind});\n",
    "      });\n",
    "    } else if (D.regions.length) {\n",
    "      /* Unlimited profile: regions side by side, gaps left out. */\n",
    "      windows[0] = D.regions.slice().sort(function (a, b) { return parseInt(a.base, 16) "
    "- parseInt(b.base, 16); })\n",
    "        .map(function (r) { return {base: parseInt(r.base, 16), bytes: r.bytes, kind: r."
    "kind}; });\n",
    "      html(\"p\", \"No address-space limit: regions are shown side by side, the gaps bet"
    "ween them left out.\", box, \"note\");\n",
    "    } else {\n",
    "      html(\"p\", \"No regions recorded.\", box);\n",
    "      return;\n",
    "    }\n",
    "    var regions = D.regions.map(function (r) {\n",
    "      return {base: parseInt(r.base, 16), bytes: r.bytes, kind: r.kind, used: r.used_byt"
    "es,\n",
    "              owner: r.top_stack, zone: r.zone};\n",
    "    });\n",
    "    /* Owners: the stacks charged most address space get their own colour. */\n",
    "    var ownerBytes = {};\n",
    "    /* ranked and labelled by what the stack is charged (charge.h), as text and JSON say"
    " */\n",
    "    var charged = {};\n",
    "    D.stacks.forEach(function (s) { charged[s.id] = s.charged_bytes; });\n",
    "    regions.forEach(function (r) { if (r.owner) ownerBytes[r.owner] = charged[r.owner]; }"
    ");\n",
    "    var owners = Object.keys(ownerBytes).sort(function (a, b) { return ownerBytes[b] - o"
    "wnerBytes[a]; }).slice(0, OWNER_COLORS.length);\n",
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
    "      t.textContent = (D.va_runs.length ? \"window \" + k + \": \" : \"heap regions: \")"
    " + bytes(total);\n",
    "      /* position of an address on this axis */\n",
    "      var pos = [], acc = 0;\n",
    "      runs.forEach(function (r) { pos.push({base: r.base, end: r.base + r.bytes, x: acc}"
    "); acc += r.bytes; });\n",
    "      function xOf(a) {\n",
    "        for (var i = 0; i < pos.length; i++)\n",
    "          if (a >= pos[i].base && a <= pos[i].end) return (pos[i].x + a - pos[i].base) *"
    " W / total;\n",
    "        return -1;\n",
    "      }\n",
    "      runs.forEach(function (r) {\n",
    "        var x = xOf(r.base), w = r.bytes * W / total;\n",
    "        var rect = el(\"rect\", {x: x, y: y0, width: Math.max(w, 0.5), height: BH - 2,\n",
    "                               fill: KIND_COLOR[r.kind] || \"#999\"}, svg);\n",
    "        hover(rect, r.kind + \" \" + bytes(r.bytes) + \" at 0x\" + r.base.toString(16));"
    "\n",
    "      });\n",
    "      regions.forEach(function (r) {\n",
    "        var x = xOf(r.base);\n",
    "        if (x < 0) return;\n",
    "        var w = Math.max(r.bytes * W / total, 1);\n",
    "        var occ = r.bytes ? r.used / r.bytes : 0;\n",
    "        var label = r.kind + \" region \" + bytes(r.bytes) + \" at 0x\" + r.base.toStrin"
    "g(16) +\n",
    "                    \"\\nlive \" + bytes(r.used) + \" (\" + (100 * occ).toFixed(1) + \" "
    "% used)\" +\n",
    "                    \"\\nowner: \" + stackLabel(r.owner);\n",
    "        var a = el(\"rect\", {x: x, y: y0, width: w, height: BH - 2, fill: KIND_COLOR[r."
    "kind] || \"#999\",\n",
    "                            \"fill-opacity\": 0.35 + 0.65 * occ}, svg);\n",
    "        hover(a, label);\n",
    "        var b = el(\"rect\", {x: x, y: y0 + BH, width: w, height: BH - 2,\n",
    "                            fill: ownerColor[r.owner] || (r.owner ? \"#777\" : \"#ccc\")"
    "}, svg);\n",
    "        hover(b, label);\n",
    "      });\n",
    "    });\n",
    "    var legend = html(\"div\", null, box, \"legend\");\n",
    "    Object.keys(KIND_COLOR).forEach(function (k) {\n",
    "      var s = html(\"span\", null, legend);\n",
    "      html(\"i\", null, s).style.background = KIND_COLOR[k];\n",
    "      s.appendChild(document.createTextNode(k));\n",
    "    });\n",
    "    html(\"div\", \"Top bar: kind (darker = fuller). Bottom bar: the stack charged most "
    "of each region:\", box, \"note\");\n",
    "    var ol = html(\"div\", null, box, \"legend\");\n",
    "    owners.forEach(function (o) {\n",
    "      var s = html(\"span\", null, ol);\n",
    "      html(\"i\", null, s).style.background = ownerColor[o];\n",
    "      s.appendChild(document.createTextNode(stackLabel(+o) + (ownerBytes[o] === undefine"
    "d ? \"\" : \" (charged \" + bytes(ownerBytes[o]) + \")\")));\n",
    "    });\n",
    "  }\n",
    "\n",
    "  /* ---- footprint timeline: one panel per series, each on its own scale\n",
    "   * (a 2 GiB address-space line would flatten a 30 MiB live heap), under a\n",
    "   * strip of labelled event markers: events closer than 8 px share one\n",
    "   * marker whose label counts them, and a label that would overlap the one\n",
    "   * before goes to the next row. ---- */\n",
    "  var MARK_NAMES = {null_returned: \"NULL\", map_failed: \"map failed\", limit: \"limit"
    "\",\n",
    "                    pressure: \"pressure\", memory_warning: \"memory warning\",\n",
    "                    nano_delegated: \"nano full\"};\n",
    "  function drawTimeline() {\n",
    "    var box = document.getElementById(\"timeline\");\n",
    "    var T = D.timeline;\n",
    "    if (!T.length) { html(\"p\", \"No footprint samples (the run was shorter than one mo"
    "nitor period).\", box); return; }\n",
    "    var W = Math.max(box.clientWidth || 1000, 600), L = 70, R = 10, PH = 80, GAP = 28, B"
    " = 20;\n",
    "    var series = [[\"rss_bytes\", \"RSS\", \"#d1495b\"], [\"live_bytes\", \"live heap\","
    " \"#3f88c5\"],\n",
    "                  [\"va_used_bytes\", \"heap address space\", \"#44a36b\"]];\n",
    "    var tmax = T[T.length - 1].time_ns || 1;\n",
    "    function xOf(t) { return L + (W - L - R) * Math.min(Math.max(t, 0) / tmax, 1); }\n",
    "    /* markers: group, label, place */\n",
    "    var evs = D.events.filter(function (e) { return MARK_NAMES[e.type]; })\n",
    "      .sort(function (a, b) { return a.time_ns - b.time_ns; });\n",
    "    var groups = [];\n",
    "    evs.forEach(function (e) {\n",
    "      var x = xOf(e.time_ns), g = groups[groups.length - 1];\n",
    "      if (g && x - g.x < 8) g.events.push(e); else groups.push({x: x, events: [e]});\n",
    "    });\n",
    "    var ROWS = 4, LH = 13, rowEnd = [], nrows = 0;\n",
    "    groups.forEach(function (g) {\n",
    "      var n = {}, order = [];\n",
    "      g.events.forEach(function (e) { if (!n[e.type]) { n[e.type] = 0; order.push(e.type"
    "); } n[e.type]++; });\n",
    "      g.label = order.map(function (t) { return MARK_NAMES[t] + (n[t] > 1 ? \" \\u00d7\""
    " + n[t] : \"\"); }).join(\", \");\n",
    "      var w = g.label.length * 6.2 + 6;\n",
    "      g.left = g.x + w + 3 > W ? g.x - w : g.x + 3;\n",
    "      var row = -1, best = 0;\n",
    "      for (var k = 0; k < ROWS; k++) {\n",
    "        if (rowEnd[k] === undefined || rowEnd[k] <= g.left) { row = k; break; }\n",
    "        if (rowEnd[k] < rowEnd[best]) best = k;\n",
    "      }\n",
    "      if (row < 0) row = best;\n",
    "      rowEnd[row] = g.left + w;\n",
    "      g.row = row;\n",
    "      nrows = Math.max(nrows, row + 1);\n",
    "    });\n",
    "    var top = 6 + nrows * LH + (nrows ? 6 : 0);\n",
    "    var H = top + series.length * (PH + GAP) + B;\n",
    "    var svg = el(\"svg\", {width: W, height: H}, box);\n",
    "    var panels = 0;\n",
    "    series.forEach(function (q, i) {\n",
    "      var y0 = top + i * (PH + GAP) + 14, vmax = 0;\n",
    "      T.forEach(function (s) { vmax = Math.max(vmax, s[q[0]] || 0); });\n",
    "      el(\"text\", {x: L, y: y0 - 4, \"font-size\": 11, fill: q[2], \"class\": \"panel-t"
    "itle\"}, svg).textContent =\n",
    "        q[1] + \" (max \" + bytes(vmax) + \")\";\n",
    "      el(\"line\", {x1: L, y1: y0 + PH, x2: W - R, y2: y0 + PH, stroke: \"#444\"}, svg);"
    "\n",
    "      el(\"line\", {x1: L, y1: y0, x2: L, y2: y0 + PH, stroke: \"#444\"}, svg);\n",
    "      var scale = vmax || 1;\n",
    "      for (var j = 0; j <= 2; j++)\n",
    "        el(\"text\", {x: 2, y: y0 + PH - PH * j / 2 + 4, \"font-size\": 10}, svg).textCo"
    "ntent =\n",
    "          bytes(Math.round(vmax * j / 2));\n",
    "      var pts = T.map(function (s) {\n",
    "        return xOf(s.time_ns).toFixed(1) + \",\" + (y0 + PH - PH * (s[q[0]] || 0) / scal"
    "e).toFixed(1);\n",
    "      }).join(\" \");\n",
    "      var pl = el(\"polyline\", {points: pts, fill: \"none\", stroke: q[2], \"stroke-wid"
    "th\": 2,\n",
    "                               \"class\": \"series\"}, svg);\n",
    "      hover(pl, q[1] + \", max \" + bytes(vmax));\n",
    "      panels++;\n",
    "    });\n",
    "    var bottom = top + series.length * (PH + GAP) - GAP + 14;\n",
    "    for (var i = 0; i <= 4; i++)\n",
    "      el(\"text\", {x: L + (W - L - R) * i / 4, y: bottom + 14, \"font-size\": 10,\n",
    "                  \"text-anchor\": i === 0 ? \"start\" : i === 4 ? \"end\" : \"middle\"}"
    ", svg).textContent =\n",
    "        (tmax * i / 4 / 1e9).toFixed(2) + \" s\";\n",
    "    groups.forEach(function (g) {\n",
    "      var ly = 6 + g.row * LH + 10;\n",
    "      var ln = el(\"line\", {x1: g.x, y1: ly - 9, x2: g.x, y2: bottom, stroke: \"#000\","
    "\n",
    "                           \"stroke-dasharray\": \"3,3\", \"class\": \"marker\"}, svg);"
    "\n",
    "      var t = el(\"text\", {x: g.left, y: ly, \"font-size\": 10, \"class\": \"marker-lab"
    "el\"}, svg);\n",
    "      t.textContent = g.label;\n",
    "      var d = g.events.slice(0, 5).map(function (e) { return (e.time_ns / 1e9).toFixed(3"
    ") + \" s  \" + e.description; });\n",
    "      if (g.events.length > 5) d.push(\"... \" + (g.events.length - 5) + \" more\");\n",
    "      hover(ln, d.join(\"\\n\"));\n",
    "    });\n",
    "    box.setAttribute(\"data-panels\", panels);\n",
    "    box.setAttribute(\"data-markers\", groups.length);\n",
    "    box.setAttribute(\"data-marker-events\", evs.length);\n",
    "    var legend = html(\"div\", null, box, \"legend\");\n",
    "    series.forEach(function (q) {\n",
    "      var s = html(\"span\", null, legend);\n",
    "      html(\"i\", null, s).style.background = q[2];\n",
    "      s.appendChild(document.createTextNode(q[1]));\n",
    "    });\n",
    "    html(\"div\", \"Each line has its own scale. Dashed: allocation failures and memory "
    "events \" +\n",
    "         \"(hover for details).\", box, \"note\");\n",
    "  }\n",
    "\n",
    "  /* ---- tables ---- */\n",
    "  function drawTables() {\n",
    "    var zt = document.getElementById(\"zones\");\n",
    "    var t = html(\"table\", null, zt);\n",
    "    var h = html(\"tr\", null, t);\n",
    "    [\"zone\", \"live bytes\", \"live blocks\", \"address space\", \"allocated\", \"peak"
    "\", \"peak blocks\"].forEach(function (c) { html(\"th\", c, h); });\n",
    "    D.zones.forEach(function (z) {\n",
    "      var r = html(\"tr\", null, t);\n",
    "      [z.name, bytes(z.live_bytes), z.live_blocks, bytes(z.va_bytes), bytes(z.total_byte"
    "s), bytes(z.peak_bytes), z.peak_blocks].forEach(function (c) { html(\"td\", c, r); });\n",
    "    });\n",
    "    var st = document.getElementById(\"stacks\");\n",
    "    if (BY !== \"stack\") { drawRows(st); return; }\n",
    "    var top = D.stacks.filter(function (s) { return s.cost > 0; })\n",
    "      .sort(function (a, b) { return b.cost - a.cost || a.id - b.id; }).slice(0, TOP);\n",
    "    if (!top.length) { html(\"p\", \"No live stacks.\", st); return; }\n",
    "    var t2 = html(\"table\", null, st);\n",
    "    var h2 = html(\"tr\", null, t2);\n",
    "    [\"stack\", D.sort, \"live bytes\"].concat(D.estimated ? [D.confidence_pct + \" % inter"
    "val\"] : [], [\"blocks\", \"charged\", \"peak\", \"peak blocks\", \"frames (innermost first"
    ")\"]).forEach(function (c) { html(\"th\", c, h2); });\n",
    "    top.forEach(function (s) {\n",
    "      var r = html(\"tr\", null, t2, \"stack-row\");\n",
    "      html(\"td\", \"#\" + s.id, r);\n",
    "      html(\"td\", cost(s.cost), r);\n",
    "      html(\"td\", bytes(s.live_bytes), r);\n",
    "      if (D.estimated)\n",
    "        html(\"td\", s.live_bytes ? bytes(s.live_bytes_ci_low) + \" to \" + bytes(s.live_b"
    "ytes_ci_high) +\n",
    "                 (s.below_resolution ? \" (below the sampling resolution)\" : \"\") : \"\", r,"
    " \"interval\");\n",
    "      html(\"td\", s.live_blocks, r);\n",
    "      html(\"td\", bytes(s.charged_bytes), r);\n",
    "      html(\"td\", bytes(s.peak_bytes), r);\n",
    "      html(\"td\", s.peak_blocks, r);\n",
    "      var fr = html(\"td\", null, r, \"frames\");\n",
    "      userFrames(s).slice(0, D.view.depth || 8).forEach(function (f) {\n",
    "        var d = html(\"div\", frameLong(f), fr);\n",
    "        if (f.function_full && f.function_full !== f.function) d.title = f.function_full"
    ";\n",
    "      });\n",
    "    });\n",
    "  }\n",
    "  /* --by zone, class or region: the ranked rows instead of stacks. */\n",
    "  function drawRows(st) {\n",
    "    var rows = D.view.rows;\n",
    "    if (!rows.length) { html(\"p\", \"No rows.\", st); return; }\n",
    "    var t = html(\"table\", null, st), h = html(\"tr\", null, t), cols;\n",
    "    if (BY === \"region\") {\n",
    "      cols = [\"address\", \"kind\", \"zone\", \"size\", \"live\", \"used\", \"charged m"
    "ostly to\"];\n",
    "    } else {\n",
    "      cols = (BY === \"class\" ? [\"class\", \"zone\"] : [\"zone\"]).concat(\n",
    "        [D.view.rows_sort, \"live bytes\", \"blocks\", \"allocations\", \"allocated\", "
    "\"peak\"]);\n",
    "    }\n",
    "    cols.forEach(function (c) { html(\"th\", c, h); });\n",
    "    rows.forEach(function (w) {\n",
    "      var r = html(\"tr\", null, t, \"stack-row\");\n",
    "      var v = BY === \"region\"\n",
    "        ? [w.base, w.kind, w.zone_name, bytes(w.bytes), bytes(w.used_bytes),\n",
    "           (w.bytes ? (100 * w.used_bytes / w.bytes).toFixed(1) : \"0.0\") + \" %\", sta"
    "ckLabel(w.top_stack)]\n",
    "        : (BY === \"class\" ? [w.name, w.zone_name] : [w.zone_name]).concat(\n",
    "            [cost(w.cost), bytes(w.live_bytes), w.live_blocks, w.total_blocks, bytes(w.t"
    "otal_bytes),\n",
    "             bytes(w.peak_bytes)]);\n",
    "      v.forEach(function (c) { html(\"td\", c, r); });\n",
    "    });\n",
    "  }\n",
    "\n",
    "  var TOP = +document.body.getAttribute(\"data-top\") || 10;\n",
    "  var parts = [[\"flame\", function () { drawFlame(flameRoot); }], [\"vamap\", drawMap],"
    "\n",
    "               [\"timeline\", drawTimeline], [\"zones\", drawTables]];\n",
    "  parts.forEach(function (p) {\n",
    "    try { p[1](); } catch (e) {\n",
    "      html(\"p\", \"Could not draw this part: \" + e, document.getElementById(p[0]), \"e"
    "rror\");\n",
    "      throw e;\n",
    "    }\n",
    "  });\n",
    "  /* #search=TEXT in the address runs that search at load (and lets a\n",
    "   * headless browser drive it). */\n",
    "  var hm = /^#search=(.*)$/.exec(location.hash);\n",
    "  if (hm) { searchBox.value = decodeURIComponent(hm[1]); search(searchBox.value); }\n",
    "  /* Where the charts landed, for tests that check a screenshot. */\n",
    "  var layout = {};\n",
    "  [\"flame\", \"vamap\", \"timeline\"].forEach(function (id) {\n",
    "    var svg = document.querySelector(\"#\" + id + \" svg\");\n",
    "    if (!svg) return;\n",
    "    var b = svg.getBoundingClientRect();\n",
    "    layout[id] = [Math.round(b.left + window.scrollX), Math.round(b.top + window.scrollY"
    "),\n",
    "                  Math.round(b.width), Math.round(b.height), svg.querySelectorAll(\"rect"
    "\").length];\n",
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

/* {"id": "first user frame", ...} for the stacks charged the most address
 * space by region ownership, the map's coloured owners: their labels stay
 * when --top leaves the stacks themselves out. */
static void owner_labels(FILE *out, zt_report_t *r)
{
    const zt_model_t *m = r->m;
    uint32_t id[OWNERS] = {0};
    uint64_t bytes[OWNERS] = {0};
    /* Sum per owner with a small table: regions are few thousand at most. */
    uint32_t *ids = calloc(m->nregions + 1, sizeof *ids);
    uint64_t *sum = calloc(m->nregions + 1, sizeof *sum);
    if (!ids || !sum) abort();
    unsigned n = 0;
    for (unsigned i = 0; i < m->nregions; i++) {
        uint32_t o = m->regions[i].top_stack;
        if (!o) continue;
        unsigned k = 0;
        while (k < n && ids[k] != o)
            k++;
        if (k == n) ids[n++] = o;
        sum[k] += m->regions[i].bytes;
    }
    for (unsigned k = 0; k < n; k++) {
        for (unsigned j = 0; j < OWNERS; j++) {
            if (sum[k] > bytes[j] || (sum[k] == bytes[j] && id[j] && ids[k] < id[j]) || !id[j]) {
                memmove(&id[j + 1], &id[j], (OWNERS - 1 - j) * sizeof id[0]);
                memmove(&bytes[j + 1], &bytes[j], (OWNERS - 1 - j) * sizeof bytes[0]);
                id[j] = ids[k];
                bytes[j] = sum[k];
                break;
            }
        }
    }
    free(ids);
    free(sum);
    fputc('{', out);
    char buf[1024];
    for (unsigned j = 0; j < OWNERS && id[j]; j++) {
        zt_rframes_t f = zt_report_frames(r, id[j], false);
        fprintf(out, "%s\"%u\":", j ? "," : "", id[j]);
        zt_json_string(out, f.first < f.end
                                ? zt_report_frame_describe(&f.v[f.first], buf, sizeof buf)
                                : "(no frames)");
        zt_rframes_free(&f);
    }
    fputs("}\n", out);
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
            zt_report_top(r, HTML_TOP_DEFAULT));
    fputs("<h1>zonetrace report</h1>\n<table class=\"summary\">\n", out);
    row(out, "record", r->opt.path ? r->opt.path : "", NULL);
    size_t n = zt_report_command(m, 0, line, sizeof line);
    row(out, "command", line, NULL);
    snprintf(line, sizeof line, "%d, device %s, ran %s", m->pid, m->device ? m->device : "?",
             zt_fmt_secs(m->duration_ns, b1));
    row(out, "pid", line, NULL);
    if (zt_report_sampling_note(m, line, sizeof line)) row(out, "sampled", line, NULL);
    zt_report_ending(m, line, sizeof line);
    if (m->term.state == ZT_TERM_SIGNALED && m->term.fault_stack_id) {
        zt_rframes_t f = zt_report_frames(r, m->term.fault_stack_id, true);
        n = strlen(line);
        char fb[512];
        unsigned max = r->opt.depth ? r->opt.depth : 8;
        for (unsigned i = f.first; i < f.end && i < f.first + max && n < sizeof line - 1; i++)
            n += (size_t)snprintf(line + n, sizeof line - n, "%s%s", i == f.first ? " at " : " < ",
                                  zt_report_frame_describe(&f.v[i], fb, sizeof fb));
        if (n >= sizeof line) n = sizeof line - 1;
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
    static const char *const what[] = {"Stacks", "Zones", "Size classes", "Regions"};
    const char *rows = what[r->opt.by >= 0 && r->opt.by <= ZT_BY_REGION ? r->opt.by : 0];
    fprintf(out,
            "<h2>%s by %s (flame graph; click to zoom)</h2>\n"
            "<div id=\"searchbar\"><input id=\"flame-search\" type=\"search\" "
            "placeholder=\"search frames (part of a name)\" aria-label=\"search the flame graph\">"
            " <button id=\"flame-clear\" type=\"button\">clear</button>"
            "<span id=\"flame-matches\" data-matches=\"0\" data-match-cost=\"0\"></span></div>\n"
            "<div id=\"flame\"></div>\n"
            "<h2>Address space</h2>\n<div id=\"vamap\"></div>\n"
            "<h2>Footprint over time</h2>\n<div id=\"timeline\"></div>\n"
            "<h2>Zones</h2>\n<div id=\"zones\"></div>\n"
            "<h2>Top %s by the ranking above</h2>\n<div id=\"stacks\"></div>\n"
            "<div id=\"tip\"></div>\n"
            "<noscript><p>The charts need JavaScript; the data is in this file as "
            "JSON.</p></noscript>\n"
            "<script id=\"zt-owners\" type=\"application/json\">\n",
            rows,
            r->opt.by == ZT_BY_STACK    ? "the ranking above"
            : r->opt.by == ZT_BY_REGION ? "size"
                                        : zt_report_sort_name(zt_report_row_sort(r)),
            r->opt.by == ZT_BY_STACK   ? "stacks"
            : r->opt.by == ZT_BY_ZONE  ? "zones"
            : r->opt.by == ZT_BY_CLASS ? "size classes"
                                       : "regions");
    owner_labels(out, r);
    fputs("</script>\n<script id=\"zt-data\" type=\"application/json\">\n", out);
    zt_report_json_doc(out, r, HTML_TOP_DEFAULT, NULL, 0);
    fputs("</script>\n", out);
    for (const char *const *piece = script; *piece; piece++)
        fputs(*piece, out);
}
