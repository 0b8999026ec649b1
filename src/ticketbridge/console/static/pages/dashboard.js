// Dashboard: tickets per status (store), vendor calls and errors (/metrics, when the service
// exposes it) and the sync lag of every connection.
import { allConnections, api, connectionLabel, session } from "../api.js";
import { ago, every, h, table } from "../ui.js";
import { STATUSES } from "./tickets.js";

const SAMPLES = "tb.metricSamples";

export async function render(view) {
  const statuses = h("div", { id: "per-status" });
  const vendor = h("div", { id: "vendor-calls" });
  const lag = h("div", { id: "sync-lag" });
  view.replaceChildren(h("h1", {}, "Dashboard"),
    h("div", { class: "cards" }, h("div", { class: "card" }, h("h2", {}, "Tickets per status"), statuses),
      h("div", { class: "card" }, h("h2", {}, "Vendor calls, last hour"), vendor)),
    h("h2", {}, "Sync lag per connection"), lag);

  async function tick() {
    if (session.connection) {
      const counts = await Promise.all(STATUSES.map((s) =>
        api("GET", "/v1/itsm/tickets", { query: { status: s, limit: 1 } }).then((p) => p.total)));
      const max = Math.max(1, ...counts);
      statuses.replaceChildren(table(["Status", "Tickets", ""], STATUSES.map((s, i) => h("tr", {},
        h("td", {}, s), h("td", { "data-status": s }, counts[i]), h("td", {}, h("progress", { max, value: counts[i] }))))));
    } else statuses.replaceChildren(h("p", { class: "muted" }, "No connection yet."));
    vendor.replaceChildren(...(await vendorCalls()));
    const conns = await allConnections();
    const rows = await Promise.all(conns.map(async (c) => {
      const s = await api("GET", "/v1/itsm/sync", { connection: c.id }).catch(() => ({}));
      return h("tr", {}, h("td", {}, connectionLabel(c)), h("td", {}, s.status || "?"),
        h("td", {}, s.last_success_at ? ago(s.last_success_at) : "not synced yet"),
        h("td", { class: s.last_error ? "error" : "muted" }, s.last_error || ""));
    }));
    lag.replaceChildren(table(["Connection", "Sync", "Last success (lag)", "Last error"], rows));
  }
  return every(5000, tick);
}

// Counters of vendor calls from the Prometheus text; "last hour" is the difference to the
// oldest sample this tab kept within the hour (the process total until then).
async function vendorCalls() {
  let text;
  try {
    const r = await fetch("/metrics", { headers: { Accept: "text/plain" } });
    if (!r.ok) throw new Error();
    text = await r.text();
  } catch {
    return [h("p", { class: "muted" }, "Metrics are not available on this service (/metrics).")];
  }
  let calls = 0, errors = 0;
  for (const line of text.split("\n")) {
    // Label values may hold braces (endpoint templates such as /issue/{key}): match to the last.
    const m = line.match(/^(\w+_total)(\{.*\})?\s+(\S+)$/);
    if (!m || !m[1].includes("vendor") || /retr|429|rate/.test(m[1])) continue;
    const n = Number(m[3]);
    calls += n;
    const status = (m[2] || "").match(/(?:status|code|outcome)="([^"]*)"/);
    if (status && !/^(2\d\d|ok|success)$/i.test(status[1])) errors += n;
  }
  const now = Date.now();
  const samples = JSON.parse(sessionStorage.getItem(SAMPLES) || "[]").filter((s) => now - s.t < 3600e3);
  samples.push({ t: now, calls, errors });
  sessionStorage.setItem(SAMPLES, JSON.stringify(samples));
  const first = samples.length > 1 ? samples[0] : { calls: 0, errors: 0 };
  return [h("p", {}, h("strong", { id: "vendor-total" }, calls - first.calls), " calls, ",
    h("strong", { class: errors - first.errors ? "error" : "" }, errors - first.errors), " errors"),
    h("p", { class: "muted" }, samples.length > 1 ? `since ${ago(new Date(first.t).toISOString())}` : "since the service started")];
}
