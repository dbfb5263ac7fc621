package paper

// The style sheet and script of the HTML page, inline (the page loads
// nothing). They are Go constants, not embedded files, so that they are
// part of the paper kind's code identity: editing them reruns the stage.
// The script builds the provenance panel from the page's JSON (provJSON)
// with DOM calls only; the browser test (cmd/bfc, TestHTMLReportInBrowser)
// reads the panel by the class names used here.

const htmlCSS = `
:root { color-scheme: light; }
body { font-family: Georgia, "DejaVu Serif", "Liberation Serif", serif; line-height: 1.5; color: #1a1a1a; background: #fff;
  max-width: 58rem; margin: 0 auto; padding: 1rem 1.5rem 4rem; }
h1 { font-size: 1.7rem; line-height: 1.25; }
h2 { font-size: 1.35rem; margin-top: 2.2rem; border-bottom: 1px solid #ddd; }
h3 { font-size: 1.12rem; margin-top: 1.6rem; }
code, pre { font-family: "DejaVu Sans Mono", "Liberation Mono", monospace; font-size: 0.88em; }
pre { background: #f6f6f6; padding: 0.6rem; overflow-x: auto; }
a { color: #0b57a4; }
.bfc-note { font-size: 0.85rem; color: #555; border-left: 3px solid #9ab; padding-left: 0.6rem; }
.table { overflow-x: auto; margin: 1rem 0; }
table { border-collapse: collapse; font-size: 0.9rem; }
th, td { border-bottom: 1px solid #ddd; padding: 0.2rem 0.5rem; vertical-align: top; }
th { border-bottom: 2px solid #999; }
figure { margin: 1.5rem 0; }
figure svg { display: block; width: 100%; height: auto; }
figcaption { font-size: 0.9rem; color: #333; margin-top: 0.4rem; }
.math { font-family: "Latin Modern Math", "STIX Two Math", "DejaVu Serif", serif; white-space: nowrap; }
.math i { font-style: italic; }
.mop, .mrm { font-style: normal; }
.msqrt { text-decoration: overline; }
.tex { font-family: monospace; color: #a00; }
.bfc-ref { border-bottom: 1px dotted #0b57a4; padding-bottom: 2px; cursor: help; }
.bfc-ref:hover, .bfc-ref:focus { background: #e6f0fb; outline: none; }
.bfc-txt { border-bottom-style: dashed; }
#bfc-prov { position: absolute; z-index: 10; max-width: min(56rem, calc(100vw - 16px)); max-height: 60vh; overflow: auto;
  background: #fff; border: 1px solid #789; border-radius: 4px; box-shadow: 0 4px 16px rgba(0, 0, 0, 0.18);
  padding: 0.5rem 0.7rem; font-family: "DejaVu Sans", "Liberation Sans", sans-serif; font-size: 0.8rem; line-height: 1.35; }
#bfc-prov[hidden] { display: none; }
#bfc-prov table { font-size: 0.78rem; margin-top: 0.4rem; }
#bfc-prov td, #bfc-prov th { padding: 0.1rem 0.35rem; white-space: nowrap; }
#bfc-prov td.bfc-key { font-family: monospace; font-size: 0.72rem; }
#bfc-prov td:empty::after { content: "\2013"; color: #999; }
.bfc-prov-close { float: right; border: none; background: none; font-size: 1rem; cursor: pointer; }
.bfc-prov-foot { color: #555; margin-top: 0.3rem; }
@media print { .bfc-ref { border: none; } #bfc-prov, .bfc-note { display: none; } }
`

