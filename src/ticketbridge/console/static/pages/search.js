// JQL search over the passthrough API (live from Jira), with next/previous pages.
import { api, session } from "../api.js";
import { flash, h, table } from "../ui.js";

export async function render(view, { args }) {
  if (!session.connection) return view.replaceChildren(h("p", {}, "Add a connection first."));
  const jql = h("input", { id: "jql", size: 70, value: args[0] || "ORDER BY created DESC" });
  const out = h("div", { id: "search-results" });
  let stack = [];  // cursors of the pages before this one (Jira's search pages forward only)

  async function run(cursor) {
    try {
      const page = await api("GET", "/v1/itsm/passthrough/tickets/search", { query: {
        jql: jql.value, cursor, limit: 20, fields: "summary,status,assignee,issuetype" } });
      const rows = page.items.map((i) => h("tr", {}, h("td", { class: "mono" }, i.key), h("td", {}, i.fields?.summary || ""),
        h("td", { class: "search-status" }, i.fields?.status?.name || ""), h("td", {}, i.fields?.issuetype?.name || ""),
        h("td", {}, i.fields?.assignee?.displayName || "")));
      out.replaceChildren(table(["Key", "Summary", "Jira status", "Type", "Assignee"], rows),
        h("div", { class: "row" },
          h("button", { id: "search-prev", disabled: !stack.length, onclick: () => run(stack.pop() ?? undefined) }, "← Previous"),
          h("button", { id: "search-next", disabled: !page.next_cursor, onclick: () => { stack.push(cursor ?? null); run(page.next_cursor); } }, "Next →"),
          rows.length ? "" : h("span", { class: "muted" }, "No issues match.")));
    } catch (e) { flash(e.message, "error"); }
  }
  view.replaceChildren(h("h1", {}, "JQL search"),
    h("form", { class: "row", onsubmit: (ev) => { ev.preventDefault(); stack = []; run(); } }, jql, h("button", { id: "search-run" }, "Search")),
    h("p", { class: "muted" }, "Live from Jira through the passthrough API; the store is not involved."), out);
  await run();
}
