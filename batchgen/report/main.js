// Start the page: order the data, build the controls, apply the URL's view, render.
orderPromptsAndValues();
header();
loadMine();
controls();
judgingControls();
syncControls();
playerControls();
viewStateControls();
costTable();
applyView(window.location.hash);
winRates();
// The marker tests and the benchmark wait for: the page is usable from here on.
document.body.dataset.readyAt = String(Math.round(performance.now()));
document.body.dataset.ready = "true";
// When the first frame after that is on screen (the task after the frame's callback runs
// once it is painted): what "usable in under 2 s" is measured against.
requestAnimationFrame(function () {
  setTimeout(function () { document.body.dataset.paintedAt = String(Math.round(performance.now())); }, 0);
});
