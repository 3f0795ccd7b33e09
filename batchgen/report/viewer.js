// The player dialog: one card enlarged, or two cards compared (side by side, wipe or
// flip). Videos show at their native size (x2 or fitted to the window on request);
// the dialog's videos form their own lockstep group, driven by one transport.

const player = { dialog: null, group: null, open: null, compare: null, mode: "side", zoom: "1",
                 wipe: 50, flipped: false };
const MODES = [["side", "Side by side"], ["wipe", "Wipe"], ["flip", "Flip"]];
const ZOOMS = [["1", "native size"], ["2", "2x"], ["fit", "fit window"]];

function playerControls() {
  player.dialog = document.getElementById("player");
  player.dialog.addEventListener("close", closed);
  player.dialog.addEventListener("keydown", function (event) {
    if (event.key === "f" && player.compare && !/^(INPUT|SELECT|TEXTAREA)$/.test(event.target.tagName)) {
      if (player.mode !== "flip") setMode("flip"); else flip();
      event.preventDefault();
      return;
    }
    const bar = player.dialog.querySelector(".transport");
    if (bar) bar.keys(event);
  });
  // A click on the backdrop (outside the dialog's box) closes it, as people expect.
  player.dialog.addEventListener("click", function (event) {
    if (event.target === player.dialog) player.dialog.close();
  });
}

function openCard(key) {
  const job = jobsByKey.get(key);
  if (!job || !job.videos.length) return false;
  reset({ open: key, compare: null });
  const body = frame("Enlarged", [job]);
  const stage = el("div", "stage single");
  stage.appendChild(playerVideo(job, 0));
  body.appendChild(stage);
  finish(body);
  return true;
}

function openCompare(keys) {
  const jobs = keys.map(function (k) { return jobsByKey.get(k); });
  if (jobs.length !== 2 || jobs.some(function (j) { return !j || !j.videos.length; })) return false;
  reset({ open: null, compare: keys.slice() });
  const body = frame("Compare", jobs);
  const modes = el("div", "modes");
  modes.setAttribute("role", "radiogroup");
  MODES.forEach(function (m) {
    const b = button("mode", m[1], m[1], function () { setMode(m[0]); });
    b.dataset.mode = m[0];
    modes.appendChild(b);
  });
  body.insertBefore(modes, body.querySelector(".player-head").nextSibling);
  const stage = el("div", "stage compare");
  stage.appendChild(playerVideo(jobs[0], 0));
  stage.appendChild(playerVideo(jobs[1], 1));
  const divider = el("div", "divider");
  stage.appendChild(divider);
  body.appendChild(stage);
  body.appendChild(wipeSlider());
  body.appendChild(flipControls());
  finish(body);
  setMode(player.mode);
  return true;
}

// Stop whatever the dialog played and remember what it shows now.
function reset(what) {
  if (player.group) stop(player.group);
  player.group = lockstep();
  player.open = what.open;
  player.compare = what.compare;
  player.flipped = false;
  player.dialog.textContent = "";
}

// The dialog's frame: a title, each card's facts (the parameters that differ between
// compared cards highlighted), the zoom and the close button.
function frame(kind, jobs) {
  const body = el("div", "player-body");
  const head = el("div", "player-head");
  head.appendChild(el("strong", "player-title", kind));
  const zoom = el("select", "zoom");
  zoom.title = "Size of the videos";
  ZOOMS.forEach(function (z) { zoom.appendChild(new Option(z[1], z[0])); });
  zoom.value = player.zoom;
  zoom.addEventListener("change", function () { player.zoom = zoom.value; sizeAll(); });
  head.appendChild(zoom);
  head.appendChild(button("close", "✕ Close", "Close (Esc)", function () { player.dialog.close(); }));
  body.appendChild(head);
  const facts = el("div", "player-facts");
  const differ = differing(jobs);
  jobs.forEach(function (job, i) { facts.appendChild(jobFacts(job, jobs.length > 1 ? "AB"[i] : "", differ)); });
  body.appendChild(facts);
  return body;
}

function finish(body) {
  body.appendChild(transport(player.group));
  player.dialog.appendChild(body);
  if (!player.dialog.open) player.dialog.showModal();
  body.querySelector(".transport .play").focus();
  play(player.group);
  saveView();
}

// The facts line of one job in the dialog; in blind mode only its letter.
function jobFacts(job, letter, differ) {
  const line = el("div", "player-job");
  line.dataset.key = job.key;
  if (letter) line.appendChild(el("span", "letter", letter));
  if (view.blind) return line;
  line.appendChild(el("span", "pid", job.id + " #" + job.sample));
  [job.params, job.variables].forEach(function (group) {
    Object.keys(group).forEach(function (k) {
      const chip = el("span", "fact" + (differ.has(k) ? " differs" : ""), k + "=" + show(group[k]));
      line.appendChild(chip);
    });
  });
  const money = cardCost(job);
  if (money) line.appendChild(el("span", "fact", money));
  return line;
}

// The parameter names whose values differ between the jobs (none for one job).
function differing(jobs) {
  const out = new Set();
  if (jobs.length < 2) return out;
  jobs.forEach(function (job) {
    Object.keys(job.params).concat(Object.keys(job.variables)).forEach(function (k) {
      const values = new Set(jobs.map(function (j) { return key(valueOf(j, k)); }));
      if (values.size > 1) out.add(k);
    });
  });
  if (new Set(jobs.map(function (j) { return j.prompt; })).size > 1) out.add("prompt");
  return out;
}

function playerVideo(job, index) {
  const box = el("div", "pv pv-" + index);
  const video = mutedVideo(job.videos[0]);
  video.preload = "auto";
  video.dataset.key = job.key;
  video.addEventListener("loadedmetadata", sizeAll);
  box.appendChild(video);
  player.group.videos.set(video, frameOf(job));
  return box;
}

