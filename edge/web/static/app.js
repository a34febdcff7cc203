// The teacher's live page: state from /api/events (SSE), numbers, charts, start/end buttons.
// Every card has one time base, said on the card: "this lesson" (sums and means over the
// lesson's windows) or "last 30 s" (the latest window). A card never mixes the two.
"use strict";
let state = { mode: "classroom", lesson: null, metrics: {}, windows: [], lesson_record: null, version: 0 };
let deviceStatus = null;

const $ = id => document.getElementById(id);
const t = (k, v) => I18N.t(k, v);
const { COLORS, ZONES, pct, whole, seconds, dig } = Lesson;

// -- what the page shows ---------------------------------------------------------------------

function ended() {
  return Boolean(state.lesson_record && !state.lesson?.running);
}

// The lesson's figures: the lesson record once it ended, else derived from its windows.
function lessonFigures() {
  const rec = ended() ? state.lesson_record.metrics : null;
  const w = state.windows;
  const pick = (key, derived) => { const v = rec ? dig(rec, key) : null; return v != null ? v : derived; };
  const qa = rec?.qa ?? Lesson.qa(w);
  return {
    hand_raises: pick("hand_raises", Lesson.sum(w, "hand_raises")),
    stand_events: pick("stand_events", Lesson.sum(w, "stand_events")),
    teacher_talk: pick("audio.teacher_talk_ratio", Lesson.weightedMean(w, "audio.teacher_talk_ratio")),
    qa,
    st: Lesson.stFigures(rec?.st?.samples ?? Lesson.stSamples(w)),
    density: pick("exercise_density_group", Lesson.weightedMean(w, "exercise_density_group")),
    zones: rec ? dig(rec, "hr.zones") : Object.fromEntries(ZONES.map(([k]) => [k, Lesson.weightedMean(w, `hr.zones.${k}`)])),
    reps: rec ? rec.reps : lessonReps(w),
    alerts: rec ? (rec.alerts || []) : w.flatMap(x => x.metrics.alerts || []),
  };
}

// Station counts of the lesson: each window counts the repetitions done in it.
function lessonReps(windows) {
  const out = {};
  for (const w of windows) {
    for (const [name, r] of Object.entries(w.metrics.reps || {})) {
      out[name] = { exercise: r.exercise, count: (out[name]?.count || 0) + (r.count || 0) };
    }
  }
  return out;
}

function recentSeconds() {
  const latest = state.windows[state.windows.length - 1];
  return latest ? Math.round(latest.end - latest.start) : 30;
}

// -- rendering -------------------------------------------------------------------------------

function card(id, base, label, value, unit = "", sub = "") {
  return `<div class="card" id="card-${id}" data-base="${base}"><div class="label">${label}</div>` +
    `<div class="value-line"><span class="value">${value}</span><span class="unit">${value === "—" ? "" : unit}</span></div>` +
    `<div class="sub">${sub}</div><div class="card-base">${baseText(base)}</div></div>`;
}

function baseText(base) {
  return base === "lesson" ? t("base_lesson") : t("base_recent", { s: recentSeconds() });
}

function typeCard(st) {
  if (!st) return card("type", "lesson", t("lesson_type"), t("provisional"), "", t("st_wait"));
  if (!st.type) {
    return card("type", "lesson", t("lesson_type"), t("provisional"), "",
      t("st_need", { n: st.n, need: Lesson.ST_MIN_SAMPLES }));
  }
  return card("type", "lesson", t("lesson_type"), t(st.type), "", t("st_samples", { n: st.n }));
}

