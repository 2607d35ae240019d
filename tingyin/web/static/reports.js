// The reports page (报表): the operations dashboard, complaint analytics, callers' keywords and
// the staffing forecast, for a period of calendar days in the site's zone. Charts are SVG drawn
// by the server (<img>), tables are built with textContent only, every table links its CSV and
// XLSX export. The page's own words live here (RT); the header's come from i18n.js.
import { bindLogout, drawAccount } from "./account.js";
import { applyTranslations, bindLangToggle, formatSeconds, formatTime, initLang } from "./i18n.js";

const RT = {
  zh: {
    nav: "报表", "tab.dashboard": "运营看板", "tab.complaints": "投诉分析",
    "tab.keywords": "客户热词", "tab.staffing": "排班预测", title: "报表 · 听音",
    "p.1": "今天", "p.7": "近 7 天", "p.30": "近 30 天", "p.90": "近 90 天", "p.365": "近一年",
    range: "{since} 至 {until}", asOf: "（数据更新于 {at}）",
    "h.queues": "各队列", "h.backlog": "积压工单（当前）", "h.days": "每日明细",
    "h.shares": "投诉分布（点击查看工单）", "h.top": "热词（点击查看通话）", "h.rising": "本周上升",
    "h.staffing": "每半小时预测", "c.by": "按", total: "共 {n} 张工单",
    "dim.category": "类别", "dim.store": "门店", "dim.merchant": "商家", "dim.rider": "骑手",
    "dim.channel": "工单渠道", "dim.order_channel": "下单平台", "dim.party": "责任方",
    "f.offered": "进入队列", "f.answered": "接通", "f.abandoned": "放弃",
    "f.sl": "服务水平（{s} 秒内）", "f.asa": "平均应答", "f.aht": "平均处理时长",
    "f.abandonRate": "放弃率", "f.containment": "IVR 自助率", "f.fcr": "首次解决率",
    "f.callbacks": "回拨", "f.csat": "满意度", "f.frSla": "首次响应达标",
    "f.resSla": "解决时效达标", "f.recurrence": "重复投诉率", "f.opened": "新工单",
    "f.target": "目标 {pct}", "f.surveys": "{n} 份回访", "f.of": "{met} / {all}",
    "alert.recurrence": "重复投诉率超过 {pct}，请关注！", "alert.service_level": "服务水平低于目标",
    queue: "队列", ivrOnly: "（未进入队列）", status: "状态", total2: "合计", day: "日期",
    key: "项目", name: "名称", tickets: "工单", share: "占比",
    number: "工单号", opened: "受理时间", category: "类别", calls: "通话", order: "订单号",
    store: "门店", description: "描述", drill: "「{name}」的工单", termCalls: "说到「{term}」的通话",
    term: "词", lift: "倍数", new: "新词", none: "此期间没有数据",
    slot: "时段", forecast: "预测来电", agents: "在线坐席", rostered: "排班人数",
    aht: "平均处理时长", peak: "高峰所需坐席", peakRoster: "高峰排班（含 {pct} 缺勤）",
    "st.accepted": "已受理", "st.in_progress": "处理中", "st.reopened": "已重开",
  },
  en: {
    nav: "Reports", "tab.dashboard": "Operations", "tab.complaints": "Complaints",
    "tab.keywords": "Keywords", "tab.staffing": "Staffing", title: "Reports · Tingyin",
    "p.1": "Today", "p.7": "7 days", "p.30": "30 days", "p.90": "90 days", "p.365": "1 year",
    range: "{since} to {until}", asOf: " (data as of {at})",
    "h.queues": "Queues", "h.backlog": "Open tickets (now)", "h.days": "Per day",
    "h.shares": "Complaints (click for the tickets)", "h.top": "Terms (click for the calls)",
    "h.rising": "Rising this week", "h.staffing": "Per half hour", "c.by": "By",
    total: "{n} tickets", "dim.category": "Category", "dim.store": "Store",
    "dim.merchant": "Merchant", "dim.rider": "Rider", "dim.channel": "Ticket channel",
    "dim.order_channel": "Order platform", "dim.party": "Responsible party",
    "f.offered": "Offered", "f.answered": "Answered", "f.abandoned": "Abandoned",
    "f.sl": "Service level ({s} s)", "f.asa": "Avg speed of answer", "f.aht": "Avg handle time",
    "f.abandonRate": "Abandonment", "f.containment": "IVR containment", "f.fcr": "First-contact resolution",
    "f.callbacks": "Callbacks", "f.csat": "CSAT", "f.frSla": "First response in SLA",
    "f.resSla": "Resolution in SLA", "f.recurrence": "Repeat complaints", "f.opened": "New tickets",
    "f.target": "target {pct}", "f.surveys": "{n} surveys", "f.of": "{met} / {all}",
    "alert.recurrence": "Repeat complaints above {pct}!", "alert.service_level": "Service level below target",
    queue: "Queue", ivrOnly: "(no queue)", status: "Status", total2: "Total", day: "Day",
    key: "Key", name: "Name", tickets: "Tickets", share: "Share",
    number: "Ticket", opened: "Opened", category: "Category", calls: "Calls", order: "Order",
    store: "Store", description: "Description", drill: "Tickets of “{name}”",
    termCalls: "Calls that said “{term}”", term: "Term", lift: "Lift", new: "New",
    none: "No data in this period", slot: "From", forecast: "Forecast calls", agents: "Agents",
    rostered: "Rostered", aht: "Avg handle time", peak: "Peak agents",
    peakRoster: "Peak roster ({pct} shrinkage)",
    "st.accepted": "Accepted", "st.in_progress": "In progress", "st.reopened": "Reopened",
  },
};
const TABS = ["", "complaints", "keywords", "staffing"];
const DAYS = new Set([1, 7, 30, 90, 365]);

