"use strict";
// The service page: status, commissioning, hardware tests, support. Plain JavaScript, no build
// step; every text from the station goes in with textContent, never as HTML.
const t = (key, vars) => I18N.t(key, vars);
const $ = (selector, root) => (root || document).querySelector(selector);
const $$ = (selector, root) => Array.from((root || document).querySelectorAll(selector));
const el = (tag, props, ...children) => {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(props || {})) {
    if (key === "class") node.className = value;
    else if (key === "text") node.textContent = value;
    else if (key.startsWith("data-")) node.setAttribute(key, value);
    else node[key] = value;
  }
  node.append(...children.filter(c => c !== null && c !== undefined));
  return node;
};

const state = {session: null, status: null, config: null, proposal: null, restarting: false, connectors: []};

// ---- talking to the agent -------------------------------------------------------------------

class ApiError extends Error {
  constructor(status, body) {
    super(body.error || `HTTP ${status}`);
    this.status = status;
    this.code = body.code || "";
    this.body = body;
  }
}

async function api(method, path, body) {
  const options = {method, credentials: "same-origin", headers: {}};
  if (method !== "GET") {
    options.headers["Content-Type"] = "application/json";
    options.headers["X-CSRF-Token"] = state.session ? state.session.csrf : "";
    options.body = JSON.stringify(body || {});
  }
  const response = await fetch(path, options);
  const data = await response.json().catch(() => ({}));
  if (response.status === 401 && !state.restarting) {
    location.replace(data.code === "expired" ? "/login?expired=1" : "/login");
    throw new ApiError(401, data);
  }
  if (!response.ok) throw new ApiError(response.status, data);
  return data;
}

function message(error) {
  if (!(error instanceof ApiError)) return t("error.network");
  const known = t(`error.${error.code}`, {seconds: error.body.retry_after_s ?? ""});
  // Refusals of hardware tests and check-config's errors are the station's own words.
  return known === `error.${error.code}` || ["invalid", "ev_plugged", "session", "fault", "trip", "no_device",
    "board_silent", "timeout", "busy", "device_error", "conflict"].includes(error.code) ? error.message : known;
}

function banner(text, kind) {
  const node = $("#banner");
  node.textContent = text || "";
  node.className = `banner ${kind || ""}`;
  node.hidden = !text;
}

// ---- tabs ------------------------------------------------------------------------------------------

function showTab(name) {
  $$("#tabs button").forEach(b => b.classList.toggle("on", b.dataset.tab === name));
  $$(".tab").forEach(section => { section.hidden = section.id !== `tab-${name}`; });
  if (name === "config" && !state.config) loadConfig();
  if (name === "support") { loadLogs(); loadHistory(); }
}

// ---- status -----------------------------------------------------------------------------------------

const fmt = {
  amps: a => (a === null || a === undefined) ? "—" : `${Number(a).toFixed(1)} A`,
  watts: w => w >= 1000 ? `${(w / 1000).toFixed(2)} kW` : `${Math.round(w)} W`,
  energy: wh => `${(wh / 1000).toFixed(3)} kWh`,
  duration: s => {
    if (s === null || s === undefined) return "—";
    const d = Math.floor(s / 86400), h = Math.floor(s % 86400 / 3600), m = Math.floor(s % 3600 / 60);
    return (d ? `${d} d ` : "") + `${String(h).padStart(2, "0")}:${String(m).padStart(2, "0")}:${String(s % 60).padStart(2, "0")}`;
  },
  time: iso => iso ? new Date(iso).toLocaleString(I18N.lang) : "—",
  clock: iso => iso ? new Date(iso).toLocaleTimeString(I18N.lang) : "—",
};

function renderStatus(status) {
  state.status = status;
  const link = status.link || {};
  const linkState = $("#link-state");
  linkState.textContent = link.connected ? t("link.connected") + (link.registration ? ` (${link.registration})` : "") : t("link.not_connected");
  linkState.className = link.connected ? "ok" : "error";
  linkState.dataset.connected = link.connected ? "yes" : "no";
  $("#link-url").textContent = link.url || "";
  $("#link-version").textContent = link.ocpp_version || "—";
  $("#link-profile").textContent = link.security_profile ?? "—";
  $("#link-since").textContent = fmt.time(link.connected_since);
  $("#link-queue").textContent = status.queued_messages ?? "—";
  $("#link-error").textContent = link.last_error || "—";
  $("#agent-version").textContent = status.version || "";
  $("#agent-uptime").textContent = fmt.duration(status.uptime_s);
  $("#agent-storage").textContent = status.storage === "ok" ? t("ok") : status.storage;
  $("#agent-card-last").textContent = status.last_card || "—";
  renderConnectors(status.connectors || []);
  renderHardware(status.hardware || []);
  renderContactorTests(status.connectors || []);
}

