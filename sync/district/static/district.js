"use strict";
// District page: polls nodes and alerts every second, lessons and trends every 30 s; text is
// set with textContent only; the trend charts are inline SVG drawn here (no library).
const TEXT = {
  en: {title: "District", token: "Token", signin: "Sign in", nodes: "Nodes", school: "School",
       room: "Room", node: "Node", state: "State", seen: "Last seen", backlog: "Outbox backlog",
       alerts: "Alerts", time: "Time", alert: "Alert", online: "online", offline: "offline",
       ack: "Acknowledge", acked: "acknowledged", denied: "token not accepted", lang: "中文",
       lessonsToday: "Lessons today", mode: "Mode", stType: "Type (S-T)",
       participation: "Participation", headUp: "Head-up",
       densityGroup: "PE density, group (75 %)", densityIndividual: "PE density, individual (50 %)",
       co2: "CO2 compliance", lux: "Desk light compliance", trends: "Trends (weekly)",
       classroom: "classroom", pe: "PE", lecture: "lecture", practice: "practice",
       dialogue: "dialogue", mixed: "mixed", suppressed: "suppressed (small group)",
       met: "met", notMet: "not met", noLessons: "no lessons", target: "target",
       lessonsPerWeek: "Lessons per week (share of PE lessons meeting 75 %)",
       fall: "fall", hr_high: "heart rate high", hr_contact_lost: "heart-rate band lost",
       co2_high: "CO2 high", camera_lost: "camera lost", students: "student(s)"},
  zh: {title: "区域看板", token: "令牌", signin: "登录", nodes: "设备", school: "学校",
       room: "教室", node: "设备", state: "状态", seen: "最后在线", backlog: "待发送",
       alerts: "告警", time: "时间", alert: "告警", online: "在线", offline: "离线",
       ack: "确认", acked: "已确认", denied: "令牌无效", lang: "English",
       lessonsToday: "今日课程", mode: "类型", stType: "课型 (S-T)",
       participation: "参与度", headUp: "抬头率",
       densityGroup: "体育课群体运动密度 (75%)", densityIndividual: "个体运动密度 (50%)",
       co2: "CO2 达标", lux: "桌面照度达标", trends: "趋势（按周）",
       classroom: "课堂", pe: "体育", lecture: "讲授型", practice: "练习型",
       dialogue: "对话型", mixed: "混合型", suppressed: "人数过少，已隐藏",
       met: "达标", notMet: "未达标", noLessons: "无课程", target: "目标",
       lessonsPerWeek: "每周课时（体育课达到 75% 的比例）",
       fall: "跌倒", hr_high: "心率过高", hr_contact_lost: "心率带脱落",
       co2_high: "CO2 过高", camera_lost: "摄像头离线", students: "名学生"},
};
let lang = localStorage.getItem("district-lang") || "en";
let token = sessionStorage.getItem("district-token") || "";
const t = (key) => TEXT[lang][key] || key;

function applyLanguage() {
  document.documentElement.lang = lang === "zh" ? "zh-CN" : "en";
  document.querySelectorAll("[data-t]").forEach((el) => { el.textContent = t(el.dataset.t); });
  document.getElementById("lang").textContent = t("lang");
}

async function api(path, options = {}) {
  const response = await fetch(path, {...options, headers: {
    "Authorization": "Bearer " + token, "Content-Type": "application/json"}});
  if (response.status === 401) throw new Error("denied");
  return response.json();
}

function cell(row, text, cls) {
  const td = row.insertCell();
  td.textContent = text;
  if (cls) td.className = cls;
  return td;
}

function when(ts) { return ts ? new Date(ts * 1000).toLocaleString() : "-"; }

// An edge alert (values.alert = {kind, count, value, camera}) reads as words; anything else
// the hub stored is shown generically, key by key.
function alertText(values) {
  const a = values.alert;
  if (a && typeof a === "object" && a.kind) {
    return [t(a.kind), a.count != null ? a.count + " " + t("students") : null,
            a.value != null ? a.value : null, a.camera || null].filter((x) => x !== null)
      .join(", ");
  }
  return Object.entries(values).filter(([k]) => k !== "suppressed")
    .map(([k, v]) => k + ": " + (typeof v === "object" ? JSON.stringify(v) : v)).join(", ");
}

