// nlpfactory studio page: the canvas is Drawflow's; everything else (palette, forms, checks,
// runs) talks to the studio's JSON API. The graph sent to the API is rebuilt from the canvas
// and `nodes` (form values per canvas node) each time, so the two never drift apart.
"use strict";

const api = async (method, path, body) => {
  const response = await fetch(path, {
    method, headers: body === undefined ? {} : { "Content-Type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const data = await response.json().catch(() => ({}));
  if (!response.ok) throw new Error(data.error || data.detail || `${method} ${path}: HTTP ${response.status}`);
  return data;
};
const $ = (sel) => document.querySelector(sel);
const el = (tag, attrs = {}, ...children) => {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === "class") node.className = v; else if (k.startsWith("on")) node.addEventListener(k.slice(2), v);
    else node.setAttribute(k, v);
  }
  for (const c of children) node.append(c);
  return node;
};

const components = {};          // name -> palette entry
const nodes = {};               // Drawflow id -> {id, component, params, label}
let parameters = {};            // the pipeline's own parameters (templates bind node fields to them)
let outputs = {};
let description = "";
let groups = {};                // loops and conditions of an opened template (the canvas shows, not edits, them)
let history = [];               // graphs before each change, for undo
let loading = false;            // true while the canvas is rebuilt: its events are not edits
let selected = null;
let currentRun = null;
let pollTimer = null;
let validateTimer = null;
let checks = 0;                 // graph checks asked for: an answer to an older one is not shown

const editor = new Drawflow($("#canvas"));
editor.reroute = false;
editor.zoom_min = 0.5;  // smaller than this, the forms' names cannot be read: pan instead
editor.start();

function say(text, isError = false) {
  const box = $("#message");
  box.textContent = text;
  box.classList.toggle("error", isError);
}

// ---------- palette ----------
function artifactInputs(c) { return c.inputs; }

async function loadPalette(answer) {
  const data = await answer;
  for (const c of data.components) components[c.name] = c;
  const list = $("#palette-list");
  for (const stage of data.stages) {
    const members = data.components.filter((c) => c.stage === stage);
    if (!members.length) continue;
    list.append(el("h3", { "data-stage": stage }, stage));
    for (const c of members) {
      const item = el("div", { class: "palette-item", draggable: "true", "data-component": c.name, "data-stage": stage, title: c.description },
        c.name, el("small", {}, c.description));
      item.addEventListener("dragstart", (ev) => ev.dataTransfer.setData("text/plain", c.name));
      item.addEventListener("dblclick", () => addNode(c.name, 60 + Object.keys(nodes).length * 40, 60));
      list.append(item);
    }
  }
  $("#palette-search").addEventListener("input", (ev) => {
    const words = ev.target.value.trim().toLowerCase();
    for (const item of document.querySelectorAll(".palette-item")) item.hidden = !item.dataset.component.includes(words);
    for (const h of document.querySelectorAll("#palette-list h3")) {
      h.hidden = !document.querySelector(`.palette-item[data-stage='${h.dataset.stage}']:not([hidden])`);
    }
  });
}

$("#canvas").addEventListener("dragover", (ev) => ev.preventDefault());
$("#canvas").addEventListener("drop", (ev) => {
  ev.preventDefault();
  const name = ev.dataTransfer.getData("text/plain");
  if (!components[name]) return;
  const rect = editor.precanvas.getBoundingClientRect();
  addNode(name, (ev.clientX - rect.x) / editor.zoom, (ev.clientY - rect.y) / editor.zoom);
});

// ---------- nodes ----------
function uniqueId(base) {
  const taken = new Set(Object.values(nodes).map((n) => n.id));
  if (!taken.has(base)) return base;
  for (let i = 2; ; i++) if (!taken.has(`${base}-${i}`)) return `${base}-${i}`;
}

function addNode(component, x, y, node = null) {
  const c = components[component];
  if (!c) { say(`unknown component ${component}`, true); return null; }
  if (!loading) remember();
  const info = node || { id: uniqueId(component), component, params: {}, label: "" };
  const html = `<div class="title"></div><div class="component"></div><div class="group"></div><div class="state"></div><div class="problems"></div>`;
  const dfId = editor.addNode(component, artifactInputs(c).length, c.outputs.length, x, y, "", {}, html);
  nodes[dfId] = info;
  const box = document.getElementById(`node-${dfId}`);
  box.dataset.nodeId = info.id;
  box.querySelector(".title").textContent = info.label || info.id;
  box.querySelector(".component").textContent = component;
  box.querySelector(".group").textContent = groupWords(info.group);
  artifactInputs(c).forEach((p, i) => nameport(box.querySelector(`.inputs .input_${i + 1}`), p));
  c.outputs.forEach((p, i) => nameport(box.querySelector(`.outputs .output_${i + 1}`), p));
  if (!loading) { scheduleValidate(); select(dfId); }
  return dfId;
}

function groupWords(group) {
  // "for each domains › if pretrain == true": the loops and conditions the node runs in, outermost first.
  const words = [];
  for (let g = group; g && groups[g]; g = groups[g].parent) {
    const it = groups[g];
    if (it.kind === "loop") words.unshift(`for each ${it.items.pipeline_parameter}`);
    else if (it.kind === "if") words.unshift(`if ${it.parameter} ${it.op} ${JSON.stringify(it.value)}`);
    else if (it.kind === "else") words.unshift("else");
  }
  return words.join(" › ");
}

function nameport(port, p) {
  port.dataset.name = p.name;
  port.title = `${p.name}: ${p.type.replace("system.", "")}${p.help ? " — " + p.help : ""}`;
}

const portOf = (dfId, cls, side) => {
  const c = components[nodes[dfId].component];
  const index = Number(cls.split("_")[1]) - 1;
  return side === "in" ? artifactInputs(c)[index] : c.outputs[index];
};

editor.on("connectionCreated", (conn) => {
  if (loading) return;
  const from = portOf(conn.output_id, conn.output_class, "out");
  const to = portOf(conn.input_id, conn.input_class, "in");
  const target = nodes[conn.input_id];
  const already = editor.getNodeFromId(conn.input_id).inputs[conn.input_class].connections.length;
  let refusal = null;
  if (from.type !== to.type) {
    refusal = `${nodes[conn.output_id].id}.${from.name} is a ${from.type.replace("system.", "")} but ` +
      `${target.id}.${to.name} takes a ${to.type.replace("system.", "")}`;
  } else if (already > 1) {
    refusal = `${target.id}.${to.name} is already connected; delete that wire first`;
  }
  if (refusal) {
    editor.removeSingleConnection(conn.output_id, conn.input_id, conn.output_class, conn.input_class);
    say(`Wire refused: ${refusal}`, true);
    return;
  }
  remember(graphBefore);
  say(`Connected ${nodes[conn.output_id].id}.${from.name} → ${target.id}.${to.name}`);
  scheduleValidate();
});
// Drawflow reports a wire after adding it; the undo point is the graph as it was before.
let graphBefore = null;
$("#canvas").addEventListener("mousedown", () => { graphBefore = graph(); }, true);
editor.on("connectionRemoved", () => { if (!loading) { remember(graphBefore); scheduleValidate(); } });
editor.on("nodeRemoved", (dfId) => {
  if (loading) return;
  remember(graphBefore);
  delete nodes[dfId];
  if (selected === Number(dfId)) { selected = null; showForm(); }
  scheduleValidate();
});
editor.on("nodeMoved", () => { if (!loading) remember(graphBefore); });
editor.on("nodeSelected", (dfId) => select(Number(dfId)));
editor.on("nodeUnselected", () => { selected = null; showForm(); });

function select(dfId) {
  selected = dfId;
  showForm();
  if (currentRun) showNodeLog(nodes[dfId]?.id);
}

$("#delete-node").addEventListener("click", () => {
  if (selected === null || !nodes[selected]) { say("Select a node to delete.", true); return; }
  graphBefore = graph();
  editor.removeNodeId(`node-${selected}`);
});

// ---------- the graph as the API sees it ----------
function graph() {
  const data = editor.export().drawflow.Home.data;
  const edges = [];
  const list = [];
  for (const [dfId, info] of Object.entries(nodes)) {
    const n = data[dfId];
    if (!n) continue;
    list.push({ id: info.id, component: info.component, params: info.params, label: info.label,
      group: info.group || null, position: [Math.round(n.pos_x), Math.round(n.pos_y)] });
    for (const [cls, out] of Object.entries(n.outputs)) {
      for (const conn of out.connections) {
        edges.push({ source: info.id, output: portOf(dfId, cls, "out").name,
          target: nodes[conn.node].id, input: portOf(conn.node, conn.output, "in").name });
      }
    }
  }
  return { name: $("#graph-name").value.trim(), description, parameters, outputs, groups, nodes: list, edges };
}

function draw(g) {
  loading = true;
  try {
    editor.clear();
    for (const k of Object.keys(nodes)) delete nodes[k];
    $("#graph-name").value = g.name;
    parameters = g.parameters || {};
    outputs = g.outputs || {};
    description = g.description || "";
    groups = g.groups || {};
    const byId = {};
    for (const n of g.nodes) {
      byId[n.id] = addNode(n.component, n.position[0], n.position[1],
        { id: n.id, component: n.component, params: n.params || {}, label: n.label || "", group: n.group || null });
    }
    for (const e of g.edges) {
      const out = components[g.nodes.find((n) => n.id === e.source).component].outputs.findIndex((p) => p.name === e.output);
      const inp = artifactInputs(components[g.nodes.find((n) => n.id === e.target).component]).findIndex((p) => p.name === e.input);
      if (out >= 0 && inp >= 0) editor.addConnection(byId[e.source], byId[e.target], `output_${out + 1}`, `input_${inp + 1}`);
    }
  } finally {
    loading = false;
  }
  selected = null;
  showForm();
  fitToCanvas(g.nodes);
  scheduleValidate();
}

function fitToCanvas(list) {
  // Zoom out (never in) so that a template's widest and lowest nodes are in view.
  const right = Math.max(0, ...list.map((n) => n.position[0] + 290));
  const bottom = Math.max(0, ...list.map((n) => n.position[1] + 110));
  const box = $("#canvas").getBoundingClientRect();
  const zoom = Math.max(editor.zoom_min, Math.min(1, box.width / right, box.height / bottom));
  editor.zoom = zoom;
  editor.canvas_x = 0;
  editor.canvas_y = 0;
  editor.precanvas.style.transform = `translate(0px, 0px) scale(${zoom})`;
  // Drawflow scales around the centre: move the origin so the top-left corner stays in view.
  editor.precanvas.style.transformOrigin = "0 0";
}

function remember(before = null) {
  history.push(JSON.stringify(before || graph()));
  if (history.length > 100) history.shift();
}

function undo() {
  if (!history.length) { say("Nothing to undo."); return; }
  draw(JSON.parse(history.pop()));
  say("Undone.");
}
$("#undo").addEventListener("click", undo);
document.addEventListener("keydown", (ev) => {
  if ((ev.ctrlKey || ev.metaKey) && ev.key === "z" && !/INPUT|TEXTAREA|SELECT/.test(document.activeElement.tagName)) {
    ev.preventDefault(); undo();
  }
  if (ev.key === "Delete" && !/INPUT|TEXTAREA|SELECT/.test(document.activeElement.tagName)) graphBefore = graph();
}, true);

// ---------- forms ----------
function checkValue(p, text) {
  // The value a field's text stands for, or {error}; mirrors the API's checks for quick feedback.
  if (p.type === "BOOLEAN") return { value: text };
  if (p.type === "NUMBER_INTEGER") {
    if (!/^-?\d+$/.test(text.trim())) return { error: "a whole number, e.g. 3" };
    return { value: Number(text) };
  }
  if (p.type === "NUMBER_DOUBLE") {
    if (text.trim() === "" || isNaN(Number(text))) return { error: "a number, e.g. 0.001 or 5e-4" };
    return { value: Number(text) };
  }
  if (p.type === "LIST" || p.type === "STRUCT") {
    try {
      const value = JSON.parse(text);
      if (p.type === "LIST" ? !Array.isArray(value) : (typeof value !== "object" || Array.isArray(value) || value === null)) {
        return { error: p.type === "LIST" ? 'a JSON list, e.g. ["a", "b"]' : 'a JSON object, e.g. {"a": 1}' };
      }
      return { value };
    } catch (err) { return { error: `not JSON (${err.message})` }; }
  }
  if (p.choices && !p.choices.includes(text)) return { error: `one of ${p.choices.join(", ")}` };
  return { value: text };
}

const shown = (v) => (v === null || v === undefined ? "" : typeof v === "object" ? JSON.stringify(v) : String(v));

function showForm() {
  const panel = $("#node-panel");
  panel.replaceChildren(el("h2", {}, "Node"));
  const info = nodes[selected];
  if (!info) { panel.append(el("p", { class: "hint" }, "Select a node to see its form.")); return; }
  const c = components[info.component];
  panel.append(el("p", {}, el("strong", {}, info.label || info.id), ` (${c.name})`), el("p", { class: "hint" }, c.description));
  const form = el("form", { class: "params", onsubmit: (ev) => ev.preventDefault() });
  for (const p of c.parameters) {
    const bound = info.params[p.name] && typeof info.params[p.name] === "object" && !Array.isArray(info.params[p.name]) &&
      "pipeline_parameter" in info.params[p.name] ? info.params[p.name].pipeline_parameter : null;
    const loopItem = info.params[p.name]?.loop_item;
    if (loopItem) {
      form.append(el("label", {}, p.name, " ", el("span", { class: "type" }, typeWords(p))),
        el("div", { class: "bound" }, `each item of the loop over “${groups[loopItem]?.items?.pipeline_parameter}”`),
        el("div", { class: "help" }, p.help));
      continue;
    }
    const current = bound ? parameters[bound]?.default : (p.name in info.params ? info.params[p.name] : p.default);
    let field;
    if (p.choices) {
      field = el("select", {}, ...p.choices.map((v) => el("option", { value: v }, v)));
      field.value = shown(current);
    } else if (p.type === "BOOLEAN") {
      field = el("select", {}, el("option", { value: "true" }, "true"), el("option", { value: "false" }, "false"));
      field.value = String(Boolean(current));
    } else if (p.type === "LIST" || p.type === "STRUCT") {
      field = el("textarea", { rows: "2" });
      field.value = shown(current);
    } else {
      field = el("input", { type: "text", inputmode: p.type.startsWith("NUMBER") ? "decimal" : "text" });
      field.value = shown(current);
    }
    field.name = p.name;
    field.placeholder = p.required ? "required" : `default: ${shown(p.default)}`;
    const error = el("div", { class: "error" });
    field.addEventListener("input", () => {
      const text = field.value;
      const checked = p.type === "BOOLEAN" ? { value: text === "true" } : checkValue(p, text);
      field.classList.toggle("bad", Boolean(checked.error));
      error.textContent = checked.error ? `${p.name} takes ${checked.error}` : "";
      if (checked.error) return;
      remember();
      if (bound) parameters[bound] = { ...parameters[bound], default: checked.value };
      else info.params[p.name] = checked.value;
      scheduleValidate();
    });
    field.addEventListener("change", () => field.dispatchEvent(new Event("input")));
    form.append(el("label", { for: `param-${p.name}` }, p.name, " ", el("span", { class: "type" }, typeWords(p))), field);
    field.id = `param-${p.name}`;
    if (bound) form.append(el("div", { class: "bound" }, `pipeline parameter “${bound}”: every node bound to it changes`));
    form.append(el("div", { class: "help" }, p.help), error);
  }
  panel.append(form, el("div", { id: "node-log" }));
}

function typeWords(p) {
  return { STRING: "text", NUMBER_INTEGER: "whole number", NUMBER_DOUBLE: "number", BOOLEAN: "true/false",
    LIST: "JSON list", STRUCT: "JSON object" }[p.type] + (p.required ? ", required" : "");
}

// ---------- validation shown on the nodes ----------
function scheduleValidate() {
  checks++;  // the graph changed: a check already on its way describes the graph before
  clearTimeout(validateTimer);
  validateTimer = setTimeout(validateNow, 250);
}

async function validateNow() {
  const check = ++checks;
  let problems;
  try { problems = await api("POST", "/api/validate", graph()); } catch (err) { say(err.message, true); return null; }
  // A late answer for an earlier graph (say, before a template was opened) would mark the new
  // drawing's nodes that share an id with the old one's problems.
  if (check !== checks) return problems;
  for (const [dfId, info] of Object.entries(nodes)) {
    const box = document.getElementById(`node-${dfId}`);
    if (!box) continue;
    const said = problems.nodes[info.id] || [];
    box.classList.toggle("invalid", said.length > 0);
    box.querySelector(".problems").textContent = said.join("; ");
  }
  if (problems.graph.length) say(problems.graph.join("; "), true);
  return problems;
}

// ---------- templates, saved pipelines, runs ----------
async function fillMenus(answer) {
  const templates = await answer;
  const t = $("#open-template");
  for (const item of templates) {
    t.append(el("option", item.available ? { value: item.name } : { value: item.name, disabled: "", title: item.reason },
      item.available ? item.name : `${item.name} (cannot be drawn)`));
  }
  await Promise.all([fillSaved(), fillRuns()]);
}
async function fillSaved() {
  const s = $("#open-saved");
  s.replaceChildren(el("option", { value: "" }, "Open a saved pipeline…"));
  for (const name of await api("GET", "/api/pipelines")) s.append(el("option", { value: name }, name));
}
async function fillRuns() {
  const r = $("#open-run");
  r.replaceChildren(el("option", { value: "" }, "Reopen a run…"));
  for (const run of await api("GET", "/api/runs")) r.append(el("option", { value: run.id }, run.id));
}
$("#open-template").addEventListener("change", async (ev) => {
  if (!ev.target.value) return;
  remember();
  draw(await api("GET", `/api/templates/${ev.target.value}`));
  say(`Opened template ${ev.target.value}: edit it, save it under a new name, or run it.`);
  ev.target.value = "";
});
$("#open-saved").addEventListener("change", async (ev) => {
  if (!ev.target.value) return;
  remember();
  draw(await api("GET", `/api/pipelines/${ev.target.value}`));
  say(`Opened ${ev.target.value}.`);
  ev.target.value = "";
});
$("#open-run").addEventListener("change", async (ev) => {
  if (!ev.target.value) return;
  const kept = await api("GET", `/api/runs/${ev.target.value}/graph`);
  remember();
  draw(kept.graph);
  follow(ev.target.value);
  say(`Reopened run ${ev.target.value}: its graph and parameters are on the canvas; run it again with Run.`);
  ev.target.value = "";
});
$("#save").addEventListener("click", async () => {
  const g = graph();
  try {
    const saved = await api("PUT", `/api/pipelines/${encodeURIComponent(g.name)}`, g);
    say(`Saved ${saved.name}: graph and compiled KFP YAML (${saved.yaml}).`);
    fillSaved();
  } catch (err) { say(err.message, true); }
});

async function start(target) {
  const problems = await validateNow();
  if (!problems || !problems.ok) { say("Fix the problems shown on the nodes first.", true); return; }
  try {
    const body = { graph: graph(), target, host: $("#kfp-host").value.trim() };
    const { id } = await api("POST", "/api/runs", body);
    say(`${target === "local" ? "Running locally" : "Submitted to Kubeflow"}: run ${id}`);
    follow(id);
    fillRuns();
  } catch (err) { say(err.message, true); }
}
$("#run-local").addEventListener("click", () => start("local"));
$("#submit").addEventListener("click", () => start("kubeflow"));
$("#stop").addEventListener("click", async () => { if (currentRun) await api("POST", `/api/runs/${currentRun}/stop`); });

function follow(runId) {
  currentRun = runId;
  clearInterval(pollTimer);
  pollTimer = setInterval(poll, 1000);
  poll();
}

async function poll() {
  let run;
  try { run = await api("GET", `/api/runs/${currentRun}`); } catch (err) { say(err.message, true); clearInterval(pollTimer); return; }
  for (const [dfId, info] of Object.entries(nodes)) {
    const box = document.getElementById(`node-${dfId}`);
    const s = run.nodes[info.id];
    if (!box) continue;
    box.classList.remove("state-waiting", "state-running", "state-done", "state-failed");
    if (s) box.classList.add(`state-${s}`);
    box.querySelector(".state").textContent = s || "";
  }
  $("#stop").disabled = run.state !== "running" || run.kind !== "local";
  const panel = $("#run-panel");
  panel.replaceChildren(el("h2", {}, "Run"), el("p", {}, `${run.id}: `, el("strong", { id: "run-state" }, run.state)));
  if (run.url) panel.append(el("p", {}, el("a", { href: run.url, target: "_blank" }, "Open in Kubeflow")));
  if (run.error) panel.append(el("pre", {}, run.error));
  if (selected !== null && nodes[selected]) showNodeLog(nodes[selected].id);
  if (run.state !== "running") {
    clearInterval(pollTimer);
    say(`Run ${run.id} ${run.state}.`, run.state === "failed");
    if (run.kind === "local") await showResults(run);
  }
}

async function showNodeLog(nodeId) {
  const box = $("#node-log");
  if (!box || !currentRun || !nodeId) return;
  try {
    const found = await api("GET", `/api/runs/${currentRun}/nodes/${nodeId}`);
    box.replaceChildren(el("h3", {}, `Log of ${nodeId}`), el("pre", {}, found.log.slice(-6000) || "(nothing yet)"));
  } catch (err) { box.textContent = err.message; }
}

async function showResults(run) {
  const panel = $("#run-panel");
  for (const nodeId of Object.keys(run.nodes)) {
    const found = await api("GET", `/api/runs/${run.id}/nodes/${nodeId}`);
    const metricNames = Object.keys(found.metrics);
    if (!metricNames.length && !found.report && !found.models.length) continue;
    const box = el("div", { class: "result-node", "data-node": nodeId }, el("strong", {}, nodeId));
    if (metricNames.length) {
      box.append(el("table", { class: "metrics" }, ...metricNames.map((k) =>
        el("tr", {}, el("td", {}, k), el("td", { "data-metric": k }, fmt(found.metrics[k]))))));
    }
    if (found.confusion) box.append(el("img", { src: `/api/runs/${run.id}/nodes/${nodeId}/confusion.png`, alt: "confusion matrix" }));
    if (found.report) box.append(markdown(found.report));
    if (found.models.length) box.append(tryBox(run.id, nodeId));
    panel.append(box);
  }
  try {
    const tracked = await api("GET", `/api/runs/${run.id}/mlflow`);
    if (tracked.length) {
      panel.append(el("h3", {}, "MLflow runs"), ...tracked.map((r) =>
        el("div", {}, el("a", { href: r.url, target: "_blank" }, r.name || r.run_id), ` ${r.status} · ${r.run_id.slice(0, 8)}`)));
    }
  } catch (err) { panel.append(el("p", { class: "hint" }, `MLflow: ${err.message}`)); }
}

function tryBox(runId, nodeId) {
  const input = el("input", { type: "text", placeholder: "Type a sentence to classify" });
  const out = el("div", { class: "try-result" });
  const go = async () => {
    try {
      const [p] = await api("POST", `/api/runs/${runId}/nodes/${nodeId}/try`, { texts: [input.value] });
      out.textContent = `${p.label}  (${Object.entries(p.probabilities).map(([k, v]) => `${k} ${v}`).join(", ")})`;
    } catch (err) { out.textContent = err.message; }
  };
  return el("div", { class: "try" }, el("p", {}, "Try this model:"), input, el("button", { onclick: go }, "Predict"), out);
}

// The reports use headings, bold, tables and paragraphs; this draws just those (text escaped first).
function markdown(text) {
  const escape = (t) => t.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
  const inline = (t) => escape(t).replace(/\*\*(.+?)\*\*/g, "<strong>$1</strong>").replace(/`(.+?)`/g, "<code>$1</code>");
  const cells = (line) => line.trim().replace(/^\||\|$/g, "").split("|").map((c) => c.trim());
  const html = [];
  const lines = text.split("\n");
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i];
    const heading = line.match(/^(#{1,4})\s+(.*)/);
    if (heading) { html.push(`<h${heading[1].length + 2}>${inline(heading[2])}</h${heading[1].length + 2}>`); continue; }
    if (line.trim().startsWith("|") && /^\s*\|?[\s:|-]+\|?\s*$/.test(lines[i + 1] || "")) {
      const rows = [`<tr>${cells(line).map((c) => `<th>${inline(c)}</th>`).join("")}</tr>`];
      for (i += 2; i < lines.length && lines[i].trim().startsWith("|"); i++) {
        rows.push(`<tr>${cells(lines[i]).map((c) => `<td>${inline(c)}</td>`).join("")}</tr>`);
      }
      i--;
      html.push(`<table class="report-table">${rows.join("")}</table>`);
      continue;
    }
    if (line.trim()) html.push(`<p>${inline(line)}</p>`);
  }
  const box = el("div", { class: "report" });
  box.innerHTML = html.join("");
  return box;
}

const fmt = (v) => (Number.isInteger(v) ? String(v) : Number(v).toFixed(4));

// Asked for together: the first load waits for the slowest answer, not for their sum.
const paletteAnswer = api("GET", "/api/palette");
const templatesAnswer = api("GET", "/api/templates");
loadPalette(paletteAnswer).then(() => fillMenus(templatesAnswer)).then(() => say("Drag components from the palette, wire outputs to inputs, fill the forms, then Run."))
  .catch((err) => say(err.message, true));
