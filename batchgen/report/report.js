// Lays out the sweep as a grid: rows are prompts (and the values of every axis that
// is not across), columns the values of the axis across; samples of a cell sit
// together. Every element is built with textContent: the data is never parsed as HTML.
// (html.py runs this file and the others of SCRIPTS inside one function.)
const data = JSON.parse(document.getElementById("report-data").textContent);
const axes = data.axes; // [[name, [values...]], ...] in sweep order
const axisNames = axes.map(function (a) { return a[0]; });
const STATES = ["succeeded", "failed", "running", "pending"];
// Card widths in pixels the size control offers.
const MIN_SIZE = 120, MAX_SIZE = 480, DEFAULT_SIZE = 220;
const view = { across: axisNames.length ? axisNames[0] : "", hidden: {}, blind: false,
               seed: Math.floor(Math.random() * 4294967296), size: DEFAULT_SIZE };
const jobsByKey = new Map(data.jobs.map(function (j) { return [j.key, j]; }));
const promptOrder = new Map();
const valueOrder = {};

function key(v) { return JSON.stringify(v === undefined ? null : v); }
function show(v) {
  if (v === null || v === undefined) return "—";
  return typeof v === "object" ? JSON.stringify(v) : String(v);
}
function valueOf(job, axis) {
  if (axis === "state") return job.state;
  if (axis === "model" && job.model !== undefined) return job.model;
  if (Object.prototype.hasOwnProperty.call(job.params, axis)) return job.params[axis];
  const v = job.variables[axis];
  return v === undefined ? null : v;
}
function el(tag, cls, text) {
  const node = document.createElement(tag);
  if (cls) node.className = cls;
  if (text !== undefined && text !== null) node.textContent = text;
  return node;
}
function ratio(job) {
  const m = /^(\d+):(\d+)$/.exec(String(job.params.aspectRatio || "16:9"));
  return m ? m[1] + " / " + m[2] : "16 / 9";
}

// Parameter values every job has: shown once in the header, not on each card.
const common = new Set();
(function () {
  if (!data.jobs.length) return;
  const first = data.jobs[0];
  [first.params, first.variables].forEach(function (group) {
    Object.keys(group).forEach(function (k) { common.add(k + "=" + key(group[k])); });
  });
  data.jobs.forEach(function (job) {
    common.forEach(function (entry) {
      const k = entry.slice(0, entry.indexOf("="));
      const v = Object.prototype.hasOwnProperty.call(job.params, k) ? job.params[k] : job.variables[k];
      if (k + "=" + key(v) !== entry) common.delete(entry);
    });
  });
})();

// ----- header -----
function header() {
  document.getElementById("title").textContent = data.name || "batchgen report";
  const counts = {};
  data.jobs.forEach(function (j) { counts[j.state] = (counts[j.state] || 0) + 1; });
  const parts = [data.jobs.length + (data.jobs.length === 1 ? " job" : " jobs")];
  STATES.forEach(function (s) { if (counts[s]) parts.push(counts[s] + " " + s); });
  parts.push.apply(parts, totalCostText());
  parts.push("generated " + data.generatedAt);
  document.getElementById("summary").textContent = parts.join(" · ");
  if (common.size) {
    const shared = Array.from(common).map(function (entry) {
      const at = entry.indexOf("=");
      return entry.slice(0, at) + "=" + show(JSON.parse(entry.slice(at + 1)));
    });
    document.getElementById("common").textContent = "Every job: " + shared.join(" · ");
  }
}

// ----- controls -----
function controls() {
  const select = document.getElementById("across");
  axisNames.forEach(function (name) { select.appendChild(new Option(name, name)); });
  select.appendChild(new Option("(nothing: one column)", ""));
  select.value = view.across;
  select.addEventListener("change", function () { view.across = select.value; render(); saveView(); });
  const blind = document.getElementById("blind");
  blind.addEventListener("change", function () {
    view.blind = blind.checked;
    document.body.classList.toggle("blind", view.blind);
    render();
    saveView();
  });
  const size = document.getElementById("size");
  size.min = String(MIN_SIZE);
  size.max = String(MAX_SIZE);
  size.addEventListener("input", function () { setCardSize(Number(size.value)); saveView(); });

  const filters = document.getElementById("filters");
  const groups = axes.slice();
  const states = STATES.filter(function (s) {
    return data.jobs.some(function (j) { return j.state === s; });
  });
  if (states.length > 1) groups.push(["state", states]);
  groups.forEach(function (axis) {
    const name = axis[0];
    view.hidden[name] = new Set();
    const box = el("fieldset", "filter");
    box.dataset.axis = name;
    box.appendChild(el("legend", null, name));
    axis[1].forEach(function (value) {
      const n = data.jobs.filter(function (j) { return key(valueOf(j, name)) === key(value); }).length;
      const label = el("label");
      const input = el("input");
      input.type = "checkbox";
      input.checked = true;
      input.dataset.value = key(value);
      input.addEventListener("change", function () {
        if (input.checked) view.hidden[name].delete(key(value));
        else view.hidden[name].add(key(value));
        render();
        saveView();
      });
      label.appendChild(input);
      label.appendChild(document.createTextNode(" " + show(value) + " "));
      label.appendChild(el("span", "count", "(" + n + ")"));
      box.appendChild(label);
    });
    filters.appendChild(box);
  });
}