let lang = "zh";
let me = null;
let days = 7;
let tab = "";
let categories = {}; // code → {zh, en}
let data = {}; // the last answers, per tab, for redrawing on a language switch

const $ = (id) => document.getElementById(id);
const tr = (key, values = null) => {
  const text = RT[lang][key] ?? RT.zh[key] ?? key;
  return values ? text.replace(/\{(\w+)\}/g, (all, n) => (n in values ? String(values[n]) : all)) : text;
};
const pct = (r) => (r == null ? "—" : `${(r * 100).toFixed(1)}%`);
const secs = (s) => (s == null ? "—" : formatSeconds(s));
const catLabel = (code) => categories[code]?.[lang] || code || "—";

function el(tag, className = "", text = null) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text != null) node.textContent = text;
  return node;
}

function query(extra = {}) {
  const params = new URLSearchParams({ days: String(days), lang, ...extra });
  return params.toString();
}

async function api(path) {
  const response = await fetch(path, { credentials: "same-origin" });
  if (response.status === 401) {
    location.replace("/login");
    throw new Error("not logged in");
  }
  if (!response.ok) throw new Error(`${response.status} ${path}`);
  return response.json();
}

// -- shared pieces -----------------------------------------------------------------------------
function figure(label, value, sub = "", state = "") {
  const card = el("div", `rp-figure card ${state}`);
  card.append(el("span", "rp-label", label), el("span", "rp-value", value));
  if (sub) card.append(el("span", "rp-sub", sub));
  return card;
}

function exports(name, extra = {}) {
  const links = el("span", "rp-exports");
  for (const fmt of ["csv", "xlsx"]) {
    const a = el("a", "", fmt.toUpperCase());
    a.href = `/api/reports/export/${name}.${fmt}?${query(extra)}`;
    a.dataset.testid = `export-${name}-${fmt}`;
    a.setAttribute("download", "");
    links.append(a);
  }
  return links;
}