function renderConnectors(connectors) {
  const box = $("#connectors");
  const ids = connectors.map(c => c.id);
  if (ids.join() !== state.connectors.join()) {
    state.connectors = ids;
    box.replaceChildren(...connectors.map(c => {
      const card = $("#connector-card").content.firstElementChild.cloneNode(true);
      card.id = `connector-${c.id}`;
      I18N.apply(card);
      return card;
    }));
    buildConnectorTests(connectors);
    for (const select of $$(".connector-filter")) {
      const value = select.value;
      select.replaceChildren(el("option", {value: "", text: t("support.all")}), ...ids.map(id => el("option", {value: id, text: id})));
      select.value = value;
    }
  }
  for (const c of connectors) {
    const card = $(`#connector-${c.id}`);
    const f = name => $(`[data-f=${name}]`, card);
    f("id").textContent = c.id;
    f("status").textContent = t(`status.${c.status}`);
    f("status").dataset.status = c.status;
    f("pilot").textContent = `${c.pilot} · ${t(`pilot.${c.pilot}`)}`;
    const relay = c.relay_closed === null ? "—" : t(c.relay_closed ? "closed" : "open");
    const main = c.contactor_closed === null ? "" : ` · ${t("c.main_contactor")}: ${t(c.contactor_closed ? "closed" : "open")}`;
    const test = c.contactor_test && c.contactor_test.closed ? ` · ${t("tests.contactor_held")}` : "";
    f("contactor").textContent = `${t("c.board_relay")}: ${relay}${main}${test}`;
    f("offered").textContent = fmt.amps(c.offered_a) + (c.board_offers_a !== null && c.board_offers_a !== c.offered_a
      ? ` (${t("c.board_says")} ${fmt.amps(c.board_offers_a)})` : "");
    f("drawn").textContent = c.current_a && c.current_a.length ? c.current_a.map(a => Number(a).toFixed(1)).join(" / ") + " A" : "—";
    f("power").textContent = fmt.watts(c.power_w);
    f("energy").textContent = fmt.energy(c.energy_wh);
    const tx = c.transaction;
    f("session").textContent = tx ? t("c.transaction", {id: tx.remote_id ?? `(${tx.local_id})`, tag: tx.id_tag,
      since: fmt.time(tx.started_at), energy: fmt.energy(tx.energy_wh)}) : "—";
    f("session").dataset.idTag = tx ? tx.id_tag : "";
    f("faults").replaceChildren(...(c.faults || []).map(fault => el("li", {class: "error", "data-code": fault.vendor_error_code || ""},
      el("strong", {text: `${fault.error_code}${fault.vendor_error_code ? " / " + fault.vendor_error_code : ""}`}),
      ` ${t(`fault.${fault.fault}`)}`)));
  }
}

function renderHardware(devices) {
  const rows = devices.map(d => {
    const name = t(`device.${d.kind}`) + (d.connector ? ` ${d.connector}` : "");
    const answering = d.answering === null || d.answering === undefined ? "—" : t(d.answering ? "yes" : "no");
    const extra = d.celsius !== undefined && d.celsius !== null ? ` (${Number(d.celsius).toFixed(1)} °C)` : "";
    const error = d.last_error ? `${fmt.time(d.last_error.at)}: ${d.last_error.message}` : "—";
    return el("tr", {"data-kind": d.kind}, el("td", {text: name}), el("td", {class: "mono", text: d.driver || "—"}),
      el("td", {class: d.answering === false ? "error" : "", text: answering + extra}), el("td", {class: "small", text: error}));
  });
  $("#hardware tbody").replaceChildren(...rows);
}