function classroomLessonCards(f) {
  const qa = f.qa;
  const long = qa?.wait_3s_share;
  return [
    card("hands", "lesson", t("hand_raises"), whole(f.hand_raises), t("times")),
    card("stand", "lesson", t("stand_answers"), whole(f.stand_events), t("times")),
    card("qa", "lesson", t("qa_exchanges"), whole(qa?.exchanges), t("times"),
      qa ? t("qa_sub", { u: qa.unanswered, s: qa.student_initiated }) : ""),
    card("wait", "lesson", t("wait_time"), seconds(qa?.wait_mean_s), t("sec"),
      long == null ? "" : t("wait_sub", { p: pct(long) })),
    card("talk", "lesson", t("teacher_talk"), pct(f.teacher_talk)),
    typeCard(f.st),
  ];
}

function classroomNowCards(m, base) {
  return [
    card("present", base, t("students_present"), whole(m.students_present), t("people")),
    card("headup", base, t("head_up_rate"), pct(m.head_up_rate)),
    card("writing", base, t("writing_rate"), pct(m.writing_rate)),
    card("standing", base, t("standing_now"), whole(m.standing), t("people")),
  ];
}

function peLessonCards(f) {
  const reps = Object.entries(f.reps || {}).map(([name, r]) => `${esc(name)} ${r.count}`).join(" · ");
  const alerts = f.alerts.slice(-3)
    .map(a => `<li>${t("alert_" + a.kind, { s: Math.round(a.duration || 0) })}</li>`).join("");
  return [
    card("density", "lesson", t("exercise_density"), pct(f.density), "", t("target", { v: "75%" })),
    card("zones", "lesson", t("hr_zones"), "", "", `<div id="hr-zones" class="zones"></div>`),
    card("reps", "lesson", t("station_counts"), reps ? "" : "—", "", reps ? `<div class="reps">${reps}</div>` : ""),
    card("alerts", "lesson", t("alerts"), String(f.alerts.length), t("times"),
      alerts ? `<ul class="alerts">${alerts}</ul>` : ""),
  ];
}

function peNowCards(m, base) {
  return [
    card("participants", base, t("participants"), whole(m.participants), t("people")),
    card("hr", base, t("mean_hr"), whole(m.hr?.mean_bpm), t("bpm")),
  ];
}

function renderNumbers() {
  const f = lessonFigures();
  const pe = state.mode === "pe";
  const lessonCards = pe ? peLessonCards(f) : classroomLessonCards(f);
  // After the lesson every card is the whole lesson's (from its record); during it, the
  // "now" cards are the latest window's.
  const nowBase = ended() ? "lesson" : "recent";
  const now = ended() ? state.lesson_record.metrics : state.metrics || {};
  const nowCards = pe ? peNowCards(now, nowBase) : classroomNowCards(now, nowBase);
  $("lesson-cards").innerHTML = (ended() ? nowCards.concat(lessonCards) : lessonCards).join("");
  $("recent-cards").innerHTML = ended() ? "" : nowCards.join("");
  $("recent-group").hidden = ended();
  const since = state.lesson ? Lesson.clock(state.lesson.started_at, I18N.lang) : "";
  $("lesson-base").textContent = since ? t("base_lesson_since", { time: since }) : t("base_lesson");
  $("recent-base").textContent = t("base_recent", { s: recentSeconds() });
  if (pe && f.zones) {
    Charts.stackedBar($("hr-zones"), ZONES.map(([k, c]) => ({ label: t("zone_" + k), value: f.zones[k], color: c })));
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
    { key: "hand_raises", label: t("hand_raises_per", { s: recentSeconds() }), color: COLORS.b, kind: "bar", axis: "right", lo: 0, hi: maxHands, fmt: v => Math.round(v) },
    { key: "head_up_rate", label: t("head_up_rate"), color: COLORS.a, kind: "line", axis: "left", lo: 0, hi: 1, fmt: pct },
  ];
}

function lessonT0() {
  return state.lesson?.start ?? state.windows[0]?.start ?? 0;
}

