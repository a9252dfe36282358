/* citymind console: one page over the gateway's public API (no framework, nothing from a CDN).
   Every word shown comes from the language file (zh-CN.json, en.json): a second language is a file. */
"use strict";

const state = { key: sessionStorage.getItem("citymind.key") || "", who: null, words: {}, lang: "zh-CN", timer: null };
const VIEWS = ["overview", "libraries", "rules", "triage", "knowledge", "events"];
const KINDS = ["model", "algorithm", "rule", "knowledge", "component"];
const PAGE = 20;

/* ---------- words, elements, requests ---------- */

function t(key, vars) {
  let text = state.words[key];
  if (text === undefined) text = key;
  for (const [name, value] of Object.entries(vars || {})) text = text.split("{" + name + "}").join(String(value));
  return text;
}

function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs || {})) {
    if (value === null || value === undefined || value === false) continue;
    if (name.startsWith("on")) el.addEventListener(name.slice(2), value);
    else if (name === "text") el.textContent = value;
    else el.setAttribute(name, value === true ? "" : value);
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return el;
}

function svg(tag, attrs, ...children) {
  const el = document.createElementNS("http://www.w3.org/2000/svg", tag);
  for (const [name, value] of Object.entries(attrs || {})) el.setAttribute(name, value);
  for (const child of children.flat()) if (child) el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  return el;
}

class ApiError extends Error {
  constructor(status, message) { super(message); this.status = status; }
}

async function send(path, init) {
  /* a read whose connection dropped (a replica restarting, a keep-alive closed under it) is sent again */
  for (let attempt = 0; ; attempt++) {
    try {
      return await fetch(path, init);
    } catch (error) {
      if (init.method !== "GET" || attempt >= 2) throw error;
      await new Promise((r) => setTimeout(r, 300 * (attempt + 1)));
    }
  }
}