function table(container, columns, rows, onClick = null, extra = {}) {
  container.replaceChildren();
  if (!rows.length) {
    container.append(el("p", "empty", tr("none")));
  } else {
    const t = el("table", "rp-table");
    const head = el("tr");
    columns.forEach(([label, numeric]) => head.append(el("th", numeric ? "num" : "", label)));
    t.append(el("thead"), el("tbody"));
    t.tHead.append(head);
    for (const row of rows) {
      const tr_ = el("tr");
      row.cells.forEach((value, i) => tr_.append(el("td", columns[i][1] ? "num" : "", value)));
      if (onClick) {
        tr_.classList.add("rp-click");
        tr_.tabIndex = 0;
        tr_.addEventListener("click", () => onClick(row));
        tr_.addEventListener("keydown", (e) => e.key === "Enter" && onClick(row));
      }
      if (row.key != null) tr_.dataset.key = row.key;
      t.tBodies[0].append(tr_);
    }
    container.append(t);
  }
  if (container.dataset.table) container.append(exports(container.dataset.table, extra));
}

function plot(img, name, extra = {}) {
  img.src = `/api/reports/plots/${name}.svg?${query(extra)}`;
}

// -- the dashboard -------------------------------------------------------------------------------
function drawDashboard(d) {
  const c = d.calls;
  const tk = d.tickets;
  const sl = d.service_level_seconds;
  $("range").textContent = tr("range", { since: formatTime(d.since), until: formatTime(d.until) })
    + (d.as_of ? tr("asOf", { at: formatTime(d.as_of) }) : "");
  const alerts = d.alerts.map((a) =>
    tr(`alert.${a}`, { pct: pct(tk.recurrence.threshold) }));
  $("alerts").hidden = !alerts.length;
  $("alerts").textContent = alerts.join(" · ");
  const slState = c.service_level == null ? "" : c.service_level >= d.service_level_target ? "good" : "bad";
  $("figures").replaceChildren(
    figure(tr("f.offered"), String(c.offered), `${tr("f.answered")} ${c.answered} · ${tr("f.abandoned")} ${c.abandoned}`),
    figure(tr("f.sl", { s: sl }), pct(c.service_level), tr("f.target", { pct: pct(d.service_level_target) }), slState),
    figure(tr("f.asa"), secs(c.asa_seconds)),
    figure(tr("f.aht"), secs(c.aht_seconds)),
    figure(tr("f.abandonRate"), pct(c.abandonment_rate)),
    figure(tr("f.containment"), pct(c.ivr_containment), String(c.ivr_entered)),
    figure(tr("f.fcr"), pct(c.fcr)),
    figure(tr("f.callbacks"), String(c.callbacks), `${tr("f.answered")} ${c.callbacks_answered}`),
    figure(tr("f.opened"), String(tk.opened)),
    figure(tr("f.csat"), pct(tk.satisfaction.csat), tr("f.surveys", { n: tk.satisfaction.surveys })),
    figure(tr("f.frSla"), pct(tk.first_response.rate),
      tr("f.of", { met: tk.first_response.met, all: tk.first_response.met + tk.first_response.missed })),
    figure(tr("f.resSla"), pct(tk.resolution.rate),
      tr("f.of", { met: tk.resolution.met, all: tk.resolution.met + tk.resolution.missed })),
    figure(tr("f.recurrence"), pct(tk.recurrence.rate),
      tr("f.of", { met: tk.recurrence.repeats, all: tk.recurrence.contacts }),
      tk.recurrence.alert ? "bad" : ""),
  );
  for (const [i, card] of [...$("figures").children].entries()) card.dataset.testid = `figure-${i}`;
  plot($("plot-calls"), "calls");
  plot($("plot-sl"), "service_level");
  const callCols = [[tr("f.offered"), 1], [tr("f.answered"), 1], [tr("f.abandoned"), 1],
    [tr("f.sl", { s: sl }), 1], [tr("f.asa"), 1], [tr("f.aht"), 1], [tr("f.fcr"), 1]];
  const cells = (f) => [String(f.offered), String(f.answered), String(f.abandoned),
    pct(f.service_level), secs(f.asa_seconds), secs(f.aht_seconds), pct(f.fcr)];
  table($("queues"), [[tr("queue"), 0], ...callCols],
    Object.entries(d.queues).map(([q, f]) => ({ key: q, cells: [q || tr("ivrOnly"), ...cells(f)] })));
  const prios = ["urgent", "high", "normal", "low"];
  table($("backlog"), [[tr("status"), 0], ...prios.map((p) => [p, 1]), [tr("total2"), 1]],
    Object.entries(d.backlog).map(([s, by]) => ({
      key: s,
      cells: [tr(`st.${s}`), ...prios.map((p) => String(by[p] || 0)),
        String(Object.values(by).reduce((a, b) => a + b, 0))],
    })));
  table($("days"), [[tr("day"), 0], ...callCols],
    d.days.map((x) => ({ key: x.day, cells: [x.day, ...cells(x.figures)] })));
}

