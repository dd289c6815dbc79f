// evse-sim page: live state over server-sent events (/api/events), controls over the JSON API
// (simulator/web/http_api.py, simulator/web/page_api.py). Plain JS, no build step, nothing external.
"use strict";

const FAULT_TEXT = { rcd: "RCD trip", overcurrent: "overcurrent", pilot: "pilot / diode", comm: "board silent",
                     meter_comm: "meter silent", garbage: "board garbage" };
const PILOT_TEXT = { A: "A · no EV", B: "B · EV connected", C: "C · EV charging", D: "D · ventilation",
                     E: "E · error (CP short / diode)", F: "F · EVSE not available" };
const BUILT_IN_CARDS = [
  { name: "Alice", uid: "04A1B2C3D4E5F6" }, { name: "Bob", uid: "04A1B2C3" },
  { name: "Fleet card", uid: "0102030405060708090A" }, { name: "Visitor", uid: "DEADBEEF" },
];
const GPIO_TEXT = { welded: "contactor welded", stuck_open: "contactor stuck open", rcd_tripped: "residual current",
                    rcm_broken: "RCM test broken", estop_pressed: "E-stop pressed", button_pressed: "stop button held",
                    lock_jammed: "lock jammed" };
const NOISE = new Set(["Heartbeat", "MeterValues"]);
const MAX_LOG_ROWS = 300;
const CARDS_KEY = "evse-sim.cards";

const $ = (sel, root = document) => root.querySelector(sel);
let faults = Object.keys(FAULT_TEXT).slice(0, 5);
let gpioStates = [];       // what POST /api/evses/{id}/gpio can set (from /api/meta)
let state = null;          // the last state pushed
let receivedAt = 0;        // performance.now() when it came
const views = new Map();   // evse id -> its view
const ocpp = { status: {}, tx: {}, starting: {}, count: 0 };

// ---- helpers -------------------------------------------------------------------------
let toastTimer = 0;
function toast(text) {
  const t = $("#toast");
  t.textContent = text; t.classList.add("show");
  clearTimeout(toastTimer); toastTimer = setTimeout(() => t.classList.remove("show"), 4000);
}

async function api(method, path, body) {
  const opts = { method, headers: {} };
  if (body !== undefined) { opts.body = JSON.stringify(body); opts.headers["Content-Type"] = "application/json"; }
  try {
    const r = await fetch(path, opts);
    const data = await r.json().catch(() => ({}));
    if (!r.ok) toast(data.error || `HTTP ${r.status}`);
    return r.ok ? data : null;
  } catch (err) { toast(`simulator unreachable: ${err.message}`); return null; }
}

function duration(s) {
  s = Math.max(0, Math.floor(s));
  const h = Math.floor(s / 3600), m = Math.floor(s / 60) % 60, sec = String(s % 60).padStart(2, "0");
  return h ? `${h}:${String(m).padStart(2, "0")}:${sec}` : `${m}:${sec}`;
}

function simNow() {
  if (!state) return 0;
  return state.sim_time_s + (performance.now() - receivedAt) / 1000 * state.speed;
}

