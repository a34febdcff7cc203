// Real-time alerts (fall, heart rate, CO2, camera): a banner over the page until acknowledged.
// Kept apart from app.js: its own event stream, its own DOM, only I18N and esc shared.
"use strict";
const ALERTS = {
  open: new Map(), // id -> alert, oldest first
  sound: localStorage.getItem("edge.alert_sound") === "1",
  audio: null,

  root() {
    let el = document.getElementById("alert-banner");
    if (!el) {
      el = document.createElement("section");
      el.id = "alert-banner";
      el.className = "alert-banner";
      el.setAttribute("role", "alert");
      el.setAttribute("aria-live", "assertive");
      el.hidden = true;
      document.body.prepend(el);
      el.addEventListener("click", e => {
        const button = e.target.closest("button[data-ack]");
        if (button) ALERTS.ack(button.dataset.ack);
        if (e.target.id === "alert-sound") ALERTS.toggleSound(e.target.checked);
      });
    }
    return el;
  },

  text(a) {
    const vars = { count: a.count ?? 1, value: a.value != null ? Math.round(a.value) : "?",
                   camera: a.camera ?? "" };
    const time = new Date(a.at * 1000).toLocaleTimeString();
    return `${I18N.t("banner_" + a.kind, vars)} · ${time}`;
  },

  render() {
    const el = ALERTS.root();
    const items = [...ALERTS.open.values()];
    el.hidden = items.length === 0;
    document.body.classList.toggle("has-alert", items.length > 0);
    el.innerHTML = items.map(a =>
      `<div class="alert-item alert-${esc(a.kind)}" data-id="${esc(a.id)}">` +
      `<span class="alert-text">${esc(ALERTS.text(a))}</span>` +
      `<button data-ack="${esc(a.id)}">${esc(I18N.t("alert_ack"))}</button></div>`).join("") +
      `<label class="alert-sound"><input type="checkbox" id="alert-sound"${ALERTS.sound ? " checked" : ""}> ` +
      `${esc(I18N.t("alert_sound"))}</label>`;
  },

  add(a) {
    if (a.acked) return;
    const fresh = !ALERTS.open.has(a.id);
    ALERTS.open.set(a.id, a);
    if (fresh) ALERTS.beep();
  },

  async ack(id) {
    const r = await fetch(`/api/alerts/${encodeURIComponent(id)}/ack`, { method: "POST" });
    if (r.ok || r.status === 404) { ALERTS.open.delete(id); ALERTS.render(); }
  },

  toggleSound(on) {
    ALERTS.sound = on;
    localStorage.setItem("edge.alert_sound", on ? "1" : "0");
  },

  beep() {
    // Optional (browsers allow sound only after the teacher has touched the page once).
    if (!ALERTS.sound) return;
    try {
      ALERTS.audio = ALERTS.audio || new AudioContext();
      const osc = ALERTS.audio.createOscillator();
      osc.frequency.value = 880;
      osc.connect(ALERTS.audio.destination);
      osc.start();
      osc.stop(ALERTS.audio.currentTime + 0.4);
    } catch (err) { /* no audio device: the banner is still there */ }
  },

  connect() {
    const source = new EventSource("/api/events");
    source.addEventListener("live", e => {
      ALERTS.open.clear();
      for (const a of JSON.parse(e.data).alerts || []) ALERTS.add(a);
      ALERTS.render();
    });
    source.addEventListener("alert", e => { ALERTS.add(JSON.parse(e.data)); ALERTS.render(); });
    source.addEventListener("alert_ack", e => {
      ALERTS.open.delete(JSON.parse(e.data).id);
      ALERTS.render();
    });
    source.onerror = () => {
      if (source.readyState === EventSource.CLOSED) setTimeout(() => ALERTS.connect(), 2000);
    };
  },
};
ALERTS.connect();
document.getElementById("lang")?.addEventListener("click", () => setTimeout(ALERTS.render, 300));