async function pollStatus() {
  if (!document.hidden && !state.restarting) {
    try {
      renderStatus(await api("GET", "/api/status"));
    } catch (error) {
      if (!(error instanceof ApiError)) $("#link-state").textContent = t("error.network");
    }
  }
  setTimeout(pollStatus, 1000);
}

// ---- commissioning ---------------------------------------------------------------------------------

function fieldInput(field, key, value, readOnly) {
  let input;
  if (field.type === "bool") {
    input = el("input", {type: "checkbox", checked: Boolean(value)});
  } else if (field.type === "choice") {
    input = el("select", {}, ...field.choices.map((choice, i) => el("option", {value: String(i), text: String(choice)})));
    const index = field.choices.findIndex(choice => choice === value);
    input.value = String(index >= 0 ? index : 0);
    input.choices = field.choices;
  } else {
    const numeric = field.type === "int" || field.type === "float";
    // I²C addresses as the data sheets write them (0x3C); "0x3C" and "60" both read back.
    const shown = field.key === "address" && typeof value === "number" ? `0x${value.toString(16).toUpperCase()}` : value;
    input = el("input", {type: "text", inputMode: numeric ? "decimal" : "text", value: shown ?? "", spellcheck: false,
      autocomplete: "off"});
  }
  input.dataset.key = key;
  input.dataset.type = field.type;
  if (field.optional) input.dataset.optional = "1";
  input.disabled = readOnly;
  if (/^connectors\[\d+\]\.id$/.test(key)) input.readOnly = true;  // numbered 1..n in order
  const label = el("label", {class: field.type === "bool" ? "check" : ""},
    el("span", {text: t(`field.${field.key}`) === `field.${field.key}` ? field.key : t(`field.${field.key}`)}), input);
  label.title = field.key;
  return label;
}

function readInput(input) {
  if (input.type === "checkbox") return input.checked;
  if (input.choices) return input.choices[Number(input.value)];
  const text = input.value.trim();
  if (input.dataset.type === "int" || input.dataset.type === "float") {
    if (text === "") return input.dataset.optional ? undefined : text;
    const number = Number(text);
    return Number.isFinite(number) && text !== "" ? number : text;  // check-config names a wrong one
  }
  return input.value;
}

function fieldsInto(box, fields, prefix, values, readOnly) {
  box.replaceChildren(...fields.map(field => fieldInput(field, `${prefix}.${field.key}`, values ? values[field.key] : field.default, readOnly)));
}

function deviceEditor(kind, prefix, values, readOnly, allowNone) {
  const drivers = state.config.schema.drivers[kind];
  const wrap = el("div", {class: "device", "data-prefix": prefix});
  const names = [...(allowNone ? ["none"] : []), ...Object.keys(drivers)];
  const select = el("select", {}, ...names.map(name => el("option", {value: name, text: name})));
  select.value = values && values.driver ? values.driver : names[0];
  select.dataset.key = `${prefix}.driver`;
  select.disabled = readOnly;
  const summary = el("p", {class: "muted small"});
  const grid = el("div", {class: "grid"});
  let current = {...(values || {})};
  const draw = () => {
    for (const input of $$("[data-key]", grid)) current[input.dataset.key.slice(prefix.length + 1)] = readInput(input);
    const spec = drivers[select.value];
    summary.textContent = spec ? spec.summary : "";
    fieldsInto(grid, spec ? spec.fields : [], prefix, Object.fromEntries(
      (spec ? spec.fields : []).map(f => [f.key, current[f.key] ?? f.default])), readOnly);
  };
  select.addEventListener("change", draw);
  wrap.append(el("label", {}, el("span", {text: t("config.driver")}), select), summary, grid);
  draw();
  return wrap;
}

function busEditor(bus, index, readOnly) {
  const box = el("fieldset", {class: "item"}, el("legend", {text: `${t("config.bus")} ${index + 1}`}));
  const grid = el("div", {class: "grid"});
  fieldsInto(grid, state.config.schema.bus, `buses[${index}]`, bus, readOnly);
  box.append(grid);
  if (!readOnly) {
    const remove = el("button", {type: "button", class: "small secondary", text: t("config.remove")});
    remove.addEventListener("click", () => { const form = collectForm(); form.buses.splice(index, 1); drawForm(form); });
    box.append(remove);
  }
  return box;
}

