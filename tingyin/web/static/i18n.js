// Page texts, Chinese first. The language comes from ?lang=zh|en, else the last choice
// (localStorage), else Chinese. Elements carry data-i18n="key" (text content),
// data-i18n-placeholder or data-i18n-aria-label, and are filled by applyTranslations().

const MESSAGES = {
  zh: {
    "app.name": "听音",
    "app.tagline": "外卖客服中心",
    "lang.other": "English",
    "nav.calls": "通话记录",
    "header.logout": "退出登录",
    "login.pageTitle": "登录 · 听音",
    "login.title": "登录",
    "login.username": "用户名",
    "login.password": "密码",
    "login.submit": "登录",
    "login.busy": "正在登录…",
    "login.failed": "用户名或密码错误",
    "login.error": "暂时无法登录，请稍后再试",
    "role.agent": "坐席",
    "role.supervisor": "班长",
    "role.qa": "质检",
    "role.admin": "管理员",
    "calls.pageTitle": "通话记录 · 听音",
    "calls.title": "通话记录",
    "calls.filter": "状态",
    "calls.live": "实时更新中",
    "calls.connecting": "正在连接…",
    "calls.offline": "连接已断开，正在重连…",
    "calls.empty": "暂无通话",
    "calls.more": "加载更早的通话",
    "calls.loadError": "无法加载通话记录",
    "calls.play": "播放",
    "calls.playing": "正在播放",
    "player.close": "关闭",
    "col.started": "开始时间",
    "col.caller": "主叫号码",
    "col.dialed": "被叫号码",
    "col.status": "状态",
    "col.duration": "通话时长",
    "col.dtmf": "按键",
    "col.recording": "录音",
    "col.transcript": "转写",
    "calls.transcript": "转写",
    "transcript.title": "通话转写",
    "transcript.empty": "暂无转写内容",
    "transcript.pending": "部分内容将在通话结束后根据录音补全",
    "leg.caller": "客户",
    "leg.system": "系统",
    "leg.agent": "坐席",
    "status.all": "全部",
    "status.ringing": "振铃中",
    "status.answered": "通话中",
    "status.ended": "已结束",
    "status.missed": "未接通",
    "status.failed": "异常中断",
  },
  en: {
    "app.name": "Tingyin",
    "app.tagline": "Customer service center",
    "lang.other": "中文",
    "nav.calls": "Calls",
    "header.logout": "Log out",
    "login.pageTitle": "Sign in · Tingyin",
    "login.title": "Sign in",
    "login.username": "User name",
    "login.password": "Password",
    "login.submit": "Sign in",
    "login.busy": "Signing in…",
    "login.failed": "Wrong user name or password",
    "login.error": "Cannot sign in right now, please try again later",
    "role.agent": "Agent",
    "role.supervisor": "Supervisor",
    "role.qa": "QA",
    "role.admin": "Admin",
    "calls.pageTitle": "Calls · Tingyin",
    "calls.title": "Calls",
    "calls.filter": "Status",
    "calls.live": "Live",
    "calls.connecting": "Connecting…",
    "calls.offline": "Disconnected, reconnecting…",
    "calls.empty": "No calls yet",
    "calls.more": "Load older calls",
    "calls.loadError": "Could not load the calls",
    "calls.play": "Play",
    "calls.playing": "Playing",
    "player.close": "Close",
    "col.started": "Started",
    "col.caller": "Caller",
    "col.dialed": "Dialed",
    "col.status": "Status",
    "col.duration": "Duration",
    "col.dtmf": "Keys",
    "col.recording": "Recording",
    "col.transcript": "Transcript",
    "calls.transcript": "Transcript",
    "transcript.title": "Call transcript",
    "transcript.empty": "Nothing transcribed yet",
    "transcript.pending": "Some of it will be filled in from the recording after the call",
    "leg.caller": "Caller",
    "leg.system": "System",
    "leg.agent": "Agent",
    "status.all": "All",
    "status.ringing": "Ringing",
    "status.answered": "In call",
    "status.ended": "Ended",
    "status.missed": "Missed",
    "status.failed": "Failed",
  },
};

const STORAGE_KEY = "tingyin.lang";
const LOCALES = { zh: "zh-CN", en: "en-GB" };
let lang = "zh";

export function initLang() {
  const asked = new URLSearchParams(location.search).get("lang");
  if (asked in MESSAGES) {
    localStorage.setItem(STORAGE_KEY, asked);
  }
  const stored = localStorage.getItem(STORAGE_KEY);
  lang = stored in MESSAGES ? stored : "zh";
  return lang;
}

export function toggleLang() {
  lang = lang === "zh" ? "en" : "zh";
  localStorage.setItem(STORAGE_KEY, lang);
  return lang;
}

export function t(key) {
  return MESSAGES[lang][key] ?? MESSAGES.zh[key] ?? key;
}

export function applyTranslations(root = document) {
  document.documentElement.lang = LOCALES[lang];
  if (document.body.dataset.title) {
    document.title = t(document.body.dataset.title);
  }
  for (const el of root.querySelectorAll("[data-i18n]")) {
    el.textContent = t(el.dataset.i18n);
  }
  for (const el of root.querySelectorAll("[data-i18n-placeholder]")) {
    el.placeholder = t(el.dataset.i18nPlaceholder);
  }
  for (const el of root.querySelectorAll("[data-i18n-aria-label]")) {
    el.setAttribute("aria-label", t(el.dataset.i18nAriaLabel));
  }
}

export function formatTime(iso) {
  if (!iso) return "—";
  return new Date(iso).toLocaleString(LOCALES[lang], {
    month: "2-digit", day: "2-digit", hour: "2-digit", minute: "2-digit", second: "2-digit",
  });
}

export function formatSeconds(total) {
  if (total == null || Number.isNaN(total) || total < 0) return "—";
  const s = Math.floor(total);
  const hh = Math.floor(s / 3600);
  const mm = String(Math.floor((s % 3600) / 60)).padStart(2, "0");
  const ss = String(s % 60).padStart(2, "0");
  return hh ? `${hh}:${mm}:${ss}` : `${mm}:${ss}`;
}

// The language button: switches, stores the choice, and lets the page redraw its own parts.
export function bindLangToggle(button, redraw = () => {}) {
  button.addEventListener("click", () => {
    toggleLang();
    applyTranslations();
    redraw();
  });
}
