// Playback: loading the grid's videos lazily, groups of videos held in lockstep, the
// transport (play/pause, scrub, frame step, speed) that drives a group, and "Sync",
// which puts every video on screen into one group.

const DEFAULT_FPS = 24; // when the report could not read a file's frame rate
const SPEEDS = [0.25, 0.5, 0.75, 1, 1.5, 2];

function frameOf(job) { return 1 / ((job && job.fps) || DEFAULT_FPS); }

// ----- the grid's videos -----
// A card holds an empty slot until it comes near the screen; only then is its <video>
// made and loaded. Inserting a <video> costs about half a millisecond even with
// preload="none", so making all of a 1,000-job grid's up front would halve its speed.
function videoIn(slot) {
  let video = slot.firstElementChild;
  if (!video) {
    video = mutedVideo(slot.dataset.src);
    video.preload = "none";
    slot.appendChild(video);
  }
  return video;
}

function mutedVideo(src) {
  const video = el("video");
  video.muted = true;
  video.loop = true;
  video.playsInline = true;
  video.setAttribute("muted", "");
  video.setAttribute("playsinline", "");
  video.src = src;
  return video;
}

// Cards near the screen play (freely, or in the sync group when Sync is on); cards
// that leave it pause, so a long grid never decodes more than the screen shows.
const observer = new IntersectionObserver(function (entries) {
  entries.forEach(function (entry) {
    if (entry.isIntersecting) {
      const video = videoIn(entry.target);
      if (sync.on) join(sync.group, video, frameOf(jobOf(entry.target)));
      else video.play().catch(function () {});
    } else {
      const video = entry.target.firstElementChild;
      if (!video) return;
      if (sync.on) leave(sync.group, video);
      else if (!video.paused) video.pause();
    }
  });
}, { rootMargin: "200px" });

function jobOf(slot) { return jobsByKey.get(slot.closest("figure.job").dataset.key); }

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

// ----- lockstep groups -----
// A group's position is a clock (position at `since`, advancing at `rate` while
// playing); every member is steered to it. Videos started together still drift apart
// (each decodes on its own and stalls on its own), so every CORRECT_MS the clock is
// re-anchored to the members' median and each member off by more than a quarter
// frame gets a slightly faster or slower playbackRate until it is back; one far off
// (it stalled or just joined) is seeked. Each video loops at its own length.
const CORRECT_MS = 100;

function lockstep() {
  return { videos: new Map(), rate: 1, playing: false, base: 0, since: 0, timer: 0, epoch: 0,
           listeners: [] };
}

function position(group) {
  if (!group.playing) return group.base;
  return group.base + (performance.now() - group.since) / 1000 * group.rate;
}

// The group's position on one video's own timeline (videos loop at their own length).
function onTimeline(t, video) {
  const d = video.duration;
  return isFinite(d) && d > 0 ? t % d : t;
}

function join(group, video, frame) {
  group.videos.set(video, frame);
  video.loop = true;
  video.playbackRate = group.rate;
  load(video).then(function () {
    if (!group.videos.has(video)) return;
    video.currentTime = onTimeline(position(group), video);
    if (group.playing) video.play().catch(function () {});
    else video.pause();
  });
  changed(group);
}

function leave(group, video) {
  if (!group.videos.delete(video)) return;
  video.pause();
  changed(group);
}

function members(group) { return Array.from(group.videos.keys()); }

// Re-rendering the grid drops cards without telling the group: forget those.
function prune(group) {
  group.videos.forEach(function (_, v) { if (!v.isConnected) group.videos.delete(v); });
}

// Metadata (duration, size) is needed before a video can be placed on the clock.
function load(video) {
  if (video.readyState >= 1 || video.error) return Promise.resolve();
  video.preload = "auto";
  if (video.networkState === HTMLMediaElement.NETWORK_IDLE || video.networkState === HTMLMediaElement.NETWORK_EMPTY) video.load();
  return new Promise(function (resolve) {
    video.addEventListener("loadedmetadata", resolve, { once: true });
    video.addEventListener("error", resolve, { once: true });
    setTimeout(resolve, 5000);
  });
}

// Resolves once `video` shows the frame at its currentTime and can play on from it.
function settled(video) {
  return new Promise(function (resolve) {
    const check = function () {
      if (video.error || (!video.seeking && video.readyState >= 3)) return resolve();
      setTimeout(check, 15);
    };
    check();
    setTimeout(resolve, 5000);
  });
}

// Put every member on the position `t`, paused, and resolve when all show it.
function placeAll(group, t) {
  const videos = members(group);
  return Promise.all(videos.map(function (v) {
    return load(v).then(function () {
      v.pause();
      v.currentTime = onTimeline(t, v);
      return settled(v);
    });
  }));
}