async function api(method, path, body) {
  const headers = { Accept: "application/json" };
  const key = state.key;
  if (key) headers["X-API-Key"] = key;
  if (body !== undefined) headers["Content-Type"] = "application/json";
  const response = await send(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  const text = await response.text();
  let data = null;
  try { data = text ? JSON.parse(text) : null; } catch (e) { data = { error: text }; }
  if (response.status === 401) {
    if (state.who && key === state.key) { state.who = null; showSignin(t("signin.expired")); }
    throw new ApiError(401, data && data.error);
  }
  if (!response.ok && !(path === "/v1/health" && response.status === 503)) {
    throw new ApiError(response.status, (data && data.error) || response.statusText);
  }
  return data;
}

function may(action) {
  const grants = (state.who && state.who.may) || [];
  return grants.includes("*") || grants.includes(action);
}

function toast(message, kind) {
  const box = document.getElementById("toast");
  box.textContent = message;
  box.className = kind || "";
  clearTimeout(toast.timer);
  toast.timer = setTimeout(() => { box.textContent = ""; box.className = ""; }, 6000);
}

function failure(error) {
  return h("p", { class: "error", role: "alert" }, t("error.request", { status: error.status || "", message: error.message }));
}

function table(headings, rows, caption) {
  return h("table", {},
    caption ? h("caption", { text: caption }) : null,
    h("thead", {}, h("tr", {}, headings.map((x) => h("th", { scope: "col", text: x })))),
    h("tbody", {}, rows.map((row) => h("tr", {}, row.map((cell) => h("td", {}, cell))))));
}

function field(id, label, input) {
  input.id = id;
  return h("div", { class: "field" }, h("label", { for: id, text: label }), input);
}

function button(label, onclick, attrs) {
  return h("button", Object.assign({ type: "button", onclick }, attrs || {}), label);
}

function fmt(value, digits) {
  if (value === null || value === undefined) return "—";
  if (typeof value === "number") return Number.isInteger(value) ? String(value) : value.toFixed(digits === undefined ? 3 : digits);
  return String(value);
}

/* ---------- start, sign in, navigation ---------- */

async function loadWords(lang) {
  const response = await fetch("/console/static/" + lang + ".json");
  state.words = await response.json();
  state.lang = lang;
  document.documentElement.lang = lang;
  localStorage.setItem("citymind.lang", lang);
  document.title = t("title");
  for (const el of document.querySelectorAll("[data-i18n]")) el.textContent = t(el.dataset.i18n);
  for (const el of document.querySelectorAll("[data-i18n-label]")) el.setAttribute("aria-label", t(el.dataset.i18nLabel));
  buildNav();
}

function buildNav() {
  const nav = document.getElementById("nav");
  nav.replaceChildren(h("ul", {}, VIEWS.map((v) => h("li", {}, h("a", { href: "#" + v, id: "nav-" + v, text: t("nav." + v) })))));
  markNav();
}

function markNav() {
  const current = currentView();
  for (const v of VIEWS) {
    const link = document.getElementById("nav-" + v);
    if (link) link.toggleAttribute("aria-current", v === current);
  }
}

function currentView() {
  const name = location.hash.replace("#", "").split("/")[0];
  return VIEWS.includes(name) ? name : "overview";
}

function showSignin(message) {
  document.getElementById("signin").hidden = false;
  document.getElementById("view").hidden = true;
  document.getElementById("nav").hidden = true;
  document.getElementById("signout").hidden = true;
  document.getElementById("who").textContent = "";
  document.getElementById("signin-error").textContent = message || "";
  document.getElementById("key").focus();
}

async function signIn(key) {
  state.key = key;
  try {
    state.who = await api("GET", "/v1/whoami");
  } catch (error) {
    if (state.key !== key) return;  // a later sign-in took over
    state.key = "";
    sessionStorage.removeItem("citymind.key");
    showSignin(error.status === 401 ? t("signin.wrong") : t("error.request", { status: error.status || "", message: error.message }));
    return;
  }
  sessionStorage.setItem("citymind.key", key);
  document.getElementById("signin").hidden = true;
  document.getElementById("view").hidden = false;
  document.getElementById("nav").hidden = false;
  document.getElementById("signout").hidden = !state.who.auth;
  document.getElementById("who").textContent = t("who", { key: state.who.key || "—", role: t("role." + state.who.role) });
  render();
}

async function render() {
  clearInterval(state.timer);
  markNav();
  const view = document.getElementById("view");
  const name = currentView();
  view.replaceChildren(h("h2", { id: "view-title", text: t("nav." + name) }));
  view.dataset.view = name;
  try {
    await RENDER[name](view, location.hash.split("/").slice(1).map(decodeURIComponent));
  } catch (error) {
    if (error.status !== 401) view.append(failure(error));
  }
}

document.addEventListener("DOMContentLoaded", async () => {
  const lang = localStorage.getItem("citymind.lang") || "zh-CN";
  document.getElementById("lang").value = lang;
  await loadWords(lang);
  document.getElementById("lang").addEventListener("change", async (e) => { await loadWords(e.target.value); if (state.who) signIn(state.key); });
  document.getElementById("signin-form").addEventListener("submit", (e) => { e.preventDefault(); signIn(document.getElementById("key").value.trim()); });
  document.getElementById("signout").addEventListener("click", () => { sessionStorage.removeItem("citymind.key"); state.key = ""; state.who = null; showSignin(""); });
  window.addEventListener("hashchange", () => { if (state.who) render(); });
  signIn(state.key);  // a gateway that asks for no key, or a key kept by this tab, signs in by itself
});

/* ---------- 1. overview ---------- */

async function renderOverview(view) {
  const body = h("div", { id: "overview-body" });
  view.append(body);
  const draw = async () => {
    const o = await api("GET", "/v1/overview");
    const parts = o.health.parts || {};
    const served = (parts.models && parts.models.served) || {};
    const cards = [
      card(t("overview.ready"), o.health.ready ? t("yes") : t("no"), o.health.ready ? "ok" : "bad"),
      card(t("overview.rules"), parts.rules ? parts.rules.name + " v" + parts.rules.version : "—"),
      card(t("overview.knowledge"), parts.knowledge ? parts.knowledge.name + " v" + parts.knowledge.version : "—"),
      card(t("overview.records"), parts.event_records ? fmt(parts.event_records.events !== undefined ? parts.event_records.events : parts.event_records.status) : "—"),
      card(t("overview.uptime"), fmt(o.uptime_s, 0) + " s"),
    ];
    const models = Object.entries(served).map(([name, version]) => {
      const split = o.splits[name] || {};
      return [name, "v" + version, split.challenger ? "v" + split.challenger : "—", fmt(split.weight, 2), split.shadow ? t("yes") : t("no")];
    });
    const shadow = o.shadow.map((s) => [s.model, "v" + s.version, s.agree, s.disagree, s.dropped,
      s.agree + s.disagree ? fmt(s.agree / (s.agree + s.disagree), 3) : "—"]);
    const arms = o.arms.map((a) => [a.model, "v" + a.version, t("arm." + a.arm), a.predictions]);
    const before = state.lastOverview;  // requests a second between two refreshes
    const seconds = before ? o.uptime_s - before.uptime_s : 0;
    const earlier = Object.fromEntries(((before && before.routes) || []).map((r) => [r.route, r.requests]));
    const rate = (r) => (seconds > 0 && earlier[r.route] !== undefined ? fmt((r.requests - earlier[r.route]) / seconds, 1) : "—");
    state.lastOverview = o;
    const routes = o.routes.map((r) => [r.route, rate(r), r.requests, r.errors, fmt(r.p50_ms), fmt(r.p95_ms)]);
    body.replaceChildren(
      h("div", { class: "cards" }, cards),
      table([t("col.model"), t("col.champion"), t("col.challenger"), t("col.weight"), t("col.shadow")], models, t("overview.models")),
      table([t("col.model"), t("col.version"), t("col.arm"), t("col.predictions")], arms, t("overview.arms")),
      table([t("col.model"), t("col.version"), t("col.agree"), t("col.disagree"), t("col.dropped"), t("col.agreement")], shadow, t("overview.shadow")),
      table([t("col.route"), t("col.rate"), t("col.requests"), t("col.errors"), t("col.p50"), t("col.p95")], routes, t("overview.routes")),
      h("p", { class: "hint", text: t("overview.note") }));
  };
  await draw();
  state.timer = setInterval(() => draw().catch(() => {}), 5000);
}

function card(label, value, kind) {
  return h("div", { class: "card " + (kind || "") }, h("div", { class: "card-label", text: label }), h("div", { class: "card-value", text: value }));
}

/* ---------- 2. libraries ---------- */

async function renderLibraries(view, [kind, name, page]) {
  kind = KINDS.includes(kind) ? kind : "model";
  const kinds = h("select", { onchange: (e) => { location.hash = "#libraries/" + e.target.value; } },
    KINDS.map((k) => h("option", { value: k, selected: k === kind, text: t("kind." + k) })));
  view.append(field("library-kind", t("libraries.kind"), kinds));
  const list = await api("GET", "/v1/registry/" + kind);
  view.append(table([t("col.name"), t("col.aliases"), t("col.latest"), t("col.description")],
    list.assets.map((a) => [h("a", { href: "#libraries/" + kind + "/" + encodeURIComponent(a.name), text: a.name }),
      Object.entries(a.aliases).map(([al, v]) => al + "→v" + v).join(", "), fmt(a.latest_version), a.description || ""]),
    t("libraries.assets", { kind: t("kind." + kind) })));
  if (name) view.append(await versionsOf(kind, name, Number(page) || null));
  view.append(h("h3", { text: t("libraries.lineage") }));
  view.append(lineageGraph(await api("GET", "/v1/lineage")));
}

const pages = { key: "", before: [] };  // the cursors of the version pages before this one

async function versionsOf(kind, name, before) {
  const key = kind + "/" + name;
  if (pages.key !== key || !before) { pages.key = key; pages.before = []; }
  const data = await api("GET", "/v1/registry/" + kind + "/" + encodeURIComponent(name) + "/versions?limit=" + PAGE + (before ? "&before=" + before : ""));
  const canMove = may("register:" + kind);
  const rows = data.versions.map((v) => [
    "v" + v.version, v.aliases.join(", "), new Date(v.created_at).toLocaleString(state.lang), v.description || "",
    canMove ? aliasControl(kind, name, v.version) : "",
  ]);
  const base = "#libraries/" + kind + "/" + encodeURIComponent(name);
  const box = h("section", { id: "versions", "aria-labelledby": "versions-title" },
    h("h3", { id: "versions-title", text: t("libraries.versions", { name, latest: data.latest }) }),
    table([t("col.version"), t("col.aliases"), t("col.created"), t("col.description"), canMove ? t("col.actions") : ""], rows),
    h("nav", { class: "pager", "aria-label": t("pager") },
      before ? button(t("pager.previous"), () => { const back = pages.before.pop(); location.hash = base + (back ? "/" + back : ""); }, { id: "versions-previous" }) : null,
      data.next ? button(t("pager.next"), () => { pages.before.push(before || ""); location.hash = base + "/" + data.next; }, { id: "versions-next" }) : null));
  if (canMove) {
    for (const alias of Object.keys(data.aliases)) {
      box.append(button(t("libraries.rollback", { alias }), async () => {
        try {
          const moved = await api("POST", "/v1/registry/" + kind + "/" + encodeURIComponent(name) + "/aliases/" + alias + "/rollback");
          toast(t("libraries.moved", { alias, version: moved.version }), "ok");
          render();
        } catch (error) { toast(error.message, "bad"); }
      }, { class: "secondary" }));
    }
  }
  return box;
}

function aliasControl(kind, name, version) {
  const id = "alias-" + version;
  const input = h("input", { id, value: kind === "model" ? "champion" : "production", size: 10, pattern: "[A-Za-z0-9_.-]+" });
  return h("span", { class: "inline" }, h("label", { for: id, class: "visually-hidden", text: t("libraries.alias") }), input,
    button(t("libraries.move", { version }), async () => {
      try {
        await api("POST", "/v1/registry/" + kind + "/" + encodeURIComponent(name) + "/aliases/" + encodeURIComponent(input.value), { version });
        toast(t("libraries.moved", { alias: input.value, version }), "ok");
        render();
      } catch (error) { toast(error.message, "bad"); }
    }));
}

const RANK = { dataset: 0, run: 0, algorithm: 1, component: 1, model: 2, knowledge: 3, rule: 3, service: 4 };

function lineageGraph(graph) {
  const columns = {};
  for (const node of graph.nodes) (columns[RANK[node.kind] !== undefined ? RANK[node.kind] : 2] ||= []).push(node);
  const width = 200, gap = 48, rowHeight = 46;
  const at = {};
  let tallest = 0;
  for (const [col, nodes] of Object.entries(columns)) {
    nodes.forEach((node, i) => { at[node.id] = { x: 10 + Number(col) * (width + gap), y: 10 + i * rowHeight }; });
    tallest = Math.max(tallest, nodes.length);
  }
  const edges = graph.edges.filter((e) => at[e.source] && at[e.target]).map((e) => {
    const a = at[e.source], b = at[e.target];
    const x1 = a.x + width, y1 = a.y + 18, x2 = b.x, y2 = b.y + 18;
    return svg("path", { d: `M${x1},${y1} C${x1 + gap / 2},${y1} ${x2 - gap / 2},${y2} ${x2},${y2}`, class: "edge", "marker-end": "url(#arrow)" },
      svg("title", {}, t("edge." + e.type)));
  });
  const nodes = graph.nodes.map((node) => {
    const p = at[node.id];
    const label = node.name + (node.version !== null ? " v" + node.version : "");
    return svg("g", { class: "node kind-" + node.kind, transform: `translate(${p.x},${p.y})`, "data-id": node.id },
      svg("rect", { width, height: 36, rx: 6 }),
      svg("text", { x: 8, y: 15 }, t("kind." + node.kind) + " · " + label.slice(0, 26)),
      svg("text", { x: 8, y: 29, class: "aliases" }, node.aliases.join(", ")));
  });
  const cols = Math.max(...Object.keys(columns).map(Number), 0) + 1;
  return svg("svg", { id: "lineage", role: "img", "aria-label": t("libraries.lineage"), width: cols * (width + gap), height: tallest * rowHeight + 20 },
    svg("defs", {}, svg("marker", { id: "arrow", viewBox: "0 0 10 10", refX: 9, refY: 5, markerWidth: 6, markerHeight: 6, orient: "auto" },
      svg("path", { d: "M0,0 L10,5 L0,10 z" }))), edges, nodes);
}

/* ---------- 3. rules ---------- */

const editor = { schema: null, production: "", name: "pingdu-rules", version: null, checkTimer: null, problems: [] };

async function renderRules(view, [name]) {
  editor.name = name || "pingdu-rules";
  const [sets, source, schema] = await Promise.all([
    api("GET", "/v1/registry/rule"), api("GET", "/v1/rules/" + encodeURIComponent(editor.name) + "/source"),
    editor.schema ? Promise.resolve(editor.schema) : api("GET", "/v1/rules/schema")]);
  editor.schema = schema;
  editor.production = source.text;
  editor.version = source.version;
  const canEdit = may("backtest");
  const canPublish = may("register:rule");
  const picker = h("select", { onchange: (e) => { location.hash = "#rules/" + encodeURIComponent(e.target.value); } },
    sets.assets.map((a) => h("option", { value: a.name, selected: a.name === editor.name, text: a.name })));
  const served = h("p", { id: "served", class: "hint", "aria-live": "polite" },
    t("rules.served", { name: editor.name, version: source.version, served: source.served === null ? "—" : "v" + source.served }));
  view.append(field("rule-set", t("rules.set"), picker), served);
  const area = h("textarea", { id: "rule-text", spellcheck: "false", wrap: "off", readonly: !canEdit,
    "aria-describedby": "problems-title", autocapitalize: "off" });
  area.value = source.text;
  const gutter = h("pre", { class: "gutter", "aria-hidden": "true" });
  const list = h("ul", { id: "completion", role: "listbox", "aria-label": t("rules.completion"), hidden: true });
  const box = h("div", { class: "editor" }, gutter, area, list);
  view.append(h("label", { for: "rule-text", text: t("rules.editor") }), box);
  const problems = h("section", { id: "problems", "aria-labelledby": "problems-title" },
    h("h3", { id: "problems-title", text: t("rules.problems") }), h("ol", { id: "problem-list" }));
  view.append(problems);
  const output = h("section", { id: "rule-output", "aria-live": "polite" });
  if (canEdit) {
    const csv = h("input", { type: "file", accept: ".csv,text/csv" });
    const kind = h("select", {}, ["alert", "dispatch", "video"].map((k) => h("option", { value: k, text: k })));
    const valueCol = h("input", { placeholder: "pm2.5", size: 10 });
    const timeCols = h("input", { placeholder: "year,month,day,hour", size: 20 });
    view.append(h("div", { class: "actions" },
      button(t("rules.test"), () => runTests(area, output), { id: "run-tests" }),
      button(t("rules.diff"), () => showDiff(area, output), { id: "show-diff" }),
      canPublish ? button(t("rules.publish"), () => publish(area, output, served), { id: "publish", class: "primary" }) : null,
      canPublish ? button(t("rules.rollback"), () => rollBack(output, served), { id: "rollback", class: "secondary" }) : null),
    h("fieldset", { class: "backtest" }, h("legend", { text: t("rules.backtest") }),
      field("backtest-csv", t("rules.csv"), csv), field("backtest-kind", t("rules.kind"), kind),
      field("backtest-value", t("rules.value_col"), valueCol), field("backtest-time", t("rules.time_cols"), timeCols),
      button(t("rules.run_backtest"), () => backtest(area, output, csv, kind.value, valueCol.value, timeCols.value), { id: "run-backtest" }),
      h("p", { class: "hint", text: t("rules.backtest_hint") })));
  } else {
    view.append(h("p", { class: "hint", id: "read-only", text: t("rules.read_only") }));
  }
  view.append(output);
  const sync = () => { drawGutter(area, gutter); };
  area.addEventListener("input", () => { sync(); scheduleCheck(area, gutter); completion(area, list, false); });
  area.addEventListener("scroll", () => { gutter.scrollTop = area.scrollTop; });
  area.addEventListener("keydown", (e) => editorKey(e, area, list));
  area.addEventListener("blur", () => setTimeout(() => { list.hidden = true; }, 150));
  sync();
  await check(area, gutter);
}

function drawGutter(area, gutter) {
  const count = area.value.split("\n").length;
  const bad = new Set(editor.problems.map((p) => p.line));
  gutter.replaceChildren(...Array.from({ length: count }, (_, i) => h("span", { class: bad.has(i + 1) ? "mark" : "" }, String(i + 1) + "\n")));
  gutter.scrollTop = area.scrollTop;
}

function scheduleCheck(area, gutter) {
  clearTimeout(editor.checkTimer);
  editor.checkTimer = setTimeout(() => check(area, gutter), 400);
}

async function check(area, gutter) {
  const list = document.getElementById("problem-list");
  if (!list) return;
  let answer;
  try {
    answer = await api("POST", "/v1/rules/check", { text: area.value });
  } catch (error) {
    if (error.status === 403) { list.replaceChildren(h("li", { text: t("rules.no_check") })); return; }
    list.replaceChildren(h("li", { class: "error", text: error.message }));
    return;
  }
  editor.problems = answer.problems;
  drawGutter(area, gutter);
  list.dataset.ok = String(answer.ok);
  if (!answer.problems.length) {
    list.replaceChildren(h("li", { class: "ok", id: "no-problems", text: t("rules.clean", { rules: answer.rules, tests: answer.tests }) }));
    return;
  }
  list.replaceChildren(...answer.problems.map((p) => h("li", { class: p.severity },
    button(`${p.line}:${p.column}`, () => jump(area, p.line, p.column), { class: "link", "aria-label": t("rules.jump", { line: p.line, column: p.column }) }),
    " ", h("span", { class: "severity", text: t("severity." + p.severity) }), " ", h("span", { class: "message", text: p.message }),
    p.hint ? h("span", { class: "problem-hint", text: " — " + p.hint }) : null)));
}

function jump(area, line, column) {
  const lines = area.value.split("\n");
  let offset = 0;
  for (let i = 0; i < line - 1 && i < lines.length; i++) offset += lines[i].length + 1;
  offset += Math.max(0, column - 1);
  area.focus();
  area.setSelectionRange(offset, offset + 1);
  const lineHeight = parseFloat(getComputedStyle(area).lineHeight) || 18;
  area.scrollTop = Math.max(0, (line - 5) * lineHeight);
}

async function runTests(area, output) {
  output.replaceChildren(h("p", { text: t("busy") }));
  try {
    const report = await api("POST", "/v1/rules/test", { text: area.value });
    const lines = report.problems.map((p) => h("li", { class: "error", text: `${p.line}:${p.column} ${p.message}` }));
    output.replaceChildren(h("h3", { id: "test-summary", class: report.ok ? "ok" : "bad",
      text: report.ok ? t("rules.tests_passed", { passed: report.passed }) : t("rules.tests_failed", { failed: report.failed, passed: report.passed }) }),
    h("ul", {}, lines, report.results.map((r) => h("li", { class: r.ok ? "ok" : "bad" },
      (r.ok ? "✓ " : "✗ ") + r.group + " / " + r.name, r.ok ? null : h("pre", { text: r.diff })))));
  } catch (error) { output.replaceChildren(failure(error)); }
}

async function backtest(area, output, csvInput, kind, valueCol, timeCols) {
  output.replaceChildren(h("p", { text: t("busy") }));
  const body = { text: area.value, compare: editor.name + "@production", kind };
  if (csvInput.files.length) {
    body.csv = await csvInput.files[0].text();
    if (valueCol) body.value_col = valueCol;
    if (timeCols) body.time_cols = timeCols.split(",").map((s) => s.trim()).filter(Boolean);
  }
  try {
    const report = await api("POST", "/v1/rules/backtest", body);
    const edited = report.rules.edited || {};
    const before = report.rules[body.compare] || {};
    const rows = Object.keys(Object.assign({}, before, edited)).sort().map((rule) => [rule,
      fmt(before[rule] ? before[rule].would_fire : null), fmt(edited[rule] ? edited[rule].would_fire : null),
      fmt(edited[rule] && edited[rule].hit_rate !== undefined ? edited[rule].hit_rate : null)]);
    output.replaceChildren(h("h3", { id: "backtest-summary", text: t("rules.backtest_rows", { rows: report.rows, kind: report.kind }) }),
      table([t("col.rule"), t("rules.before"), t("rules.after"), t("col.hit_rate")], rows));
  } catch (error) { output.replaceChildren(failure(error)); }
}

function lineDiff(a, b) {
  const x = a.split("\n"), y = b.split("\n");
  if (x.length * y.length > 4e6) return null;
  const n = x.length, m = y.length;
  const lcs = Array.from({ length: n + 1 }, () => new Uint16Array(m + 1));
  for (let i = n - 1; i >= 0; i--) for (let j = m - 1; j >= 0; j--) lcs[i][j] = x[i] === y[j] ? lcs[i + 1][j + 1] + 1 : Math.max(lcs[i + 1][j], lcs[i][j + 1]);
  const out = [];
  let i = 0, j = 0;
  while (i < n || j < m) {
    if (i < n && j < m && x[i] === y[j]) { out.push([" ", x[i]]); i++; j++; }
    else if (j < m && (i === n || lcs[i][j + 1] >= lcs[i + 1][j])) { out.push(["+", y[j]]); j++; }
    else { out.push(["-", x[i]]); i++; }
  }
  return out;
}

function showDiff(area, output) {
  const diff = lineDiff(editor.production, area.value);
  if (diff === null) { output.replaceChildren(h("p", { text: t("rules.diff_too_large") })); return; }
  const changed = diff.filter(([kind]) => kind !== " ");
  const shown = diff.filter((_, i) => diff.slice(Math.max(0, i - 2), i + 3).some(([kind]) => kind !== " "));
  output.replaceChildren(h("h3", { id: "diff-summary", text: changed.length ? t("rules.diff_lines", { count: changed.length, version: editor.version }) : t("rules.no_diff") }),
    h("pre", { class: "diff" }, shown.map(([kind, line]) => h("span", { class: kind === "+" ? "added" : kind === "-" ? "removed" : "" }, kind + " " + line + "\n"))));
}

async function publish(area, output, served) {
  output.replaceChildren(h("p", { text: t("busy") }));
  try {
    const version = await api("POST", "/v1/rules/" + encodeURIComponent(editor.name) + "/versions", { text: area.value, description: t("rules.published_from_console") });
    output.replaceChildren(h("p", { id: "publish-result", class: "ok", text: t("rules.published", { name: editor.name, version: version.version }) }));
    editor.production = area.value;
    editor.version = version.version;
    waitUntilServed(version.version, served);
  } catch (error) { output.replaceChildren(failure(error)); }
}

async function rollBack(output, served) {
  try {
    const moved = await api("POST", "/v1/registry/rule/" + encodeURIComponent(editor.name) + "/aliases/production/rollback");
    output.replaceChildren(h("p", { class: "ok", text: t("libraries.moved", { alias: "production", version: moved.version }) }));
    waitUntilServed(moved.version, served);
  } catch (error) { output.replaceChildren(failure(error)); }
}

async function waitUntilServed(version, served) {
  const started = Date.now();
  while (Date.now() - started < 60000) {
    const health = await api("GET", "/v1/health").catch(() => null);  // what is served, without reading the files
    const rules = health && health.parts.rules;
    if (rules && rules.name === editor.name && rules.version === version) {
      served.textContent = t("rules.now_served", { name: editor.name, version, seconds: ((Date.now() - started) / 1000).toFixed(1) });
      served.className = "hint ok";
      served.dataset.served = String(version);
      return;
    }
    served.textContent = t("rules.waiting", { version });
    await new Promise((r) => setTimeout(r, 1000));
  }
  served.textContent = t("rules.not_served", { version });
  served.className = "hint bad";
}

/* completion from the rule files' JSON Schema: keys by the YAML path the cursor is at, enum values after a key,
   fields and functions inside a condition */

function yamlPath(lines, row) {
  /* the keys and list items that enclose the cursor's line, from the indentation of the lines above it */
  const stack = [];
  const enter = (col, name) => { while (stack.length && stack[stack.length - 1].col >= col) stack.pop(); stack.push({ col, name }); };
  for (let i = 0; i <= row; i++) {
    const line = lines[i];
    if (!line.trim() || line.trim().startsWith("#")) continue;
    const m = line.match(/^(\s*)(-\s+)?(?:([A-Za-z_]+):)?/);
    let col = m[1].length;
    if (m[2]) { enter(col, "[]"); col += m[2].length; }
    if (i === row) { while (stack.length && stack[stack.length - 1].col >= col) stack.pop(); break; }
    if (m[3]) enter(col, m[3]);
  }
  return stack.map((s) => s.name);
}

function schemaAt(path) {
  let node = editor.schema.schema;
  for (const step of path) {
    if (!node) return null;
    node = step === "[]" ? node.items : (node.properties || {})[step];
  }
  return node;
}

function groupKind(lines, row) {
  for (let i = row; i >= 0; i--) {
    const m = lines[i].match(/^\s*kind:\s*(\w+)/);
    if (m && lines[i].search(/\S/) <= 4) return m[1];
  }
  return "dispatch";
}

function suggestions(area) {
  const before = area.value.slice(0, area.selectionStart);
  const lines = area.value.split("\n");
  const row = before.split("\n").length - 1;
  const line = before.split("\n")[row];
  const when = line.match(/^\s*(?:-\s+)?when:\s*(.*)$/);
  if (when) {
    const word = (when[1].match(/[A-Za-z_.]*$/) || [""])[0];
    const fields = editor.schema.fields[groupKind(lines, row)] || [];
    return { word, items: fields.concat(editor.schema.functions.map((f) => f + "(")).filter((f) => f.startsWith(word) && f !== word) };
  }
  const value = line.match(/^\s*(?:-\s+)?([A-Za-z_]+):\s*(\w*)$/);
  if (value) {
    const node = schemaAt([...yamlPath(lines, row).filter(Boolean), value[1]]) || findKey(value[1]);
    const items = (node && node.enum ? node.enum.map(String) : []).filter((v) => v.startsWith(value[2]) && v !== value[2]);
    return { word: value[2], items };
  }
  const key = line.match(/^(\s*)(-\s+)?([A-Za-z_]*)$/);
  if (key) {
    const node = schemaAt(yamlPath(lines, row));
    const props = node && node.type === "array" ? (node.items || {}).properties : node && node.properties;
    return { word: key[3], items: Object.keys(props || {}).filter((k) => k.startsWith(key[3]) && k !== key[3]).map((k) => k + ": ") };
  }
  return { word: "", items: [] };
}

function findKey(name) {
  let found = null;
  (function walk(node) {
    if (!node || typeof node !== "object" || found) return;
    if (node.properties && node.properties[name] && node.properties[name].enum) { found = node.properties[name]; return; }
    for (const child of Object.values(node)) walk(child);
  })(editor.schema.schema);
  return found;
}

function completion(area, list, forced) {
  const { word, items } = suggestions(area);
  if (!items.length || (!forced && !word)) { list.hidden = true; return; }
  list.replaceChildren(...items.slice(0, 12).map((item, i) => h("li", { role: "option", id: "completion-" + i, "aria-selected": i === 0 ? "true" : "false",
    onmousedown: (e) => { e.preventDefault(); accept(area, list, item, word); } }, item)));
  list.dataset.word = word;
  const lineHeight = parseFloat(getComputedStyle(area).lineHeight) || 18;
  const row = area.value.slice(0, area.selectionStart).split("\n").length;
  list.style.top = Math.min(area.clientHeight, row * lineHeight - area.scrollTop + 6) + "px";
  list.hidden = false;
  area.setAttribute("aria-activedescendant", "completion-0");
}

function accept(area, list, item, word) {
  const at = area.selectionStart;
  area.setRangeText(item.slice(word.length), at, at, "end");
  list.hidden = true;
  area.dispatchEvent(new Event("input"));
}

function editorKey(e, area, list) {
  if (e.key === " " && e.ctrlKey) { e.preventDefault(); completion(area, list, true); return; }
  if (list.hidden) {
    if (e.key === "Tab" && !e.shiftKey) { e.preventDefault(); area.setRangeText("  ", area.selectionStart, area.selectionEnd, "end"); area.dispatchEvent(new Event("input")); }
    return;
  }
  const options = [...list.children];
  const current = options.findIndex((o) => o.getAttribute("aria-selected") === "true");
  if (e.key === "ArrowDown" || e.key === "ArrowUp") {
    e.preventDefault();
    const next = (current + (e.key === "ArrowDown" ? 1 : options.length - 1)) % options.length;
    options.forEach((o, i) => o.setAttribute("aria-selected", i === next ? "true" : "false"));
    area.setAttribute("aria-activedescendant", "completion-" + next);
  } else if (e.key === "Enter" || e.key === "Tab") {
    e.preventDefault();
    accept(area, list, options[Math.max(0, current)].textContent, list.dataset.word || "");
  } else if (e.key === "Escape") {
    list.hidden = true;
  }
}

/* ---------- 4. triage playground ---------- */

async function renderTriage(view) {
  const text = h("textarea", { rows: 4, cols: 60, required: true, maxlength: 5000 });
  const area = h("input", { size: 12 });
  const channel = h("select", {}, ["12345", "app", "wechat", "web"].map((c) => h("option", { value: c, text: c })));
  const out = h("section", { id: "triage-answer", "aria-live": "polite" });
  const form = h("form", { id: "triage-form" }, field("triage-text", t("triage.text"), text), field("triage-area", t("triage.area"), area),
    field("triage-channel", t("triage.channel"), channel), h("button", { type: "submit", class: "primary", text: t("triage.submit") }));
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    out.replaceChildren(h("p", { text: t("busy") }));
    const report = { text: text.value, channel: channel.value };
    if (area.value.trim()) report.area = area.value.trim();
    try { out.replaceChildren(...explained(await api("POST", "/v1/events/triage", { report }))); } catch (error) { out.replaceChildren(failure(error)); }
  });
  view.append(form, out);
}

