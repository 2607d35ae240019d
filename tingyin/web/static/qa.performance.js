// Agent performance (坐席绩效), the second tab of the QA page (/qa#performance): per agent and
// team the KPIs of /api/qa/performance with the weighted score, a daily trend plot per agent
// (SVG drawn by the server) and the CSV export. An agent sees only their own row. Drawn with
// textContent only; the review tab (qa.js) is left alone.
import { initLang } from "./i18n.js";

const TEXTS = {
  zh: {
    tabs: "质检", tabReview: "质检评分", tabPerformance: "坐席绩效", title: "坐席绩效", period: "周期",
    today: "今天", days7: "近 7 天", days30: "近 30 天", team: "组", allTeams: "全部", noTeam: "未分组",
    csv: "导出 CSV", trendHint: "点击坐席姓名查看每日趋势", loadError: "无法加载绩效数据：{error}",
    weights: "综合得分权重：{list}（* 部分指标无数据，按有数据的权重折算）", teamRow: "组合计 · {name}（{n} 人）", none: "暂无坐席数据",
    coverage: "仅 {pct} 的权重有数据",
    "col.name": "坐席", "col.team": "组", "col.handled": "接听量", "col.aht": "平均处理时长",
    "col.hold": "保持时长", "col.hold_share": "保持占比", "col.response": "及时接起",
    "col.fcr": "首次解决", "col.csat": "满意度", "col.qa": "质检均分", "col.complaints": "投诉率",
    "col.proactive": "主动服务", "col.score": "综合得分",
    "kpi.satisfaction": "满意度", "kpi.response": "响应", "kpi.resolution": "解决",
    "kpi.complaints": "投诉", "kpi.proactive": "主动服务", "kpi.qa": "质检", "kpi.aht": "处理时长",
    "kpi.hold": "保持",
  },
  en: {
    tabs: "QA", tabReview: "Scoring", tabPerformance: "Agent performance", title: "Agent performance",
    period: "Period", today: "Today", days7: "Last 7 days", days30: "Last 30 days", team: "Team",
    allTeams: "All", noTeam: "No team", csv: "Export CSV", trendHint: "Click an agent for the daily trend",
    loadError: "Could not load performance: {error}", weights: "Score weights: {list} (* some KPIs had no data: scored on the rest)",
    teamRow: "Team · {name} ({n})", none: "No agents yet", coverage: "only {pct} of the weight had data",
    "col.name": "Agent", "col.team": "Team", "col.handled": "Handled", "col.aht": "AHT",
    "col.hold": "Hold", "col.hold_share": "Hold share", "col.response": "Answered fast",
    "col.fcr": "FCR", "col.csat": "CSAT", "col.qa": "QA avg", "col.complaints": "Complaints",
    "col.proactive": "Proactive", "col.score": "Score",
    "kpi.satisfaction": "satisfaction", "kpi.response": "response", "kpi.resolution": "resolution",
    "kpi.complaints": "complaints", "kpi.proactive": "proactive", "kpi.qa": "QA", "kpi.aht": "AHT",
    "kpi.hold": "hold",
  },
};
const ALL = "*";
const COLUMNS = ["name", "team", "handled", "aht", "hold", "hold_share", "response", "fcr", "csat",
  "qa", "complaints", "proactive", "score"];

let lang = "zh";
let data = null; // GET /api/qa/performance
let teams = null; // team names, from the first unfiltered answer
let selected = null; // agent id whose trend is shown

const $ = (id) => document.getElementById(id);

function p(key, values = null) {
  const text = TEXTS[lang][key] ?? TEXTS.zh[key] ?? key;
  if (!values) return text;
  return text.replace(/\{(\w+)\}/g, (all, name) => (name in values ? String(values[name]) : all));
}

function el(tag, className = "", text = null) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text != null) node.textContent = text;
  return node;
}

const pct = (v) => (v == null ? "—" : `${(v * 100).toFixed(1)}%`);
const num = (v, digits = 1) => (v == null ? "—" : Number(v).toFixed(digits));
const secs = (v) => (v == null ? "—" : `${Math.round(v)} s`);

function query() {
  const params = new URLSearchParams({ days: $("perf-days").value });
  const team = $("perf-team").value;
  if (team && team !== ALL) params.set("team", team === "-" ? "" : team);
  return params;
}

function cells(k) {
  return {
    handled: String(k.handled), aht: secs(k.aht_seconds), hold: secs(k.hold_seconds),
    hold_share: pct(k.hold_share), response: pct(k.response), fcr: pct(k.fcr), csat: pct(k.csat),
    qa: num(k.qa_average), complaints: pct(k.complaint_rate), proactive: String(k.proactive),
    score: num(k.score),
  };
}

