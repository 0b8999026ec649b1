// Tickets: the synced store with filters and cursor paging; detail, status change, bulk update.
import { api, session } from "../api.js";
import { flash, h, options, table } from "../ui.js";

export const STATUSES = ["OPEN", "TODO", "IN_PROGRESS", "IN_REVIEW", "RESOLVED", "CLOSED"];
const PRIORITIES = ["CRITICAL", "HIGH", "MEDIUM", "LOW", "INFORMATIONAL", "UNKNOWN"];

export async function render(view, { args }) {
  if (!session.connection) return view.replaceChildren(h("p", {}, "Add a connection first."));
  const status = h("select", { id: "filter-status" }); options(status, STATUSES.map((s) => ({ value: s, label: s })), { empty: "any status" });
  const priority = h("select", { id: "filter-priority" }); options(priority, PRIORITIES.map((s) => ({ value: s, label: s })), { empty: "any priority" });
  const name = h("input", { id: "filter-name", placeholder: "name contains…" });
  const list = h("div", { id: "ticket-list" });
  const detail = h("div", { id: "ticket-detail" });
  const bulkStatus = h("select", { id: "bulk-status" }); options(bulkStatus, STATUSES.map((s) => ({ value: s, label: s })));
  let cursor = null;
  const selected = new Set();

  async function load(c = null) {
    cursor = c;
    const page = await api("GET", "/v1/itsm/tickets", { query: {
      enableCursor: true, cursor, limit: 25, status: status.value, priority: priority.value, name: name.value } });
    const rows = page.items.map((t) => h("tr", { class: "clickable", "data-ticket": t.id, onclick: () => show(t.id) },
      h("td", { onclick: (ev) => ev.stopPropagation() }, h("input", { type: "checkbox", "aria-label": "select", checked: selected.has(t.id),
        onchange: (ev) => ev.target.checked ? selected.add(t.id) : selected.delete(t.id) })),
      h("td", { class: "mono" }, t.vendor_attributes?.data?.key || t.identifier),
      h("td", {}, t.name), h("td", { class: "ticket-status" }, t.status), h("td", {}, t.priority), h("td", {}, t.type || "")));
    list.replaceChildren(table(["", "Key", "Name", "Status", "Priority", "Type"], rows),
      h("div", { class: "row" },
        h("button", { id: "prev-page", disabled: !page.previous_cursor, onclick: () => load(page.previous_cursor) }, "← Previous"),
        h("button", { id: "next-page", disabled: !page.next_cursor, onclick: () => load(page.next_cursor) }, "Next →"),
        page.items.length ? "" : h("span", { class: "muted" }, "No tickets match (has the first sync finished?)")));
  }

  async function show(id) {
    const t = await api("GET", `/v1/itsm/tickets/${id}`);
    const to = h("select", { id: "new-status" }); options(to, STATUSES.map((s) => ({ value: s, label: s }))); to.value = t.status;
    detail.replaceChildren(h("div", { class: "card" },
      h("h2", {}, `${t.vendor_attributes?.data?.key || t.identifier} — ${t.name}`),
      h("p", {}, "Status ", h("strong", { id: "detail-status" }, t.status), ` · priority ${t.priority} · ${t.type || ""}`),
      h("p", {}, jiraLink(t)),
      t.description ? h("pre", { class: "mono" }, t.description) : "",
      h("div", { class: "row" }, "Change status to", to, h("button", { id: "change-status", onclick: async () => {
        try {
          const u = await api("PATCH", `/v1/itsm/tickets/${id}`, { body: { status: to.value } });
          flash(`Status is now ${u.status}.`); await show(id); await load(cursor);
        } catch (e) { flash(e.message, "error"); }
      } }, "Apply"))));
  }

  view.replaceChildren(h("h1", {}, "Tickets"),
    h("form", { class: "row", onsubmit: (ev) => { ev.preventDefault(); load(); } }, status, priority, name, h("button", {}, "Filter")),
    list,
    h("div", { class: "row" }, "Selected tickets: set status to", bulkStatus, h("button", { id: "bulk-update", onclick: async () => {
      if (!selected.size) return flash("Select tickets first.", "error");
      try {
        const job = await api("POST", "/v1/itsm/tickets/bulk/update", { body: { ticket_ids: [...selected], updates: { status: bulkStatus.value } } });
        location.hash = `#/jobs/${job.job_id}`;
      } catch (e) { flash(e.message, "error"); }
    } }, "Run bulk job")),
    detail);
  await load();
  if (args[0]) await show(args[0]);
}

export function jiraLink(t) {
  const key = t.vendor_attributes?.data?.key;
  if (t.url && !new URL(t.url).hostname.endsWith(".demo.ticketbridge.invalid")) {
    return h("a", { href: t.url, target: "_blank", rel: "noopener noreferrer", class: "jira-link" }, `Open ${key || "issue"} in Jira`);
  }
  // The built-in emulator has no web UI: show the issue as Jira returns it, via JQL search.
  return h("a", { href: `#/search/${encodeURIComponent(`key = ${key}`)}`, class: "jira-link" }, `${key} in the built-in Jira emulator`);
}
