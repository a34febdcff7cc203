"use strict";
// District page: polls the JSON API every second; text is set with textContent only.
const TEXT = {
  en: {title: "District", token: "Token", signin: "Sign in", nodes: "Nodes", school: "School",
       room: "Room", node: "Node", state: "State", seen: "Last seen", backlog: "Outbox backlog",
       alerts: "Alerts", time: "Time", alert: "Alert", online: "online", offline: "offline",
       ack: "Acknowledge", acked: "acknowledged", denied: "token not accepted", lang: "中文"},
  zh: {title: "区域看板", token: "令牌", signin: "登录", nodes: "设备", school: "学校",
       room: "教室", node: "设备", state: "状态", seen: "最后在线", backlog: "待发送",
       alerts: "告警", time: "时间", alert: "告警", online: "在线", offline: "离线",
       ack: "确认", acked: "已确认", denied: "令牌无效", lang: "English"},
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

function alertText(values) {
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

async function start() {
  try {
    const me = await api("/api/me");
    document.getElementById("role").textContent = me.role + (me.school ? " " + me.school : "");
    document.getElementById("login").hidden = true;
    document.getElementById("main").hidden = false;
    await refresh();
    setInterval(() => refresh().catch(() => {}), 1000);
  } catch (e) {
    document.getElementById("error").textContent = t("denied");
  }
}

document.getElementById("lang").onclick = () => {
  lang = lang === "en" ? "zh" : "en";
  localStorage.setItem("district-lang", lang);
  applyLanguage();
  refresh().catch(() => {});
};
document.getElementById("login").onsubmit = (event) => {
  event.preventDefault();
  token = document.getElementById("token").value;
  sessionStorage.setItem("district-token", token);
  start();
};
applyLanguage();
if (token) start();
