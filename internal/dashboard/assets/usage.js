// Usage: aggregates by key, user, team, model or day, with CSV export.
import { h, replace, table, field, num, usd } from "./dom.js";
import { get, qs, download } from "./api.js";
import { notice, errorText, select } from "./ui.js";

const groups = [["key", "key"], ["user", "user"], ["team", "team"], ["model", "model"], ["day", "day"]];

export async function usagePage(main, alive) {
  const today = new Date();
  const iso = (d) => d.toISOString().slice(0, 10);
  const groupSel = select("group_by", groups, "key");
  const since = h("input", { type: "date", id: "f-since", value: iso(new Date(today.getTime() - 29 * 86400e3)) });
  const until = h("input", { type: "date", id: "f-until", value: iso(today) });
  const out = h("div", {});
  const params = () => ({ group_by: groupSel.value, since: since.value, until: until.value ? iso(new Date(Date.parse(until.value) + 86400e3)) : "" });
  const exportBtn = h("button", { class: "secondary", id: "export-csv", type: "button", onclick: async () => {
    try {
      await download("/admin/usage" + qs({ ...params(), format: "csv" }), `tidegate-usage-by-${groupSel.value}-${since.value}-to-${until.value}.csv`);
    } catch (e) { notice(errorText(e), "error"); }
  } }, "Export CSV");
  const form = h("form", { class: "filters", id: "usage-filters" },
    field("Group by", groupSel), field("From (UTC day)", since), field("To (UTC day, inclusive)", until),
    h("button", { type: "submit", class: "primary" }, "Apply"), exportBtn);
  form.addEventListener("submit", (ev) => { ev.preventDefault(); load().catch((e) => notice(errorText(e), "error")); });
  replace(main, h("div", { class: "page-head" }, h("h1", {}, "Usage")), form, out);

  async function load() {
    const rep = await get("/admin/usage" + qs(params()));
    if (!alive()) return;
    const named = ["key", "user", "team"].includes(rep.group_by);
    const cols = [
      { title: rep.group_by, cell: (r) => (named ? h("div", {}, r.name || h("span", { class: "muted" }, r.group ? "(deleted)" : "(none)"), r.group ? h("div", { class: "muted small mono" }, r.group) : null) : r.group || "(none)") },
      { title: "Requests", class: "num", cell: (r) => num(r.requests) },
      { title: "Refused", class: "num", cell: (r) => num(r.refused) },
      { title: "Input tokens", class: "num", cell: (r) => num(r.input_tokens) },
      { title: "Output tokens", class: "num", cell: (r) => num(r.output_tokens) },
      { title: "Cost", class: "num", cell: (r) => usd(r.cost_usd) },
    ];
    const t = rep.totals;
    replace(out,
      h("p", { class: "muted" }, `${new Date(rep.since).toLocaleString()} – ${new Date(rep.until).toLocaleString()}: ${num(t.requests)} requests, ${num(t.refused)} refused, ${num(t.input_tokens)} input and ${num(t.output_tokens)} output tokens, ${usd(t.cost_usd)}.`),
      table(cols, rep.data, { id: "usage-table", empty: "No usage in this range." }));
  }
  await load();
}