// ---- a connector -----------------------------------------------------------------------
function makeView(e) {
  const el = $("#evse-template").content.firstElementChild.cloneNode(true);
  el.id = `evse-${e.id}`;
  const f = {};
  el.querySelectorAll("[data-f]").forEach(n => { f[n.dataset.f] = n; });
  const view = { id: e.id, el, f, e, samples: [], session: null, sessionKey: undefined, oledKey: null };
  f.id.textContent = e.id;
  for (const kind of faults) {
    const b = document.createElement("button");
    b.dataset.act = "fault"; b.dataset.kind = kind; b.textContent = FAULT_TEXT[kind] || kind;
    b.title = `inject fault "${kind}"`;
    f.faults.appendChild(b);
  }
  const clear = document.createElement("button");
  clear.dataset.act = "clear"; clear.textContent = "clear fault";
  f.faults.appendChild(clear);
  for (const what of gpioStates) {
    const b = document.createElement("button");
    b.dataset.act = "gpio"; b.dataset.what = what; b.textContent = GPIO_TEXT[what] || what;
    b.title = `${what}: click to switch on or off`;
    f.wiring.appendChild(b);
  }

  const base = `/api/evses/${e.id}`;
  el.addEventListener("click", (ev) => {
    const b = ev.target.closest("button[data-act]"); if (!b) return;
    const act = b.dataset.act, now = view.e;
    if (act === "plug") api("POST", `${base}/${now.plugged ? "unplug" : "plug"}`);
    else if (act === "ev") api("POST", `${base}/ev`, { state: now.ev_request === "C" ? "B" : "C" });
    else if (act === "fault") api("POST", `${base}/fault`, { kind: b.dataset.kind });
    else if (act === "clear") api("DELETE", `${base}/fault`);
    else if (act === "reboot") api("POST", `${base}/reboot`).then(r => {
      if (r) toast(`connector ${view.id}: board rebooted, offering ${r.current_limit_a} A (its power-up current)`);
    });
    else if (act === "gpio") api("POST", `${base}/gpio`, { what: b.dataset.what, value: !b.classList.contains("active") });
  });
  f["battery-form"].addEventListener("submit", (ev) => {
    ev.preventDefault();
    const form = ev.target;
    api("POST", `${base}/battery`, { capacity_kwh: Number(form.capacity.value), soc: Number(form.soc.value) / 100 })
      .then(() => form.querySelector("button").blur());
  });
  new ResizeObserver(() => drawChart(view)).observe(f.chart);
  return view;
}

function renderEvse(view, e) {
  const f = view.f;
  view.e = e;
  f["pilot-letter"].textContent = e.ev_state;
  f["pilot-letter"].className = `pilot-badge ${e.ev_state}`;
  const meter = e.meter === "none" ? "own meter" : `${e.meter} #${e.meter_unit}`;
  const board = e.board_unit ? `${e.board} #${e.board_unit}` : e.board;
  f.hardware.textContent = `${board} · ${meter}`;
  f.hardware.title = "board and meter, with their Modbus unit ids";

  f.power.textContent = `${(e.power_w / 1000).toFixed(2)} kW`;
  f.power.dataset.watts = e.power_w;
  f.power.closest(".tile").classList.toggle("flowing", e.power_w > 0);
  f.current.textContent = `${e.current_a.toFixed(1)} A × ${e.phases} phase${e.phases > 1 ? "s" : ""}`;
  f.energy.textContent = e.session ? `${(e.session.energy_wh / 1000).toFixed(2)} kWh` : "–";
  f.meter.textContent = `meter ${(e.energy_wh / 1000).toFixed(3)} kWh`;
  f.limit.textContent = e.current_limit_a ? `${e.current_limit_a.toFixed(1)} A` : "off";
  f.phases.textContent = e.session && e.session.peak_w ? `peak ${(e.session.peak_w / 1000).toFixed(2)} kW` : "PWM offer";

  f.pilot.textContent = (PILOT_TEXT[e.ev_state] || e.ev_state);
  f.contactor.textContent = e.contactor_closed ? "closed" : "open";
  f.contactor.className = e.contactor_closed ? "on" : "off";
  f.fault.textContent = e.fault ? (FAULT_TEXT[e.fault] || e.fault) : "none";
  f.fault.className = e.fault ? "bad" : "off";

  const soc = e.soc * 100;
  f["soc-fill"].style.width = `${soc}%`;
  f["soc-fill"].classList.toggle("low", soc < 20);
  f.soc.textContent = `${soc.toFixed(1)} %`;
  if (e.battery_kwh !== undefined) {
    f.battery.textContent = `${(e.soc * e.battery_kwh).toFixed(1)} of ${e.battery_kwh} kWh`;
    const form = f["battery-form"];
    if (!form.contains(document.activeElement)) {
      form.capacity.value = e.battery_kwh;
      form.soc.value = Math.round(soc * 10) / 10;
    }
  } else {
    f["battery-form"].hidden = true;
  }

  const plug = $("button[data-act=plug]", view.el);
  plug.textContent = e.plugged ? "Unplug" : "Plug in";
  plug.classList.toggle("primary", !e.plugged);
  const ev = $("button[data-act=ev]", view.el);
  ev.disabled = !e.plugged;
  ev.textContent = e.ev_request === "C" ? "Pause charging (EV)" : "Resume charging (EV)";
  view.el.querySelectorAll("button[data-act=fault]").forEach(b => b.classList.toggle("active", b.dataset.kind === e.fault));
  $("button[data-act=clear]", view.el).disabled = !e.fault;

  renderSession(view, e);
  renderHardware(view, e);
  renderOcpp(view);
}

