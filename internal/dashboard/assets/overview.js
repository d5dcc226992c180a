// Overview: requests, errors, latency percentiles, tokens and cost over
// time, from GET /admin/stats.
import { h, replace, num, usd, usdTick, ms } from "./dom.js";
import { get, qs } from "./api.js";
import { chart } from "./chart.js";

const ranges = {
  "24h": { title: "Last 24 hours", hours: 24, bucket: "hour" },
  "7d": { title: "Last 7 days", hours: 24 * 7, bucket: "hour" },
  "30d": { title: "Last 30 days", hours: 24 * 30, bucket: "day" },
};

export async function overview(main, alive) {
  let range = "24h";
  const select = h("select", { id: "range", "aria-label": "time range" },
    Object.entries(ranges).map(([k, r]) => h("option", { value: k }, r.title)));
  const body = h("div", {});
  const refresh = h("button", { class: "secondary small", onclick: () => load() }, "Refresh");
  select.addEventListener("change", () => { range = select.value; load(); });
  replace(main, h("div", { class: "page-head" }, h("h1", {}, "Overview"), h("div", { class: "tools" }, select, refresh)), body);

  async function load() {
    const r = ranges[range];
    const until = new Date();
    const since = new Date(until.getTime() - r.hours * 3600e3);
    const stats = await get("/admin/stats" + qs({ bucket: r.bucket, since: since.toISOString(), until: until.toISOString() }));
    if (!alive()) return;
    const t = stats.totals;
    const errRate = t.requests ? ((t.errors / t.requests) * 100).toFixed(1) + "%" : "0%";
    const tiles = h("div", { class: "tiles", id: "kpis" },
      tile("Requests", num(t.requests), t.refused ? num(t.refused) + " refused by the gateway" : "none refused"),
      tile("Errors", num(t.errors), errRate + " of requests"),
      tile("Latency p50", ms(t.latency_ms.p50), "p95 " + ms(t.latency_ms.p95) + " · p99 " + ms(t.latency_ms.p99)),
      tile("Tokens", num(t.input_tokens + t.output_tokens), num(t.input_tokens) + " in · " + num(t.output_tokens) + " out"),
      tile("Cost", usd(t.cost_usd), r.title.toLowerCase()));
    const times = stats.data.map((d) => new Date(d.time));
    const label = r.bucket === "hour"
      ? (d) => (r.hours > 24 ? d.toLocaleDateString(undefined, { weekday: "short" }) + " " : "") + d.toLocaleTimeString(undefined, { hour: "2-digit", minute: "2-digit" })
      : (d) => d.toLocaleDateString(undefined, { month: "short", day: "numeric" });
    const col = (f) => stats.data.map(f);
    const charts = h("div", { class: "charts" },
      chart({ id: "chart-requests", title: "Requests", times, label, integer: true, fmt: num, series: [
        { name: "requests", kind: "bar", values: col((d) => d.requests) },
        { name: "errors", kind: "bar", values: col((d) => d.errors) },
        { name: "refused", kind: "bar", values: col((d) => d.refused) },
      ] }),
      chart({ id: "chart-latency", title: "Latency", times, label, fmt: ms, series: [
        // no requests: no latency (a gap, not a zero)
        { name: "p50", kind: "line", values: col((d) => (d.requests ? d.latency_ms.p50 : null)) },
        { name: "p95", kind: "line", values: col((d) => (d.requests ? d.latency_ms.p95 : null)) },
        { name: "p99", kind: "line", values: col((d) => (d.requests ? d.latency_ms.p99 : null)) },
      ] }),
      chart({ id: "chart-tokens", title: "Tokens", times, label, integer: true, fmt: (v) => compact(v), series: [
        { name: "input", kind: "bar", values: col((d) => d.input_tokens) },
        { name: "output", kind: "bar", values: col((d) => d.output_tokens) },
      ] }),
      chart({ id: "chart-cost", title: "Cost", times, label, fmt: usdTick, series: [
        { name: "USD", kind: "line", values: col((d) => d.cost_usd) },
      ] }));
    replace(body, tiles, charts);
  }
  await load();
}

function tile(title, value, sub) {
  return h("div", { class: "tile" }, h("div", { class: "tile-title" }, title), h("div", { class: "tile-value" }, value), h("div", { class: "tile-sub" }, sub));
}

function compact(v) {
  if (v >= 1e6) return (v / 1e6).toFixed(1) + "M";
  if (v >= 1e3) return (v / 1e3).toFixed(1) + "k";
  return String(Math.round(v));
}