function play(group) {
  const epoch = ++group.epoch;
  const from = group.base;
  return placeAll(group, from).then(function () {
    if (epoch !== group.epoch) return; // paused, seeked or restarted meanwhile
    group.playing = true;
    group.base = from;
    group.since = performance.now();
    members(group).forEach(function (v) {
      v.playbackRate = group.rate;
      v.play().catch(function () {});
    });
    clearInterval(group.timer);
    group.timer = setInterval(function () { correct(group); }, CORRECT_MS);
    changed(group);
  });
}

function pause(group) {
  group.epoch++;
  group.base = position(group);
  group.playing = false;
  clearInterval(group.timer);
  changed(group);
  return placeAll(group, group.base).then(function () { changed(group); });
}

function seek(group, t) {
  const was = group.playing;
  group.epoch++;
  group.playing = false;
  clearInterval(group.timer);
  group.base = Math.max(0, t);
  const placed = placeAll(group, group.base);
  changed(group);
  return was ? placed.then(function () { return play(group); }) : placed.then(function () { changed(group); });
}

// One frame forward or back (n = 1 or -1), paused: from the frame shown now.
function step(group, n) {
  const frame = smallestFrame(group);
  const shown = Math.floor(position(group) / frame + 1e-3);
  // A hair past the frame's start, so rounding never shows the frame before it.
  const target = Math.max(0, shown + n) * frame + frame / 100;
  group.epoch++;
  group.playing = false;
  clearInterval(group.timer);
  group.base = Math.min(target, longest(group) || target);
  changed(group);
  return placeAll(group, group.base).then(function () { changed(group); });
}

function setRate(group, rate) {
  group.base = position(group);
  group.since = performance.now();
  group.rate = rate;
  members(group).forEach(function (v) { v.playbackRate = rate; });
  changed(group);
}

function correct(group) {
  prune(group);
  const videos = members(group).filter(function (v) { return v.readyState >= 1 && !v.error; });
  if (!group.playing || !videos.length) return;
  const t = position(group);
  const offsets = videos.map(function (v) { return offset(onTimeline(t, v), v); });
  // Follow the members when they all lag (a slow machine) instead of seeking them all.
  const middle = median(offsets);
  if (Math.abs(middle) > smallestFrame(group) / 2) {
    group.base = t - middle;
    group.since = performance.now();
  }
  videos.forEach(function (v, i) { steer(group, v, offsets[i] - middle); });
  changed(group);
}

// How far the video is behind (positive) or ahead of where it should be, the short
// way round its loop.
function offset(target, video) {
  let d = target - video.currentTime;
  const length = video.duration;
  if (isFinite(length) && length > 0) {
    if (d > length / 2) d -= length;
    if (d < -length / 2) d += length;
  }
  return d;
}

function steer(group, video, behind) {
  const frame = group.videos.get(video) || 1 / DEFAULT_FPS;
  if (video.paused) video.play().catch(function () {});
  if (Math.abs(behind) > 0.5) {
    video.currentTime = onTimeline(video.currentTime + behind, video);
    video.playbackRate = group.rate;
  } else if (Math.abs(behind) > frame / 4) {
    // Catch up (or wait) over about half a second, never faster than +-30%.
    const nudge = Math.max(-0.3, Math.min(0.3, behind / 0.5));
    video.playbackRate = group.rate * (1 + nudge);
  } else {
    video.playbackRate = group.rate;
  }
}

