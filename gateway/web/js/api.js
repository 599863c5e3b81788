// The REST API, the app's only way to Koo (see /openapi.json).
//
// Tokens: the access token lives in this module's memory only (gone on reload, never in
// localStorage or a URL). The refresh token is an HttpOnly cookie the gateway sets on
// sign-in when asked with `Koo-Refresh-Cookie: 1` (gateway/session_cookie.py): script in
// the page, ours or injected, can never read it. A reload therefore starts with one
// refresh call. Refreshes rotate the token, so they are serialised, across tabs too
// (Web Locks): two refreshes racing with the same cookie would look like token reuse.

const COOKIE_MODE = { "koo-refresh-cookie": "1" };
let access = null; // { token, expiresAt }
let refreshing = null;
let onSignedOut = () => {};

export class ApiError extends Error {
  constructor(status, body) {
    const error = (body && body.error) || {};
    super(error.message || `HTTP ${status}`);
    this.status = status;
    this.code = error.status || "";
    const info = (error.details || []).find((d) => d.reason);
    this.reason = info ? info.reason : "";
    const bad = (error.details || []).find((d) => d.field_violations || d.fieldViolations);
    this.fields = bad ? (bad.field_violations || bad.fieldViolations) : [];
  }
}

export function setSignedOutHandler(handler) {
  onSignedOut = handler;
}

export function signedIn() {
  return access !== null;
}

function keep(session) {
  access = { token: session.access_token, expiresAt: Date.now() + Number(session.expires_in || 900) * 1000 };
  return session.user;
}

async function readBody(response) {
  const type = response.headers.get("content-type") || "";
  return type.includes("application/json") ? response.json() : null;
}

async function raw(method, path, { body, headers = {}, auth = true } = {}) {
  const init = { method, headers: { ...headers }, credentials: "same-origin" };
  if (body !== undefined) {
    init.headers["content-type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  if (auth && access) init.headers.authorization = `Bearer ${access.token}`;
  const response = await fetch(path, init);
  const data = await readBody(response);
  if (!response.ok) throw new ApiError(response.status, data);
  return data;
}

export async function signIn(handle, password) {
  return keep(await raw("POST", "/v1/sessions", { body: { handle, password }, headers: COOKIE_MODE, auth: false }));
}

export async function signUp(fields) {
  return raw("POST", "/v1/users", { body: fields, auth: false });
}

// A new access token from the cookie; null when there is no session (signed out).
export function refresh() {
  if (!refreshing) {
    const run = async () => {
      try {
        return keep(await raw("POST", "/v1/sessions:refresh", { body: {}, headers: COOKIE_MODE, auth: false }));
      } catch (err) {
        if (err instanceof ApiError && (err.status === 401 || err.status === 400)) {
          access = null;
          return null;
        }
        throw err;
      }
    };
    const locked = navigator.locks ? navigator.locks.request("koo-refresh", run) : run();
    refreshing = locked.finally(() => {
      refreshing = null;
    });
  }
  return refreshing;
}

export async function signOut() {
  try {
    await ensureFresh();
    await raw("DELETE", "/v1/sessions/current", { headers: COOKIE_MODE });
  } finally {
    access = null;
  }
}

async function ensureFresh() {
  if (access && access.expiresAt - Date.now() < 30_000) await refresh();
}

// An API call as the signed-in user: refreshes a token about to expire, and retries
// once after a refresh when the server says the token expired.
export async function call(method, path, options = {}) {
  await ensureFresh();
  try {
    return await raw(method, path, options);
  } catch (err) {
    if (err instanceof ApiError && err.status === 401 && access) {
      const user = await refresh();
      if (user) return raw(method, path, options);
      onSignedOut();
    }
    throw err;
  }
}

export const get = (path, query) => call("GET", withQuery(path, query));
export const post = (path, body = {}, headers) => call("POST", path, { body, headers });
export const patch = (path, body) => call("PATCH", path, { body });
export const del = (path) => call("DELETE", path);

export function withQuery(path, query) {
  if (!query) return path;
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(query)) {
    if (value === undefined || value === null || value === "") continue;
    for (const one of Array.isArray(value) ? value : [value]) params.append(key, String(one));
  }
  const text = params.toString();
  return text ? `${path}?${text}` : path;
}

// Uploads a file as its raw bytes, reporting progress (fetch cannot report upload
// progress; XMLHttpRequest can).
export async function upload(file, onProgress) {
  await ensureFresh();
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open("POST", "/v1/media");
    xhr.setRequestHeader("authorization", `Bearer ${access ? access.token : ""}`);
    xhr.setRequestHeader("content-type", file.type || "application/octet-stream");
    xhr.setRequestHeader("idempotency-key", crypto.randomUUID());
    xhr.responseType = "json";
    xhr.upload.addEventListener("progress", (event) => {
      if (event.lengthComputable) onProgress(event.loaded / event.total);
    });
    xhr.addEventListener("load", () => {
      if (xhr.status >= 200 && xhr.status < 300) resolve(xhr.response);
      else reject(new ApiError(xhr.status, xhr.response));
    });
    xhr.addEventListener("error", () => reject(new ApiError(0, null)));
    xhr.send(file);
  });
}

// Media bytes need the bearer token, which <img src> cannot send: fetch them and show
// a blob: URL. Only image, audio and video types become URLs, so nothing fetched can be
// opened as a page of this origin.
const SAFE_MEDIA = /^(image\/(jpeg|png|webp|gif)|audio\/[\w.+-]+|video\/[\w.+-]+)$/;
export async function mediaUrl(path) {
  await ensureFresh();
  const response = await fetch(path, { headers: access ? { authorization: `Bearer ${access.token}` } : {} });
  if (!response.ok) throw new ApiError(response.status, null);
  const type = (response.headers.get("content-type") || "").split(";")[0].trim();
  if (!SAFE_MEDIA.test(type)) throw new ApiError(415, null);
  const blob = new Blob([await response.arrayBuffer()], { type });
  return URL.createObjectURL(blob);
}