function explained(a) {
  const x = a.explanation || {};
  const fired = ((x.rules || {}).fired || []);
  const ruleset = (x.rules || {}).ruleset || {};
  const model = x.model || {};
  const knowledge = x.knowledge || {};
  return [
    h("h3", { text: t("triage.decision") }),
    h("dl", { class: "facts" },
      fact(t("triage.masked"), a.text), fact(t("triage.category"), a.category + " (" + fmt(a.confidence, 2) + ")"),
      fact(t("triage.lead"), a.department.lead), fact(t("triage.assists"), (a.department.assists || []).join("、") || "—"),
      fact(t("triage.priority"), a.priority + " · SLA " + a.sla), fact(t("triage.transfer"), a.transfer || "—"),
      fact(t("triage.queue"), a.queue || "—"), fact(t("triage.event"), a.event_id || "—")),
    h("h3", { text: t("triage.top_k") }),
    h("ol", { class: "bars" }, a.top_k.map((c) => h("li", {}, h("span", { class: "bar-label", text: c.category }),
      h("meter", { min: 0, max: 1, value: c.score, "aria-label": c.category }), " " + fmt(c.score, 3)))),
    h("h3", { text: t("triage.path") }), h("ol", {}, (x.graph_path || []).map((p) => h("li", { text: p }))),
    h("h3", { text: t("triage.rules_fired", { count: fired.length }) }),
    table([t("col.rule"), t("triage.condition"), t("triage.values"), t("triage.thresholds"), t("triage.then")],
      fired.map((f) => [f.rule, h("code", { text: f.condition }), JSON.stringify(f.values), JSON.stringify(f.thresholds), JSON.stringify(f.then)]), null),
    h("h3", { text: t("triage.similar") }),
    h("ol", {}, a.similar_cases.map((c) => h("li", {}, h("q", { text: c.text || c.title || "" }), c.reply ? h("p", { class: "hint", text: c.reply }) : null,
      " (" + fmt(c.score, 3) + ")"))),
    h("h3", { text: t("triage.duplicates") }),
    a.duplicates.length ? h("ul", {}, a.duplicates.map((d) => h("li", { text: d.id + " · " + d.event_id + " · " + fmt(d.similarity, 2) }))) : h("p", { text: "—" }),
    h("h3", { text: t("triage.versions") }),
    h("dl", { class: "facts", id: "triage-versions" },
      fact(t("overview.models"), (model.name || "") + " v" + (model.version || "?") + (model.arm ? " · " + t("arm." + model.arm) : "")),
      fact(t("overview.knowledge"), knowledge.name + " v" + knowledge.version),
      fact(t("overview.rules"), ruleset.name + " v" + ruleset.version)),
  ];
}

