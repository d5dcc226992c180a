// Providers and targets (GET /health?deep=1), and the running
// configuration (GET /admin/config, secrets masked by the gateway) with
// its history, each version's diff and a rollback.
import { h, replace, table, when, badge, ms } from "./dom.js";
import { call, get, APIError } from "./api.js";
import { openDialog, confirmDialog, notice, safe } from "./ui.js";

export async function providersPage(main, alive) {
  const health = await call("GET", "/health?deep=1", undefined, "");
  if (!alive()) return;
  const stateKind = { closed: "ok", half_open: "warn", open: "bad" };
  replace(main,
    h("div", { class: "page-head" }, h("h1", {}, "Providers and targets"),
      h("div", { class: "tools" }, badge(health.status, health.status === "healthy" ? "ok" : "warn"),
        h("button", { class: "secondary small", onclick: () => providersPage(main, alive) }, "Refresh"))),
    h("p", { class: "muted" }, `tidegate ${health.version || ""}, up ${Math.round((health.uptime_seconds || 0) / 60)} min. A target is a provider and the upstream model it serves; its circuit breaker opens after repeated failures and half-opens to try again.`),
    health.unavailable_models && health.unavailable_models.length
      ? h("div", { class: "notice error" }, "No target can serve: " + health.unavailable_models.join(", ")) : null,
    h("h2", {}, "Targets"),
    table([
      { title: "Target", class: "mono", cell: (t) => t.target },
      { title: "Breaker", cell: (t) => badge(t.state.replace("_", "-"), stateKind[t.state]) },
      { title: "Available", cell: (t) => badge(t.available ? "yes" : "no", t.available ? "ok" : "bad") },
      { title: "Failures in a row", class: "num", cell: (t) => String(t.consecutive_failures) },
      { title: "Latency (EWMA)", class: "num", cell: (t) => (t.latency_ewma_ms !== undefined ? ms(t.latency_ewma_ms) : "—") },
      { title: "Last error", cell: (t) => (t.last_error ? h("span", {}, t.last_error, h("div", { class: "muted small" }, when(t.last_error_at))) : h("span", { class: "muted" }, "—")) },
      { title: "Retry at", cell: (t) => (t.retry_at ? when(t.retry_at) : "—") },
    ], health.targets || [], { id: "targets-table", empty: "No targets yet: a target appears once it is routed to." }),
    health.providers && health.providers.length ? [
      h("h2", {}, "Active health checks"),
      table([
        { title: "Provider", cell: (p) => p.provider },
        { title: "Healthy", cell: (p) => badge(p.healthy ? "yes" : "no", p.healthy ? "ok" : "bad") },
        { title: "Last check", cell: (p) => when(p.last_check) },
        { title: "Last error", cell: (p) => p.last_error || "—" },
      ], health.providers, { id: "providers-table" }),
    ] : null);
}

export async function configPage(main, alive) {
  let cfg;
  try {
    cfg = await get("/admin/config");
  } catch (e) {
    if (!(e instanceof APIError) || e.status !== 404) throw e;
    if (!alive()) return;
    replace(main, h("div", { class: "page-head" }, h("h1", {}, "Configuration")),
      h("div", { class: "notice info" }, "This gateway does not serve its configuration (GET /admin/config answered 404): it needs a newer tidegate."));
    return;
  }
  const history = cfg.version ? (await get("/admin/config/history?limit=20")).data : [];
  if (!alive()) return;
  const meta = Object.entries(cfg).filter(([k, v]) => k !== "yaml" && (typeof v !== "object" || v === null));
  const showDiff = (v) => openDialog({
    title: "Version " + v.version, id: "config-diff", submit: "Close", cancel: false,
    body: [h("p", { class: "muted" }, `${v.source} by ${v.author}, ${when(v.created_at)}. Changes from the version before it, secrets masked:`),
      h("pre", { class: "yaml" }, h("code", {}, v.diff || "(no change)"))],
  });
  // The rollback names the running version (If-Match), so it is refused
  // if someone changed the configuration since this page was loaded.
  const rollback = safe(async (v) => {
    if (!(await confirmDialog("Roll back to version " + v.version + "?",
      `Its configuration becomes the newest version and every replica serves it within a second. Version ${cfg.version} stays in the history.`,
      "Roll back", "config-rollback"))) return;
    const out = await call("POST", "/admin/config/rollback/" + v.version, undefined, undefined, { "If-Match": `"${cfg.version}"` });
    notice(`Rolled back: version ${out.version} is version ${v.version}'s configuration.`);
    if (alive()) await configPage(main, alive);
  });
  replace(main,
    h("div", { class: "page-head" }, h("h1", {}, "Configuration")),
    h("p", { class: "muted" }, "The running configuration. Secrets (API keys, passwords, tokens) are masked by the gateway before they leave it."),
    meta.length ? h("dl", { class: "detail inline" }, meta.flatMap(([k, v]) => [h("dt", {}, k.replaceAll("_", " ")), h("dd", {}, String(v))])) : null,
    h("pre", { class: "yaml", id: "config-yaml" }, h("code", {}, cfg.yaml || "")),
    cfg.version ? [
      h("h2", {}, "History"),
      table([
        { title: "Version", class: "num", cell: (v) => String(v.version) },
        { title: "Source", cell: (v) => v.source },
        { title: "Author", cell: (v) => v.author },
        { title: "When", cell: (v) => when(v.created_at) },
        { title: "", cell: (v) => h("span", { class: "tools" },
          h("button", { class: "secondary small", onclick: () => showDiff(v) }, "Diff"),
          v.version === cfg.version ? badge("running", "ok")
            : h("button", { class: "secondary small", id: "rollback-" + v.version, onclick: () => rollback(v) }, "Roll back")) },
      ], history, { id: "config-history" }),
    ] : null);
}
