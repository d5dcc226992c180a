// Keys: create (the secret is shown once), edit limits and budget, rotate,
// revoke, delete.
import { h, replace, table, field, badge, when, limitText, budgetText } from "./dom.js";
import { get, post, patch, del } from "./api.js";
import { openDialog, confirmDialog, secretPanel, notice, input, select, formValues, parseList, parseMetadata, number, safe } from "./ui.js";

const periods = [["total", "total"], ["monthly", "monthly"], ["daily", "daily"]];

// limitFields are the form fields shared by keys, users and teams.
export function limitFields(v = {}) {
  return [
    field("Allowed models", input("models", { value: (v.models || []).join(", "), placeholder: "every model" }), "comma-separated; wildcards allowed (gpt-4o*)"),
    h("div", { class: "row4" },
      field("Requests / min", input("rpm", { type: "number", min: 0, value: v.rpm || "", placeholder: "no limit" })),
      field("Requests / hour", input("rph", { type: "number", min: 0, value: v.rph || "", placeholder: "no limit" })),
      field("Tokens / min", input("tpm", { type: "number", min: 0, value: v.tpm || "", placeholder: "no limit" })),
      field("Tokens / hour", input("tph", { type: "number", min: 0, value: v.tph || "", placeholder: "no limit" }))),
    h("div", { class: "row2" },
      field("Budget (USD)", input("budget_usd", { type: "number", min: 0, step: "any", value: v.budget_usd || "", placeholder: "no budget" })),
      field("Budget period", select("budget_period", periods, v.budget_period || "total"))),
    field("Metadata", input("metadata", { value: Object.entries(v.metadata || {}).map(([k, x]) => k + "=" + x).join(", "), placeholder: "env=prod, owner=platform" })),
  ];
}

// limitBody turns the form's values into the API's limit fields.
export function limitBody(f) {
  return {
    models: parseList(f.models),
    rpm: number(f.rpm, "rpm"), rph: number(f.rph, "rph"), tpm: number(f.tpm, "tpm"), tph: number(f.tph, "tph"),
    budget_usd: number(f.budget_usd, "budget_usd"), budget_period: f.budget_period,
    metadata: parseMetadata(f.metadata),
  };
}

