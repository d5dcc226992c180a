// Small DOM helpers. Text is always set with textContent, never parsed as
// HTML: names, models and errors come from users.

// h builds an element: h("a", {href: "#/keys", class: "x", onclick: fn}, "text", child).
export function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith("on")) el.addEventListener(k.slice(2), v);
    else if (k === "class") el.className = v;
    else if (k === "value") el.value = v;
    else if (k === "checked") el.checked = !!v;
    else el.setAttribute(k, v === true ? "" : String(v));
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const c of children) {
    if (c === undefined || c === null || c === false) continue;
    if (Array.isArray(c)) append(el, c);
    else if (c instanceof Node) el.appendChild(c);
    else el.appendChild(document.createTextNode(String(c)));
  }
}

// replace empties el and appends children.
export function replace(el, ...children) {
  el.replaceChildren();
  append(el, children);
  return el;
}

const numberFmt = new Intl.NumberFormat("en-US");
export const num = (n) => numberFmt.format(n || 0);

export function usd(n) {
  n = n || 0;
  if (n !== 0 && Math.abs(n) < 0.01) return "$" + n.toPrecision(2);
  return "$" + n.toFixed(2);
}

// usdTick is a short dollar amount for chart axes.
export function usdTick(n) {
  if (!n) return "$0";
  if (n >= 1) return "$" + (Number.isInteger(n) ? n : n.toFixed(2));
  return "$" + Number(n.toPrecision(2));
}

export function ms(n) {
  if (!n) return "0 ms";
  if (n >= 10000) return (n / 1000).toFixed(1) + " s";
  return numberFmt.format(Math.round(n)) + " ms";
}

// when renders an RFC 3339 time in the browser's zone, compactly.
export function when(t) {
  if (!t) return "—";
  const d = new Date(t);
  return d.toLocaleString(undefined, { year: "numeric", month: "short", day: "numeric", hour: "2-digit", minute: "2-digit", second: "2-digit" });
}

export function limitText(l) {
  const parts = [];
  if (l.rpm) parts.push(num(l.rpm) + " rpm");
  if (l.rph) parts.push(num(l.rph) + " rph");
  if (l.tpm) parts.push(num(l.tpm) + " tpm");
  if (l.tph) parts.push(num(l.tph) + " tph");
  return parts.length ? parts.join(", ") : "none";
}

export function budgetText(l) {
  return l.budget_usd ? usd(l.budget_usd) + " " + (l.budget_period || "total") : "none";
}

// table renders rows with columns [{title, cell: row => node|text, class}].
export function table(columns, rows, opts = {}) {
  const head = h("tr", {}, columns.map((c) => h("th", { class: c.class, scope: "col" }, c.title)));
  const body = rows.map((r) => {
    const tr = h("tr", { class: opts.rowClass ? opts.rowClass(r) : null }, columns.map((c) => h("td", { class: c.class }, c.cell(r))));
    if (opts.onRowClick) {
      tr.classList.add("clickable");
      tr.tabIndex = 0;
      tr.addEventListener("click", () => opts.onRowClick(r, tr));
      tr.addEventListener("keydown", (e) => { if (e.key === "Enter") opts.onRowClick(r, tr); });
    }
    return tr;
  });
  if (rows.length === 0) {
    body.push(h("tr", {}, h("td", { class: "empty", colspan: columns.length }, opts.empty || "Nothing here yet.")));
  }
  return h("div", { class: "table-wrap" }, h("table", { id: opts.id }, h("thead", {}, head), h("tbody", {}, body)));
}

// field is a labelled form control.
export function field(label, control, hint) {
  return h("label", { class: "field" }, h("span", { class: "label" }, label), control, hint ? h("span", { class: "hint" }, hint) : null);
}

export function badge(text, kind) {
  return h("span", { class: "badge " + (kind || "") }, text);
}
