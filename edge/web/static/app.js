// The teacher's live page: state from /api/events (SSE), big numbers, charts, start/end buttons.
"use strict";
const COLORS = { a: "#1565c0", b: "#e65100", c: "#2e7d32", d: "#ad1457" };
const ZONES = [["light", "#81c784"], ["moderate", "#fdd835"], ["vigorous", "#fb8c00"], ["near_max", "#d32f2f"]];
let state = { mode: "classroom", lesson: null, metrics: {}, windows: [], lesson_record: null, version: 0 };
let deviceStatus = null;

const $ = id => document.getElementById(id);
const t = (k, v) => I18N.t(k, v);
const pct = v => (v == null ? "—" : `${Math.round(v * 100)}%`);
const num = v => (v == null ? "—" : String(Math.round(v * 10) / 10));
const dig = (obj, path) => path.split(".").reduce((o, k) => (o == null ? null : o[k]), obj);

// -- derived lesson figures ------------------------------------------------------------------

function lessonT0() {
  return state.lesson?.start ?? state.windows[0]?.start ?? 0;
}

function sum(key) {
  const vals = state.windows.map(w => dig(w.metrics, key)).filter(v => v != null);
  return vals.length ? vals.reduce((a, b) => a + b, 0) : null;
}

// Duration-weighted mean over the lesson's windows (a short last window counts less).
function weightedMean(key) {
  let total = 0, weight = 0;
  for (const w of state.windows) {
    const v = dig(w.metrics, key);
    if (v == null) continue;
    total += v * (w.end - w.start);
    weight += w.end - w.start;
  }
  return weight ? total / weight : null;
}

function lessonOr(key, fallback) {
  const v = dig(state.lesson_record?.metrics, key);
  return v != null ? v : fallback;
}

function stSamples() {
  const fromLesson = dig(state.lesson_record?.metrics, "st.samples");
  return fromLesson ?? state.windows.map(w => dig(w.metrics, "st.samples") || "").join("");
}

function stFigures(samples) {
  const n = samples.length;
  if (!n) return null;
  const nt = [...samples].filter(c => c === "T").length;
  let runs = 1;
  for (let i = 1; i < n; i++) if (samples[i] !== samples[i - 1]) runs++;
  const rt = nt / n, ch = (runs - 1) / n;
  const type = rt <= 0.3 ? "practice" : rt >= 0.7 ? "lecture" : ch >= 0.4 ? "dialogue" : "mixed";
  return { rt, ch, type };
}

// -- rendering -------------------------------------------------------------------------------

function card(id, label, value, extra = "") {
  return `<div class="card" id="card-${id}"><div class="label">${label}</div>` +
    `<div class="value">${value}</div>${extra}</div>`;
}

function classroomCards(m) {
  return [
    card("present", t("students_present"), num(m.students_present)),
    card("hands", t("hand_raises"), num(lessonOr("hand_raises", sum("hand_raises"))),
      `<div class="sub">${num(m.hand_raises)} ${t("per_window")}</div>`),
    card("headup", t("head_up_rate"), pct(m.head_up_rate),
      `<div class="sub">${t("writing_rate")} ${pct(m.writing_rate)} · ${t("standing")} ${num(m.standing)}</div>`),
    card("talk", t("teacher_talk"), pct(dig(m, "audio.teacher_talk_ratio"))),
  ].join("");
}

function peCards(m) {
  const density = lessonOr("exercise_density_group", weightedMean("exercise_density_group"));
  const reps = Object.entries(m.reps || {}).map(([name, r]) => `${esc(name)}: ${r.count}`).join(" · ");
  const alerts = state.windows.flatMap(w => w.metrics.alerts || []).slice(-3)
    .map(a => `<li>${t("alert_" + a.kind, { s: Math.round(a.duration || 0) })}</li>`).join("");
  return [
    card("density", t("exercise_density"), pct(density),
      `<div class="sub">${t("target", { v: "75%" })}</div>`),
    card("participants", t("participants"), num(m.participants)),
    card("hr", t("mean_hr"), m.hr?.mean_bpm == null ? "—" : `${Math.round(m.hr.mean_bpm)}`,
      `<div id="hr-zones" class="zones"></div>`),
    card("alerts", t(reps ? "reps" : "alerts"), reps || (alerts ? "!" : "0"),
      alerts ? `<ul class="alerts">${alerts}</ul>` : ""),
  ].join("");
}

function renderNumbers() {
  const m = state.lesson_record && !state.lesson?.running ? state.lesson_record.metrics : state.metrics;
  $("numbers").innerHTML = state.mode === "pe" ? peCards(m || {}) : classroomCards(m || {});
  const zones = dig(m, "hr.zones");
  if (state.mode === "pe" && zones) {
    Charts.stackedBar($("hr-zones"), ZONES.map(([k, c]) => ({ label: t("zone_" + k), value: zones[k], color: c })));
  }
  const latest = state.windows[state.windows.length - 1];
  $("notice").hidden = !latest?.suppressed;
  $("notice").textContent = t("suppressed");
}

function timelineSeries() {
  if (state.mode === "pe") {
    return [
      { key: "exercise_density_group", label: t("exercise_density"), color: COLORS.c, kind: "line", axis: "left", lo: 0, hi: 1, fmt: pct },
      { key: "hr.mean_bpm", label: t("mean_hr"), color: COLORS.d, kind: "line", axis: "right", lo: 40, hi: 200, fmt: v => Math.round(v) },
    ];
  }
  const maxHands = 4 * Math.ceil(Math.max(4, ...state.windows.map(w => w.metrics.hand_raises || 0)) / 4);
  return [
    { key: "hand_raises", label: t("hand_raises"), color: COLORS.b, kind: "bar", axis: "right", lo: 0, hi: maxHands, fmt: v => Math.round(v) },
    { key: "head_up_rate", label: t("head_up_rate"), color: COLORS.a, kind: "line", axis: "left", lo: 0, hi: 1, fmt: pct },
  ];
}

