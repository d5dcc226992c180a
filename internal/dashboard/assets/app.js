// The dashboard shell: login, navigation and the hash router. Pages live
// in their own modules and render into <main>.
import { h, replace } from "./dom.js";
import { APIError, call, session } from "./api.js";
import { errorText } from "./ui.js";
import { overview } from "./overview.js";
import { keysPage } from "./keys.js";
import { usersPage, teamsPage } from "./principals.js";
import { usagePage } from "./usage.js";
import { logsPage } from "./logs.js";
import { providersPage, configPage } from "./system.js";
import { accountPage } from "./account.js";

const adminPages = [
  ["overview", "Overview", overview],
  ["keys", "Keys", keysPage],
  ["users", "Users", usersPage],
  ["teams", "Teams", teamsPage],
  ["usage", "Usage", usagePage],
  ["logs", "Request logs", logsPage],
  ["providers", "Providers", providersPage],
  ["config", "Configuration", configPage],
];
const accountPages = [["account", "My account", accountPage]];

const root = document.getElementById("app");

// login finds what the secret is: an admin key or a virtual key (tried
// first when it looks like one, sk-tg-…).
async function login(secret) {
  const tries = [["admin", "/admin/teams"], ["account", "/dashboard/api/me"]];
  if (secret.startsWith("sk-tg-")) tries.reverse();
  for (const [i, [mode, path]] of tries.entries()) {
    try {
      await call("GET", path, undefined, secret);
      session.set(secret, mode);
      return;
    } catch (e) {
      const last = i === tries.length - 1;
      if (last || !(e instanceof APIError) || (e.status !== 401 && e.status !== 403 && e.status !== 404)) throw e;
    }
  }
}

// go shows a page: through the hash when it changes (hashchange renders),
// else by rendering again.
function go(hash) {
  if (location.hash === hash) render();
  else location.hash = hash;
}

function loginView() {
  const keyInput = h("input", { id: "login-key", type: "password", autocomplete: "off", spellcheck: "false", required: true, placeholder: "admin key or sk-tg-…" });
  const err = h("p", { class: "form-error", id: "login-error", role: "alert" });
  const form = h("form", { class: "login-card", id: "login-form" },
    h("div", { class: "brand big" }, h("img", { src: "icon.svg", alt: "", width: 36, height: 36 }), "tidegate"),
    h("p", { class: "muted" }, "Log in with an admin key to manage the gateway, or with your own virtual key (sk-tg-…) to see your account."),
    h("label", { class: "field" }, h("span", { class: "label" }, "Key"), keyInput),
    err,
    h("button", { type: "submit", class: "primary wide", id: "login-submit" }, "Log in"),
    h("p", { class: "muted small" }, "The key stays in this tab (sessionStorage) and is sent only to this gateway."));
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    replace(err);
    const secret = keyInput.value.trim();
    if (!secret) return;
    try {
      await login(secret);
      go(session.mode === "admin" ? "#/overview" : "#/account");
    } catch (e) {
      replace(err, e.status === 401 ? "This key is not valid here." : errorText(e));
    }
  });
  replace(root, h("div", { class: "login-wrap" }, form));
  keyInput.focus();
}

function shell(pages, current) {
  const nav = h("nav", { class: "side", "aria-label": "pages" },
    pages.map(([id, title]) => h("a", { href: "#/" + id, id: "nav-" + id, class: id === current ? "active" : null, "aria-current": id === current ? "page" : null }, title)));
  const main = h("main", { id: "page" });
  const top = h("header", { class: "top" },
    h("div", { class: "brand" }, h("img", { src: "icon.svg", alt: "", width: 24, height: 24 }), "tidegate"),
    h("span", { class: "badge " + (session.mode === "admin" ? "info" : "ok"), id: "mode" }, session.mode === "admin" ? "admin" : "key holder"),
    h("span", { class: "spacer" }),
    h("button", { class: "secondary small", id: "logout", onclick: () => { session.clear(); go(""); } }, "Log out"));
  replace(root, top, h("div", { class: "body" }, nav, h("div", { class: "content" }, h("div", { id: "notices" }), main)));
  return main;
}

let generation = 0; // a page that finishes loading after navigation away is dropped

async function render() {
  if (!session.key) return loginView();
  const pages = session.mode === "admin" ? adminPages : accountPages;
  const want = location.hash.replace(/^#\//, "").split("?")[0];
  const page = pages.find(([id]) => id === want) || pages[0];
  if (page[0] !== want) history.replaceState(null, "", "#/" + page[0]);
  const main = shell(pages, page[0]);
  const gen = ++generation;
  document.title = page[1] + " · tidegate";
  replace(main, h("p", { class: "muted" }, "Loading…"));
  try {
    await page[2](main, () => gen === generation);
  } catch (e) {
    if (gen !== generation) return;
    if (e instanceof APIError && e.status === 401) { // the key was revoked or the gateway restarted with another
      session.clear();
      return loginView();
    }
    replace(main, h("div", { class: "notice error", role: "alert" }, "Could not load this page: " + errorText(e)));
  }
}

window.addEventListener("hashchange", render);
render();
