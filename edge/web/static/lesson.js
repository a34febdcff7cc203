// Lesson figures shared by the live page and the lesson report: totals and duration-weighted
// means over a lesson's windows, S-T figures, and number formats a teacher reads.
"use strict";
const Lesson = (() => {
  // Fewer S-T samples than this (5 minutes at one per 30 s) give no lesson type: with 3-6
  // samples one answer flips the type between lecture and dialogue.
  const ST_MIN_SAMPLES = 10;
  // Series colours (distinct in print and for the common colour-vision deficiencies) and the
  // heart-rate zone colours of every page.
  const COLORS = { a: "#1565c0", b: "#e65100", c: "#2e7d32", d: "#ad1457", e: "#6a1b9a" };
  const ZONES = [["light", "#81c784"], ["moderate", "#fdd835"], ["vigorous", "#fb8c00"], ["near_max", "#d32f2f"]];

  const dig = (obj, path) => path.split(".").reduce((o, k) => (o == null ? null : o[k]), obj);

  function sum(windows, key) {
    const vals = windows.map(w => dig(w.metrics, key)).filter(v => v != null);
    return vals.length ? vals.reduce((a, b) => a + b, 0) : null;
  }

  // Duration-weighted mean over the windows (a short last window counts less).
  function weightedMean(windows, key) {
    let total = 0, weight = 0;
    for (const w of windows) {
      const v = dig(w.metrics, key);
      if (v == null) continue;
      total += v * (w.end - w.start);
      weight += w.end - w.start;
    }
    return weight ? total / weight : null;
  }

  // The lesson's Q&A block from its windows: counts add up; the mean wait is weighted by the
  // questions of each window (each window reports the questions decided in it).
  function qa(windows) {
    const blocks = windows.map(w => w.metrics.qa).filter(Boolean);
    if (!blocks.length) return null;
    const out = { exchanges: 0, unanswered: 0, student_initiated: 0, wait_mean_s: null, wait_3s_share: null };
    let questions = 0, waitSum = 0, longSum = 0;
    for (const b of blocks) {
      out.exchanges += b.exchanges; out.unanswered += b.unanswered;
      out.student_initiated += b.student_initiated;
      const q = b.exchanges + b.unanswered;
      if (q && b.wait_mean_s != null) {
        questions += q; waitSum += b.wait_mean_s * q; longSum += (b.wait_3s_share || 0) * q;
      }
    }
    if (questions) { out.wait_mean_s = waitSum / questions; out.wait_3s_share = longSum / questions; }
    return out;
  }

  function stSamples(windows) {
    return windows.map(w => dig(w.metrics, "st.samples") || "").join("");
  }

  // Rt, Ch and type of T/S samples (SPEC 4.1); type null until ST_MIN_SAMPLES samples exist.
  function stFigures(samples) {
    const n = samples.length;
    if (!n) return null;
    const nt = [...samples].filter(c => c === "T").length;
    let runs = 1;
    for (let i = 1; i < n; i++) if (samples[i] !== samples[i - 1]) runs++;
    const rt = nt / n, ch = (runs - 1) / n;
    const type = rt <= 0.3 ? "practice" : rt >= 0.7 ? "lecture" : ch >= 0.4 ? "dialogue" : "mixed";
    return { n, rt, ch, type: n >= ST_MIN_SAMPLES ? type : null };
  }

  const pct = v => (v == null ? "—" : `${Math.round(v * 100)}%`);
  const whole = v => (v == null ? "—" : String(Math.round(v)));
  const seconds = v => (v == null ? "—" : (Math.round(v * 10) / 10).toFixed(1));

  // Wall-clock time of a record time: the lesson's wall start plus the offset on the records' clock.
  function wall(lesson, t) {
    return lesson.started_at + (t - (lesson.start ?? t));
  }

  function clock(unix, lang, withSeconds = false) {
    const opts = { hour: "2-digit", minute: "2-digit", hour12: false };
    if (withSeconds) opts.second = "2-digit";
    return new Date(unix * 1000).toLocaleTimeString(lang === "zh" ? "zh-CN" : "en-GB", opts);
  }

  return { ST_MIN_SAMPLES, COLORS, ZONES, dig, sum, weightedMean, qa, stSamples, stFigures, pct, whole, seconds, wall, clock };
})();
