// The one place that talks to the service: the public /v1 API with the key from session
// storage (never a URL, never logged). Errors become Error(detail) from the API's body.
const KEY = "tb.apiKey";
const CONN = "tb.connection";

export const session = {
  get key() { return sessionStorage.getItem(KEY); },
  set key(v) { v ? sessionStorage.setItem(KEY, v) : sessionStorage.removeItem(KEY); },
  get connection() { return sessionStorage.getItem(CONN); },
  set connection(v) { v ? sessionStorage.setItem(CONN, v) : sessionStorage.removeItem(CONN); },
  clear() { sessionStorage.clear(); },  // the key, the connection and dashboard samples
};

export class ApiError extends Error {
  constructor(status, detail) { super(detail); this.status = status; }
}

export async function api(method, path, { body, query, connection = true } = {}) {
  const headers = { Accept: "application/json" };
  if (session.key) headers["X-API-KEY"] = session.key;
  const conn = typeof connection === "string" ? connection : connection && session.connection;
  if (conn) headers["X-CONNECTION-ID"] = conn;
  if (body !== undefined) headers["Content-Type"] = "application/json";
  const qs = query ? "?" + new URLSearchParams(
    Object.entries(query).filter(([, v]) => v !== undefined && v !== null && v !== "")) : "";
  const r = await fetch(path + qs, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  const data = r.status === 204 ? null : await r.json().catch(() => null);
  if (!r.ok) throw new ApiError(r.status, (data && data.detail) || `${r.status} ${r.statusText}`);
  return data;
}

// Every connection of the account (connections are listed per organization).
export async function allConnections() {
  const orgs = await api("GET", "/v1/provisioning/organizations", { query: { limit: 100 }, connection: false });
  const lists = await Promise.all(orgs.items.map((o) =>
    api("GET", `/v1/provisioning/organizations/${o.id}/connections`, { query: { limit: 100 }, connection: false })
      .then((p) => p.items.map((c) => ({ ...c, organization: o.name })))));
  return lists.flat();
}

export function isDemo(conn) {
  return String(conn?.credentials?.base_url || "").endsWith(".demo.ticketbridge.invalid");
}

export function connectionLabel(c) {
  const where = isDemo(c) ? "built-in demo" : c.credentials?.base_url;
  return `${c.organization} · ${c.identifier || where}${c.is_active ? "" : " (disabled)"}`;
}
