// The session and the calls to the gateway. The key lives in
// sessionStorage (gone when the tab closes) and is sent as a bearer token;
// nothing is stored in cookies.

const KEY = "tidegate.key";
const MODE = "tidegate.mode";

export const session = {
  get key() { return sessionStorage.getItem(KEY) || ""; },
  get mode() { return sessionStorage.getItem(MODE) || ""; }, // "admin" or "account"
  set(key, mode) { sessionStorage.setItem(KEY, key); sessionStorage.setItem(MODE, mode); },
  clear() { sessionStorage.removeItem(KEY); sessionStorage.removeItem(MODE); },
};

export class APIError extends Error {
  constructor(status, body) {
    const e = (body && body.error) || {};
    super(e.message || "HTTP " + status);
    this.status = status;
    this.code = e.code || "";
    this.param = e.param || "";
  }
}

// call sends a request to the gateway (paths are absolute: /admin/…) and
// returns the decoded JSON answer, or throws APIError.
export async function call(method, path, body, key = session.key, extra = {}) {
  const headers = { Accept: "application/json", ...extra };
  if (key) headers.Authorization = "Bearer " + key;
  const init = { method, headers, cache: "no-store", credentials: "omit" };
  if (body !== undefined) {
    headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  const res = await fetch(path, init);
  if (res.status === 204) return null;
  const text = await res.text();
  let data = null;
  try { data = text ? JSON.parse(text) : null; } catch { data = null; }
  if (!res.ok) throw new APIError(res.status, data || { error: { message: text.slice(0, 200) || "HTTP " + res.status } });
  return data;
}

// download fetches path with the key and saves it as a file.
export async function download(path, filename) {
  const res = await fetch(path, { headers: { Authorization: "Bearer " + session.key }, cache: "no-store", credentials: "omit" });
  if (!res.ok) {
    let data = null;
    try { data = await res.json(); } catch { data = null; }
    throw new APIError(res.status, data);
  }
  const url = URL.createObjectURL(await res.blob());
  const a = document.createElement("a");
  a.href = url;
  a.download = filename;
  document.body.appendChild(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10000);
}

export const get = (path) => call("GET", path);
export const post = (path, body) => call("POST", path, body === undefined ? {} : body);
export const patch = (path, body) => call("PATCH", path, body);
export const del = (path) => call("DELETE", path);

export function qs(params) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== null && v !== "") q.set(k, v);
  const s = q.toString();
  return s ? "?" + s : "";
}