// ---- plug session and its power chart ---------------------------------------------------
function renderSession(view, e) {
  const key = e.session ? e.session.started_s : null;
  view.session = e.session;
  if (key !== view.sessionKey) {  // a new plug-in: fetch its history once
    view.sessionKey = key;
    view.samples = [];
    if (key !== null) {
      fetch(`/api/evses/${view.id}/session`).then(r => r.ok ? r.json() : null).then(h => {
        if (h && h.started_s === view.sessionKey) { view.samples = h.samples; drawChart(view); }
      });
    }
  } else if (e.session && e.session.ended_s === null) {
    const last = view.samples[view.samples.length - 1];
    if (!last || last[1] !== e.power_w) view.samples.push([state.sim_time_s, e.power_w]);
  }
  updateClock(view);
  scheduleChart(view);
}

function updateClock(view) {
  const s = view.session, f = view.f;
  if (!s) { f.session.textContent = "–"; f["session-note"].textContent = "not plugged in"; return; }
  const end = s.ended_s === null ? simNow() : s.ended_s;
  f.session.textContent = duration(end - s.started_s);
  f["session-note"].textContent = s.ended_s === null ? "since plug-in" : "last session (unplugged)";
}

function niceCeil(v) {
  const mag = 10 ** Math.floor(Math.log10(v));
  for (const m of [1, 1.2, 1.5, 2, 2.5, 3, 4, 5, 6, 8, 10]) if (m * mag >= v) return m * mag;
  return 10 * mag;
}

const pending = new Set();
function scheduleChart(view) {
  if (pending.size === 0) requestAnimationFrame(() => { pending.forEach(drawChart); pending.clear(); });
  pending.add(view);
}

function drawChart(view) {
  const c = view.f.chart, dpr = window.devicePixelRatio || 1;
  const w = c.clientWidth, h = c.clientHeight;
  if (!w || !h) return;
  if (c.width !== Math.round(w * dpr)) { c.width = Math.round(w * dpr); c.height = Math.round(h * dpr); }
  const ctx = c.getContext("2d");
  ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
  ctx.clearRect(0, 0, w, h);
  ctx.font = "11px system-ui, sans-serif";
  const s = view.session;
  if (!s) {
    ctx.fillStyle = "#94a0b4"; ctx.textAlign = "center"; ctx.textBaseline = "middle";
    ctx.fillText("Plug an EV in: its power over the session is drawn here.", w / 2, h / 2);
    return;
  }
  const L = 44, R = 10, T = 10, B = 20, pw = w - L - R, ph = h - T - B;
  const t0 = s.started_s, t1 = s.ended_s === null ? simNow() : s.ended_s;
  const span = Math.max(t1 - t0, 60);
  const seen = Math.max(0, ...view.samples.map(p => p[1]));
  c.dataset.samples = view.samples.length;  // what is drawn, for a reader of the DOM (tests)
  c.dataset.peakW = seen;
  const peak = Math.max(1000, seen);
  const top = niceCeil(peak * 1.1 / 1000) * 1000;
  const x = t => L + (Math.min(t, t1) - t0) / span * pw;
  const y = v => T + ph - v / top * ph;

  ctx.strokeStyle = "#e6e9ef"; ctx.fillStyle = "#8a94a7"; ctx.lineWidth = 1;
  ctx.textAlign = "right"; ctx.textBaseline = "middle";
  for (const frac of [0, 0.5, 1]) {
    const yy = Math.round(y(top * frac)) + 0.5;
    ctx.beginPath(); ctx.moveTo(L, yy); ctx.lineTo(w - R, yy); ctx.stroke();
    const kw = top * frac / 1000;
    ctx.fillText(`${Number.isInteger(kw) ? kw : kw.toFixed(1)} kW`, L - 6, yy);
  }
  ctx.textBaseline = "alphabetic";
  ctx.textAlign = "left"; ctx.fillText("0:00", L, h - 5);
  ctx.textAlign = "right"; ctx.fillText(duration(span), w - R, h - 5);

  if (!view.samples.length) return;
  const line = new Path2D();  // a step line: power holds until the next sample
  let prev = 0;
  line.moveTo(x(t0), y(0));
  for (const [t, v] of view.samples) { line.lineTo(x(t), y(prev)); line.lineTo(x(t), y(v)); prev = v; }
  line.lineTo(x(t1), y(prev));
  const area = new Path2D(line);
  area.lineTo(x(t1), y(0)); area.closePath();
  const grad = ctx.createLinearGradient(0, T, 0, T + ph);
  grad.addColorStop(0, "rgba(22,163,74,.35)"); grad.addColorStop(1, "rgba(22,163,74,.03)");
  ctx.fillStyle = grad; ctx.fill(area);
  ctx.strokeStyle = "#16a34a"; ctx.lineWidth = 2; ctx.lineJoin = "round"; ctx.stroke(line);
}