function connectorEditor(conn, index, readOnly) {
  const box = el("fieldset", {class: "item", "data-connector": index}, el("legend", {text: `${t("connector")} ${index + 1}`}));
  const grid = el("div", {class: "grid"});
  fieldsInto(grid, state.config.schema.connector, `connectors[${index}]`, conn, readOnly);
  box.append(grid,
    el("h3", {text: t("config.board")}), deviceEditor("board", `connectors[${index}].board`, conn.board, readOnly, false),
    el("h3", {text: t("config.meter")}), deviceEditor("meter", `connectors[${index}].meter`, conn.meter, readOnly, true));
  if (!readOnly) {
    const remove = el("button", {type: "button", class: "small secondary", text: t("config.remove")});
    remove.addEventListener("click", () => {
      const form = collectForm(); form.connectors.splice(index, 1);
      form.connectors.forEach((c, i) => { c.id = i + 1; });
      drawForm(form);
    });
    box.append(remove);
  }
  return box;
}

function drawForm(values) {
  const readOnly = !state.config.may_change;
  const schema = state.config.schema;
  fieldsInto($("#cf-charge_point"), schema.charge_point, "charge_point", values.charge_point, readOnly);
  fieldsInto($("#cf-ocpp"), schema.ocpp, "ocpp", values.ocpp, readOnly);
  const key = el("input", {type: "password", autocomplete: "new-password", value: "",
    placeholder: values.ocpp.authorization_key_set ? t("config.key_set") : t("config.key_not_set")});
  key.dataset.key = "ocpp.authorization_key";
  key.dataset.type = "str";
  key.disabled = readOnly;
  $("#cf-ocpp").append(el("label", {title: t("config.key_help")}, el("span", {text: t("field.authorization_key")}), key));
  $("#cf-buses").replaceChildren(...(values.buses || []).map((bus, i) => busEditor(bus, i, readOnly)));
  $("#cf-connectors").replaceChildren(...(values.connectors || []).map((c, i) => connectorEditor(c, i, readOnly)));
  const reader = el("div");
  const readerGrid = el("div", {class: "grid"});
  fieldsInto(readerGrid, schema.card_reader, "card_reader", values.card_reader, readOnly);
  reader.append(deviceEditor("card_reader", "card_reader", values.card_reader, readOnly, true), readerGrid);
  $("#cf-card_reader").replaceChildren(reader);
  $$(".changes").forEach(node => { node.hidden = readOnly; });
  $("#config-restore").hidden = readOnly || !state.config.previous;
  $("#config-readonly").hidden = !readOnly;
}

function setPath(target, path, value) {
  const parts = path.match(/[^.[\]]+/g);
  let node = target;
  parts.forEach((part, i) => {
    const last = i === parts.length - 1;
    const key = /^\d+$/.test(part) ? Number(part) : part;
    if (last) { if (value !== undefined) node[key] = value; return; }
    if (node[key] === undefined) node[key] = /^\d+$/.test(parts[i + 1]) ? [] : {};
    node = node[key];
  });
}

function collectForm() {
  const form = {buses: [], connectors: []};
  for (const input of $$("#config-form [data-key]")) setPath(form, input.dataset.key, readInput(input));
  form.connectors = form.connectors.filter(Boolean);
  form.buses = form.buses.filter(Boolean);
  return form;
}

async function loadConfig() {
  try {
    state.config = await api("GET", "/api/config");
  } catch (error) {
    $("#config-problem").textContent = message(error);
    $("#config-problem").hidden = false;
    return;
  }
  $("#config-path").textContent = state.config.path;
  $("#config-problem").textContent = state.config.problem || "";
  $("#config-problem").hidden = !state.config.problem;
  const overridden = state.config.overridden || [];
  $("#config-overridden").textContent = overridden.length ? t("config.overridden", {keys: overridden.join(", ")}) : "";
  $("#config-overridden").hidden = !overridden.length;
  drawForm(state.config.values);
  showProposal(null);
}

function clearInvalid() {
  $$(".invalid").forEach(node => node.classList.remove("invalid"));
  $$(".field-error").forEach(node => node.remove());
}

