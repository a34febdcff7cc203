// One stored lesson as a report a teacher keeps (/lessons/<id>): aggregates only, printable on A4.
"use strict";
const WAIT_BINS = ["under_1s", "1_to_3s", "3_to_5s", "5s_or_more"];
const $ = id => document.getElementById(id);
const t = (k, v) => I18N.t(k, v);
const { COLORS, ZONES, pct, whole, seconds, dig } = Lesson;
const lessonId = Number(location.pathname.split("/").filter(Boolean).pop());
let detail = null;

// -- building blocks -------------------------------------------------------------------------

function glossaryLink(term) {
  return `<a class="g" href="/glossary#${term}">${t("nav_glossary")}</a>`;
}

function section(id, title, body, term) {
  return `<section class="panel" id="${id}"><h2>${title}${term ? glossaryLink(term) : ""}</h2>${body}</section>`;
}

// figures: [[label, value, unit]]; a null value shows "—".
function figures(rows) {
  return `<dl class="figures">${rows.map(([label, value, unit]) =>
    `<div><dt>${label}</dt><dd>${value ?? "—"}${unit ? ` <small>${unit}</small>` : ""}</dd></div>`).join("")}</dl>`;
}

function wallTime(rec, tRec) {
  // Records carry times on the recording clock; ``created`` is the wall time the lesson was stored
  // (its end), so wall time = created - (end - t).
  return (rec.created ?? rec.end) - (rec.end - tRec);
}

function minutesPoints(series) {
  const t0 = detail.lesson.start;
  return detail.windows.map(w => ({
    x: (w.end - t0) / 60, values: Object.fromEntries(series.map(s => [s.key, dig(w.metrics, s.key)])),
  }));
}

function legend(series) {
  return `<div class="legend">${series.map(s => `<span><i style="background:${s.color}"></i>${s.label}</span>`).join("")}</div>`;
}

// -- sections --------------------------------------------------------------------------------

function overview(m) {
  const lesson = detail.lesson;
  const rows = lesson.mode === "pe"
    ? [[t("participants"), whole(m.participants), t("people")], [t("exercise_density"), pct(m.exercise_density_group)],
      [t("mean_hr"), whole(m.hr?.mean_bpm), t("bpm")]]
    : [[t("students_present"), whole(m.students_present), t("people")], [t("hand_raises"), whole(m.hand_raises), t("times")],
      [t("stand_answers"), whole(m.stand_events), t("times")], [t("head_up_rate"), pct(m.head_up_rate)],
      [t("writing_rate"), pct(m.writing_rate)], [t("qa_exchanges"), whole(m.qa?.exchanges), t("times")]];
  const note = lesson.suppressed ? `<p class="note">${t("suppressed")}</p>` : "";
  return section("r-overview", `${t("r_overview")} · ${t("base_lesson")}`, figures(rows) + note);
}

const RATE_SERIES = () => [
  { key: "head_up_rate", label: t("head_up_rate"), color: COLORS.a, kind: "line", axis: "left", lo: 0, hi: 1, fmt: pct },
  { key: "writing_rate", label: t("writing_rate"), color: COLORS.c, kind: "line", axis: "left", lo: 0, hi: 1, fmt: pct, dash: "6 4" },
];

function countSeries() {
  const top = Math.max(4, ...detail.windows.map(w => Math.max(w.metrics.hand_raises || 0, w.metrics.stand_events || 0)));
  const hi = 4 * Math.ceil(top / 4);
  return [
    { key: "hand_raises", label: t("hand_raises"), color: COLORS.b, kind: "bar", axis: "left", lo: 0, hi, fmt: v => Math.round(v) },
    { key: "stand_events", label: t("stand_answers"), color: COLORS.e, kind: "line", axis: "right", lo: 0, hi, fmt: v => Math.round(v) },
  ];
}

function timelines() {
  return section("r-timeline", t("r_timeline"),
    `${legend(RATE_SERIES())}<svg id="chart-rates" class="chart" role="img"></svg>` +
    `<h2>${t("r_timeline_counts")}</h2>${legend(countSeries())}<svg id="chart-counts" class="chart" role="img"></svg>`,
    "head_up_rate");
}