export async function keysPage(main, alive) {
  const [keys, users, teams] = await Promise.all([get("/admin/keys"), get("/admin/users"), get("/admin/teams")]);
  if (!alive()) return;
  const userName = Object.fromEntries(users.data.map((u) => [u.id, u.name]));
  const teamName = Object.fromEntries(teams.data.map((t) => [t.id, t.name]));
  const reload = () => keysPage(main, alive);
  const secretBox = h("div", { id: "secret-box" });

  const statusKind = { active: "ok", revoked: "bad", expired: "warn" };
  const list = table([
    { title: "Name", cell: (k) => h("div", {}, h("strong", {}, k.name), h("div", { class: "muted small mono" }, k.id)) },
    { title: "Prefix", class: "mono", cell: (k) => k.prefix + "…" },
    { title: "Status", cell: (k) => badge(k.status, statusKind[k.status]) },
    { title: "Models", cell: (k) => (k.models.length ? k.models.join(", ") : h("span", { class: "muted" }, "all")) },
    { title: "Limits", cell: (k) => limitText(k) },
    { title: "Budget", cell: (k) => budgetText(k) },
    { title: "Owner", cell: (k) => [k.user_id ? "user " + (userName[k.user_id] || k.user_id) : "", k.team_id ? "team " + (teamName[k.team_id] || k.team_id) : ""].filter(Boolean).join(" · ") || h("span", { class: "muted" }, "—") },
    { title: "Expires", cell: (k) => (k.expires_at ? when(k.expires_at) : h("span", { class: "muted" }, "never")) },
    { title: "Created", cell: (k) => when(k.created_at) },
    { title: "", class: "actions-cell", cell: (k) => h("div", { class: "row-actions" },
      h("button", { class: "small secondary", onclick: safe(() => edit(k)) }, "Edit"),
      k.status === "revoked" ? null : h("button", { class: "small secondary", onclick: safe(() => rotate(k)) }, "Rotate"),
      k.status === "revoked" ? h("button", { class: "small secondary", onclick: safe(() => enable(k)) }, "Enable")
        : h("button", { class: "small secondary danger-text", onclick: safe(() => revoke(k)) }, "Revoke"),
      h("button", { class: "small link danger-text", onclick: safe(() => remove(k)) }, "Delete")) },
  ], keys.data, { id: "keys-table", rowClass: (k) => "key-row status-" + k.status, empty: "No keys yet: create one." });

  const owners = (k = {}) => h("div", { class: "row2" },
    field("User", select("user_id", [["", "— none —"], ...users.data.map((u) => [u.id, u.name])], k.user_id || "")),
    field("Team", select("team_id", [["", k.user_id !== undefined ? "— none —" : "— the user's team —"], ...teams.data.map((t) => [t.id, t.name])], k.team_id || "")));

  async function create() {
    const body = h("div", {},
      field("Name", input("name", { required: true, placeholder: "ci-bot", autocomplete: "off" })),
      owners(), ...limitFields(),
      field("Expires", input("expires_at", { type: "date" }), "optional; the key stops working at 00:00 UTC that day"));
    const created = await openDialog({ title: "New key", body, submit: "Create key", id: "create-key", onSubmit: async () => {
      const f = formValues(body);
      const req = { name: f.name, ...limitBody(f) };
      if (f.user_id) req.user_id = f.user_id;
      if (f.team_id) req.team_id = f.team_id;
      if (f.expires_at) req.expires_at = f.expires_at + "T00:00:00Z";
      return post("/admin/keys", req);
    } });
    if (!created) return;
    await reload();
    document.getElementById("secret-box")?.appendChild(secretPanel(`Key "${created.name}" created`, created.key));
  }

  async function edit(k) {
    const body = h("div", {},
      field("Name", input("name", { required: true, value: k.name })),
      owners(k), ...limitFields(k),
      field("Expires", input("expires_at", { type: "date", value: k.expires_at ? k.expires_at.slice(0, 10) : "" }), "empty: never"));
    const ok = await openDialog({ title: "Edit " + k.name, body, submit: "Save", id: "edit-key", onSubmit: () => {
      const f = formValues(body);
      const req = { name: f.name, ...limitBody(f), user_id: f.user_id || null, team_id: f.team_id || null,
        expires_at: f.expires_at ? f.expires_at + "T00:00:00Z" : null };
      if (k.expires_at && f.expires_at === k.expires_at.slice(0, 10)) delete req.expires_at; // unchanged
      return patch("/admin/keys/" + k.id, req);
    } });
    if (ok) { notice(`Key "${k.name}" saved.`); reload(); }
  }

  async function rotate(k) {
    const body = h("div", {},
      h("p", {}, "Issue a new secret for " + k.name + ". The old secret can keep working for a grace period, so clients can switch over."),
      field("Old secret keeps working for", select("grace", [["0", "no grace: stop now"], ["3600", "1 hour"], ["86400", "1 day"], ["604800", "7 days"]], "0")));
    const rotated = await openDialog({ title: "Rotate " + k.name, body, submit: "Rotate", id: "rotate-key", onSubmit: () =>
      post("/admin/keys/" + k.id + "/rotate", { grace_seconds: Number(formValues(body).grace) }) });
    if (!rotated) return;
    await reload();
    document.getElementById("secret-box")?.appendChild(secretPanel(`New secret for "${k.name}"`, rotated.key));
  }

  async function revoke(k) {
    if (!(await confirmDialog("Revoke " + k.name + "?", "The key stops working at once (and so does a previous secret still in its grace period). You can enable it again here.", "Revoke", "revoke-key"))) return;
    await post("/admin/keys/" + k.id + "/revoke");
    notice(`Key "${k.name}" revoked.`);
    reload();
  }

  async function enable(k) {
    await patch("/admin/keys/" + k.id, { enabled: true });
    notice(`Key "${k.name}" works again.`);
    reload();
  }

  async function remove(k) {
    if (!(await confirmDialog("Delete " + k.name + "?", "The key is removed; its usage records stay.", "Delete", "delete-key"))) return;
    await del("/admin/keys/" + k.id);
    notice(`Key "${k.name}" deleted.`);
    reload();
  }

  const createBtn = h("button", { class: "primary", id: "new-key", onclick: safe(create) }, "New key");
  replace(main, h("div", { class: "page-head" }, h("h1", {}, "Keys"), h("div", { class: "tools" }, createBtn)), secretBox, list);
}