function row(first, team, k, testid) {
  const tr = el("tr");
  const name = el("td");
  name.append(first);
  tr.append(name, el("td", "", team));
  const values = cells(k);
  for (const key of COLUMNS.slice(2)) {
    const td = el("td", `num${key === "score" ? " score" : ""}`, values[key]);
    if (key === "score" && k.coverage < 1 && k.score != null) {
      td.textContent += "*"; // some KPIs had no data: scored on the weight that had
      td.title = p("coverage", { pct: pct(k.coverage) }).trim();
    }
    tr.append(td);
  }
  if (testid) tr.dataset.testid = testid;
  return tr;
}

function draw() {
  for (const node of document.querySelectorAll("[data-perf]")) node.textContent = p(node.dataset.perf);
  for (const node of document.querySelectorAll("[data-perf-aria]")) {
    node.setAttribute("aria-label", p(node.dataset.perfAria));
  }
  drawTeams();
  const head = $("perf-columns");
  head.replaceChildren(...COLUMNS.map((c) => el("th", c === "name" || c === "team" ? "" : "num",
    p(`col.${c}`))));
  const body = $("perf-agents");
  const foot = $("perf-teams");
  if (!data) return;
  const weights = Object.entries(data.weights).map(([k, w]) => `${p(`kpi.${k}`)} ${w}%`);
  $("perf-weights").textContent = p("weights", { list: weights.join(" · ") });
  body.replaceChildren(...data.agents.map((a) => {
    const button = el("button", "name", a.name);
    button.type = "button";
    button.addEventListener("click", () => showTrend(a.agent_id));
    const tr = row(button, a.team || p("noTeam"), a.kpis, `agent-${a.username}`);
    tr.setAttribute("aria-selected", String(a.agent_id === selected));
    return tr;
  }));
  if (!data.agents.length) body.append(noneRow());
  foot.replaceChildren(...data.teams.map((t) => row(
    document.createTextNode(p("teamRow", { name: t.team || p("noTeam"), n: t.agents })),
    t.team || p("noTeam"), t.kpis, `team-${t.team || "-"}`,
  )));
  $("perf-csv").href = `/api/qa/performance.csv?${query()}`;
  drawPlot();
}

function noneRow() {
  const tr = el("tr");
  const td = el("td", "qa-muted", p("none"));
  td.colSpan = COLUMNS.length;
  tr.append(td);
  return tr;
}

function drawTeams() {
  const select = $("perf-team");
  const current = select.value || ALL;
  const options = [[ALL, p("allTeams")], ...(teams || []).map((t) => [t || "-", t || p("noTeam")])];
  select.replaceChildren(...options.map(([value, text]) => {
    const option = el("option", "", text);
    option.value = value;
    return option;
  }));
  select.value = options.some(([v]) => v === current) ? current : ALL;
  $("perf-team-box").hidden = !teams || teams.length < 2;
}

function drawPlot() {
  const figure = $("perf-trend");
  figure.hidden = selected == null;
  if (selected == null) return;
  const params = new URLSearchParams({ days: $("perf-days").value, lang });
  $("perf-plot").src = `/api/qa/performance/${selected}/trend.svg?${params}`;
  const agent = data?.agents.find((a) => a.agent_id === selected);
  $("perf-plot").alt = agent ? agent.name : "";
}

function showTrend(agentId) {
  selected = agentId;
  draw();
}

async function load() {
  const error = $("perf-error");
  error.hidden = true;
  try {
    const response = await fetch(`/api/qa/performance?${query()}`, { credentials: "same-origin" });
    if (response.status === 401) {
      location.replace("/login");
      return;
    }
    if (!response.ok) {
      const body = await response.json().catch(() => ({}));
      throw new Error(body.detail || `HTTP ${response.status}`);
    }
    data = await response.json();
  } catch (err) {
    data = null;
    error.textContent = p("loadError", { error: err.message });
    error.hidden = false;
  }
  if (data && teams == null) teams = data.teams.map((t) => t.team); // the first load is unfiltered
  if (data && data.agents.length === 1 && data.teams.length === 0) selected = data.agents[0].agent_id;
  draw();
}

function showTab() {
  const on = location.hash === "#performance";
  $("performance").hidden = !on;
  document.querySelector(".qa-layout").hidden = on;
  for (const [id, current] of [["tab-performance", on], ["tab-review", !on]]) {
    if (current) $(id).setAttribute("aria-current", "page");
    else $(id).removeAttribute("aria-current");
  }
  if (on && data == null) load();
}

function start() {
  lang = initLang();
  $("lang-toggle").addEventListener("click", () => {
    lang = document.documentElement.lang.startsWith("en") ? "en" : "zh";
    draw();
  });
  $("perf-days").addEventListener("change", load);
  $("perf-team").addEventListener("change", load);
  window.addEventListener("hashchange", showTab);
  draw();
  showTab();
}

start();