// Cards are sized by one CSS variable, so resizing never rebuilds the grid.
function setCardSize(px) {
  view.size = Math.max(MIN_SIZE, Math.min(MAX_SIZE, Math.round(px) || DEFAULT_SIZE));
  document.getElementById("size").value = String(view.size);
  document.documentElement.style.setProperty("--card-width", view.size + "px");
}

function visible(job) {
  return Object.keys(view.hidden).every(function (name) {
    return !view.hidden[name].has(key(valueOf(job, name)));
  });
}

// ----- grid -----
function layout(jobs) {
  const across = view.across;
  const columns = across ? axes[axisNames.indexOf(across)][1].filter(function (v) {
    return !view.hidden[across].has(key(v));
  }) : [undefined];
  const down = axisNames.filter(function (n) { return n !== across; });
  const rows = new Map();
  jobs.forEach(function (job) {
    const place = [promptOrder.get(job.id)].concat(down.map(function (n) {
      const i = valueOrder[n].get(key(valueOf(job, n)));
      return i === undefined ? Infinity : i;
    }));
    const rowKey = place.join(",");
    if (!rows.has(rowKey)) rows.set(rowKey, { place: place, first: job, cells: new Map(), samePrompt: true });
    const row = rows.get(rowKey);
    row.samePrompt = row.samePrompt && job.prompt === row.first.prompt;
    const col = across ? key(valueOf(job, across)) : "all";
    if (!row.cells.has(col)) row.cells.set(col, []);
    row.cells.get(col).push(job);
  });
  // Prompts in manifest order, then the other axes in sweep order, whatever order
  // the jobs came in (merged shards interleave them).
  const sorted = Array.from(rows.values()).sort(function (a, b) {
    for (let i = 0; i < a.place.length; i++) {
      if (a.place[i] !== b.place[i]) return a.place[i] - b.place[i];
    }
    return 0;
  });
  return { columns: columns, down: down, rows: sorted };
}

function render() {
  const jobs = data.jobs.filter(visible);
  const grid = document.getElementById("grid");
  const plan = layout(jobs);
  observer.disconnect();
  grid.textContent = "";
  const empty = document.getElementById("empty");
  empty.hidden = jobs.length > 0;
  empty.textContent = data.jobs.length ? "No job matches the filters." : "This batch has no jobs yet.";
  if (!jobs.length) return;

  const head = el("thead");
  const tr = el("tr");
  tr.appendChild(el("th", "corner", "prompt"));
  plan.columns.forEach(function (v, i) {
    tr.appendChild(columnHead(v, i, jobs));
  });
  head.appendChild(tr);
  grid.appendChild(head);

  const body = el("tbody");
  let lastId = null;
  plan.rows.forEach(function (row) {
    const line = el("tr", "row");
    if (row.first.id !== lastId) line.classList.add("first-of-prompt");
    lastId = row.first.id;
    line.appendChild(rowHeader(row, plan.down));
    (view.blind ? shuffled(plan.columns, row.place.join(",")) : plan.columns).forEach(function (v) {
      const td = el("td", "cell");
      const samples = row.cells.get(view.across ? key(v) : "all") || [];
      samples.sort(function (a, b) { return a.sample - b.sample; });
      samples.forEach(function (job) { td.appendChild(card(job, !row.samePrompt)); });
      if (!samples.length) td.appendChild(el("span", "no-job", "no job"));
      line.appendChild(td);
    });
    body.appendChild(line);
  });
  grid.appendChild(body);
  grid.querySelectorAll(".slot").forEach(function (slot) { observer.observe(slot); });
  stickBelowControls();
}

// Blind mode: each row's columns in an order of their own, never the sorted one (so
// position gives nothing away), fixed for this page view so re-rendering keeps it.
function shuffled(columns, rowKey) {
  let h = view.seed ^ 2166136261;
  for (let i = 0; i < rowKey.length; i++) h = Math.imul(h ^ rowKey.charCodeAt(i), 16777619);
  const out = columns.slice();
  for (let i = out.length - 1; i > 0; i--) {
    h = Math.imul(h ^ (h >>> 15), 2246822507) ^ i;
    const j = (h >>> 0) % (i + 1);
    const t = out[i]; out[i] = out[j]; out[j] = t;
  }
  if (out.length > 1 && out.every(function (v, i) { return v === columns[i]; })) out.push(out.shift());
  return out;
}