const htmlJS = `(function () {
  "use strict";
  var data = JSON.parse(document.getElementById("bfc-data").textContent);
  var box = document.getElementById("bfc-prov");
  var current = null, pinned = null, timer = 0;
  var columns = ["#", "kind", "point", "stage key", "table", "row", "column", "value"];

  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) { e.className = cls; }
    if (text !== undefined) { e.textContent = text; }
    return e;
  }
  function add(parent) {
    for (var i = 1; i < arguments.length; i++) {
      var a = arguments[i];
      parent.appendChild(typeof a === "string" ? document.createTextNode(a) : a);
    }
  }
  // fill writes the provenance of entry name into the panel.
  function fill(name) {
    var e = data.entries[name];
    box.textContent = "";
    box.setAttribute("data-entry", name);
    var close = el("button", "bfc-prov-close", "\u00d7");
    close.setAttribute("aria-label", "close");
    close.addEventListener("click", function (ev) { ev.stopPropagation(); hide(); });
    var head = el("div", "bfc-prov-head");
    add(head, close, el("code", "bfc-prov-name", name));
    var n = e.sources.length, of = " of " + n + (n === 1 ? " source" : " sources");
    if (e.op === "text") {
      add(head, ": the artifact text ", el("q", "bfc-prov-text", e.text), " (operation ", el("code", "bfc-prov-op", e.op), of + ")");
    } else {
      add(head, " = ", el("code", "bfc-prov-op", e.op), of + " = ", el("span", "bfc-prov-value", e.value),
        ", shown as ", el("span", "bfc-prov-shown", e.shown), " (format ", el("code", "bfc-prov-format", e.format), ")");
    }
    var table = el("table"), thead = el("thead"), tr = el("tr"), tbody = el("tbody");
    columns.forEach(function (c) { tr.appendChild(el("th", "", c)); });
    thead.appendChild(tr);
    e.sources.forEach(function (s, i) {
      var p = data.points[s.p], row = el("tr");
      [String(i), p.kind, p.labels, p.key, s.t, String(s.r), s.c, s.v].forEach(function (v, k) {
        row.appendChild(el("td", k === 3 ? "bfc-key" : "", v));
      });
      tbody.appendChild(row);
    });
    add(table, thead, tbody);
    var foot = el("div", "bfc-prov-foot");
    add(foot, "The rows of ", el("code", "", "bfc export paper --output sources"), " named " + name +
      "; row -1 of table params is a parameter of the point.");
    add(box, head, table, foot);
  }
  function place(target) {
    var r = target.getBoundingClientRect();
    box.hidden = false;
    var vw = document.documentElement.clientWidth;
    var left = Math.max(8, Math.min(r.left, vw - box.offsetWidth - 8));
    box.style.left = (left + window.scrollX) + "px";
    box.style.top = (r.bottom + window.scrollY + 6) + "px";
  }
  function show(target) {
    clearTimeout(timer);
    if (current !== target) {
      fill(target.getAttribute("data-entry"));
      current = target;
    }
    place(target);
  }
  function hide() {
    clearTimeout(timer);
    box.hidden = true;
    current = null;
    pinned = null;
  }
  function later() {
    clearTimeout(timer);
    if (!pinned) { timer = setTimeout(hide, 400); }
  }
  function refOf(node) { return node && node.closest ? node.closest(".bfc-ref") : null; }
  function toggle(t) {
    if (pinned === t) { hide(); return; }
    pinned = null;
    show(t);
    pinned = t;
  }

  document.addEventListener("mouseover", function (ev) {
    var t = refOf(ev.target);
    if (t && !pinned) { show(t); } else if (box.contains(ev.target)) { clearTimeout(timer); }
  });
  document.addEventListener("mouseout", function (ev) {
    if (refOf(ev.target) || box.contains(ev.target)) { later(); }
  });
  document.addEventListener("focusin", function (ev) {
    var t = refOf(ev.target);
    if (t && !pinned) { show(t); }
  });
  document.addEventListener("click", function (ev) {
    var t = refOf(ev.target);
    if (t) { toggle(t); return; }
    if (!box.contains(ev.target)) { hide(); }
  });
  document.addEventListener("keydown", function (ev) {
    var t = refOf(ev.target);
    if (ev.key === "Escape") { hide(); } else if (t && (ev.key === "Enter" || ev.key === " ")) { ev.preventDefault(); toggle(t); }
  });
})();
`
