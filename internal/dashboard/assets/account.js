// The key holder's view (logged in with a virtual key): allowed models,
// limits, budgets and their own usage, from GET /dashboard/api/me.
import { h, replace, table, num, usd, usdTick, ms, when, badge, limitText, budgetText } from "./dom.js";
import { get } from "./api.js";
import { chart } from "./chart.js";

export async function accountPage(main, alive) {
  const me = await get("/dashboard/api/me");
  if (!alive()) return;
  const k = me.key;
  const scopes = [["key", k], ["user", me.user], ["team", me.team]].filter(([, v]) => v);
  const u = me.usage;
  const times = u.data.map((d) => new Date(d.time));
  const label = (d) => d.toLocaleDateString(undefined, { month: "short", day: "numeric" });

  replace(main,
    h("div", { class: "page-head" }, h("h1", {}, "My account"), h("div", { class: "tools" }, h("button", { class: "secondary small", onclick: () => accountPage(main, alive) }, "Refresh"))),
    h("section", { class: "card", id: "account-key" },
      h("h2", {}, k.name),
      h("dl", { class: "detail inline" },
        h("dt", {}, "Key"), h("dd", { class: "mono" }, k.prefix + "… (" + k.id + ")"),
        h("dt", {}, "Created"), h("dd", {}, when(k.created_at)),
        h("dt", {}, "Expires"), h("dd", {}, k.expires_at ? when(k.expires_at) : "never"),
        me.user ? [h("dt", {}, "User"), h("dd", {}, me.user.name)] : null,
        me.team ? [h("dt", {}, "Team"), h("dd", {}, me.team.name)] : null)),
    h("section", { class: "card", id: "account-models" },
      h("h2", {}, "Models you can use"),
      me.models.length ? h("div", { class: "chips" }, me.models.map((m) => h("code", { class: "chip" }, m)))
        : h("p", { class: "muted" }, "None of this gateway's models is allowed for this key.")),
    h("section", { class: "card" },
      h("h2", {}, "Limits"),
      h("p", { class: "muted" }, "A request must pass every row: your key's limits, your user's and your team's."),
      table([
        { title: "Applies to", cell: ([kind, v]) => kind + " " + v.name },
        { title: "Models", cell: ([, v]) => (v.models.length ? v.models.join(", ") : "all") },
        { title: "Rate limits", cell: ([, v]) => limitText(v.limits) },
        { title: "Budget", cell: ([, v]) => budgetText(v.limits) },
      ], scopes, { id: "limits-table" })),
    h("section", { class: "card", id: "account-budgets" },
      h("h2", {}, "Budgets"),
      me.budgets.length ? me.budgets.map((b) => h("div", { class: "budget" },
        h("div", { class: "budget-head" }, h("strong", {}, b.scope + " " + b.name), h("span", {}, usd(b.remaining_usd) + " left of " + usd(b.budget_usd) + " (" + b.period + ")")),
        h("meter", { min: 0, max: b.budget_usd, low: b.budget_usd * 0.75, high: b.budget_usd * 0.9, optimum: 0, value: Math.min(b.spent_usd, b.budget_usd) }),
        h("div", { class: "muted small" }, usd(b.spent_usd) + " spent" + (b.period_end ? ", renews " + when(b.period_end) : ""))))
        : h("p", { class: "muted" }, "No budget applies to this key.")),
    h("section", { class: "card" },
      h("h2", {}, "Your usage, last 30 days"),
      h("div", { class: "tiles" },
        tile("Requests", num(u.totals.requests)), tile("Refused", num(u.totals.refused)),
        tile("Tokens", num(u.totals.input_tokens + u.totals.output_tokens)), tile("Cost", usd(u.totals.cost_usd))),
      h("div", { class: "charts" },
        chart({ id: "chart-my-requests", title: "Requests per day", times, label, integer: true, fmt: num, series: [
          { name: "requests", kind: "bar", values: u.data.map((d) => d.requests) },
          { name: "refused", kind: "bar", values: u.data.map((d) => d.refused) }] }),
        chart({ id: "chart-my-cost", title: "Cost per day", times, label, fmt: usdTick, series: [{ name: "USD", kind: "line", values: u.data.map((d) => d.cost_usd) }] }))),
    h("section", { class: "card" },
      h("h2", {}, "Recent requests"),
      table([
        { title: "Time", cell: (e) => when(e.time) },
        { title: "Status", cell: (e) => badge(String(e.status), e.refused ? "warn" : e.status >= 400 ? "bad" : "ok") },
        { title: "Model", cell: (e) => e.model },
        { title: "Tokens in / out", class: "num", cell: (e) => num(e.input_tokens) + " / " + num(e.output_tokens) },
        { title: "Cost", class: "num", cell: (e) => usd(e.cost_usd) },
        { title: "Latency", class: "num", cell: (e) => ms(e.latency_ms) },
      ], me.recent, { id: "recent-table", empty: "No requests yet." })));
}

function tile(title, value) {
  return h("div", { class: "tile" }, h("div", { class: "tile-title" }, title), h("div", { class: "tile-value" }, value));
}