async function refresh() {
  const [nodes, alerts] = await Promise.all([api("/api/nodes"), api("/api/alerts")]);
  const nodeBody = document.querySelector("#nodes tbody");
  nodeBody.replaceChildren();
  for (const n of nodes) {
    const row = nodeBody.insertRow();
    row.dataset.node = n.node;
    cell(row, n.school); cell(row, n.room); cell(row, n.id);
    cell(row, t(n.online ? "online" : "offline"), n.online ? "online" : "offline");
    cell(row, when(n.last_seen)); cell(row, n.backlog ?? "-");
  }
  const alertBody = document.querySelector("#alerts tbody");
  alertBody.replaceChildren();
  for (const a of alerts) {
    const row = alertBody.insertRow();
    row.dataset.msgId = a.msg_id;
    cell(row, when(a.ts)); cell(row, a.node); cell(row, alertText(a.values));
    if (a.acked_at) { cell(row, t("acked"), "acked"); continue; }
    const button = document.createElement("button");
    button.textContent = t("ack");
    button.onclick = () => api("/api/alerts/ack", {method: "POST",
      body: JSON.stringify({msg_id: a.msg_id})}).then(refresh);
    row.insertCell().append(button);
  }
}

const pct = (v) => (v === null || v === undefined) ? "-" : Math.round(v * 100) + " %";
const hhmm = (ts) => new Date(ts * 1000).toLocaleTimeString([], {
  hour: "2-digit", minute: "2-digit", hourCycle: "h23"});

function targetCell(row, value, met) {
  if (met === null || met === undefined) return cell(row, "-", "num");
  // One decimal: 74.6 % must not read as a met "75 %".
  const text = (value * 100).toFixed(1) + " %" + (met ? " ✓ " : " ✗ ") + t(met ? "met" : "notMet");
  return cell(row, text, "num " + (met ? "met" : "notmet"));
}

function lessonRow(body, l) {
  const row = body.insertRow();
  row.dataset.msgId = l.msg_id;
  cell(row, l.school); cell(row, l.room);
  cell(row, hhmm(l.start) + "–" + hhmm(l.end), "time"); cell(row, t(l.mode));
  const st = l.lesson_type ? t(l.lesson_type) + " (Rt " + l.rt.toFixed(2) + ", Ch " +
    l.ch.toFixed(2) + ")" : "-";
  cell(row, st, "st");
  if (l.suppressed) {  // the edge suppressed it: no rate exists, say why instead
    const td = cell(row, t("suppressed"), "suppressed");
    td.colSpan = 4;
  } else {
    cell(row, pct(l.participation), "num"); cell(row, pct(l.head_up_rate), "num");
    targetCell(row, l.density_group, l.density_group_met);
    targetCell(row, l.density_individual, l.density_individual_met);
  }
  cell(row, pct(l.co2_compliance), "num"); cell(row, pct(l.lux_desk_compliance), "num");
}

const SVG = "http://www.w3.org/2000/svg";
const COLOURS = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#17becf", "#8c564b"];

function svg(name, attrs, parent) {
  const el = document.createElementNS(SVG, name);
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, v);
  if (parent) parent.append(el);
  return el;
}