function stSection(m) {
  const fig = Lesson.stFigures(m.st?.samples || "");
  const text = !fig ? t("st_wait")
    : fig.type ? t("st_type", { type: t(fig.type), rt: fig.rt.toFixed(2), ch: fig.ch.toFixed(2), n: fig.n })
      : t("st_provisional", { rt: fig.rt.toFixed(2), ch: fig.ch.toFixed(2), n: fig.n, need: Lesson.ST_MIN_SAMPLES });
  return section("r-st", t("r_st"),
    `<p class="explain">${t("st_explain")}</p><div class="two">` +
    `<figure><figcaption>${t("st_curve")}</figcaption><svg id="st-curve" class="chart square" role="img"></svg></figure>` +
    `<figure><figcaption>${t("rt_ch")}</figcaption><svg id="rt-ch" class="chart square" role="img"></svg></figure></div>` +
    `<p id="st-summary" class="st-summary">${text}</p>`, "st");
}

function participation(m) {
  return section("r-participation", t("r_participation"),
    figures([[t("participation"), pct(m.participation)], [t("stand_answers"), whole(m.stand_events), t("times")]]) +
    `<p class="note">${t("participation_text")}</p>`, "participation");
}

function qaSection(m) {
  const qa = m.qa;
  if (!qa) return section("r-qa", t("r_qa"), `<p class="note">${t("no_data")}</p>`, "qa");
  return section("r-qa", t("r_qa"),
    figures([[t("qa_exchanges"), whole(qa.exchanges), t("times")], [t("unanswered"), whole(qa.unanswered), t("times")],
      [t("student_initiated"), whole(qa.student_initiated), t("times")], [t("wait_time"), seconds(qa.wait_mean_s), t("sec")],
      [t("wait_median"), seconds(qa.wait_median_s), t("sec")], [t("wait_3s"), pct(qa.wait_3s_share)]]) +
    `<h2>${t("wait_hist")}</h2><svg id="chart-wait" class="chart" role="img"></svg>` +
    `<p class="note">${t("qa_source_" + qa.source)}</p>`, "qa");
}

function teacherSection(m) {
  const tm = m.teacher || {};
  const unit = tm.distance_unit === "m" ? t("metres") : t("body_scales");
  return section("r-teacher", t("r_teacher"),
    figures([[t("teacher_zone_share"), pct(tm.zone_share)], [t("board_share"), pct(tm.board_share)],
      [t("distance"), whole(tm.distance), unit]]) +
    `<h2>${t("positions")}</h2><div id="teacher-positions"></div>` +
    `<h2>${t("distance_chart", { unit })}</h2><svg id="chart-distance" class="chart" role="img"></svg>`, "teacher");
}

function talkSection(m) {
  const a = m.audio;
  if (!a) return section("r-talk", t("r_talk"), `<p class="note">${t("no_data")}</p>`, "audio");
  return section("r-talk", t("r_talk"),
    figures([[t("teacher_talk"), pct(a.teacher_talk_ratio)], [t("speech_ratio"), pct(a.speech_ratio)],
      [t("silence_ratio"), pct(a.silence_ratio)], [t("noise_dba"), whole(a.noise_dba), t("dba")]]), "audio");
}

function peSection(m) {
  const reps = Object.entries(m.reps || {}).map(([name, r]) => [esc(name), whole(r.count), t("times")]);
  return section("r-pe", t("r_pe"),
    figures([[t("exercise_density"), pct(m.exercise_density_group), t("target", { v: "75%" })],
      [t("density_individual"), pct(m.exercise_density_mean), t("target", { v: "50%" })],
      [t("mvpa"), pct(m.mvpa_fraction)], [t("trimp"), whole(m.hr?.trimp_edwards)],
      [t("minutes_ge_120"), seconds(m.hr?.minutes_ge_120)]]) +
    `<h2>${t("hr_zones")}</h2><div id="hr-zones" class="zones"></div>` +
    (reps.length ? `<h2>${t("station_counts")}</h2>${figures(reps)}` : ""), "exercise_density");
}

function envSection(m) {
  const env = m.env;
  if (!env) return section("r-env", t("r_env"), `<p class="note">${t("no_data")}</p>`, "env");
  const share = env.compliance_share || {};
  const rows = [["co2", "co2_ppm", "ppm"], ["lux_desk", "lux_desk", "lx"], ["lux_board", "lux_board", "lx"]]
    .map(([label, key, unit]) => [t(label), whole(env[key]), `${unit} · ${t("compliance")} ${pct(share[label])}`]);
  rows.push([t("temp"), seconds(env.temp_c), "°C"], [t("rh"), whole(env.rh), "%"]);
  return section("r-env", t("r_env"), figures(rows), "env");
}