function fact(label, value) {
  return [h("dt", { text: label }), h("dd", { text: value })];
}

/* ---------- 5. knowledge ---------- */

async function renderKnowledge(view) {
  const category = h("input", { size: 16, required: true, value: "噪音扰民" });
  const area = h("input", { size: 12, value: "南村镇" });
  const out = h("section", { id: "dispatch-answer", "aria-live": "polite" });
  const form = h("form", { id: "dispatch-form" }, field("kg-category", t("knowledge.category"), category), field("kg-area", t("knowledge.area"), area),
    h("button", { type: "submit", class: "primary", text: t("knowledge.who") }));
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    const query = "?category=" + encodeURIComponent(category.value) + (area.value.trim() ? "&area=" + encodeURIComponent(area.value.trim()) : "");
    try {
      const d = await api("GET", "/v1/knowledge/dispatch" + query);
      out.replaceChildren(h("dl", { class: "facts" }, fact(t("triage.category"), d.category), fact(t("triage.area"), d.area || t("knowledge.city")),
        fact(t("triage.lead"), d.lead), fact(t("triage.assists"), d.assists.join("、") || "—"), fact(t("knowledge.source"), d.source)),
      h("h3", { text: t("knowledge.why") }), h("ol", {}, d.path.map((p) => h("li", { text: p }))));
      drawNeighbourhood(d.lead_id);
    } catch (error) { out.replaceChildren(failure(error)); }
  });
  const node = h("input", { size: 16, required: true, value: "南村镇" });
  const nodeForm = h("form", { id: "node-form" }, field("kg-node", t("knowledge.node"), node),
    h("button", { type: "submit", text: t("knowledge.draw") }));
  nodeForm.addEventListener("submit", (e) => { e.preventDefault(); drawNeighbourhood(node.value.trim()); });
  const drawing = h("section", { id: "neighbourhood", "aria-live": "polite" });
  view.append(h("h3", { text: t("knowledge.dispatch") }), form, out, h("h3", { text: t("knowledge.neighbourhood") }), nodeForm, drawing);
  form.requestSubmit();  // the example filled in is answered at once: the view opens with a duty and its neighbourhood
  async function drawNeighbourhood(id) {
    try { drawing.replaceChildren(radial(await api("GET", "/v1/knowledge/nodes/" + encodeURIComponent(id)))); } catch (error) { drawing.replaceChildren(failure(error)); }
  }
}

