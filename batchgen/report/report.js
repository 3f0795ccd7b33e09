"use strict";
// Lays out the sweep as a grid: rows are prompts (and the values of every axis that
// is not across), columns the values of the axis across; samples of a cell sit
// together. Every element is built with textContent: the data is never parsed as HTML.
(function () {
  const data = JSON.parse(document.getElementById("report-data").textContent);
  const axes = data.axes; // [[name, [values...]], ...] in sweep order
  const axisNames = axes.map(function (a) { return a[0]; });
  const STATES = ["succeeded", "failed", "running", "pending"];
  const view = { across: axisNames.length ? axisNames[0] : "", hidden: {}, blind: false,
                 seed: Math.floor(Math.random() * 4294967296) };
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
    let cost = 0, costKnown = false;
    data.jobs.forEach(function (j) {
      counts[j.state] = (counts[j.state] || 0) + 1;
      if (typeof j.cost === "number") { cost += j.cost; costKnown = true; }
    });
    const parts = [data.jobs.length + (data.jobs.length === 1 ? " job" : " jobs")];
    STATES.forEach(function (s) { if (counts[s]) parts.push(counts[s] + " " + s); });
    if (costKnown) parts.push(Math.round(cost * 100) / 100 + " CU");
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
    select.addEventListener("change", function () { view.across = select.value; render(); });
    const blind = document.getElementById("blind");
    blind.addEventListener("change", function () {
      view.blind = blind.checked;
      document.body.classList.toggle("blind", view.blind);
      render();
    });

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
        });
        label.appendChild(input);
        label.appendChild(document.createTextNode(" " + show(value) + " "));
        label.appendChild(el("span", "count", "(" + n + ")"));
        box.appendChild(label);
      });
      filters.appendChild(box);
    });
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
      const th = el("th", "col");
      if (view.blind) th.textContent = "option " + String.fromCharCode(65 + i % 26);
      else th.textContent = view.across ? view.across + " = " + show(v) : "all jobs";
      tr.appendChild(th);
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
    if (typeof job.cost === "number") facts.push(job.cost + " CU");
    if (typeof job.seconds === "number") facts.push(job.seconds + " s");
    const line = el("div", "facts");
    line.appendChild(el("span", "badge", job.state));
    line.appendChild(document.createTextNode(" " + facts.join(" · ")));
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
    cap.appendChild(judgeBar(job));
    const team = teamVerdict[job.key];
    if (team) cap.appendChild(el("div", "team", team));
    box.appendChild(cap);
    return box;
  }

  // ----- judging: your choices, kept in this browser per batch -----
  const STORE = "batchgen:choices:" + data.name;
  const mine = new Map();
  function loadMine() {
    try {
      const saved = JSON.parse(window.localStorage.getItem(STORE) || "null");
      if (saved && Array.isArray(saved.choices)) saved.choices.forEach(function (c) { mine.set(c.key, c); });
      document.getElementById("reviewer").value = (saved && saved.reviewer) || "";
    } catch (e) { /* storage refused (private mode): choices live until the tab closes */ }
  }
  function saveMine() {
    const doc = exportDoc();
    try { window.localStorage.setItem(STORE, JSON.stringify(doc)); } catch (e) { /* see loadMine */ }
    winRates();
  }
  function exportDoc() {
    const reviewer = document.getElementById("reviewer").value.trim();
    const list = [];
    mine.forEach(function (c) {
      const kept = { key: c.key };
      ["rating", "score", "winner", "note"].forEach(function (f) {
        if (c[f] !== undefined && c[f] !== null && c[f] !== "" && c[f] !== false) kept[f] = c[f];
      });
      if (Object.keys(kept).length === 1) return;
      if (reviewer) kept.reviewer = reviewer;
      kept.time = c.time;
      list.push(kept);
    });
    return { version: 1, batch: data.name, reviewer: reviewer, choices: list };
  }
  function choose(job, changes) {
    const c = Object.assign(mine.get(job.key) || { key: job.key }, changes);
    c.time = new Date().toISOString();
    mine.set(job.key, c);
    saveMine();
  }
  function judgeBar(job) {
    const c = mine.get(job.key) || {};
    const bar = el("div", "judge");
    bar.dataset.key = job.key;
    function toggle(cls, text, title, value) {
      const b = el("button", cls + (c.rating === value ? " on" : ""), text);
      b.type = "button";
      b.title = title;
      b.setAttribute("aria-pressed", String(c.rating === value));
      b.addEventListener("click", function () {
        const now = (mine.get(job.key) || {}).rating === value ? undefined : value;
        choose(job, { rating: now });
        bar.querySelectorAll(".up, .down").forEach(function (x) {
          const on = (x.classList.contains("up") ? 1 : -1) === now;
          x.classList.toggle("on", on);
          x.setAttribute("aria-pressed", String(on));
        });
      });
      return b;
    }
    bar.appendChild(toggle("up", "▲", "Thumbs up", 1));
    bar.appendChild(toggle("down", "▼", "Thumbs down", -1));
    const score = el("select", "score");
    score.title = "Score, 1 (poor) to 5 (excellent)";
    score.appendChild(new Option("score", ""));
    [1, 2, 3, 4, 5].forEach(function (n) { score.appendChild(new Option(String(n), String(n))); });
    score.value = c.score ? String(c.score) : "";
    score.addEventListener("change", function () {
      choose(job, { score: score.value ? Number(score.value) : undefined });
    });
    bar.appendChild(score);
    const win = el("button", "winner" + (c.winner ? " on" : ""), "★ winner");
    win.type = "button";
    win.title = "The best of its row (one per row)";
    win.addEventListener("click", function () {
      const now = !(mine.get(job.key) || {}).winner;
      const row = win.closest("tr");
      if (now && row) {
        row.querySelectorAll(".winner.on").forEach(function (other) {
          other.classList.remove("on");
          choose({ key: other.closest(".judge").dataset.key }, { winner: false });
        });
      }
      win.classList.toggle("on", now);
      choose(job, { winner: now });
    });
    bar.appendChild(win);
    const note = el("input", "note");
    note.type = "text";
    note.placeholder = "note";
    note.value = c.note || "";
    note.addEventListener("change", function () { choose(job, { note: note.value }); });
    bar.appendChild(note);
    return bar;
  }

  // What the merged choices.json files (report --choices) said of each job.
  const teamVerdict = {};
  (function () {
    const tally = {};
    (data.choices || []).forEach(function (c) {
      const t = tally[c.key] || (tally[c.key] = { up: 0, down: 0, scores: [], wins: 0 });
      if (c.rating === 1) t.up++;
      if (c.rating === -1) t.down++;
      if (typeof c.score === "number") t.scores.push(c.score);
      if (c.winner === true) t.wins++;
    });
    Object.keys(tally).forEach(function (k) {
      const t = tally[k], parts = [];
      if (t.up || t.down) parts.push("▲" + t.up + " ▼" + t.down);
      if (t.scores.length) parts.push("score " + (t.scores.reduce(function (a, b) { return a + b; }, 0) / t.scores.length).toFixed(1));
      if (t.wins) parts.push("★" + t.wins);
      if (parts.length) teamVerdict[k] = "reviewers: " + parts.join(" · ");
    });
  })();

  // Win rates per axis value, as results.json's "winRates" counts them: a row is a
  // prompt and the other axes' values; the value(s) with the most winner marks win it.
  function rates(winners) {
    const out = [];
    axes.forEach(function (axis) {
      const name = axis[0];
      const rows = new Map();
      data.jobs.forEach(function (job) {
        const id = JSON.stringify([job.id].concat(axisNames.filter(function (n) { return n !== name; })
          .map(function (n) { return key(valueOf(job, n)); })));
        if (!rows.has(id)) rows.set(id, new Map());
        const marks = rows.get(id), v = key(valueOf(job, name));
        marks.set(v, (marks.get(v) || 0) + (winners[job.key] || 0));
      });
      const table = new Map(axis[1].map(function (v) { return [key(v), { wins: 0, rows: 0 }]; }));
      rows.forEach(function (marks) {
        const best = Math.max.apply(null, Array.from(marks.values()));
        if (best === 0) return;
        marks.forEach(function (count, v) {
          const cell = table.get(v) || { wins: 0, rows: 0 };
          table.set(v, cell);
          cell.rows++;
          if (count === best) cell.wins++;
        });
      });
      table.forEach(function (cell, v) { out.push({ axis: name, value: JSON.parse(v), wins: cell.wins, rows: cell.rows }); });
    });
    return out;
  }
  function winRates() {
    const box = document.getElementById("winrates");
    const own = {}, team = {};
    mine.forEach(function (c) { if (c.winner) own[c.key] = 1; });
    (data.choices || []).forEach(function (c) { if (c.winner === true) team[c.key] = (team[c.key] || 0) + 1; });
    box.textContent = "";
    [["Your win rates", own], ["All reviewers (merged choices)", team]].forEach(function (pair) {
      if (!Object.keys(pair[1]).length) return;
      const part = el("div", "rates");
      part.appendChild(el("strong", null, pair[0] + ": "));
      rates(pair[1]).forEach(function (r) {
        if (!r.rows) return;
        const line = el("span", "rate", r.axis + "=" + show(r.value) + " preferred in " + r.wins + " of " + r.rows +
          (r.rows === 1 ? " row" : " rows"));
        line.dataset.axis = r.axis;
        line.dataset.value = key(r.value);
        part.appendChild(line);
      });
      box.appendChild(part);
    });
    box.hidden = !box.childElementCount;
  }
  function judgingControls() {
    document.getElementById("reviewer").addEventListener("change", saveMine);
    document.getElementById("export").addEventListener("click", function () {
      const blob = new Blob([JSON.stringify(exportDoc(), null, 2) + "\n"], { type: "application/json" });
      const a = document.createElement("a");
      a.href = URL.createObjectURL(blob);
      a.download = "choices.json";
      document.body.appendChild(a);
      a.click();
      a.remove();
    });
    const input = document.getElementById("import");
    input.addEventListener("change", function () {
      const file = input.files && input.files[0];
      if (!file) return;
      file.text().then(function (text) {
        const doc = JSON.parse(text);
        if (!doc || doc.version !== 1 || !Array.isArray(doc.choices)) throw new Error("not a choices.json");
        doc.choices.forEach(function (c) { if (c && typeof c.key === "string") mine.set(c.key, c); });
        saveMine();
        render();
        input.value = "";
      }).catch(function (e) { window.alert("Could not import " + file.name + ": " + e.message); });
    });
  }

  // ----- video loading and playback -----
  // A card holds an empty slot until it comes near the screen; only then is its <video>
  // made and loaded. Inserting a <video> costs about half a millisecond even with
  // preload="none", so making all of a 1,000-job grid's up front would halve its speed.
  function videoIn(slot) {
    let video = slot.firstElementChild;
    if (!video) {
      video = el("video");
      video.muted = true;
      video.loop = true;
      video.playsInline = true;
      video.setAttribute("muted", "");
      video.setAttribute("playsinline", "");
      video.preload = "none";
      video.src = slot.dataset.src;
      slot.appendChild(video);
    }
    return video;
  }
  const observer = new IntersectionObserver(function (entries) {
    entries.forEach(function (entry) {
      if (entry.isIntersecting) {
        videoIn(entry.target).play().catch(function () {});
      } else {
        const video = entry.target.firstElementChild;
        if (video && !video.paused) video.pause();
      }
    });
  }, { rootMargin: "200px" });

  function ready(video) {
    if (video.readyState >= 3 || video.error) return Promise.resolve();
    return new Promise(function (resolve) {
      const done = function () { resolve(); };
      video.addEventListener("canplay", done, { once: true });
      video.addEventListener("error", done, { once: true });
      setTimeout(done, 5000);
    });
  }

  function playInSync(row) {
    const videos = Array.prototype.map.call(row.querySelectorAll(".slot"), videoIn);
    videos.forEach(function (v) { v.pause(); v.currentTime = 0; });
    row.dataset.sync = "waiting";
    Promise.all(videos.map(ready)).then(function () {
      videos.forEach(function (v) { v.currentTime = 0; });
      return Promise.all(videos.map(function (v) { return v.play().catch(function () {}); }));
    }).then(function () { row.dataset.sync = "playing"; });
  }

  data.jobs.forEach(function (job) {
    if (!promptOrder.has(job.id)) promptOrder.set(job.id, promptOrder.size);
  });
  axes.forEach(function (axis) {
    valueOrder[axis[0]] = new Map(axis[1].map(function (v, i) { return [key(v), i]; }));
  });
  header();
  loadMine();
  controls();
  judgingControls();
  render();
  winRates();
  // The marker tests and the benchmark wait for: the page is usable from here on.
  document.body.dataset.readyAt = String(Math.round(performance.now()));
  document.body.dataset.ready = "true";
})();
