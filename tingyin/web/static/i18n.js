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
    "nav.desk": "坐席工作台",
    "desk.pageTitle": "坐席工作台 · 听音",
    "desk.title": "坐席工作台",
    "desk.searchLabel": "查询顾客、订单或工单",
    "desk.searchPlaceholder": "电话 / 订单号 / 工单号",
    "desk.search": "查询",
    "desk.searching": "正在查询…",
    "desk.searchFailed": "查询失败，请稍后再试",
    "desk.searchResult": "查询结果",
    "desk.backToCall": "返回当前通话",
    "desk.currentCalls": "当前通话",
    "desk.noCalls": "暂无来电",
    "desk.waiting": "等待来电…",
    "desk.waitingHint": "来电振铃时，顾客信息、订单和处理建议会自动弹出",
    "desk.lookingUp": "正在查询来电方信息…",
    "desk.lookupFailed": "来电方信息查询失败：{error}（通话不受影响）",
    "desk.dialed": "拨打 {dialed}",
    "desk.withheld": "未显示号码",
    "desk.calls24h": "24小时内来电 {n} 次",
    "desk.viaBinding": "隐私号",
    "desk.source": "{source} · {ms} 毫秒",
    "desk.reason": "预测来电原因",
    "desk.remedy": "建议处理",
    "desk.amount": "补偿 {amount}",
    "desk.rule": "规则：{rule}",
    "desk.order": "订单",
    "desk.orders": "近期订单",
    "desk.noOrders": "未找到相关订单",
    "desk.noRider": "未分配",
    "desk.notDelivered": "未送达",
    "desk.noRemarks": "无",
    "desk.timeline": "订单进度",
    "desk.history": "来电记录",
    "desk.noHistory": "近期无来电",
    "desk.tickets": "未结工单",
    "desk.noTickets": "无未结工单",
    "desk.transcript": "实时转写",
    "desk.transcriptWaiting": "接通后在此显示通话内容",
    "state.ringing": "来电振铃中",
    "state.answered": "通话中",
    "state.ended": "已结束",
    "end.hangup": "已挂断",
    "end.cancelled": "来电方已取消",
    "kind.customer": "顾客",
    "kind.rider": "骑手",
    "kind.merchant": "商家",
    "kind.unknown": "未知号码",
    "flag.vip": "VIP",
    "flag.frequent_complainer": "频繁投诉",
    "flag.new_customer": "新客",
    "priority.normal": "一般",
    "priority.high": "优先",
    "priority.urgent": "紧急",
    "query.phone": "按电话",
    "query.order": "按订单号",
    "query.ticket": "按工单号",
    "query.unknown": "查询",
    "channel.meituan": "美团",
    "channel.eleme": "饿了么",
    "channel.miniprogram": "小程序",
    "channel.douyin": "抖音",
    "channel.phone": "电话",
    "order.placed": "已下单",
    "order.accepted": "商家已接单",
    "order.ready": "已出餐",
    "order.picked_up": "骑手已取餐",
    "order.delivered": "已送达",
    "order.cancelled": "已取消",
    "order.refunded": "已退款",
    "field.merchant": "商家",
    "field.store": "门店",
    "field.rider": "骑手",
    "field.amount": "实付",
    "field.placed": "下单",
    "field.promised": "承诺送达",
    "field.delivered": "送达",
    "field.phone": "收货电话",
    "field.address": "收货地址",
    "field.remarks": "备注",
    "items.name": "商品",
    "items.spec": "规格",
    "items.quantity": "数量",
    "items.price": "单价",
    "items.subtotal": "小计",
    "tl.placed": "下单",
    "tl.accepted": "商家接单",
    "tl.ready": "商家出餐",
    "tl.picked_up": "骑手取餐",
    "tl.delivered": "送达",
    "tl.cancelled": "订单取消",
    "tl.refunded": "退款完成",
    "tl.rider_position": "骑手位置",
    "tl.refund_requested": "申请退款",
    "tl.remark": "备注",
    "actor.customer": "顾客",
    "actor.merchant": "商家",
    "actor.rider": "骑手",
    "actor.platform": "平台",
    "actor.system": "系统",
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
    "nav.desk": "Agent desk",
    "desk.pageTitle": "Agent desk · Tingyin",
    "desk.title": "Agent desk",
    "desk.searchLabel": "Find a customer, order or ticket",
    "desk.searchPlaceholder": "Phone / order no. / ticket no.",
    "desk.search": "Search",
    "desk.searching": "Searching…",
    "desk.searchFailed": "Search failed, please try again",
    "desk.searchResult": "Search result",
    "desk.backToCall": "Back to the call",
    "desk.currentCalls": "Current calls",
    "desk.noCalls": "No calls right now",
    "desk.waiting": "Waiting for a call…",
    "desk.waitingHint": "When a call rings, the caller, their orders and a suggestion pop up here",
    "desk.lookingUp": "Looking up the caller…",
    "desk.lookupFailed": "Caller lookup failed: {error} (the call still works)",
    "desk.dialed": "Dialed {dialed}",
    "desk.withheld": "Number withheld",
    "desk.calls24h": "{n} calls in 24 h",
    "desk.viaBinding": "Privacy number",
    "desk.source": "{source} · {ms} ms",
    "desk.reason": "Likely reason",
    "desk.remedy": "Suggested action",
    "desk.amount": "Compensation {amount}",
    "desk.rule": "Rule: {rule}",
    "desk.order": "Order",
    "desk.orders": "Recent orders",
    "desk.noOrders": "No orders found",
    "desk.noRider": "Not assigned",
    "desk.notDelivered": "Not yet",
    "desk.noRemarks": "None",
    "desk.timeline": "Order timeline",
    "desk.history": "Call history",
    "desk.noHistory": "No recent calls",
    "desk.tickets": "Open tickets",
    "desk.noTickets": "No open tickets",
    "desk.transcript": "Live transcript",
    "desk.transcriptWaiting": "The conversation shows here once the call is answered",
    "state.ringing": "Ringing",
    "state.answered": "In call",
    "state.ended": "Ended",
    "end.hangup": "Hung up",
    "end.cancelled": "Caller gave up",
    "kind.customer": "Customer",
    "kind.rider": "Rider",
    "kind.merchant": "Merchant",
    "kind.unknown": "Unknown number",
    "flag.vip": "VIP",
    "flag.frequent_complainer": "Frequent complainer",
    "flag.new_customer": "New customer",
    "priority.normal": "Normal",
    "priority.high": "High",
    "priority.urgent": "Urgent",
    "query.phone": "By phone",
    "query.order": "By order no.",
    "query.ticket": "By ticket no.",
    "query.unknown": "Search",
    "channel.meituan": "Meituan",
    "channel.eleme": "Ele.me",
    "channel.miniprogram": "Mini program",
    "channel.douyin": "Douyin",
    "channel.phone": "Phone",
    "order.placed": "Placed",
    "order.accepted": "Accepted",
    "order.ready": "Ready",
    "order.picked_up": "Picked up",
    "order.delivered": "Delivered",
    "order.cancelled": "Cancelled",
    "order.refunded": "Refunded",
    "field.merchant": "Merchant",
    "field.store": "Store",
    "field.rider": "Rider",
    "field.amount": "Paid",
    "field.placed": "Placed",
    "field.promised": "Promised",
    "field.delivered": "Delivered",
    "field.phone": "Phone",
    "field.address": "Address",
    "field.remarks": "Remarks",
    "items.name": "Item",
    "items.spec": "Options",
    "items.quantity": "Qty",
    "items.price": "Price",
    "items.subtotal": "Subtotal",
    "tl.placed": "Order placed",
    "tl.accepted": "Merchant accepted",
    "tl.ready": "Food ready",
    "tl.picked_up": "Rider picked up",
    "tl.delivered": "Delivered",
    "tl.cancelled": "Cancelled",
    "tl.refunded": "Refunded",
    "tl.rider_position": "Rider position",
    "tl.refund_requested": "Refund requested",
    "tl.remark": "Remark",
    "actor.customer": "Customer",
    "actor.merchant": "Merchant",
    "actor.rider": "Rider",
    "actor.platform": "Platform",
    "actor.system": "System",
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

// t("desk.calls24h", { n: 3 }) fills {n}; the values are text, never markup.
export function t(key, values = null) {
  const text = MESSAGES[lang][key] ?? MESSAGES.zh[key] ?? key;
  if (!values) return text;
  return text.replace(/\{(\w+)\}/g, (all, name) => (name in values ? String(values[name]) : all));
}

// Whether a key exists (for values from the server that may be new to this page).
export function has(key) {
  return key in MESSAGES[lang] || key in MESSAGES.zh;
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

// Local wall-clock time, HH:MM; with the day in front when it is not today.
export function formatClock(iso) {
  if (!iso) return "—";
  const when = new Date(iso);
  if (Number.isNaN(when.getTime())) return "—";
  const clock = when.toLocaleTimeString(LOCALES[lang], {
    hour: "2-digit", minute: "2-digit", hour12: false,
  });
  if (when.toDateString() === new Date().toDateString()) return clock;
  const day = when.toLocaleDateString(LOCALES[lang], { month: "2-digit", day: "2-digit" });
  return `${day} ${clock}`;
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