function radial(graph) {
  const size = 560, c = size / 2, r = size / 2 - 90;
  const others = graph.nodes.filter((n) => n.id !== graph.center);
  const at = { [graph.center]: [c, c] };
  others.forEach((n, i) => { const a = (2 * Math.PI * i) / Math.max(1, others.length); at[n.id] = [c + r * Math.cos(a), c + r * Math.sin(a)]; });
  return svg("svg", { id: "graph", role: "img", "aria-label": t("knowledge.neighbourhood"), width: size, height: size, viewBox: `0 0 ${size} ${size}` },
    graph.edges.map((e) => svg("line", { x1: at[e.source][0], y1: at[e.source][1], x2: at[e.target][0], y2: at[e.target][1], class: "edge" }, svg("title", {}, e.type))),
    graph.edges.map((e) => svg("text", { x: (at[e.source][0] + at[e.target][0]) / 2, y: (at[e.source][1] + at[e.target][1]) / 2, class: "edge-label" }, e.type)),
    graph.nodes.map((n) => svg("g", { class: "node type-" + n.type + (n.id === graph.center ? " center" : ""), transform: `translate(${at[n.id][0]},${at[n.id][1]})` },
      svg("circle", { r: n.id === graph.center ? 12 : 8 }), svg("text", { x: 12, y: 4 }, n.label.slice(0, 16)))),
    graph.truncated ? svg("text", { x: 10, y: size - 10 }, t("knowledge.truncated")) : null);
}

