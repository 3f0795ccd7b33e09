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
