// Create a ticket: project → issue type → assignee come from the passthrough endpoints.
import { api, session } from "../api.js";
import { flash, h, options } from "../ui.js";
import { jiraLink } from "./tickets.js";

const PT = "/v1/itsm/passthrough/projects";

export async function render(view) {
  if (!session.connection) return view.replaceChildren(h("p", {}, "Add a connection first."));
  const project = h("select", { id: "project", required: true });
  const type = h("select", { id: "issue-type", required: true, disabled: true });
  const assignee = h("select", { id: "assignee", disabled: true });
  const name = h("input", { id: "name", required: true, maxlength: 255 });
  const description = h("textarea", { id: "description", rows: 4 });
  const priority = h("select", { id: "priority" });
  options(priority, ["MEDIUM", "HIGH", "CRITICAL", "LOW"].map((p) => ({ value: p, label: p })));
  const result = h("div", { id: "created" });

  const projects = await api("GET", PT, { query: { limit: 100 } });
  options(project, projects.items, { value: (p) => p.vendor_id, label: (p) => `${p.vendor_id} — ${p.name}`, empty: "choose a project" });
  project.addEventListener("change", async () => {
    type.disabled = assignee.disabled = true;
    if (!project.value) return;
    const key = encodeURIComponent(project.value);
    const [types, users] = await Promise.all([
      api("GET", `${PT}/${key}/issue-types`, { query: { limit: 100 } }),
      api("GET", `${PT}/${key}/assignable-users`, { query: { limit: 100 } })]);
    options(type, types.items.filter((t) => !t.subtask), { value: (t) => t.vendor_id, label: (t) => t.name });
    options(assignee, users.items, { value: (u) => u.vendor_id, label: (u) => u.displayName || u.emailAddress || u.vendor_id, empty: "unassigned" });
    type.disabled = assignee.disabled = false;
  });

  const form = h("form", { class: "grid", id: "create-form", onsubmit: async (ev) => {
    ev.preventDefault();
    try {
      const t = await api("POST", "/v1/itsm/tickets", { body: {
        name: name.value, description: description.value || undefined, priority: priority.value,
        project_vendor_id: project.value, type_vendor_id: type.value,
        assigned_user_vendor_id: assignee.value || undefined } });
      const key = t.vendor_attributes?.data?.key;
      result.replaceChildren(h("div", { class: "card" }, h("h2", {}, "Created ", h("span", { id: "created-key" }, key)),
        h("p", {}, t.name, " · ", t.status), h("p", {}, jiraLink(t)),
        h("p", {}, h("a", { href: `#/tickets/${t.id}` }, "Open in tickets"))));
      name.value = ""; description.value = "";
      flash(`Created ${key}.`);
    } catch (e) { flash(e.message, "error"); }
  } },
  h("label", { for: "project" }, "Project"), project,
  h("label", { for: "issue-type" }, "Issue type"), type,
  h("label", { for: "assignee" }, "Assignee"), assignee,
  h("label", { for: "name" }, "Summary"), name,
  h("label", { for: "description" }, "Description"), description,
  h("label", { for: "priority" }, "Priority"), priority,
  h("button", { id: "create-submit" }, "Create ticket"));
  view.replaceChildren(h("h1", {}, "Create a ticket"), form, result);
}
