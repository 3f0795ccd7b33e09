// The view lives in the URL's hash, so a link (or a reload) reopens the same view:
//   #across=style&hide=resolution%3D%221080p%22&blind=1234&size=300&open=KEY
//   &compare=K1,K2&mode=wipe
// `hide` repeats, one axis=value (the value as JSON) each; `blind` carries the shuffle
// seed, so the link shows every row in the same blind order. replaceState keeps the
// history to one entry per page, not one per click.

let applying = false; // while a hash is being applied, changes do not write it back

function viewHash() {
  const q = new URLSearchParams();
  q.set("across", view.across);
  Object.keys(view.hidden).forEach(function (name) {
    view.hidden[name].forEach(function (v) { q.append("hide", name + "=" + v); });
  });
  if (view.blind) q.set("blind", String(view.seed));
  if (view.size !== DEFAULT_SIZE) q.set("size", String(view.size));
  if (player.open) q.set("open", player.open);
  if (player.compare) {
    q.set("compare", player.compare.join(","));
    q.set("mode", player.mode);
  }
  return "#" + q.toString();
}

function saveView() {
  if (applying) return;
  const hash = viewHash();
  if (window.location.hash !== hash) history.replaceState(null, "", hash);
}

// Read the hash into `view` (before the first render) and say what to open after it.
function readView(hash) {
  const q = new URLSearchParams((hash || "").replace(/^#/, ""));
  if (q.has("across") && (q.get("across") === "" || axisNames.indexOf(q.get("across")) >= 0)) view.across = q.get("across");
  Object.keys(view.hidden).forEach(function (name) { view.hidden[name].clear(); });
  q.getAll("hide").forEach(function (entry) {
    const at = entry.indexOf("=");
    const name = entry.slice(0, at);
    if (at > 0 && view.hidden[name]) view.hidden[name].add(entry.slice(at + 1));
  });
  view.blind = q.has("blind");
  if (view.blind && /^\d+$/.test(q.get("blind"))) view.seed = Number(q.get("blind"));
  const size = Number(q.get("size"));
  view.size = size >= MIN_SIZE && size <= MAX_SIZE ? size : DEFAULT_SIZE;
  const mode = q.get("mode");
  if (MODES.some(function (m) { return m[0] === mode; })) player.mode = mode;
  return { open: q.get("open"), compare: q.get("compare") ? q.get("compare").split(",") : null };
}

// Apply a hash to the page: the controls, the grid, and the player dialog.
function applyView(hash) {
  applying = true;
  try {
    const wanted = readView(hash);
    showViewInControls();
    render();
    if (wanted.compare && openCompare(wanted.compare)) return;
    if (wanted.open && openCard(wanted.open)) return;
    if (player.dialog.open) player.dialog.close();
  } finally {
    applying = false;
    saveView();
  }
}

function showViewInControls() {
  document.getElementById("across").value = view.across;
  document.getElementById("blind").checked = view.blind;
  document.body.classList.toggle("blind", view.blind);
  document.querySelectorAll("#filters fieldset").forEach(function (box) {
    const hidden = view.hidden[box.dataset.axis];
    box.querySelectorAll("input").forEach(function (input) { input.checked = !hidden.has(input.dataset.value); });
  });
  setCardSize(view.size);
}

function viewStateControls() {
  window.addEventListener("hashchange", function () { applyView(window.location.hash); });
}