function renderTimeline() {
  const series = timelineSeries();
  const t0 = lessonT0();
  const points = state.windows.map(w => ({
    x: (w.end - t0) / 60,
    values: Object.fromEntries(series.map(s => [s.key, dig(w.metrics, s.key)])),
  }));
  Charts.timeline($("timeline"), points, series, t("minutes_into"));
  $("timeline-legend").innerHTML = series
    .map(s => `<span><i style="background:${s.color}"></i>${s.label}</span>`).join("");
}

function stLabels() {
  return Object.fromEntries(["practice", "lecture", "mixed", "dialogue"].map(k => [k, t(k)]));
}

function renderST() {
  $("st-panel").hidden = state.mode !== "classroom";
  if (state.mode !== "classroom") return;
  const samples = ended() && state.lesson_record.metrics.st ? state.lesson_record.metrics.st.samples : Lesson.stSamples(state.windows);
  const fig = Lesson.stFigures(samples);
  Charts.stCurve($("st-curve"), samples);
  Charts.rtCh($("rt-ch"), fig?.rt, fig?.ch, stLabels(), !fig?.type);
  $("st-summary").textContent = !fig ? t("st_wait")
    : fig.type ? t("st_type", { type: t(fig.type), rt: fig.rt.toFixed(2), ch: fig.ch.toFixed(2), n: fig.n })
      : t("st_provisional", { rt: fig.rt.toFixed(2), ch: fig.ch.toFixed(2), n: fig.n, need: Lesson.ST_MIN_SAMPLES });
}

// Once the lesson ended: its stored record (the store numbers lessons; the live page knows the
// record only), found by its times, size and mode, for a link to its report.
let reportFor = null;
async function linkReport() {
  const rec = ended() ? state.lesson_record : null;
  const link = $("report-link");
  if (!rec) { link.hidden = true; reportFor = null; return; }
  if (reportFor === rec) return;
  reportFor = rec;
  const r = await fetch("/api/lessons?limit=20");
  const stored = r.ok ? (await r.json()).find(x => x.start === rec.start && x.end === rec.end &&
    x.mode === rec.mode && x.n === rec.n) : null;
  link.hidden = !stored;
  if (stored) link.href = `/lessons/${stored.id}`;
}

function renderLesson() {
  const l = state.lesson;
  let text = t("no_lesson");
  if (l && l.running) {
    text = t("running_since", { time: Lesson.clock(l.started_at, I18N.lang), min: Math.floor((Date.now() / 1000 - l.started_at) / 60) });
  } else if (l) {
    text = t("ended", { time: Lesson.clock(l.started_at, I18N.lang) });
  }
  $("lesson-status").textContent = `${t("mode_" + state.mode)} · ${text}`;
  $("lesson-status").classList.toggle("running", Boolean(l?.running));
  $("start").disabled = Boolean(l?.running);
  $("end").disabled = !l?.running;
}

function renderWindows() {
  const l = state.lesson || { started_at: Date.now() / 1000, start: lessonT0() };
  const pe = state.mode === "pe";
  $("windows").innerHTML = state.windows.slice(-8).reverse().map(w => {
    const span = `${Lesson.clock(Lesson.wall(l, w.start), I18N.lang, true)}–${Lesson.clock(Lesson.wall(l, w.end), I18N.lang, true)}`;
    const m = w.metrics;
    const parts = pe
      ? [t("log_people", { n: whole(m.participants) }), `${t("exercise_density")} ${pct(m.exercise_density_group)}`]
      : [t("log_people", { n: whole(m.students_present) }), `${t("head_up_rate")} ${pct(m.head_up_rate)}`,
        t("log_hands", { n: whole(m.hand_raises) })];
    return `<li class="window${w.suppressed ? " suppressed" : ""}"><b>${span}</b> · ${parts.join(" · ")}</li>`;
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
  linkReport();
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
  let resizing = null;
  window.addEventListener("resize", () => { clearTimeout(resizing); resizing = setTimeout(render, 150); });
  render();
  connect();
  setInterval(renderLesson, 30000); // elapsed minutes
}

main();
