"use strict";
// Lays out the sweep as a grid: rows are prompts (and the values of every axis that
// is not across), columns the values of the axis across; samples of a cell sit
// together. Every element is built with textContent: the data is never parsed as HTML.
(function () {
  const data = JSON.parse(document.getElementById("report-data").textContent);
  const axes = data.axes; // [[name, [values...]], ...] in sweep order
  const axisNames = axes.map(function (a) { return a[0]; });
  const STATES = ["succeeded", "failed", "running", "pending"];
  const view = { across: axisNames.length ? axisNames[0] : "", hidden: {} };
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
  }

  // ----- controls -----
  function controls() {
    const select = document.getElementById("across");
    axisNames.forEach(function (name) { select.appendChild(new Option(name, name)); });
    select.appendChild(new Option("(nothing: one column)", ""));
    select.value = view.across;
    select.addEventListener("change", function () { view.across = select.value; render(); });

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
    plan.columns.forEach(function (v) {
      const th = el("th", "col");
      th.textContent = view.across ? view.across + " = " + show(v) : "all jobs";
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
      plan.columns.forEach(function (v) {
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
    const params = Object.keys(job.params).map(function (k) { return k + "=" + show(job.params[k]); });
    const vars = Object.keys(job.variables).map(function (k) { return k + "=" + show(job.variables[k]); });
    cap.appendChild(el("div", "params", params.concat(vars).join(" · ")));
    box.appendChild(cap);
    return box;
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
  controls();
  render();
  // The marker tests and the benchmark wait for: the page is usable from here on.
  document.body.dataset.readyAt = String(Math.round(performance.now()));
  document.body.dataset.ready = "true";
})();