// -- complaints ----------------------------------------------------------------------------------
function drawComplaints(d) {
  const dim = d.dimension;
  $("range").textContent = tr("range", { since: formatTime(d.since), until: formatTime(d.until) });
  $("complaint-total").textContent = tr("total", { n: d.total });
  const label = (s) => (dim === "category" ? catLabel(s.key) : s.label || s.key || "—");
  table($("shares"), [[tr("dim." + dim), 0], [tr("tickets"), 1], [tr("share"), 1]],
    d.shares.map((s) => ({ key: s.key, name: label(s), cells: [label(s), String(s.tickets), pct(s.share)] })),
    (row) => drill(dim, row), { dimension: dim });
  plot($("plot-by"), "complaints_by", { dimension: dim });
  plot($("plot-trend"), "complaints_trend");
  plot($("plot-hours"), "complaints_hours");
}

async function drill(dim, row) {
  const filter = { [dim]: row.key };
  const rows = await api(`/api/reports/complaints/tickets?${query(filter)}`);
  $("drill").hidden = false;
  $("drill-title").textContent = tr("drill", { name: row.name });
  table($("drill-rows"), [[tr("number"), 0], [tr("opened"), 0], [tr("category"), 0],
    [tr("store"), 0], [tr("order"), 0], [tr("calls"), 0], [tr("description"), 0]],
  rows.map((r) => ({ key: r.number, cells: [r.number, formatTime(r.opened_at),
    catLabel(r.category), r.store || "—", r.order_no || "—", r.call_ids.join(" "), r.description] })),
  (r) => location.assign(`/tickets?number=${encodeURIComponent(r.key)}`), filter);
}

// -- keywords ------------------------------------------------------------------------------------
function termItem(text, count, onClick) {
  const li = el("li");
  const button = el("button", "rp-term", text);
  button.type = "button";
  button.dataset.term = text;
  button.addEventListener("click", onClick);
  li.append(button, el("span", "rp-muted", count));
  return li;
}

function drawKeywords(d) {
  $("range").textContent = tr("range", { since: d.first, until: d.last });
  $("top-terms").replaceChildren(...d.top.slice(0, 30).map((x) =>
    termItem(x.term, `${x.calls} · ${pct(x.share)}`, () => termCalls(x.term))));
  $("rising-terms").replaceChildren(...d.rising.map((x) =>
    termItem(x.term, `${x.previous} → ${x.calls}${x.new ? " · " + tr("new") : ""}`, () => termCalls(x.term))));
  $("kw-exports").replaceChildren(exports("keywords"), exports("rising"));
  $("wordcloud").hidden = !d.top.length;
  if (d.top.length) $("wordcloud").src = `/api/reports/wordcloud.png?${query()}`;
}

async function termCalls(term) {
  const rows = await api(`/api/reports/keywords/calls?${query({ term })}`);
  $("term-calls").hidden = false;
  $("term-title").textContent = tr("termCalls", { term });
  $("term-rows").replaceChildren(...rows.map((r) => {
    const li = el("li");
    li.dataset.call = r.call_id;
    li.append(el("span", "rp-muted", `${formatTime(r.started_at)} · ${r.call_id}`), el("q", "", r.text));
    return li;
  }));
}