function markInvalid(key, text) {
  const input = key ? $(`#config-form [data-key="${CSS.escape(key)}"]`) : null;
  if (input) {
    input.classList.add("invalid");
    input.closest("label").after(el("p", {class: "field-error error", text}));
    input.focus();
    input.scrollIntoView({block: "center"});
    return;
  }
  const section = key ? key.replace(/\[.*$/, "").split(".")[0] : "";
  const box = section && $(`#cf-${section === "buses" || section === "connectors" ? section : section}`);
  if (box) box.closest("fieldset").classList.add("invalid");
}

function showProposal(proposal, restore) {
  state.proposal = proposal;
  $("#config-form").hidden = Boolean(proposal && proposal.ok && proposal.changed);
  $("#config-result").hidden = !proposal;
  if (!proposal) return;
  state.proposal.restore = Boolean(restore);
  const error = $("#config-error");
  error.textContent = proposal.error || "";
  error.hidden = !proposal.error;
  const ok = $("#config-ok");
  ok.textContent = proposal.error ? "" : (proposal.changed ? t("config.passes") : t("config.unchanged"));
  ok.hidden = Boolean(proposal.error);
  const diff = $("#config-diff");
  diff.replaceChildren(...(proposal.diff || []).map(line => el("span", {
    class: line.startsWith("+") && !line.startsWith("+++") ? "add" : line.startsWith("-") && !line.startsWith("---") ? "del" : "",
    text: line + "\n"})));
  diff.hidden = !(proposal.diff || []).length;
  $("#config-apply").hidden = !(proposal.ok && proposal.changed);
  clearInvalid();
  if (proposal.error) markInvalid(proposal.error_key, proposal.error);
}

async function checkConfig(event) {
  event.preventDefault();
  try {
    showProposal(await api("POST", "/api/config/check", {form: collectForm()}));
  } catch (error) {
    showProposal({ok: false, error: message(error), diff: []});
  }
}

async function checkRestore() {
  try {
    showProposal(await api("POST", "/api/config/restore/check", {}), true);
  } catch (error) {
    showProposal({ok: false, error: message(error), diff: []});
  }
}

async function applyConfig() {
  const proposal = state.proposal;
  const before = state.status ? state.status.started_at : null;
  $("#config-apply").disabled = true;
  try {
    if (proposal.restore) await api("POST", "/api/config/restore/apply", {digest: proposal.digest});
    else await api("POST", "/api/config/apply", {form: collectForm(), digest: proposal.digest});
  } catch (error) {
    $("#config-apply").disabled = false;
    showProposal({...proposal, ok: false, error: message(error), error_key: error.body ? error.body.error_key : null});
    return;
  }
  $("#config-apply").disabled = false;
  await waitForRestart(before);
}

async function waitForRestart(before) {
  state.restarting = true;
  banner(t("config.restarting"), "busy");
  const deadline = Date.now() + 120000;
  while (Date.now() < deadline) {
    await new Promise(resolve => setTimeout(resolve, 500));
    try {
      const response = await fetch("/api/status", {credentials: "same-origin"});
      if (response.status === 401) { location.replace("/login"); return; }
      const status = await response.json();
      if (response.ok && status.started_at !== before) {
        state.restarting = false;
        state.config = null;
        banner(t("config.restarted"), "ok");
        renderStatus(status);
        showTab("status");
        return;
      }
    } catch (error) { /* the agent is restarting */ }
  }
  state.restarting = false;
  banner(t("config.no_restart"), "error");
}

// ---- hardware tests -------------------------------------------------------------------------------------

function logTest(text, ok) {
  const item = el("li", {class: ok ? "ok" : "error"}, el("time", {text: new Date().toLocaleTimeString(I18N.lang)}), ` ${text}`);
  $("#test-log").prepend(item);
}

function describe(test, result) {
  switch (test) {
    case "meter": return t("tests.meter_result", {energy: fmt.energy(result.energy_wh), power: fmt.watts(result.power_w),
      current: (result.current_a || []).map(a => a.toFixed(1)).join(" / ") || "—",
      voltage: (result.voltage_v || []).map(v => v.toFixed(0)).join(" / ") || "—", ms: result.took_ms});
    case "lights": return t("tests.lights_result", {lights: (result.result || []).join(", ")});
    case "display": return t("tests.display_result");
    case "rcd": return result.passed ? t("tests.rcd_passed") : t("tests.rcd_failed", {detail: result.detail});
    default: return JSON.stringify(result);
  }
}

function buildConnectorTests(connectors) {
  $("#connector-tests").replaceChildren(...connectors.map(c => {
    const card = $("#connector-tests-card").content.firstElementChild.cloneNode(true);
    card.id = `tests-${c.id}`;
    I18N.apply(card);
    $("[data-f=id]", card).textContent = c.id;
    const result = $("[data-f=result]", card);
    for (const button of $$("button[data-test]:not(.hold)", card)) {
      button.addEventListener("click", async () => {
        const test = button.dataset.test;
        button.disabled = true;
        result.textContent = t("tests.running");
        result.className = "result";
        try {
          const body = {connector: c.id};
          if (test === "display") body.text = t("tests.display_text");
          const answer = await api("POST", `/api/test/${test}`, body);
          result.textContent = describe(test, answer);
          result.className = `result ${test === "rcd" && !answer.passed ? "error" : "ok"}`;
          logTest(`${t("connector")} ${c.id}: ${result.textContent}`, !(test === "rcd" && !answer.passed));
        } catch (error) {
          result.textContent = message(error);
          result.className = "result error";
          result.dataset.code = error.code || "";
          logTest(`${t("connector")} ${c.id}: ${result.textContent}`, false);
        } finally {
          button.disabled = false;
        }
      });
    }
    holdButton($("button.hold", card), c.id, $("[data-f=contactor-state]", card));
    return card;
  }));
}

// A dead man's switch: the contactor stays closed only while the button is held and the page
// renews the hold (the station opens it within a second otherwise).
function holdButton(button, connector, output) {
  let timer = null;
  let holding = false;
  const stop = async () => {
    if (!holding) return;
    holding = false;
    clearInterval(timer);
    button.classList.remove("held");
    try {
      const answer = await api("POST", "/api/test/contactor/release", {connector});
      output.textContent = t("tests.contactor_open");
      output.className = "result";
      logTest(`${t("connector")} ${connector}: ${t("tests.contactor_released")}${answer.ended ? ` (${answer.ended})` : ""}`, true);
    } catch (error) { output.textContent = message(error); }
  };
  const renew = async first => {
    try {
      const answer = await api("POST", "/api/test/contactor/hold", {connector, first});
      if (!holding) return;
      output.textContent = t("tests.contactor_closed", {feedback: answer.feedback === null ? "—" : t(answer.feedback ? "closed" : "open")});
      output.className = "result ok";
      if (first) logTest(`${t("connector")} ${connector}: ${t("tests.contactor_held")}`, true);
    } catch (error) {
      holding = false;
      clearInterval(timer);
      button.classList.remove("held");
      output.textContent = message(error);
      output.className = "result error";
      output.dataset.code = error.code || "";
      logTest(`${t("connector")} ${connector}: ${output.textContent}`, false);
    }
  };
  const start = event => {
    event.preventDefault();
    if (holding) return;
    holding = true;
    button.classList.add("held");
    delete output.dataset.code;
    renew(true);
    timer = setInterval(() => renew(false), 300);
  };
  button.addEventListener("pointerdown", start);
  for (const name of ["pointerup", "pointerleave", "pointercancel"]) button.addEventListener(name, stop);
  button.addEventListener("keydown", event => { if (event.key === " " || event.key === "Enter") start(event); });
  button.addEventListener("keyup", stop);
  button.addEventListener("contextmenu", event => event.preventDefault());
  window.addEventListener("blur", stop);
  document.addEventListener("visibilitychange", () => { if (document.hidden) stop(); });
}

function renderContactorTests(connectors) {
  for (const c of connectors) {
    const card = $(`#tests-${c.id}`);
    if (!card) continue;
    const tests = c.tests || {};
    for (const button of $$("button[data-test]", card)) {
      const available = {meter: tests.meter, lights: tests.lights, display: tests.display, rcd: tests.rcd_test,
        contactor: tests.contactor}[button.dataset.test];
      button.classList.toggle("unavailable", !available);
      button.title = available ? "" : t("tests.not_available");
    }
  }
  $("#card-test-button").classList.toggle("unavailable", !(connectors[0] && connectors[0].tests && connectors[0].tests.card_reader));
}

async function cardTest() {
  const button = $("#card-test-button");
  const result = $("#card-test-result");
  button.disabled = true;
  result.textContent = t("tests.card_waiting");
  result.className = "result busy";
  delete result.dataset.idTag;
  try {
    const answer = await api("POST", "/api/test/card", {});
    result.textContent = t(answer.accepted ? "tests.card_accepted" : "tests.card_refused", {card: answer.id_tag, why: answer.why});
    result.className = `result ${answer.accepted ? "ok" : "error"}`;
    result.dataset.idTag = answer.id_tag;
    result.dataset.accepted = answer.accepted ? "yes" : "no";
    logTest(result.textContent, answer.accepted);
  } catch (error) {
    result.textContent = message(error);
    result.className = "result error";
    logTest(result.textContent, false);
  } finally {
    button.disabled = false;
  }
}

// ---- support ---------------------------------------------------------------------------------------------

async function loadLogs() {
  const query = new URLSearchParams({limit: "300", level: $("#log-level").value, contains: $("#log-contains").value});
  if ($("#log-connector").value) query.set("connector", $("#log-connector").value);
  try {
    const lines = await api("GET", `/api/logs?${query}`);
    $("#log-lines tbody").replaceChildren(...lines.reverse().map(line => el("tr", {class: `level-${line.level.toLowerCase()}`},
      el("td", {class: "nowrap", text: fmt.clock(line.at), title: fmt.time(line.at)}),
      el("td", {class: "nowrap", text: line.level}), el("td", {text: line.connector ?? ""}),
      el("td", {class: "message", text: line.message}))));
  } catch (error) { banner(message(error), "error"); }
}

async function loadHistory() {
  const query = new URLSearchParams({limit: "300"});
  if ($("#history-connector").value) query.set("connector", $("#history-connector").value);
  try {
    const entries = await api("GET", `/api/history?${query}`);
    $("#history tbody").replaceChildren(...entries.reverse().map(entry => el("tr", {},
      el("td", {class: "nowrap", text: fmt.clock(entry.at), title: fmt.time(entry.at)}),
      el("td", {text: entry.connector_id}), el("td", {text: entry.kind}),
      el("td", {text: entry.detail}))));
  } catch (error) { banner(message(error), "error"); }
}

// ---- start -----------------------------------------------------------------------------------------------

document.addEventListener("DOMContentLoaded", async () => {
  await I18N.init($("#language"), () => {
    state.connectors = [];
    if (state.status) renderStatus(state.status);
    if (state.config) drawForm(collectForm());
  });
  try {
    state.session = await api("GET", "/api/session");
  } catch (error) { return; }
  const badge = $("#role-badge");
  badge.textContent = t(`role.${state.session.role}`);
  badge.dataset.role = state.session.role;
  $$("#tabs button").forEach(button => button.addEventListener("click", () => showTab(button.dataset.tab)));
  $("#logout").addEventListener("click", async () => {
    try { await api("POST", "/api/logout", {}); } finally { location.replace("/login?out=1"); }
  });
  $("#config-form").addEventListener("submit", checkConfig);
  $("#config-restore").addEventListener("click", checkRestore);
  $("#config-apply").addEventListener("click", applyConfig);
  $("#config-cancel").addEventListener("click", () => showProposal(null));
  $("#add-bus").addEventListener("click", () => {
    const form = collectForm();
    form.buses.push({name: `bus${form.buses.length + 1}`, kind: "rtu", device: "/dev/ttyUSB0"});
    drawForm(form);
  });
  $("#add-connector").addEventListener("click", () => {
    const form = collectForm();
    const last = form.connectors[form.connectors.length - 1];
    form.connectors.push(last ? JSON.parse(JSON.stringify({...last, id: form.connectors.length + 1}))
      : {id: 1, board: {driver: "evse-din"}, meter: {driver: "none"}});
    drawForm(form);
  });
  $("#card-test-button").addEventListener("click", cardTest);
  $("#log-refresh").addEventListener("click", loadLogs);
  $("#history-refresh").addEventListener("click", loadHistory);
  $("#log-connector").addEventListener("change", loadLogs);
  $("#log-level").addEventListener("change", loadLogs);
  $("#history-connector").addEventListener("change", loadHistory);
  pollStatus();
});
