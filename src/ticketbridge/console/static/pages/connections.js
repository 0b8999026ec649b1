// Connections: add Jira credentials or the built-in demo, test, sync now, live sync status.
import { allConnections, api, connectionLabel, isDemo, session } from "../api.js";
import { ago, every, flash, h, table } from "../ui.js";

export async function render(view, { refreshConnections, reload }) {
  const setup = await api("GET", "/v1/setup", { connection: false });
  const list = h("div", { id: "connections" });
  let conns = await allConnections();
  const hasDemo = conns.some(isDemo);

  const demo = setup.demo_available && !hasDemo && h("div", { class: "card" },
    h("h2", {}, "No Jira site yet?"),
    h("p", {}, "Try it with the built-in Jira emulator: a demo site with a few projects, users and 300 issues, running inside this service (no network). It is synced at once."),
    h("button", { id: "try-demo", onclick: async (ev) => {
      ev.target.disabled = true;
      try {
        const conn = await api("POST", "/v1/demo", { connection: false });
        session.connection = conn.id;
        await refreshConnections();
        await reload();
        flash("Demo connection created; the first sync is running.");
      } catch (e) { ev.target.disabled = false; flash(e.message, "error"); }
    } }, "Try it with the built-in Jira emulator"));

  view.replaceChildren(h("h1", {}, "Connections"), demo || "", list, addForm(refreshConnections, reload));

  async function tick() {
    const rows = await Promise.all(conns.map(async (c) => {
      const s = await api("GET", "/v1/itsm/sync", { connection: c.id }).catch((e) => ({ status: "?", last_error: e.message, counts: {} }));
      return row(c, s);
    }));
    list.replaceChildren(table(["Connection", "Health", "Sync", "Progress", "Last success", "Last error", "Status mapping", ""], rows));
  }

  function row(c, s) {
    const counts = Object.entries(s.counts || {}).filter(([, v]) => typeof v === "number").map(([k, v]) => `${k}: ${v}`).join(", ");
    const mapping = Object.entries(c.options?.status_mapping || {}).map(([k, v]) => `${k} → ${v}`).join(", ");
    return h("tr", { "data-connection": c.id },
      h("td", {}, connectionLabel(c), h("br"), h("span", { class: "muted mono" }, c.id)),
      h("td", { class: c.health === "UNHEALTHY" ? "error" : "" }, c.health, c.health_detail ? ` — ${c.health_detail}` : ""),
      h("td", { class: "sync-status" }, s.status, s.running && s.phase ? ` (${s.phase})` : ""),
      h("td", {}, counts || "—"),
      h("td", {}, ago(s.last_success_at)),
      h("td", { class: s.last_error ? "error" : "muted" }, s.last_error || "none"),
      h("td", {}, mapping || h("span", { class: "muted" }, "default (Jira status categories)")),
      h("td", {},
        h("button", { onclick: () => act(c, "test") }, "Test"), " ",
        h("button", { class: "sync-now", onclick: () => act(c, "sync") }, "Sync now"), " ",
        h("button", { onclick: () => { session.connection = c.id; location.hash = "#/tickets"; } }, "Tickets")));
  }

  async function act(c, what) {
    try {
      if (what === "test") {
        const r = await api("POST", `/v1/provisioning/connections/${c.id}/test`, { connection: false });
        flash(r.health === "HEALTHY" ? `Connected as ${r.vendor_account_name || r.vendor_account_id}` : `Test failed: ${r.detail}`, r.health === "HEALTHY" ? "info" : "error");
        conns = await allConnections();
      } else {
        await api("POST", "/v1/itsm/sync", { connection: c.id });
        flash("Sync started.");
      }
      await tick();
    } catch (e) { flash(e.message, "error"); }
  }

  return every(2000, tick);
}

function addForm(refreshConnections, reload) {
  const f = (name, attrs = {}) => h("input", { name, id: `jira-${name}`, required: true, ...attrs });
  const org = f("organization", { value: "My company" });
  const url = f("base_url", { placeholder: "https://acme.atlassian.net", type: "url" });
  const email = f("email", { type: "email", placeholder: "you@acme.com" });
  const token = f("api_token", { type: "password", autocomplete: "off" });
  const form = h("form", { class: "grid", onsubmit: async (ev) => {
    ev.preventDefault();
    try {
      const o = await api("POST", "/v1/provisioning/organizations", { body: { name: org.value }, connection: false });
      const c = await api("POST", `/v1/provisioning/organizations/${o.id}/connections`, { connection: false,
        body: { vendor: "JIRA", credentials: { base_url: url.value, email: email.value, api_token: token.value } } });
      token.value = "";
      session.connection = c.id;
      await refreshConnections();
      await reload();
      flash("Connection added. Use Test, then Sync now.");
    } catch (e) { flash(e.message, "error"); }
  } },
  h("label", { for: "jira-organization" }, "Organization"), org,
  h("label", { for: "jira-base_url" }, "Jira site URL"), url,
  h("label", { for: "jira-email" }, "Atlassian account email"), email,
  h("label", { for: "jira-api_token" }, "API token"), token,
  h("button", {}, "Add connection"));
  return h("div", { class: "card" }, h("h2", {}, "Add a Jira Cloud site"), form,
    h("p", { class: "muted" }, "Jira API token: sign in to id.atlassian.com → Security → Create and manage API tokens → Create API token, give it a label, copy it once. Use it with the email of the same Atlassian account; the service stores it encrypted and never shows it again."));
}
