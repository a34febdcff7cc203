// Technician calibration: draw zones on a face-blurred snapshot, save with PUT /api/calibration/zones.
"use strict";
const COLORS = { teacher: "#1e88e5", board: "#43a047", station: "#fb8c00", floor: "#e53935" };
let zones = { teacher: null, board: null, stations: {}, floor: null };
let draft = [];
const $ = id => document.getElementById(id);

function say(text, error = false) {
  $("message").textContent = text;
  $("message").classList.toggle("error", error);
  delete $("message").dataset.kind;
}

async function api(path, options) {
  const r = await fetch(path, options);
  if (!r.ok) {
    const body = await r.json().catch(() => ({}));
    const detail = Array.isArray(body.detail) ? body.detail.map(d => `${d.loc.join(".")}: ${d.msg}`).join("; ") : body.detail;
    throw new Error(detail || `HTTP ${r.status}`);
  }
  return r;
}

async function loadCameras() {
  const ids = await (await api("/api/calibration/cameras")).json();
  $("camera").innerHTML = ids.map(id => `<option>${esc(id)}</option>`).join("");
  if (!ids.length) say("No camera configured · 未配置摄像头", true);
  return ids;
}

function snapshotUrl(camera) {
  // A fresh URL each time: the snapshot is never cached (the server also sends no-store).
  return `/api/calibration/snapshot?camera=${encodeURIComponent(camera)}&t=${Date.now()}`;
}

// Open on the first camera that has a picture (a scene file or a camera still connecting has
// none); the first camera when none has.
async function firstWithPicture(ids) {
  for (const id of ids) {
    const r = await fetch(snapshotUrl(id), { method: "GET" }).catch(() => null);
    if (r && r.ok) return id;
  }
  return ids[0];
}

function loadSnapshot() {
  const camera = $("camera").value;
  if (!camera) return;
  $("snapshot").src = snapshotUrl(camera);
}

function snapshotLoaded() {
  // A picture arrived: an earlier "no snapshot" error no longer holds.
  if ($("message").classList.contains("error") && $("message").dataset.kind === "snapshot") say("");
  render();
}

function snapshotFailed() {
  say("No snapshot from this camera · 无法获取快照", true);
  $("message").dataset.kind = "snapshot";
}

function imagePoint(event) {
  const img = $("snapshot"), box = img.getBoundingClientRect();
  const sx = img.naturalWidth / box.width, sy = img.naturalHeight / box.height;
  return [Math.round((event.clientX - box.left) * sx), Math.round((event.clientY - box.top) * sy)];
}

function shape(points, color, label, extraClass = "") {
  if (!points || !points.length) return "";
  const pts = points.map(p => p.join(",")).join(" ");
  // The label sits at the shape's centre: at a corner it would be cut off at the image's edge.
  const cx = points.reduce((a, p) => a + p[0], 0) / points.length;
  const cy = points.reduce((a, p) => a + p[1], 0) / points.length;
  return `<polygon points="${pts}" fill="${color}" stroke="${color}" class="${extraClass}"></polygon>` +
    `<text x="${cx}" y="${cy}" text-anchor="middle" dominant-baseline="middle">${esc(label)}</text>`;
}

function render() {
  const img = $("snapshot");
  const svg = $("overlay");
  const width = img.naturalWidth || 1920, height = img.naturalHeight || 1080;
  svg.setAttribute("viewBox", `0 0 ${width} ${height}`);
  // Image pixels per screen pixel: labels and dots keep one on-screen size whatever the camera
  // resolution (the overlay's viewBox is in image pixels).
  const unit = width / (img.getBoundingClientRect().width || width);
  svg.style.fontSize = `${18 * unit}px`;
  let html = shape(zones.teacher, COLORS.teacher, "teacher") + shape(zones.board, COLORS.board, "board");
  for (const [name, s] of Object.entries(zones.stations)) html += shape(s.polygon, COLORS.station, `${name} (${s.exercise})`);
  if (zones.floor) {
    html += zones.floor.image.map((p, i) => `<circle cx="${p[0]}" cy="${p[1]}" r="${7 * unit}" fill="${COLORS.floor}"></circle>` +
      `<text x="${p[0] + 9 * unit}" y="${p[1] - 9 * unit}">${i + 1}</text>`).join("");
  }
  html += draft.map(p => `<circle cx="${p[0]}" cy="${p[1]}" r="${5 * unit}" fill="#fff"></circle>`).join("");
  if (draft.length > 1) html += `<polyline class="draft" points="${draft.map(p => p.join(",")).join(" ")}"></polyline>`;
  svg.innerHTML = html;
  renderList();
  renderFloorTable();
}

