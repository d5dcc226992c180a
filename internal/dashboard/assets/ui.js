// Shared pieces of the pages: notices, dialogs, forms.
import { h, replace } from "./dom.js";

// notice shows a message at the top of the page for a while.
export function notice(text, kind = "info") {
  const box = document.getElementById("notices");
  if (!box) return;
  const n = h("div", { class: "notice " + kind, role: kind === "error" ? "alert" : "status" }, text,
    h("button", { class: "link", "aria-label": "dismiss", onclick: () => n.remove() }, "×"));
  box.appendChild(n);
  if (kind !== "error") setTimeout(() => n.remove(), 6000);
}

// errorText renders an APIError with its field.
export function errorText(e) {
  return (e.param ? e.param + ": " : "") + (e.message || String(e)).replace(/^[a-z_]+: /, (m) => (e.param && m.startsWith(e.param) ? "" : m));
}

// openDialog shows a modal with body and a submit button; onSubmit may
// throw to keep the dialog open with the error shown. Resolves with what
// onSubmit returned, or null when cancelled.
export function openDialog({ title, body, submit = "Save", danger = false, id, onSubmit = () => true, cancel = true }) {
  return new Promise((resolve) => {
    const err = h("p", { class: "form-error", role: "alert" });
    const form = h("form", { method: "dialog", class: "dialog-form", novalidate: true },
      h("h2", {}, title), body, err,
      h("div", { class: "actions" },
        cancel ? h("button", { type: "button", class: "secondary", onclick: () => { dlg.close(); resolve(null); } }, "Cancel") : null,
        h("button", { type: "submit", class: danger ? "danger" : "primary", id: id ? id + "-submit" : null }, submit)));
    const dlg = h("dialog", { class: "dialog", id }, form);
    form.addEventListener("submit", async (ev) => {
      ev.preventDefault();
      replace(err);
      try {
        const out = await onSubmit();
        resolve(out === undefined ? true : out);
        dlg.close();
      } catch (e) {
        replace(err, errorText(e));
      }
    });
    dlg.addEventListener("close", () => { dlg.remove(); resolve(null); });
    document.body.appendChild(dlg);
    dlg.showModal();
  });
}

// confirmDialog asks a yes/no question; resolves true on yes.
export async function confirmDialog(title, text, action = "Confirm", id) {
  return (await openDialog({ title, body: h("p", {}, text), submit: action, danger: true, id })) === true;
}

// secretPanel shows a key's secret once, with a copy button.
export function secretPanel(title, secret) {
  const code = h("code", { id: "new-secret" }, secret);
  const copy = h("button", { class: "secondary small", type: "button", onclick: async () => {
    try { await navigator.clipboard.writeText(secret); copy.textContent = "Copied"; } catch { copy.textContent = "Select and copy"; }
  } }, "Copy");
  const panel = h("div", { class: "secret-panel", role: "status" },
    h("strong", {}, title),
    h("p", {}, "This is the only time the secret is shown: tidegate keeps only its hash. Store it now."),
    h("div", { class: "secret-row" }, code, copy),
    h("button", { class: "link", onclick: () => panel.remove() }, "I have stored it — hide"));
  return panel;
}

// Form controls that read back as API values.
export const input = (name, attrs = {}) => h("input", { name, id: "f-" + name, ...attrs });
export const select = (name, options, value) =>
  h("select", { name, id: "f-" + name }, options.map(([v, label]) => h("option", { value: v, selected: v === value ? true : null }, label)));

export function formValues(root) {
  const out = {};
  for (const el of root.querySelectorAll("input, select, textarea")) if (el.name) out[el.name] = el.value.trim();
  return out;
}

// parseList splits "a, b,c" into ["a","b","c"].
export const parseList = (s) => (s || "").split(",").map((x) => x.trim()).filter(Boolean);

// parseMetadata reads "k=v, k2=v2".
export function parseMetadata(s) {
  const out = {};
  for (const part of parseList(s)) {
    const i = part.indexOf("=");
    if (i <= 0) throw Object.assign(new Error("use key=value pairs separated by commas"), { param: "metadata" });
    out[part.slice(0, i).trim()] = part.slice(i + 1).trim();
  }
  return out;
}

// number reads a limit field: "" is 0 (no limit).
export function number(v, name) {
  if (v === "" || v === undefined) return 0;
  const n = Number(v);
  if (!Number.isFinite(n)) throw Object.assign(new Error("must be a number"), { param: name });
  return n;
}

// safe wraps an async click handler so that its failure is shown.
export const safe = (fn) => (...args) => Promise.resolve().then(() => fn(...args)).catch((e) => notice(errorText(e), "error"));
