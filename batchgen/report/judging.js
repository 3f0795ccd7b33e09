// Judging: thumbs, score, winner and note per card, kept in this browser per batch;
// the win rates they give each axis value; choices.json export and import.
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