// One weekly line chart (0-100 %): a line per school or room, the target dashed when given.
function chart(metric, trends, groups, target) {
  const [w, h, left, bottom] = [280, 170, 34, 22];
  const figure = document.createElement("figure");
  figure.dataset.metric = metric.key;
  const caption = document.createElement("figcaption");
  caption.textContent = t(metric.label);
  figure.append(caption);
  const root = svg("svg", {width: w, height: h, viewBox: `0 0 ${w} ${h}`}, figure);
  const x = (i) => left + 12 + i * (w - left - 30) / Math.max(1, trends.weeks.length - 1);
  const y = (v) => 8 + (1 - v) * (h - bottom - 8);
  for (const v of [0, 0.5, 1]) {
    svg("line", {x1: left, x2: w - 4, y1: y(v), y2: y(v), stroke: "#ddd"}, root);
    svg("text", {x: left - 4, y: y(v) + 4, "text-anchor": "end", "font-size": 10}, root)
      .textContent = Math.round(v * 100) + "%";
  }
  trends.weeks.forEach((week, i) => {
    svg("text", {x: x(i), y: h - 6, "text-anchor": "middle", "font-size": 10}, root)
      .textContent = week.slice(5);
  });
  if (target) {
    svg("line", {x1: left, x2: w - 4, y1: y(target), y2: y(target), stroke: "#b00020",
                 "stroke-dasharray": "4 3", class: "target"}, root);
  }
  groups.forEach((group, g) => {
    const points = trends.weeks.map((week, i) => {
      const r = trends.rows.find((row) => row[trends.group_by] === group && row.week === week);
      return r && r[metric.key] !== null ? [x(i), y(r[metric.key])] : null;
    }).filter(Boolean);
    if (!points.length) return;
    const colour = COLOURS[g % COLOURS.length];
    svg("polyline", {points: points.map((p) => p.join(",")).join(" "), fill: "none",
                     stroke: colour, "stroke-width": 2, "data-group": group}, root);
    for (const [px, py] of points) svg("circle", {cx: px, cy: py, r: 3, fill: colour}, root);
  });
  return figure;
}

const METRICS = [{key: "participation", label: "participation"},
                 {key: "head_up_rate", label: "headUp"},
                 {key: "density_group", label: "densityGroup", target: 0.75},
                 {key: "co2_compliance", label: "co2"}];

function drawTrends(trends) {
  const groups = [...new Set(trends.rows.map((r) => r[trends.group_by]))].sort();
  const legend = document.getElementById("legend");
  legend.replaceChildren();
  groups.forEach((group, g) => {
    const item = document.createElement("span");
    const swatch = document.createElement("i");
    swatch.style.background = COLOURS[g % COLOURS.length];
    item.append(swatch, group);
    legend.append(item);
  });
  document.getElementById("charts").replaceChildren(
    ...METRICS.map((m) => chart(m, trends, groups, m.target)));
  const head = document.querySelector("#counts thead");
  head.replaceChildren();
  const top = head.insertRow();
  cell(top, t("lessonsPerWeek"));
  for (const week of trends.weeks) cell(top, week);
  const body = document.querySelector("#counts tbody");
  body.replaceChildren();
  for (const group of groups) {
    const row = body.insertRow();
    row.dataset.group = group;
    cell(row, group);
    for (const week of trends.weeks) {
      const r = trends.rows.find((x) => x[trends.group_by] === group && x.week === week);
      cell(row, r ? r.lessons + (r.pe_met_75 === null ? "" : " (" + pct(r.pe_met_75) + ")") : "-");
    }
  }
}

async function refreshLessons() {
  const [today, trends] = await Promise.all([api("/api/lessons"), api("/api/trends")]);
  document.getElementById("day").textContent = today.day + " (" + today.tz + ")";
  const body = document.querySelector("#lessons tbody");
  body.replaceChildren();
  for (const l of today.lessons) lessonRow(body, l);
  if (!today.lessons.length) cell(body.insertRow(), t("noLessons")).colSpan = 11;
  drawTrends(trends);
}

async function start() {
  try {
    const me = await api("/api/me");
    document.getElementById("role").textContent = me.role + (me.school ? " " + me.school : "");
    document.getElementById("login").hidden = true;
    document.getElementById("main").hidden = false;
    await Promise.all([refresh(), refreshLessons()]);
    setInterval(() => refresh().catch(() => {}), 1000);
    // Lessons end a few times a day: every 30 s is plenty and spares the hub's store.
    setInterval(() => refreshLessons().catch(() => {}), 30000);
  } catch (e) {
    document.getElementById("error").textContent = t("denied");
  }
}

document.getElementById("lang").onclick = () => {
  lang = lang === "en" ? "zh" : "en";
  localStorage.setItem("district-lang", lang);
  applyLanguage();
  refresh().catch(() => {});
  refreshLessons().catch(() => {});
};
document.getElementById("login").onsubmit = (event) => {
  event.preventDefault();
  token = document.getElementById("token").value;
  sessionStorage.setItem("district-token", token);
  start();
};
applyLanguage();
if (token) start();
