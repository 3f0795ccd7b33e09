// Money and time: what each card cost, what each axis value cost in total. A failed job
// is refunded by the API, so it is shown as refunded and never added to a total.

function charged(job) { return job.state !== "failed" && typeof job.cost === "number"; }

function cu(n) { return Math.round(n * 100) / 100 + " CU"; }

// The card's money line: "12 CU", "12 CU refunded" for a failed job, "0 CU reused" for a
// result `run --reuse` took from another folder (paid there, not in this batch).
function cardCost(job) {
  if (job.reusedFrom) return "0 CU reused";
  if (job.state === "failed") return typeof job.cost === "number" ? cu(job.cost) + " refunded" : "refunded";
  return typeof job.cost === "number" ? cu(job.cost) : "";
}

// The card's money, as an element: a refund strikes the amount through.
function costBadge(job) {
  const text = cardCost(job);
  if (!text) return null;
  const badge = el("span", "cost" + (job.state === "failed" ? " refunded" : ""));
  if (job.state === "failed" && typeof job.cost === "number") {
    badge.appendChild(el("s", null, cu(job.cost)));
    badge.appendChild(document.createTextNode(" refunded"));
  } else {
    badge.textContent = text;
  }
  return badge;
}

// Totals over `jobs`: CU charged, jobs refunded, and the mean generation time.
function tally(jobs) {
  const out = { cost: 0, costKnown: false, refunded: 0, refundedCost: 0, jobs: jobs.length, seconds: 0, timed: 0 };
  jobs.forEach(function (j) {
    if (charged(j)) { out.cost += j.cost; out.costKnown = true; }
    if (j.state === "failed") {
      out.refunded++;
      if (typeof j.cost === "number") out.refundedCost += j.cost;
    }
    if (typeof j.seconds === "number" && j.state === "succeeded") { out.seconds += j.seconds; out.timed++; }
  });
  return out;
}

function tallyText(t) {
  const parts = [];
  if (t.costKnown || t.refunded) parts.push(cu(t.cost));
  if (t.refunded) parts.push(t.refunded + " refunded");
  if (t.timed) parts.push("mean " + (Math.round(t.seconds / t.timed * 10) / 10) + " s");
  return parts.join(" · ");
}

// The header's money part: "164 CU · 1 failed, refunded (12 CU)".
function totalCostText() {
  const t = tally(data.jobs);
  const parts = [];
  if (t.costKnown) parts.push(cu(t.cost) + " spent");
  if (t.refunded) parts.push(t.refunded + " failed, refunded" + (t.refundedCost ? " (" + cu(t.refundedCost) + ")" : ""));
  return parts;
}

// One table: per axis, per value, its jobs, CU spent, refunds and mean generation time.
function costTable() {
  const box = document.getElementById("costs");
  box.textContent = "";
  if (!axes.length || !data.jobs.some(function (j) { return typeof j.cost === "number" || typeof j.seconds === "number"; })) {
    box.hidden = true;
    return;
  }
  box.hidden = false;
  box.appendChild(el("summary", null, "Cost and time per value"));
  const table = el("table", "cost-table");
  const head = el("tr");
  ["axis", "value", "jobs", "spent", "per job", "refunded", "mean time"].forEach(function (h) { head.appendChild(el("th", null, h)); });
  table.appendChild(head);
  axes.forEach(function (axis) {
    axis[1].forEach(function (value) {
      const jobs = data.jobs.filter(function (j) { return key(valueOf(j, axis[0])) === key(value); });
      const t = tally(jobs);
      const paid = jobs.filter(charged).length;
      const tr = el("tr");
      tr.dataset.axis = axis[0];
      tr.dataset.value = key(value);
      [axis[0], show(value), String(t.jobs), t.costKnown ? cu(t.cost) : "—",
       paid && t.costKnown ? cu(t.cost / paid) : "—", String(t.refunded),
       t.timed ? (Math.round(t.seconds / t.timed * 10) / 10) + " s" : "—"].forEach(function (c) { tr.appendChild(el("td", null, c)); });
      table.appendChild(tr);
    });
  });
  box.appendChild(table);
}
