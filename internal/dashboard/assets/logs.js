// Request logs: the usage log, newest first, with filters, paging and a
// detail view of one request.
import { h, replace, table, field, num, usd, ms, when, badge } from "./dom.js";
import { get, qs } from "./api.js";
import { openDialog, notice, errorText, select } from "./ui.js";

export async function logsPage(main, alive) {
  const keys = await get("/admin/keys");
  if (!alive()) return;
  const keyName = Object.fromEntries(keys.data.map((k) => [k.id, k.name]));
  const keySel = select("key_id", [["", "any key"], ...keys.data.map((k) => [k.id, k.name + " (" + k.prefix + "…)"])], "");
  const model = h("input", { id: "f-model", placeholder: "any model" });
  const status = h("input", { id: "f-status", placeholder: "any", type: "number", min: 100, max: 599 });
  const since = h("input", { id: "f-since", type: "datetime-local" });
  const until = h("input", { id: "f-until", type: "datetime-local" });
  const rowsBox = h("div", {});
  const more = h("button", { class: "secondary", id: "logs-more", hidden: true }, "Load more");
  let rows = [], next = null;

  const form = h("form", { class: "filters", id: "logs-filters" },
    field("Key", keySel), field("Model", model), field("Status", status), field("From", since), field("To", until),
    h("button", { type: "submit", class: "primary" }, "Apply"),
    h("button", { type: "button", class: "secondary", id: "logs-refresh", onclick: () => run(false) }, "Refresh"));
  form.addEventListener("submit", (ev) => { ev.preventDefault(); run(false); });
  more.addEventListener("click", () => run(true));
  replace(main, h("div", { class: "page-head" }, h("h1", {}, "Request logs")), form, rowsBox, more);

  const run = (append) => load(append).catch((e) => notice(errorText(e), "error"));
  const localISO = (v) => (v ? new Date(v).toISOString() : "");

  async function load(append) {
    const page = await get("/admin/logs" + qs({ key_id: keySel.value, model: model.value.trim(), status: status.value,
      since: localISO(since.value), until: localISO(until.value), limit: 50, before: append ? next : "" }));
    if (!alive()) return;
    rows = append ? rows.concat(page.data) : page.data;
    next = page.next_before;
    more.hidden = next === null;
    const statusBadge = (e) => badge(String(e.status), e.refused ? "warn" : e.status >= 400 ? "bad" : "ok");
    replace(rowsBox, table([
      { title: "Time", cell: (e) => when(e.time) },
      { title: "Status", cell: (e) => [statusBadge(e), e.refused ? h("span", { class: "muted small" }, " refused") : null] },
      { title: "Key", cell: (e) => (e.key_id ? keyName[e.key_id] || e.key_id : h("span", { class: "muted" }, "anonymous")) },
      { title: "Model", cell: (e) => e.model },
      { title: "Served by", cell: (e) => (e.provider ? e.provider + " · " + e.upstream_model : h("span", { class: "muted" }, "—")) },
      { title: "Tokens in / out", class: "num", cell: (e) => num(e.input_tokens) + " / " + num(e.output_tokens) },
      { title: "Cost", class: "num", cell: (e) => usd(e.cost_usd) },
      { title: "Latency", class: "num", cell: (e) => ms(e.latency_ms) },
    ], rows, { id: "logs-table", empty: "No requests match.", onRowClick: (e) => detail(e, keyName) }));
  }
  await load(false);
}

function detail(e, keyName) {
  const rows = [
    ["Request id", e.request_id], ["Time", when(e.time) + " (" + e.time + ")"], ["Status", e.status + (e.refused ? " (refused by the gateway)" : "")],
    ["Key", e.key_id ? (keyName[e.key_id] || "(deleted)") + " · " + e.key_id : "anonymous"], ["User", e.user_id || "—"], ["Team", e.team_id || "—"],
    ["Model", e.model], ["Provider", e.provider || "—"], ["Upstream model", e.upstream_model || "—"],
    ["Input tokens", num(e.input_tokens)], ["Output tokens", num(e.output_tokens)],
    ["Cache read / write tokens", num(e.cache_read_tokens) + " / " + num(e.cache_write_tokens)],
    ["Cost", usd(e.cost_usd) + " (" + e.cost_usd + ")"], ["Latency", ms(e.latency_ms)], ["Error", e.error || "—"], ["Log sequence", String(e.seq)],
  ];
  openDialog({ title: "Request " + (e.request_id || e.seq), submit: "Close", id: "log-detail", cancel: false,
    body: h("dl", { class: "detail" }, rows.flatMap(([k, v]) => [h("dt", {}, k), h("dd", {}, v)])) });
}
