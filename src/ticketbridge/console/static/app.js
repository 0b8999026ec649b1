// The console shell: sign-in, the connection picker and a hash router (one module per page).
import { allConnections, api, connectionLabel, session } from "./api.js";
import { flash, h, options } from "./ui.js";

// A first-run link carries its one-time token in the fragment; take it out of the address bar
// (and history) before anything else runs.
let setupToken = null;
const m = location.hash.match(/^#setup=([A-Za-z0-9_-]+)$/);
if (m) { setupToken = m[1]; history.replaceState(null, "", location.pathname + "#/connections"); }

const PAGES = {
  dashboard: () => import("./pages/dashboard.js"),
  connections: () => import("./pages/connections.js"),
  tickets: () => import("./pages/tickets.js"),
  create: () => import("./pages/create.js"),
  search: () => import("./pages/search.js"),
  jobs: () => import("./pages/jobs.js"),
};
const view = document.getElementById("view");
let cleanup = null;

export async function refreshConnections() {
  const select = document.getElementById("connection");
  const conns = await allConnections();
  if (!conns.some((c) => c.id === session.connection)) session.connection = conns[0]?.id || null;
  options(select, conns, { value: (c) => c.id, label: connectionLabel, empty: conns.length ? undefined : "none yet" });
  select.value = session.connection || "";
  return conns;
}

// Routes overlap: a page still awaiting its data when the hash changes again must not paint
// over the newer page. Each route renders into its own pane; a superseded one is detached.
let newest = 0;

async function route() {
  const mine = ++newest;
  if (cleanup) { cleanup(); cleanup = null; }
  flash("");
  if (!session.key) return signIn();
  document.getElementById("nav").hidden = false;
  document.getElementById("session").hidden = false;
  const [name, ...args] = location.hash.replace(/^#\/?/, "").split("/");
  const page = PAGES[name] ? name : "dashboard";
  for (const a of document.querySelectorAll("#nav a")) a.classList.toggle("active", a.getAttribute("href") === `#/${page}`);
  document.getElementById("connection").value = session.connection || "";
  const mod = await PAGES[page]();
  if (mine !== newest) return;
  const pane = h("div", {}, h("p", { class: "muted" }, "Loading…"));
  view.replaceChildren(pane);
  try {
    const done = (await mod.render(pane, { args: args.map(decodeURIComponent), refreshConnections, reload: route })) || null;
    if (mine !== newest) { if (done) done(); return; }
    cleanup = done;
  } catch (e) {
    if (mine !== newest) return;
    if (e.status === 401) { session.clear(); return route(); }
    pane.replaceChildren(h("p", { class: "error" }, e.message));
  }
}

async function signIn() {
  document.getElementById("nav").hidden = true;
  document.getElementById("session").hidden = true;
  const status = await api("GET", "/v1/setup", { connection: false });
  const key = h("input", { type: "password", id: "api-key", autocomplete: "off", size: 50, required: true });
  const form = h("form", { class: "grid", id: "signin", onsubmit: async (ev) => {
    ev.preventDefault();
    session.key = key.value.trim();
    try { await api("GET", "/v1/provisioning/organizations", { query: { limit: 1 }, connection: false }); }
    catch (e) { session.clear(); return flash(e.message, "error"); }
    await refreshConnections();
    route();
  } }, h("label", { for: "api-key" }, "API key"), key, h("button", {}, "Sign in"));
  const parts = [h("h1", {}, "Sign in"), form,
    h("p", { class: "muted" }, "The key is kept in this tab's session storage until you sign out.")];
  if (setupToken && status.setup_pending) parts.unshift(setupCard(status));
  else if (setupToken) parts.unshift(h("p", { class: "error" }, "This setup link was already used or has expired. Restart `ticketbridge serve` for a new one while no account exists, or create a key with `ticketbridge api-keys create`."));
  else if (status.setup_pending) parts.push(h("p", {}, "First run: open the setup link that `ticketbridge serve` printed."));
  view.replaceChildren(...parts);
}

function setupCard() {
  const out = h("div");
  const button = h("button", { id: "create-key", onclick: async () => {
    button.disabled = true;
    try {
      const done = await api("POST", "/v1/setup", { body: { token: setupToken, key_name: "console" }, connection: false });
      setupToken = null;
      session.key = done.api_key;
      view.replaceChildren(card);  // signed in: the sign-in form below has no use any more
      out.replaceChildren(h("p", { class: "ok" }, "Your API key (shown once; copy it for scripts and the CLI):"),
        h("p", {}, h("code", { id: "new-key" }, done.api_key)),
        h("button", { id: "continue", onclick: async () => { await refreshConnections(); location.hash = "#/connections"; route(); } }, "Continue"));
    } catch (e) { button.disabled = false; flash(e.message, "error"); }
  } }, "Create my API key");
  out.append(h("p", {}, "Welcome. This creates the first account and its API key."), button);
  const card = h("div", { class: "card" }, h("h1", {}, "First run"), out);
  return card;
}

document.getElementById("signout").addEventListener("click", () => {
  session.clear();
  location.hash = "";
  route();
});
document.getElementById("connection").addEventListener("change", (ev) => {
  session.connection = ev.target.value;
  route();
});
window.addEventListener("hashchange", route);
if (session.key) refreshConnections().catch(() => {}).finally(route); else route();