function recorded() {
  return section("r-recorded", t("r_recorded"),
    `<p>${t("recorded_yes")}</p><p>${t("recorded_no")}</p>`);
}

// -- page ------------------------------------------------------------------------------------

function renderCharts(m) {
  const w = detail.windows;
  if (document.getElementById("chart-rates")) {
    Charts.timeline($("chart-rates"), minutesPoints(RATE_SERIES()), RATE_SERIES(), t("minutes_into"));
    Charts.timeline($("chart-counts"), minutesPoints(countSeries()), countSeries(), t("minutes_into"));
  }
  if (document.getElementById("st-curve")) {
    const samples = m.st?.samples || "";
    const fig = Lesson.stFigures(samples);
    Charts.stCurve($("st-curve"), samples);
    const labels = Object.fromEntries(["practice", "lecture", "mixed", "dialogue"].map(k => [k, t(k)]));
    Charts.rtCh($("rt-ch"), fig?.rt, fig?.ch, labels, !fig?.type);
  }
  if (document.getElementById("chart-wait")) {
    Charts.bars($("chart-wait"), WAIT_BINS.map(k => ({ label: t("bin_" + k), value: m.qa.wait_hist?.[k] ?? 0, color: COLORS.a })));
  }
  if (document.getElementById("chart-distance")) {
    const series = [{ key: "teacher.distance", label: t("distance"), color: COLORS.d, kind: "bar", axis: "left", lo: 0,
      hi: Math.max(5, ...w.map(x => dig(x.metrics, "teacher.distance") || 0)), fmt: v => Math.round(v) }];
    Charts.timeline($("chart-distance"), minutesPoints(series), series, t("minutes_into"));
  }
  const positions = m.teacher?.position_shares;
  if (document.getElementById("teacher-positions") && positions) {
    Charts.stackedBar($("teacher-positions"), [["left", COLORS.a], ["centre", COLORS.c], ["right", COLORS.b]]
      .map(([k, c]) => ({ label: t("pos_" + k), value: positions[k], color: c })));
  }
  if (document.getElementById("hr-zones") && m.hr?.zones) {
    Charts.stackedBar($("hr-zones"), ZONES.map(([k, c]) => ({ label: t("zone_" + k), value: m.hr.zones[k], color: c })));
  }
}

function render() {
  if (!detail) return;
  const lesson = detail.lesson, m = lesson.metrics;
  const start = wallTime(lesson, lesson.start), end = wallTime(lesson, lesson.end);
  const date = new Date(start * 1000).toLocaleDateString(I18N.lang === "zh" ? "zh-CN" : "en-GB");
  $("page-status").textContent = `${t("mode_" + lesson.mode)} · ` + t("report_when", {
    date, start: Lesson.clock(start, I18N.lang), end: Lesson.clock(end, I18N.lang),
    min: Math.round((lesson.end - lesson.start) / 60) });
  const parts = lesson.mode === "pe"
    ? [overview(m), peSection(m), envSection(m), recorded()]
    : [overview(m), timelines(), stSection(m), participation(m), qaSection(m), teacherSection(m), talkSection(m),
      envSection(m), recorded()];
  $("content").innerHTML = parts.join("");
  $("content").setAttribute("aria-busy", "false");
  renderCharts(m);
}

async function main() {
  const exportUrl = format => `/api/lessons/${lessonId}/export?format=${format}`;
  $("page-actions").innerHTML =
    `<a id="export-csv" class="button" data-i18n="export_csv" href="${exportUrl("csv")}"></a>` +
    `<a id="export-json" class="button" data-i18n="export_json" href="${exportUrl("json")}"></a>` +
    `<button id="print" data-i18n="print"></button>`;
  await I18N.load(I18N.lang);
  $("lang").addEventListener("click", () => I18N.toggle().then(render));
  let resizing = null;  // charts are drawn at their on-screen size: redraw at a new width
  window.addEventListener("resize", () => { clearTimeout(resizing); resizing = setTimeout(render, 150); });
  $("print").addEventListener("click", () => window.print());
  window.addEventListener("beforeprint", render);  // charts drawn for the paper's width
  const r = await fetch(`/api/lessons/${lessonId}`);
  if (!r.ok) {
    $("page-message").textContent = t("not_found");
    return;
  }
  detail = await r.json();
  render();
}

main();
