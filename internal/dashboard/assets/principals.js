// Users and teams: the same limit fields as keys; a user may belong to a
// team. Deleting one still in use is refused by the API (409).
import { h, replace, table, field, when, limitText, budgetText } from "./dom.js";
import { get, post, patch, del } from "./api.js";
import { openDialog, confirmDialog, notice, input, select, formValues, safe } from "./ui.js";
import { limitFields, limitBody } from "./keys.js";

export const usersPage = (main, alive) => principals(main, alive, "user");
export const teamsPage = (main, alive) => principals(main, alive, "team");

async function principals(main, alive, kind) {
  const plural = kind + "s";
  const [items, teams, keys] = await Promise.all([get("/admin/" + plural), get("/admin/teams"), get("/admin/keys")]);
  if (!alive()) return;
  const teamName = Object.fromEntries(teams.data.map((t) => [t.id, t.name]));
  const keyCount = {};
  for (const k of keys.data) {
    const owner = kind === "user" ? k.user_id : k.team_id;
    if (owner) keyCount[owner] = (keyCount[owner] || 0) + 1;
  }
  const reload = () => principals(main, alive, kind);
  const teamField = (v = {}) => kind === "user"
    ? field("Team", select("team_id", [["", "— none —"], ...teams.data.map((t) => [t.id, t.name])], v.team_id || ""))
    : null;

  async function create() {
    const body = h("div", {}, field("Name", input("name", { required: true, autocomplete: "off" })), teamField(), ...limitFields());
    const ok = await openDialog({ title: "New " + kind, body, submit: "Create " + kind, id: "create-" + kind, onSubmit: () => {
      const f = formValues(body);
      const req = { name: f.name, ...limitBody(f) };
      if (f.team_id) req.team_id = f.team_id;
      return post("/admin/" + plural, req);
    } });
    if (ok) { notice(`${cap(kind)} "${ok.name}" created.`); reload(); }
  }

  async function edit(p) {
    const body = h("div", {}, field("Name", input("name", { required: true, value: p.name })), teamField(p), ...limitFields(p));
    const ok = await openDialog({ title: "Edit " + p.name, body, submit: "Save", id: "edit-" + kind, onSubmit: () => {
      const f = formValues(body);
      const req = { name: f.name, ...limitBody(f) };
      if (kind === "user") req.team_id = f.team_id || null;
      return patch("/admin/" + plural + "/" + p.id, req);
    } });
    if (ok) { notice(`${cap(kind)} "${p.name}" saved.`); reload(); }
  }

  async function remove(p) {
    if (!(await confirmDialog("Delete " + p.name + "?", `The ${kind} is removed; usage records stay.`, "Delete", "delete-" + kind))) return;
    await del("/admin/" + plural + "/" + p.id);
    notice(`${cap(kind)} "${p.name}" deleted.`);
    reload();
  }

  const cols = [
    { title: "Name", cell: (p) => h("div", {}, h("strong", {}, p.name), h("div", { class: "muted small mono" }, p.id)) },
    kind === "user" ? { title: "Team", cell: (p) => (p.team_id ? teamName[p.team_id] || p.team_id : h("span", { class: "muted" }, "—")) } : null,
    { title: "Keys", cell: (p) => String(keyCount[p.id] || 0) },
    { title: "Models", cell: (p) => (p.models.length ? p.models.join(", ") : h("span", { class: "muted" }, "all")) },
    { title: "Limits", cell: (p) => limitText(p) },
    { title: "Budget", cell: (p) => budgetText(p) },
    { title: "Created", cell: (p) => when(p.created_at) },
    { title: "", class: "actions-cell", cell: (p) => h("div", { class: "row-actions" },
      h("button", { class: "small secondary", onclick: safe(() => edit(p)) }, "Edit"),
      h("button", { class: "small link danger-text", onclick: safe(() => remove(p)) }, "Delete")) },
  ].filter(Boolean);
  replace(main,
    h("div", { class: "page-head" }, h("h1", {}, cap(plural)), h("div", { class: "tools" }, h("button", { class: "primary", id: "new-" + kind, onclick: safe(create) }, "New " + kind))),
    h("p", { class: "muted" }, kind === "user"
      ? "A user owns keys. A request must pass its key's limits, its user's and its team's."
      : "A team groups users and keys; its limits and budget are shared by all of them."),
    table(cols, items.data, { id: plural + "-table", empty: `No ${plural} yet.` }));
}

const cap = (s) => s[0].toUpperCase() + s.slice(1);