function renderTimeline() {
  const series = timelineSeries();
  const t0 = lessonT0();
  const points = state.windows.map(w => ({
    x: (w.end - t0) / 60,
    values: Object.fromEntries(series.map(s => [s.key, dig(w.metrics, s.key)])),
  }));
  Charts.timeline($("timeline"), points, series, t("minutes"));
  $("timeline-legend").innerHTML = series
    .map(s => `<span><i style="background:${s.color}"></i>${s.label}</span>`).join("");
}

function renderST() {
  $("st-panel").hidden = state.mode !== "classroom";
  if (state.mode !== "classroom") return;
  const samples = stSamples();
  const fig = stFigures(samples);
  Charts.stCurve($("st-curve"), samples);
  const labels = Object.fromEntries(["practice", "lecture", "mixed", "dialogue"].map(k => [k, t(k)]));
  Charts.rtCh($("rt-ch"), fig?.rt, fig?.ch, labels);
  $("st-summary").textContent = fig
    ? t("st_type", { type: t(fig.type), rt: fig.rt.toFixed(2), ch: fig.ch.toFixed(2) })
    : t("st_wait");
}

function clock(unix) {
  return new Date(unix * 1000).toLocaleTimeString(I18N.lang === "zh" ? "zh-CN" : "en-GB",
    { hour: "2-digit", minute: "2-digit" });
}

function renderLesson() {
  const l = state.lesson;
  let text = t("no_lesson");
  if (l && l.running) {
    text = t("running_since", { time: clock(l.started_at), min: Math.floor((Date.now() / 1000 - l.started_at) / 60) });
  } else if (l) {
    text = t("ended", { time: clock(l.started_at) });
  }
  $("lesson-status").textContent = `${t("mode_" + state.mode)} · ${text}`;
  $("lesson-status").classList.toggle("running", Boolean(l?.running));
  $("start").disabled = Boolean(l?.running);
  $("end").disabled = !l?.running;
}

function renderWindows() {
  const t0 = lessonT0();
  const key = state.mode === "pe" ? "exercise_density_group" : "head_up_rate";
  const label = state.mode === "pe" ? t("exercise_density") : t("head_up_rate");
  $("windows").innerHTML = state.windows.slice(-8).reverse().map(w => {
    const span = `${num((w.start - t0) / 60)}–${num((w.end - t0) / 60)} ${t("minutes")}`;
    const extra = state.mode === "pe" ? "" : ` · ${t("hand_raises")} ${num(w.metrics.hand_raises)}`;
    return `<li class="window${w.suppressed ? " suppressed" : ""}"><b>${span}</b> · n ${num(w.n)} · ` +
      `${label} ${pct(dig(w.metrics, key))}${extra}</li>`;
  }).join("");
  $("windows").dataset.count = state.windows.length;
}

function renderStatus() {
  const cams = Object.entries(deviceStatus?.cameras || {});
  $("device-status").textContent = cams.length
    ? `${t("cameras")}: ${cams.map(([id, c]) => `${esc(id)} ${t("state_" + c.state)}`).join(", ")}` : "";
}

function render() {
  document.body.dataset.mode = state.mode;
  renderLesson();
  renderNumbers();
  renderTimeline();
  renderST();
  renderWindows();
  renderStatus();
}

// -- live updates ----------------------------------------------------------------------------

function onEvent(kind, data, version) {
  if (kind === "live") {
    state = data;
  } else if (version != null && version <= state.version) {
    return; // already part of the snapshot
  } else if (kind === "window") {
    state.windows.push(data);
    state.metrics = data.metrics;
  } else if (kind === "lesson") {
    if (state.lesson?.id !== data.id) { state.windows = []; state.metrics = {}; }
    const { record, ...lesson } = data;
    state.lesson = lesson;
    state.lesson_record = record;
  } else if (kind === "mode") {
    state.mode = data.mode;
  }
  if (version != null) state.version = Math.max(state.version, version);
  if (kind === "status") deviceStatus = data;
  render();
}

function connect() {
  const source = new EventSource("/api/events");
  for (const kind of ["live", "window", "lesson", "mode", "status"]) {
    source.addEventListener(kind, e => onEvent(kind, JSON.parse(e.data), e.lastEventId ? Number(e.lastEventId) : null));
  }
  source.onopen = () => { $("offline").hidden = true; };
  source.onerror = () => {
    $("offline").hidden = false;
    // The browser retries by itself unless the stream was refused; then start over.
    if (source.readyState === EventSource.CLOSED) setTimeout(connect, 2000);
  };
}

async function lessonAction(verb) {
  const r = await fetch(`/api/lesson/${verb}`, { method: "POST" });
  if (!r.ok) {
    const body = await r.json().catch(() => ({}));
    alert(t("error", { msg: body.detail || r.status }));
  }
}

async function main() {
  await I18N.load(I18N.lang);
  $("lang").addEventListener("click", () => I18N.toggle().then(render));
  $("start").addEventListener("click", () => lessonAction("start"));
  $("end").addEventListener("click", () => lessonAction("end"));
  render();
  connect();
  setInterval(renderLesson, 30000); // elapsed minutes
}

main();