// The column titles stick below the controls, whose height depends on the filters.
function stickBelowControls() {
  const height = document.querySelector(".controls").offsetHeight;
  document.documentElement.style.setProperty("--controls-height", height + "px");
}
window.addEventListener("resize", stickBelowControls);

// A column's title is the value across, the one parameter that differs between columns
// (so cards never repeat it), with what its visible jobs cost.
function columnHead(value, i, jobs) {
  const th = el("th", "col");
  if (view.blind) {
    th.textContent = "option " + String.fromCharCode(65 + i % 26);
    return th;
  }
  if (!view.across) th.appendChild(el("span", "col-title", "all jobs"));
  else {
    th.appendChild(el("span", "col-axis", view.across + " = "));
    th.appendChild(el("span", "col-value", show(value)));
  }
  const own = view.across ? jobs.filter(function (j) { return key(valueOf(j, view.across)) === key(value); }) : jobs;
  const money = tallyText(tally(own));
  if (money) th.appendChild(el("div", "col-cost", money));
  return th;
}

function rowHeader(row, down) {
  const job = row.first;
  const th = el("th", "rowhead");
  th.scope = "row";
  th.appendChild(el("div", "prompt-id", job.id));
  const chips = el("div", "chips");
  down.forEach(function (name) {
    const v = valueOf(job, name);
    if (v !== null) chips.appendChild(el("span", "chip", name + ": " + show(v)));
  });
  th.appendChild(chips);
  // A prompt variable across makes the prompt differ by column: each video shows its own.
  if (row.samePrompt) th.appendChild(el("p", "prompt", job.prompt));
  else th.appendChild(el("p", "prompt note", "The prompt differs by column: shown under each video."));
  const play = el("button", "sync", "▶ Play row in sync");
  play.type = "button";
  play.title = "Restart every video of this row from the start, together";
  play.addEventListener("click", function () { playInSync(th.parentNode); });
  th.appendChild(play);
  return th;
}

function card(job, withPrompt) {
  const box = el("figure", "job state-" + job.state);
  box.dataset.key = job.key;
  if (job.videos.length && job.state === "succeeded") {
    job.videos.forEach(function (src) {
      const slot = el("div", "slot");
      slot.dataset.src = src;
      slot.style.aspectRatio = ratio(job);
      slot.title = "Click to enlarge";
      slot.addEventListener("click", function () { openCard(job.key); });
      box.appendChild(slot);
    });
  } else {
    const hold = el("div", "placeholder");
    hold.style.aspectRatio = ratio(job);
    hold.appendChild(el("strong", "state", job.state));
    if (job.error) hold.appendChild(el("p", "error", job.error));
    else if (job.state === "succeeded") hold.appendChild(el("p", "error", "no file recorded"));
    box.appendChild(hold);
  }
  const cap = el("figcaption");
  const facts = ["#" + job.sample];
  if (typeof job.seconds === "number") facts.push(job.seconds + " s");
  const line = el("div", "facts");
  line.appendChild(el("span", "badge", job.state));
  line.appendChild(document.createTextNode(" " + facts.join(" · ")));
  const money = costBadge(job);
  if (money) {
    line.appendChild(document.createTextNode(" · "));
    line.appendChild(money);
  }
  cap.appendChild(line);
  if (withPrompt) cap.appendChild(el("div", "card-prompt", job.prompt));
  if (job.jobId) cap.appendChild(el("div", "jobid", job.jobId));
  // The value across is the column's title and the others the row's chips; values
  // every job shares are listed once in the header. Only what is left is the card's own.
  const own = [];
  [job.params, job.variables].forEach(function (group) {
    Object.keys(group).forEach(function (k) {
      if (k === view.across || axisNames.indexOf(k) >= 0 || common.has(k + "=" + key(group[k]))) return;
      own.push(k + "=" + show(group[k]));
    });
  });
  if (own.length) cap.appendChild(el("div", "params", own.join(" · ")));
  const bar = judgeBar(job);
  if (job.videos.length && job.state === "succeeded") bar.insertBefore(pickButton(job), bar.querySelector(".note"));
  cap.appendChild(bar);
  const team = teamVerdict[job.key];
  if (team) cap.appendChild(el("div", "team", team));
  box.appendChild(cap);
  return box;
}

function orderPromptsAndValues() {
  data.jobs.forEach(function (job) {
    if (!promptOrder.has(job.id)) promptOrder.set(job.id, promptOrder.size);
  });
  axes.forEach(function (axis) {
    valueOrder[axis[0]] = new Map(axis[1].map(function (v, i) { return [key(v), i]; }));
  });
}