/* ---------- 6. events ---------- */

async function renderEvents(view, [by]) {
  by = ["department", "area", "category", "model", "rules"].includes(by) ? by : "department";
  const overdue = h("section", { id: "overdue", "aria-labelledby": "overdue-title" }, h("h3", { id: "overdue-title", text: t("events.overdue") }));
  view.append(overdue);
  await eventsPage(overdue, null, []);
  const picker = h("select", { onchange: (e) => { location.hash = "#events/" + e.target.value; } },
    ["department", "area", "category", "model", "rules"].map((b) => h("option", { value: b, selected: b === by, text: t("events.by." + b) })));
  view.append(h("h3", { text: t("events.evaluation") }), field("evaluation-by", t("events.group_by"), picker));
  const report = await api("GET", "/v1/evaluation?by=" + by);
  view.append(h("p", { class: "hint", text: t("events.period", { since: new Date(report.since * 1000).toLocaleDateString(state.lang),
    until: new Date(report.until * 1000).toLocaleDateString(state.lang), volume: report.overall.volume }) }));
  for (const measure of ["first_time_right", "category_accuracy", "sla_compliance", "satisfaction", "reopen_rate"]) {
    view.append(bars(measure, report.groups));
  }
}

async function eventsPage(box, cursor, previous) {
  const page = await api("GET", "/v1/events?overdue=true&limit=" + PAGE + (cursor ? "&cursor=" + encodeURIComponent(cursor) : ""));
  const rows = page.events.map((e) => [e.id, new Date(e.at).toLocaleString(state.lang), e.category || "—", e.area || "—",
    e.department || "—", e.priority || "—", e.due || "—", t("status." + e.status)]);
  box.querySelectorAll("table, .pager, .empty").forEach((el) => el.remove());
  if (!rows.length) { box.append(h("p", { class: "empty", text: t("events.none_overdue") })); return; }
  box.append(table([t("col.event"), t("col.at"), t("triage.category"), t("triage.area"), t("triage.lead"), t("triage.priority"), t("col.due"), t("col.status")], rows),
    h("nav", { class: "pager", "aria-label": t("pager") },
      previous.length ? button(t("pager.previous"), () => eventsPage(box, previous[previous.length - 1], previous.slice(0, -1))) : null,
      page.next ? button(t("pager.next"), () => eventsPage(box, page.next, previous.concat([cursor]))) : null));
}

function bars(measure, groups) {
  const rows = groups.filter((g) => g[measure] !== null && g[measure] !== undefined).slice(0, 30);
  const width = 640, rowHeight = 22, labelWidth = 220;
  const label = (g) => Object.values(g.key || {}).join(" · ") || g.group;
  return h("figure", { class: "chart" }, h("figcaption", { text: t("measure." + measure) }),
    rows.length ? svg("svg", { role: "img", "aria-label": t("measure." + measure), width, height: rows.length * rowHeight + 4 },
      rows.map((g, i) => svg("g", { transform: `translate(0,${i * rowHeight})` },
        svg("text", { x: 0, y: 15 }, String(label(g)).slice(0, 18)),
        svg("rect", { x: labelWidth, y: 3, height: 15, width: Math.max(1, (width - labelWidth - 60) * g[measure]), class: "bar" }),
        svg("text", { x: labelWidth + (width - labelWidth - 60) * g[measure] + 4, y: 15 }, fmt(g[measure], 2) + " (" + g.volume + ")"))))
      : h("p", { class: "hint", text: t("events.nothing_rated") }));
}

const RENDER = { overview: renderOverview, libraries: renderLibraries, rules: renderRules, triage: renderTriage, knowledge: renderKnowledge, events: renderEvents };
