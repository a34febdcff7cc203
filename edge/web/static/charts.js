// Small SVG charts drawn by hand (no library, no CDN): timeline, S-T curve, Rt-Ch chart, bars.
"use strict";
const Charts = (() => {
  const NS = "http://www.w3.org/2000/svg";

  function el(tag, attrs, text) {
    const node = document.createElementNS(NS, tag);
    for (const [k, v] of Object.entries(attrs || {})) node.setAttribute(k, v);
    if (text !== undefined) node.textContent = text;
    return node;
  }

  function clear(svg) { while (svg.firstChild) svg.removeChild(svg.firstChild); }

  // The chart's drawing size is its size on screen (viewBox = CSS pixels), so text set in CSS
  // pixels stays that size on a phone, a laptop and a projector instead of shrinking with the
  // chart. ``aspect`` is height / width, clamped to [minH, maxH] pixels.
  function fit(svg, aspect, minH, maxH) {
    const W = Math.max(240, Math.round(svg.clientWidth || svg.parentNode?.clientWidth || 800));
    const H = Math.round(Math.min(maxH, Math.max(minH, W * aspect)));
    svg.setAttribute("viewBox", `0 0 ${W} ${H}`);
    svg.style.height = `${H}px`;
    return [W, H];
  }

  // The CSS pixel size of the chart's tick text (margins leave room for it).
  function tickPx(svg) {
    const probe = el("text", { class: "tick" }, "0");
    svg.appendChild(probe);
    const size = parseFloat(getComputedStyle(probe).fontSize) || 14;
    svg.removeChild(probe);
    return size;
  }

  // points: [{x, values: {key: number|null}}]; series: [{key, color, kind: "line"|"bar",
  // axis: "left"|"right", lo, hi, fmt}]. Null values leave a gap (suppressed windows).
  // xTicks: integers only (minutes, lesson numbers), never decimals.
  function timeline(svg, points, series, xLabel, xMin = 0) {
    clear(svg);
    const [W, H] = fit(svg, 0.32, 200, 320);
    const f = tickPx(svg);
    const L = 3.6 * f, R = 3.6 * f, T = f, B = 2.8 * f;
    const xMax = Math.max(xMin + 5, ...points.map(p => p.x));
    const sx = x => L + ((x - xMin) / (xMax - xMin)) * (W - L - R);
    const scale = s => v => H - B - ((v - s.lo) / (s.hi - s.lo || 1)) * (H - T - B);
    for (let i = 0; i <= 4; i++) {
      const y = T + (i / 4) * (H - T - B);
      svg.appendChild(el("line", { x1: L, x2: W - R, y1: y, y2: y, class: "grid" }));
      for (const side of ["left", "right"]) {
        const s = series.find(q => q.axis === side);
        if (!s) continue;
        const v = s.hi - (i / 4) * (s.hi - s.lo);
        svg.appendChild(el("text", { x: side === "left" ? L - 6 : W - R + 6, y: y + f / 3,
          "text-anchor": side === "left" ? "end" : "start", class: "tick", fill: s.color }, s.fmt(v)));
      }
    }
    const span = xMax - xMin;
    const step = span > 80 ? 20 : span > 40 ? 10 : span > 10 ? 5 : span > 5 ? 2 : 1;
    for (let m = Math.ceil(xMin / step) * step; m <= xMax + 1e-9; m += step) {
      svg.appendChild(el("text", { x: sx(m), y: H - B + 1.3 * f, "text-anchor": "middle", class: "tick" }, m));
    }
    svg.appendChild(el("text", { x: W - R, y: H - 0.3 * f, "text-anchor": "end", class: "tick" }, xLabel));
    const barW = Math.max(4, Math.min(24, ((W - L - R) / Math.max(points.length, 1)) * 0.5));
    for (const s of series) {
      const sy = scale(s);
      const valid = points.filter(p => p.values[s.key] != null);
      if (s.kind === "bar") {
        for (const p of valid) {
          const y = sy(p.values[s.key]);
          svg.appendChild(el("rect", { x: sx(p.x) - barW / 2, y, width: barW,
            height: Math.max(0, H - B - y), fill: s.color, opacity: 0.45 }));
        }
        continue;
      }
      let d = "", pen = "M";
      for (const p of points) {
        const v = p.values[s.key];
        if (v == null) { pen = "M"; continue; }
        d += `${pen}${sx(p.x).toFixed(1)},${sy(v).toFixed(1)} `;
        pen = "L";
      }
      svg.appendChild(el("path", { d, fill: "none", stroke: s.color, "stroke-width": 3,
        "stroke-linejoin": "round", "stroke-dasharray": s.dash || "none" }));
      for (const p of valid) {
        svg.appendChild(el("circle", { cx: sx(p.x), cy: sy(p.values[s.key]), r: 4, fill: s.color }));
      }
    }
  }

  // The classic S-T diagram: each 30 s sample steps right (T) or up (S) from the origin.
  function stCurve(svg, samples) {
    clear(svg);
    const [S] = fit(svg, 1, 220, 420);
    const f = tickPx(svg);
    const P = 2.2 * f, n = Math.max(10, samples.length);
    const k = (S - 2 * P) / n;
    for (let i = 0; i <= n; i += Math.ceil(n / 5)) {
      svg.appendChild(el("line", { x1: P + i * k, x2: P + i * k, y1: P, y2: S - P, class: "grid" }));
      svg.appendChild(el("line", { x1: P, x2: S - P, y1: S - P - i * k, y2: S - P - i * k, class: "grid" }));
    }
    svg.appendChild(el("line", { x1: P, y1: S - P, x2: S - P, y2: P, class: "diagonal" }));
    svg.appendChild(el("text", { x: S - P, y: S - 0.4 * f, "text-anchor": "end", class: "axis" }, "T"));
    svg.appendChild(el("text", { x: 0.3 * f, y: P + 0.4 * f, class: "axis" }, "S"));
    let x = 0, y = 0, d = `M${P},${S - P} `;
    for (const c of samples) {
      if (c === "T") x++; else y++;
      d += `L${(P + x * k).toFixed(1)},${(S - P - y * k).toFixed(1)} `;
    }
    svg.appendChild(el("path", { d, fill: "none", class: "st-line" }));
  }

  // Rt (teacher share) on x, Ch (change rate) on y, with the four lesson-type regions. Region
  // names sit at the top of their regions, clear of where lessons usually fall (low Ch).
  // ``provisional``: too few samples for a type; the point is drawn hollow.
  function rtCh(svg, rt, ch, labels, provisional = false) {
    clear(svg);
    const [S] = fit(svg, 1, 220, 420);
    const f = tickPx(svg);
    const P = 2.2 * f, k = S - 2 * P;
    const X = v => P + v * k, Y = v => S - P - v * k;
    const regions = [
      ["practice", 0, 0.3, 0, 1], ["lecture", 0.7, 1, 0, 1],
      ["mixed", 0.3, 0.7, 0, 0.4], ["dialogue", 0.3, 0.7, 0.4, 1],
    ];
    for (const [name, x0, x1, y0, y1] of regions) {
      svg.appendChild(el("rect", { x: X(x0), y: Y(y1), width: (x1 - x0) * k, height: (y1 - y0) * k,
        class: `region ${name}` }));
      svg.appendChild(el("text", { x: X((x0 + x1) / 2), y: Y(y1) + 1.3 * f,
        "text-anchor": "middle", class: "region-label" }, labels[name]));
    }
    for (const v of [0, 0.5, 1]) {
      svg.appendChild(el("text", { x: X(v), y: S - P + 1.3 * f, "text-anchor": "middle", class: "tick" }, v));
      svg.appendChild(el("text", { x: P - 0.4 * f, y: Y(v) + f / 3, "text-anchor": "end", class: "tick" }, v));
    }
    svg.appendChild(el("text", { x: X(0.85), y: S - 0.2 * f, "text-anchor": "middle", class: "axis" }, "Rt"));
    svg.appendChild(el("text", { x: 0.2 * f, y: P - 0.6 * f, class: "axis" }, "Ch"));
    if (rt != null && ch != null) {
      svg.appendChild(el("circle", { cx: X(rt), cy: Y(Math.min(ch, 1)), r: 0.6 * f,
        class: provisional ? "rtch-point provisional" : "rtch-point" }));
    }
  }

  // Vertical bars with a label under each: [{label, value, color}] (counts).
  function bars(svg, parts) {
    clear(svg);
    const [W, H] = fit(svg, 0.4, 160, 240);
    const f = tickPx(svg);
    const T = 1.4 * f, B = 1.8 * f, slot = W / Math.max(parts.length, 1);
    const top = Math.max(1, ...parts.map(p => p.value || 0));
    parts.forEach((p, i) => {
      const h = ((p.value || 0) / top) * (H - T - B);
      const x = i * slot + slot * 0.2;
      svg.appendChild(el("rect", { x, y: H - B - h, width: slot * 0.6, height: h, fill: p.color }));
      svg.appendChild(el("text", { x: x + slot * 0.3, y: H - B - h - 0.3 * f, "text-anchor": "middle",
        class: "tick" }, p.value ?? 0));
      svg.appendChild(el("text", { x: x + slot * 0.3, y: H - 0.4 * f, "text-anchor": "middle",
        class: "tick" }, p.label));
    });
  }

  // A stacked horizontal bar of shares (HR zones): [{label, value 0..1, color}].
  function stackedBar(container, parts) {
    container.textContent = "";
    const bar = document.createElement("div");
    bar.className = "stacked";
    for (const p of parts) {
      const seg = document.createElement("span");
      seg.style.flexGrow = Math.max(p.value || 0, 0);
      seg.style.background = p.color;
      seg.title = `${p.label} ${Math.round((p.value || 0) * 100)}%`;
      if ((p.value || 0) >= 0.12) seg.textContent = `${Math.round(p.value * 100)}%`;
      bar.appendChild(seg);
    }
    const legend = document.createElement("div");
    legend.className = "legend";
    legend.innerHTML = parts.map(p => `<span><i style="background:${p.color}"></i>${p.label}</span>`).join("");
    container.append(bar, legend);
  }

  return { timeline, stCurve, rtCh, bars, stackedBar };
})();