// Native size is the file's own pixels (width/height attributes), times the zoom; "fit"
// shrinks or grows the stage to the window. Compared videos share one box in wipe and
// flip, the larger one's, so the two pictures line up.
function sizeAll() {
  const stage = player.dialog.querySelector(".stage");
  if (!stage) return;
  const videos = Array.from(stage.querySelectorAll("video"));
  const sizes = videos.map(function (v) { return [v.videoWidth || 320, v.videoHeight || 180]; });
  const overlaid = stage.classList.contains("compare") && player.mode !== "side";
  const across = overlaid ? 1 : videos.length;
  const widest = Math.max.apply(null, sizes.map(function (s) { return s[0]; }));
  const tallest = Math.max.apply(null, sizes.map(function (s) { return s[1]; }));
  let scale = Number(player.zoom) || 1;
  if (player.zoom === "fit") {
    const room = [window.innerWidth * 0.9 / across - 16, window.innerHeight * 0.62];
    scale = Math.min(room[0] / (overlaid ? widest : Math.max.apply(null, sizes.map(function (s) { return s[0]; }))), room[1] / tallest);
  }
  videos.forEach(function (v, i) {
    const w = overlaid ? widest : sizes[i][0], h = overlaid ? tallest : sizes[i][1];
    v.style.width = Math.round(w * scale) + "px";
    v.style.height = Math.round(h * scale) + "px";
  });
  if (overlaid) {
    stage.style.width = Math.round(widest * scale) + "px";
    stage.style.height = Math.round(tallest * scale) + "px";
  } else {
    stage.style.width = stage.style.height = "";
  }
  stage.dataset.scale = String(scale);
}

function setMode(mode) {
  player.mode = mode;
  const stage = player.dialog.querySelector(".stage.compare");
  if (!stage) return;
  stage.dataset.mode = mode;
  player.dialog.querySelectorAll(".modes .mode").forEach(function (b) {
    b.setAttribute("aria-pressed", String(b.dataset.mode === mode));
  });
  player.dialog.querySelector(".wipe-control").hidden = mode !== "wipe";
  player.dialog.querySelector(".flip-control").hidden = mode !== "flip";
  applyWipe();
  applyFlip();
  sizeAll();
  saveView();
}

// Wipe: B lies on A, cut away left of the slider, so A shows left of the line and B
// right of it.
function wipeSlider() {
  const box = el("label", "wipe-control");
  box.appendChild(document.createTextNode("Wipe: A | B "));
  const slider = el("input", "wipe");
  slider.type = "range";
  slider.min = "0";
  slider.max = "100";
  slider.step = "0.5";
  slider.value = String(player.wipe);
  slider.addEventListener("input", function () { player.wipe = Number(slider.value); applyWipe(); });
  box.appendChild(slider);
  return box;
}

function applyWipe() {
  const stage = player.dialog.querySelector(".stage.compare");
  const top = stage.querySelector(".pv-1");
  const divider = stage.querySelector(".divider");
  const on = player.mode === "wipe";
  top.style.clipPath = on ? "inset(0 0 0 " + player.wipe + "%)" : "";
  divider.hidden = !on;
  divider.style.left = player.wipe + "%";
}

// Flip: one of the two at a time, in the same place; F or the button swaps them (both
// keep playing in lockstep, so a flip shows the same instant of the other video).
function flipControls() {
  const box = el("div", "flip-control");
  box.appendChild(button("flip", "⇆ Flip (F)", "Show the other video", flip));
  box.appendChild(el("span", "showing"));
  const auto = el("label", "autoflip");
  const tick = el("input");
  tick.type = "checkbox";
  auto.appendChild(tick);
  auto.appendChild(document.createTextNode(" every second"));
  let timer = 0;
  tick.addEventListener("change", function () {
    clearInterval(timer);
    if (tick.checked) timer = setInterval(function () { if (box.isConnected) flip(); else clearInterval(timer); }, 1000);
  });
  box.appendChild(auto);
  return box;
}

function flip() {
  player.flipped = !player.flipped;
  applyFlip();
}

function applyFlip() {
  const stage = player.dialog.querySelector(".stage.compare");
  const on = player.mode === "flip";
  stage.querySelector(".pv-1").style.visibility = on && !player.flipped ? "hidden" : "";
  stage.querySelector(".pv-0").style.visibility = on && player.flipped ? "hidden" : "";
  const showing = player.dialog.querySelector(".showing");
  showing.textContent = "showing " + (player.flipped ? "B" : "A");
  stage.dataset.showing = player.flipped ? "B" : "A";
}

function closed() {
  if (player.group) stop(player.group);
  player.dialog.textContent = "";
  player.open = null;
  player.compare = null;
  clearPicks();
  saveView();
}

// ----- picking two cards to compare -----
const picks = [];

function pickButton(job) {
  const b = button("pick", "⇄ compare", "Pick two cards to compare them", function () { togglePick(job.key); });
  b.setAttribute("aria-pressed", String(picks.indexOf(job.key) >= 0));
  return b;
}

function togglePick(k) {
  const at = picks.indexOf(k);
  if (at >= 0) picks.splice(at, 1); else picks.push(k);
  markPicks();
  if (picks.length === 2) openCompare(picks.slice());
}

function clearPicks() {
  picks.length = 0;
  markPicks();
}

function markPicks() {
  document.querySelectorAll("#grid .pick").forEach(function (b) {
    const on = picks.indexOf(b.closest("figure.job").dataset.key) >= 0;
    b.setAttribute("aria-pressed", String(on));
    b.classList.toggle("on", on);
  });
}