// -- staffing ------------------------------------------------------------------------------------
function drawStaffing(d) {
  $("range").textContent = "";
  $("staff-figures").replaceChildren(
    figure(tr("aht"), secs(d.aht_seconds)),
    figure(tr("f.sl", { s: d.service_level_seconds }), pct(d.service_level_target)),
    figure(tr("peak"), String(d.peak_agents)),
    figure(tr("peakRoster", { pct: pct(d.shrinkage) }), String(d.peak_rostered)),
  );
  plot($("plot-staffing"), "staffing");
  table($("staffing"), [[tr("day"), 0], [tr("slot"), 0], [tr("forecast"), 1], [tr("agents"), 1],
    [tr("rostered"), 1], [tr("f.sl", { s: d.service_level_seconds }), 1], [tr("f.asa"), 1]],
  d.slots.filter((s) => s.calls > 0).map((s) => ({ key: `${s.day} ${s.label}`,
    cells: [s.day, s.label, s.calls.toFixed(1), String(s.agents), String(s.rostered),
      pct(s.service_level), secs(s.asa_seconds)] })));
}

// -- loading -------------------------------------------------------------------------------------
const LOADERS = {
  "": async () => drawDashboard((data[""] = await api(`/api/reports/dashboard?${query()}`))),
  complaints: async () => {
    const dim = $("dimension").value;
    drawComplaints((data.complaints = await api(`/api/reports/complaints?${query({ dimension: dim })}`)));
  },
  keywords: async () => drawKeywords((data.keywords = await api(`/api/reports/keywords?${query()}`))),
  staffing: async () => drawStaffing((data.staffing = await api("/api/reports/staffing?days=3"))),
};

async function load() {
  $("load-error").hidden = true;
  try {
    await LOADERS[tab]();
    document.body.dataset.loaded = tab || "dashboard";
  } catch (error) {
    $("load-error").hidden = false;
    $("load-error").textContent = String(error);
  }
}

function show() {
  for (const name of TABS) {
    $(`tab-${name || "dashboard"}`).hidden = name !== tab;
    const link = document.querySelector(`.rp-tabs a[data-tab="${name}"]`);
    link.classList.toggle("active", name === tab);
    if (name === tab) link.setAttribute("aria-current", "page");
    else link.removeAttribute("aria-current");
  }
  for (const b of document.querySelectorAll(".rp-period")) {
    b.setAttribute("aria-pressed", String(Number(b.dataset.days) === days));
    b.disabled = tab === "staffing";
  }
  delete document.body.dataset.loaded;
  load();
}

function translate() {
  lang = document.documentElement.lang.startsWith("en") ? "en" : "zh";
  document.title = tr("title");
  for (const node of document.querySelectorAll("[data-rt]")) node.textContent = tr(node.dataset.rt);
}

function fromUrl() {
  const path = location.pathname.replace(/\/+$/, "");
  tab = TABS.find((name) => name && path.endsWith(`/${name}`)) || "";
  const asked = Number(new URLSearchParams(location.search).get("days"));
  days = DAYS.has(asked) ? asked : 7;
}

function go(url) {
  history.pushState(null, "", url);
  fromUrl();
  show();
}

async function main() {
  initLang();
  applyTranslations();
  translate();
  bindLogout();
  bindLangToggle($("lang-toggle"), () => {
    translate();
    drawAccount(me);
    show();
  });
  fromUrl();
  for (const a of document.querySelectorAll(".rp-tabs a")) {
    a.addEventListener("click", (event) => {
      event.preventDefault();
      go(`${a.getAttribute("href")}?days=${days}`);
    });
  }
  for (const b of document.querySelectorAll(".rp-period")) {
    b.addEventListener("click", () => go(`${location.pathname}?days=${b.dataset.days}`));
  }
  $("dimension").addEventListener("change", () => {
    $("drill").hidden = true;
    load();
  });
  window.addEventListener("popstate", () => {
    fromUrl();
    show();
  });
  me = await api("/api/auth/me");
  drawAccount(me);
  try {
    const meta = await api("/api/tickets/meta");
    categories = Object.fromEntries(meta.categories.map((c) => [c.code, c]));
  } catch {
    categories = {};
  }
  show();
}

main();