// ---- the OLED display and the GPIO parts, when the simulator has them ---------------------
function renderHardware(view, e) {
  const f = view.f;
  const display = state.i2c && state.i2c.displays && state.i2c.displays[String(e.id)];
  const gpio = state.gpio && state.gpio[String(e.id)];
  f["oled-frame"].hidden = !display;
  f.gpio.hidden = !gpio;
  f.wiring.hidden = !gpio || !gpioStates.length;
  f["hardware-row"].hidden = !display && !gpio;
  if (display) {
    const key = `${display.on}/${display.frames}`;
    if (key !== view.oledKey) {
      view.oledKey = key;
      fetch(`/api/evses/${e.id}/display`).then(r => r.ok ? r.json() : null).then(p => p && drawOled(f.oled, p));
    }
  }
  if (gpio) {
    for (const name of ["led_green", "led_blue", "led_red"]) f[name].classList.toggle("lit", !!(gpio.leds && gpio.leds[name]));
    const parts = [];
    if (gpio.contactor_wired) parts.push(`main contactor ${gpio.contacts_closed ? "closed" : "open"}${gpio.welded ? " (welded!)" : ""}`);
    if (gpio.lock_moves) parts.push(`cable ${gpio.lock_locked ? "locked" : "unlocked"}`);
    if (gpio.estop_pressed) parts.push("EMERGENCY STOP pressed");
    if (gpio.rcd_tripped) parts.push("RCD tripped");
    f["gpio-text"].textContent = parts.join(" · ") || "LEDs on the GPIO header";
    view.el.querySelectorAll("button[data-act=gpio]").forEach(b => b.classList.toggle("active", !!gpio[b.dataset.what]));
  }
}

function drawOled(canvas, picture) {
  const ctx = canvas.getContext("2d");
  canvas.width = picture.width; canvas.height = picture.height;
  const img = ctx.createImageData(picture.width, picture.height);
  const glow = 140 + Math.round((picture.contrast ?? 255) / 255 * 115);
  let litCount = 0;
  picture.rows.forEach((row, yy) => {
    for (let xx = 0; xx < row.length; xx++) {
      const i = (yy * picture.width + xx) * 4, lit = picture.on && row[xx] === "1";
      litCount += lit;
      img.data[i] = lit ? glow * 0.62 : 6; img.data[i + 1] = lit ? glow * 0.9 : 9; img.data[i + 2] = lit ? glow : 16;
      img.data[i + 3] = 255;
    }
  });
  ctx.putImageData(img, 0, 0);
  canvas.dataset.lit = litCount;  // what is drawn, for a reader of the DOM (tests)
}

// ---- OCPP: what the backend saw, and what it says about each connector ----------------------
function renderOcpp(view) {
  const st = ocpp.status[view.id], chip = view.f["ocpp-status"];
  chip.textContent = st ? st.status + (st.errorCode && st.errorCode !== "NoError" ? ` · ${st.errorCode}` : "") : "–";
  chip.className = `chip ${st ? st.status : ""}`;
  const tx = ocpp.tx[view.id], txChip = view.f.tx;
  txChip.hidden = !tx;
  if (tx) txChip.textContent = `tx ${tx.id} · ${tx.idTag}`;
}