function renderList() {
  const items = [];
  if (zones.teacher) items.push(["teacher", "Teacher zone · 讲台区"]);
  if (zones.board) items.push(["board", "Board zone · 黑板区"]);
  for (const [name, s] of Object.entries(zones.stations)) items.push([`station:${name}`, `${esc(name)}: ${esc(s.exercise)}`]);
  if (zones.floor) items.push(["floor", "Floor points · 地面标定"]);
  $("zone-list").innerHTML = items.map(([key, text]) => `<li>${text}<button data-key="${esc(key)}">✕</button></li>`).join("");
}

function renderFloorTable() {
  const floor = zones.floor;
  $("floor-table").hidden = !floor;
  if (!floor) return;
  $("floor-table").querySelector("tbody").innerHTML = floor.world_m.map((w, i) =>
    `<tr><td>${i + 1}</td><td><input type="number" step="0.1" data-i="${i}" data-c="0" value="${w[0]}"></td>` +
    `<td><input type="number" step="0.1" data-i="${i}" data-c="1" value="${w[1]}"></td></tr>`).join("");
}

function finishShape() {
  const tool = $("tool").value;
  if (tool === "floor") {
    if (draft.length !== 4) return say("The floor needs exactly 4 points · 需要 4 个点", true);
    const old = zones.floor?.world_m || [[0, 0], [1, 0], [1, 1], [0, 1]];
    zones.floor = { image: draft, world_m: old };
    say("Enter each point's position in metres · 请输入每个点的实际坐标（米）");
  } else {
    if (draft.length < 3) return say("A zone needs at least 3 points · 至少 3 个点", true);
    if (tool === "station") {
      const name = $("station-name").value.trim();
      if (!name) return say("Name the station · 请填写站点名称", true);
      zones.stations[name] = { exercise: $("exercise").value, polygon: draft };
    } else {
      zones[tool] = draft;
    }
    say("");
  }
  draft = [];
  render();
}

function removeZone(key) {
  if (key.startsWith("station:")) delete zones.stations[key.slice(8)];
  else zones[key] = null;
  render();
}

async function save() {
  try {
    const body = JSON.stringify(zones);
    const r = await api("/api/calibration/zones", { method: "PUT", body, headers: { "Content-Type": "application/json" } });
    zones = await r.json();
    say("Saved; used from the next run · 已保存，下次运行生效");
    render();
  } catch (e) {
    say(`Not saved · 未保存: ${e.message}`, true);
  }
}

async function main() {
  $("overlay").addEventListener("click", e => { draft.push(imagePoint(e)); render(); });
  $("snapshot").addEventListener("load", snapshotLoaded);
  window.addEventListener("resize", render);
  $("snapshot").addEventListener("error", snapshotFailed);
  $("finish").addEventListener("click", finishShape);
  $("undo").addEventListener("click", () => { draft.pop(); render(); });
  $("clear").addEventListener("click", () => { draft = []; const t = $("tool").value; if (t !== "station") zones[t] = null; render(); });
  $("zone-list").addEventListener("click", e => e.target.dataset.key && removeZone(e.target.dataset.key));
  $("floor-table").addEventListener("change", e => {
    const { i, c } = e.target.dataset;
    zones.floor.world_m[Number(i)][Number(c)] = Number(e.target.value);
  });
  $("tool").addEventListener("change", () => { $("station-fields").hidden = $("tool").value !== "station"; draft = []; render(); });
  $("station-fields").hidden = true;
  $("camera").addEventListener("change", loadSnapshot);
  $("reload").addEventListener("click", loadSnapshot);
  $("save").addEventListener("click", save);
  try {
    zones = await (await api("/api/calibration/zones")).json();
    const ids = await loadCameras();
    if (ids.length) $("camera").value = await firstWithPicture(ids);
    loadSnapshot();
  } catch (e) {
    say(e.message, true);
  }
  render();
}

main();
