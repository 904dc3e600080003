// The status page: polls the API every 2 s and fills the tables. Every value from the server is
// put in with textContent (never innerHTML), so transcripts and device names stay text.
"use strict";

const POLL_MS = 2000;
// one colour per kind of stage (voice run / text run), as in the legend
const STAGE_CLASS = { endpoint: "s0", normalize: "s0", asr: "s1", template: "s1", understand: "s2", llm: "s2", tts: "s3", handle: "s3" };
let token = localStorage.getItem("assistant-token") || "";

async function api(path, options = {}) {
  const headers = token ? { Authorization: "Bearer " + token } : {};
  const response = await fetch(path, { ...options, headers });
  if (response.status === 401) {
    document.getElementById("login").hidden = false;
    throw new Error("this service needs its token");
  }
  const body = await response.json();
  if (!response.ok && path !== "/health") throw new Error(body.error || response.statusText);
  return body;
}

function el(tag, text, className) {
  const node = document.createElement(tag);
  if (text !== undefined && text !== null) node.textContent = String(text);
  if (className) node.className = className;
  return node;
}

function row(...cells) {
  const tr = el("tr");
  for (const cell of cells) {
    const td = el("td");
    if (cell instanceof Node) td.append(cell); else td.textContent = cell ?? "";
    tr.append(td);
  }
  return tr;
}

function fill(id, rows, empty) {
  const body = document.getElementById(id);
  body.replaceChildren(...(rows.length ? rows : [row(empty)]));
}

function cancelButton(kind, item) {
  const button = el("button", "Cancel", "cancel");
  button.dataset.id = item.id;
  button.addEventListener("click", async () => {
    button.disabled = true;
    try { await api(`/api/${kind}/${item.id}`, { method: "DELETE" }); } catch (e) { problem(e); }
    refresh();
  });
  return button;
}

function bars(stages, scale) {
  const bar = el("div", undefined, "bar");
  Object.entries(stages || {}).forEach(([name, ms]) => {
    const part = el("span", undefined, "stage " + (STAGE_CLASS[name] || "s0"));
    part.style.width = Math.max(0.5, (100 * ms) / scale) + "%";
    part.title = `${name}: ${ms} ms`;
    bar.append(part);
  });
  const total = Object.values(stages || {}).reduce((a, b) => a + b, 0);
  const label = el("div", Object.entries(stages || {}).map(([k, v]) => `${k} ${Math.round(v)}`).join(" · ")
    + (total ? ` = ${Math.round(total)} ms` : ""), "ms");
  const box = el("div");
  box.append(bar, label);
  return box;
}

function problem(error) {
  const p = document.getElementById("problem");
  p.hidden = !error;
  p.textContent = error ? String(error.message || error) : "";
}

async function refresh() {
  try {
    const [health, alarms, timers, traces, devices] = await Promise.all([
      api("/health"), api("/api/alarms"), api("/api/timers"), api("/api/traces?limit=30"), api("/api/devices")]);
    const status = document.getElementById("status");
    status.textContent = health.status;
    status.className = health.status === "ok" ? "ok" : "bad";
    document.getElementById("health").replaceChildren(...Object.entries(health.parts).map(([name, part]) => {
      const li = el("li");
      const detail = Object.entries(part).filter(([k]) => k !== "ok").map(([k, v]) => `${k}: ${JSON.stringify(v)}`).join(", ");
      li.append(el("span", part.ok ? "ok" : "problem", part.ok ? "ok" : "bad"), " ", el("strong", name), " ", el("span", detail, "ms"));
      return li;
    }));
    fill("alarms", alarms.map(a => row(a.says, a.state, cancelButton("alarms", a))), "No alarms set.");
    fill("timers", timers.map(t => row(t.says, t.state, cancelButton("timers", t))), "No timers running.");
    const scale = Math.max(1, ...traces.map(t => Object.values(t.stages_ms || {}).reduce((a, b) => a + b, 0)));
    fill("traces", traces.map(t => {
      const answer = el("div");
      answer.append(el("div", t.response));
      if (t.error) answer.append(el("div", t.error, "error"));
      const intent = t.intent ? `${t.intent} (${t.recognizer})` : "—";
      return row(`${t.time.slice(11, 19)} ${t.source}`, t.transcript, intent, answer, bars(t.stages_ms, scale));
    }), "Nothing heard yet.");
    fill("devices", devices.map(d => row(d.name, d.entity_id, d.area, (d.state ?? "?") + (d.available ? "" : " (unavailable)"))),
      "No devices known.");
    document.getElementById("updated").textContent = "updated " + new Date().toLocaleTimeString();
    problem(null);
  } catch (error) {
    problem(error);
  }
}

document.getElementById("login").addEventListener("submit", event => {
  event.preventDefault();
  token = document.getElementById("token").value;
  localStorage.setItem("assistant-token", token);
  document.getElementById("login").hidden = true;
  refresh();
});

refresh();
setInterval(refresh, POLL_MS);