function track(entry) {
  const p = entry.payload || {};
  if (entry.type === "CALL" && entry.direction === "cp->csms") {
    if (entry.action === "StatusNotification") ocpp.status[p.connectorId] = p;
    else if (entry.action === "StartTransaction") ocpp.starting[entry.id] = p;
    else if (entry.action === "StopTransaction") {
      for (const c of Object.keys(ocpp.tx)) if (ocpp.tx[c].id === p.transactionId) delete ocpp.tx[c];
    }
  } else if (entry.type === "CALLRESULT" && entry.action === "StartTransaction" && ocpp.starting[entry.id]) {
    const start = ocpp.starting[entry.id];
    delete ocpp.starting[entry.id];
    ocpp.tx[start.connectorId] = { id: p.transactionId, idTag: start.idTag };
  }
}

function compact(v) {
  if (v === null || typeof v !== "object") return typeof v === "string" ? JSON.stringify(v) : String(v);
  if (Array.isArray(v)) return `[${v.map(compact).join(", ")}]`;
  return `{${Object.entries(v).map(([k, x]) => `${k}: ${compact(x)}`).join(", ")}}`;
}

function summary(entry) {
  const p = entry.payload;
  if (entry.type === "malformed") return String(p);
  if (entry.type === "CALL" && entry.action === "StatusNotification" && p) {
    const error = p.errorCode && p.errorCode !== "NoError" ? ` · ${p.errorCode}` : "";
    const more = [p.vendorErrorCode, p.info].filter(Boolean).join(" ");
    return `connector ${p.connectorId} · ${p.status}${error}${more ? ` (${more})` : ""}`;
  }
  if (entry.type === "CALLRESULT" && p && typeof p === "object" && !Object.keys(p).length) return "ok";
  if (entry.type === "CALL" && entry.action === "MeterValues" && p && Array.isArray(p.meterValue)) {
    const parts = [];
    for (const mv of p.meterValue) {
      for (const sv of mv.sampledValue || []) {
        const m = (sv.measurand || "Energy.Active.Import.Register").replace(/\.(Active|Import|Register)/g, "");
        parts.push(`${m} ${sv.value}${sv.unit ? " " + sv.unit : ""}${sv.phase ? " " + sv.phase : ""}`);
      }
    }
    return `connector ${p.connectorId}${p.transactionId != null ? ` · tx ${p.transactionId}` : ""} · ${parts.join(", ")}`;
  }
  return compact(p);
}

function addLog(entry) {
  track(entry);
  ocpp.count += 1;
  const li = document.createElement("li");
  li.className = `${entry.type}${NOISE.has(entry.action) ? " noise" : ""}`;
  li.dataset.action = entry.action || "";
  li.dataset.type = entry.type;
  const up = entry.direction === "cp->csms";
  const cells = [
    ["t", (entry.time || "").slice(11, 19)],
    [`dir ${up ? "up" : "down"}`, up ? "CP → CSMS" : "CSMS → CP"],
    [`type ${entry.type}`, { CALL: "CALL", CALLRESULT: "RESULT", CALLERROR: "ERROR" }[entry.type] || "BAD"],
    ["action", entry.action || "?"],
    ["payload", summary(entry)],
  ];
  for (const [cls, text] of cells) {
    const span = document.createElement("span");
    span.className = cls; span.textContent = text;
    li.appendChild(span);
  }
  li.title = `${entry.cp} · message id ${entry.id}\n${JSON.stringify(entry.payload, null, 1)}`;
  li.addEventListener("click", () => li.classList.toggle("open"));
  const log = $("#log");
  log.prepend(li);
  while (log.children.length > MAX_LOG_ROWS) log.lastElementChild.remove();
  $("#log-empty").hidden = true;
  $("#log-count").textContent = `${ocpp.count} · ${entry.cp}`;
  views.forEach(renderOcpp);
}

function clearLog() {
  $("#log").replaceChildren();
  ocpp.status = {}; ocpp.tx = {}; ocpp.starting = {}; ocpp.count = 0;
  $("#log-count").textContent = "";
  $("#log-empty").hidden = false;
}

// ---- card reader ----------------------------------------------------------------------------
function savedCards() {
  try { return JSON.parse(localStorage.getItem(CARDS_KEY)) || []; } catch { return []; }
}

