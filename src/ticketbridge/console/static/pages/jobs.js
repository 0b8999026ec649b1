// Jobs: the account's jobs, live progress, per-item results with failed items highlighted.
import { api } from "../api.js";
import { ago, every, h, table } from "../ui.js";

export async function render(view, { args }) {
  const list = h("div", { id: "job-list" });
  const detail = h("div", { id: "job-detail" });
  let current = args[0] || null;

  async function tick() {
    const page = await api("GET", "/v1/jobs", { query: { limit: 20 }, connection: false });
    list.replaceChildren(table(["Job", "Type", "Status", "Progress", "Created"], page.items.map((j) =>
      h("tr", { class: `clickable ${j.status === "FAILED" ? "failed" : ""}`, onclick: () => { location.hash = `#/jobs/${j.id}`; } },
        h("td", { class: "mono" }, j.id.slice(0, 8)), h("td", {}, j.type), h("td", {}, j.status),
        h("td", {}, progress(j)), h("td", {}, ago(j.created_at))))));
    if (current) await show(current);
  }

  async function show(id) {
    const j = await api("GET", `/v1/jobs/${id}`, { connection: false });
    const rows = j.results.map((r, i) => h("tr", { class: r.success === false ? "failed" : "" },
      h("td", {}, r.request_index ?? i), h("td", {}, r.success === false ? "failed" : "ok"),
      h("td", { class: "mono" }, r.vendor_ticket_id || r.ticket_id || r.identifier || ""), h("td", {}, r.error || "")));
    detail.replaceChildren(h("div", { class: "card" },
      h("h2", {}, `Job ${j.id}`),
      h("p", {}, `${j.type} · `, h("strong", { id: "job-status", class: j.status === "FAILED" ? "error" : j.status === "SUCCESS" ? "ok" : "" }, j.status), " · ", progress(j)),
      rows.length ? table(["Item", "Result", "Ticket", "Error"], rows) : h("p", { class: "muted" }, "No item has finished yet.")));
  }

  view.replaceChildren(h("h1", {}, "Jobs"), detail, list);
  return every(1000, tick);
}

function progress(j) {
  const { total, done } = j.progress;
  return h("span", {}, h("progress", { max: total || 1, value: done }), ` ${done}/${total}`);
}
