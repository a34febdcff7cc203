// This device's past lessons (/lessons): a list with each lesson's key figures, and trends.
"use strict";
const $ = id => document.getElementById(id);
const t = (k, v) => I18N.t(k, v);
const { pct, whole, seconds, dig } = Lesson;
let lessons = [];

function started(rec) {
  return (rec.created ?? rec.end) - (rec.end - rec.start);  // wall time: stored at its end
}

function row(rec) {
  const m = rec.metrics, when = started(rec) * 1000, pe = rec.mode === "pe";
  const fig = Lesson.stFigures(m.st?.samples || "");
  const cells = [
    new Date(when).toLocaleDateString(I18N.lang === "zh" ? "zh-CN" : "en-GB"),
    Lesson.clock(when / 1000, I18N.lang), t("mode_" + rec.mode), whole((rec.end - rec.start) / 60),
    whole(pe ? m.participants : m.students_present), pe ? "—" : pct(m.head_up_rate),
    pe ? "—" : whole(m.hand_raises), pe ? "—" : whole(m.qa?.exchanges), pe ? "—" : seconds(m.qa?.wait_mean_s),
    pe ? "—" : fig?.type ? t(fig.type) : t("provisional"), pe ? pct(m.exercise_density_group) : "—",
  ];
  return `<tr>${cells.map((c, i) => `<td class="${i >= 3 && i !== 9 ? "num" : ""}">${c}</td>`).join("")}` +
    `<td><a href="/lessons/${rec.id}">${t("h_open")}</a></td></tr>`;
}

function trendSeries() {
  return [
    { key: "head_up_rate", label: t("head_up_rate"), color: Lesson.COLORS.a, kind: "line", axis: "left", lo: 0, hi: 1, fmt: pct },
    { key: "exercise_density_group", label: t("exercise_density"), color: Lesson.COLORS.c, kind: "line", axis: "left", lo: 0, hi: 1, fmt: pct },
    { key: "qa.wait_mean_s", label: `${t("wait_time")} (${t("sec")})`, color: Lesson.COLORS.d, kind: "line", axis: "right", lo: 0, hi: 10, fmt: v => Math.round(v) },
  ];
}

function render() {
  if (!lessons.length) {
    $("content").innerHTML = `<p class="notice">${t("no_lessons")}</p>`;
    return;
  }
  const heads = ["h_date", "h_time", "h_mode", "h_minutes", "h_present", "h_headup", "h_hands", "h_qa", "h_wait",
    "h_type", "h_density", "h_open"];
  const oldestFirst = [...lessons].reverse();
  const series = trendSeries();
  const legend = series.map(s => `<span><i style="background:${s.color}"></i>${s.label}</span>`).join("");
  $("content").innerHTML =
    `<section class="panel" id="trends"><h2>${t("trends")}</h2><div class="legend">${legend}</div>` +
    `<svg id="chart-trends" class="chart" role="img"></svg></section>` +
    `<section class="panel"><table class="history"><thead><tr>${heads.map(h => `<th>${t(h)}</th>`).join("")}</tr></thead>` +
    `<tbody>${lessons.map(row).join("")}</tbody></table></section>`;
  const points = oldestFirst.map((rec, i) => ({
    x: i + 1, values: Object.fromEntries(series.map(s => [s.key, dig(rec.metrics, s.key)])),
  }));
  Charts.timeline($("chart-trends"), points, series, t("lesson_no"), 1);
  $("content").setAttribute("aria-busy", "false");
}

async function main() {
  await I18N.load(I18N.lang);
  $("lang").addEventListener("click", () => I18N.toggle().then(render));
  let resizing = null;  // charts are drawn at their on-screen size: redraw at a new width
  window.addEventListener("resize", () => { clearTimeout(resizing); resizing = setTimeout(render, 150); });
  const r = await fetch("/api/lessons?limit=200");
  if (!r.ok) {
    $("page-message").textContent = `${t("error", { msg: r.status })}`;
    return;
  }
  lessons = await r.json();  // newest first
  render();
}

main();