function renderCards() {
  const box = $("#saved-cards");
  box.replaceChildren();
  const own = savedCards();
  for (const card of [...BUILT_IN_CARDS, ...own]) {
    const b = document.createElement("button");
    b.className = "rfid"; b.dataset.uid = card.uid; b.title = `tap ${card.uid}`;
    b.innerHTML = "<b></b><code></code>";
    b.firstChild.textContent = card.name; b.lastChild.textContent = card.uid;
    if (own.includes(card)) {
      const x = document.createElement("span");
      x.className = "forget"; x.textContent = "×"; x.title = "forget this card";
      x.addEventListener("click", (ev) => {
        ev.stopPropagation();
        localStorage.setItem(CARDS_KEY, JSON.stringify(savedCards().filter(c => c.uid !== card.uid)));
        renderCards();
      });
      b.appendChild(x);
    }
    b.addEventListener("click", () => tap(card.uid));
    box.appendChild(b);
  }
}

function tap(uid) { return api("POST", "/api/card", { uid }); }

$("#uid-form").addEventListener("submit", (ev) => { ev.preventDefault(); tap($("#uid").value.trim().toUpperCase()); });
$("#save-uid").addEventListener("click", () => {
  const uid = $("#uid").value.trim().toUpperCase();
  if (![8, 14, 20].includes(uid.length) || !/^[0-9A-F]+$/.test(uid)) { toast("a UID is 4, 7 or 10 bytes of hex"); return; }
  const own = savedCards().filter(c => c.uid !== uid);
  own.push({ name: `Card …${uid.slice(-4)}`, uid });
  localStorage.setItem(CARDS_KEY, JSON.stringify(own));
  renderCards();
});

// ---- speed of time ----------------------------------------------------------------------------
document.querySelectorAll(".speed button").forEach(b =>
  b.addEventListener("click", () => api("POST", "/api/speed", { speed: Number(b.dataset.speed) })));
$("#speed").addEventListener("change", (ev) => api("POST", "/api/speed", { speed: Number(ev.target.value) }));
$("#show-noise").addEventListener("change", (ev) => $("#log").classList.toggle("noisy", ev.target.checked));
$("#log").classList.toggle("noisy", $("#show-noise").checked);

// ---- the whole state ------------------------------------------------------------------------
function render(next) {
  state = next; receivedAt = performance.now();
  const box = $("#evses");
  for (const e of state.evses) {
    let view = views.get(e.id);
    if (!view) { view = makeView(e); views.set(e.id, view); box.appendChild(view.el); }
    renderEvse(view, e);
  }
  document.querySelectorAll(".speed button").forEach(b => b.classList.toggle("on", Number(b.dataset.speed) === state.speed));
  if (document.activeElement !== $("#speed")) $("#speed").value = state.speed;
  $("#card").textContent = state.card || "no card";
  $("#reader-pad").classList.toggle("present", !!state.card);
  $("#card-next").hidden = !state.card_next;  // a tap waiting until the reader has seen the last card go
  $("#card-next").textContent = state.card_next ? `next: ${state.card_next}, once the reader has seen it empty` : "";
  if (state.card_error) toast(state.card_error);
  $("#simclock").textContent = duration(simNow());
}

setInterval(() => {  // the clocks move between pushes (drawn locally: nothing is fetched)
  if (!state) return;
  $("#simclock").textContent = duration(simNow());
  views.forEach(v => { updateClock(v); if (v.session && v.session.ended_s === null) scheduleChart(v); });
}, 500);

function connect() {
  const es = new EventSource("/api/events");
  es.onopen = () => { $("#conn").textContent = "live"; $("#conn").className = "live"; clearLog(); };
  es.onmessage = (ev) => render(JSON.parse(ev.data));
  es.addEventListener("ocpp", (ev) => addLog(JSON.parse(ev.data)));
  es.onerror = () => { $("#conn").textContent = "reconnecting…"; $("#conn").className = ""; };
}

renderCards();
fetch("/api/meta").then(r => r.json()).then(m => { faults = m.faults; gpioStates = m.gpio || []; })
  .catch(() => {}).finally(connect);
