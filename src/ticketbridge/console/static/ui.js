// Tiny DOM helpers. Text always goes in as text nodes: nothing from the API is parsed as HTML.
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith("on")) el.addEventListener(k.slice(2), v);
    else if (k === "class") el.className = v;
    else if (v === true) el.setAttribute(k, "");
    else el.setAttribute(k, String(v));
  }
  for (const c of children.flat()) {
    if (c === undefined || c === null || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
}

export function table(headers, rows) {
  return h("table", {}, h("thead", {}, h("tr", {}, headers.map((t) => h("th", {}, t)))),
    h("tbody", {}, rows));
}

export function options(select, items, { value = (x) => x.value, label = (x) => x.label, empty } = {}) {
  select.replaceChildren(...(empty ? [h("option", { value: "" }, empty)] : []),
    ...items.map((x) => h("option", { value: value(x) }, label(x))));
}

export function flash(message, kind = "info") {
  const el = document.getElementById("flash");
  el.textContent = message;
  el.className = kind === "error" ? "error" : "";
  el.hidden = !message;
}

export function ago(iso) {
  if (!iso) return "never";
  const secs = Math.max(0, Math.round((Date.now() - Date.parse(iso)) / 1000));
  if (secs < 90) return `${secs} s ago`;
  if (secs < 5400) return `${Math.round(secs / 60)} min ago`;
  return `${Math.round(secs / 3600)} h ago`;
}

// Calls fn now and every `ms` until the page is left (the returned stop is the page's cleanup).
export function every(ms, fn) {
  let stopped = false;
  const tick = async () => { if (!stopped) { try { await fn(); } catch (e) { flash(e.message, "error"); } } };
  tick();
  const id = setInterval(tick, ms);
  return () => { stopped = true; clearInterval(id); };
}