function median(values) {
  const sorted = values.slice().sort(function (a, b) { return a - b; });
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

function smallestFrame(group) {
  let frame = 1 / DEFAULT_FPS;
  let first = true;
  group.videos.forEach(function (f) { if (first || f < frame) { frame = f; first = false; } });
  return frame;
}

function longest(group) {
  return members(group).reduce(function (m, v) { return isFinite(v.duration) ? Math.max(m, v.duration) : m; }, 0);
}

function stop(group) {
  group.epoch++;
  group.playing = false;
  clearInterval(group.timer);
  members(group).forEach(function (v) { v.pause(); v.playbackRate = 1; });
  group.videos.clear();
  changed(group);
}

function changed(group) { group.listeners.forEach(function (f) { f(group); }); }

// ----- the transport: controls for one group -----
function transport(group) {
  const bar = el("div", "transport");
  const toggle = button("play", "▶ Play", "Play or pause (space)", function () {
    if (group.playing) pause(group); else play(group);
  });
  const back = button("frame-back", "◀▮", "One frame back (←)", function () { step(group, -1); });
  const on = button("frame-on", "▮▶", "One frame on (→)", function () { step(group, 1); });
  const scrub = el("input", "scrub");
  scrub.type = "range";
  scrub.min = "0";
  scrub.step = "any";
  scrub.title = "Scrub";
  scrub.setAttribute("aria-label", "Position");
  let wasPlaying = false;
  scrub.addEventListener("pointerdown", function () { wasPlaying = group.playing; });
  scrub.addEventListener("input", function () {
    group.epoch++;
    group.playing = false;
    clearInterval(group.timer);
    group.base = Number(scrub.value);
    members(group).forEach(function (v) { v.pause(); v.currentTime = onTimeline(group.base, v); });
    update();
  });
  scrub.addEventListener("change", function () {
    seek(group, Number(scrub.value)).then(function () { if (wasPlaying && !group.playing) play(group); wasPlaying = false; });
  });
  const clock = el("span", "clock");
  const speed = el("select", "speed");
  speed.title = "Speed";
  SPEEDS.forEach(function (s) { speed.appendChild(new Option(s + "x", String(s))); });
  speed.value = String(group.rate);
  speed.addEventListener("change", function () { setRate(group, Number(speed.value)); });
  [toggle, back, on, scrub, clock, speed].forEach(function (n) { bar.appendChild(n); });

  function update() {
    const t = position(group);
    const length = longest(group);
    scrub.max = String(length || 1);
    if (document.activeElement !== scrub || !wasPlaying) scrub.value = String(length ? t % length : t);
    const frame = smallestFrame(group);
    clock.textContent = (length ? t % length : t).toFixed(2) + " s · frame " + Math.floor((length ? t % length : t) / frame + 1e-3);
    toggle.textContent = group.playing ? "❚❚ Pause" : "▶ Play";
    toggle.setAttribute("aria-pressed", String(group.playing));
    bar.dataset.playing = String(group.playing);
    speed.value = String(group.rate);
  }
  group.listeners.push(update);
  // The clock moves between corrections too: redraw it every frame while playing.
  (function tick() {
    if (!bar.isConnected && bar.dataset.mounted) return;
    if (bar.isConnected) bar.dataset.mounted = "1";
    if (group.playing) update();
    requestAnimationFrame(tick);
  })();
  update();
  bar.keys = function (event) { return transportKey(group, event); };
  return bar;
}

// Space, ← and → drive the transport of the open player.
function transportKey(group, event) {
  const target = event.target || {};
  // Typing in a field is typing; space on a focused button is that button's click.
  if (/^(SELECT|TEXTAREA)$/.test(target.tagName) || (target.tagName === "INPUT" && target.type !== "range")) return false;
  if (event.key === " " && target.tagName === "BUTTON") return false;
  if (event.key === " ") { if (group.playing) pause(group); else play(group); }
  else if (event.key === "ArrowLeft") step(group, -1);
  else if (event.key === "ArrowRight") step(group, 1);
  else return false;
  event.preventDefault();
  return true;
}

function button(cls, text, title, onClick) {
  const b = el("button", cls, text);
  b.type = "button";
  b.title = title;
  b.addEventListener("click", onClick);
  return b;
}

// ----- Sync: every card on screen in one group, from one scrubber -----
const sync = { on: false, group: lockstep(), bar: null };

function syncControls() {
  const box = document.getElementById("sync");
  const holder = document.getElementById("sync-transport");
  box.addEventListener("change", function () { setSync(box.checked); });
  sync.bar = transport(sync.group);
  sync.bar.hidden = true;
  holder.appendChild(sync.bar);
}

function setSync(on) {
  if (on === sync.on) return;
  sync.on = on;
  document.getElementById("sync").checked = on;
  document.body.classList.toggle("synced", on);
  sync.bar.hidden = !on;
  const shown = onScreenVideos();
  if (on) {
    sync.group.base = 0;
    shown.forEach(function (pair) { sync.group.videos.set(pair[1], frameOf(pair[0])); });
    play(sync.group);
  } else {
    stop(sync.group);
    shown.forEach(function (pair) { pair[1].play().catch(function () {}); });
  }
  stickBelowControls();
}

// [job, video] of every card whose video exists and is near the screen.
function onScreenVideos() {
  const out = [];
  const margin = 200;
  document.querySelectorAll("#grid .slot").forEach(function (slot) {
    const box = slot.getBoundingClientRect();
    if (box.bottom < -margin || box.top > window.innerHeight + margin ||
        box.right < -margin || box.left > window.innerWidth + margin) return;
    out.push([jobOf(slot), videoIn(slot)]);
  });
  return out;
}
