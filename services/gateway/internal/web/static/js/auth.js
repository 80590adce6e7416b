// The account session. The access token lives in memory only. Password sign-ins get a
// refresh token in the response body, which we keep in localStorage so a reload or a new
// tab stays signed in; OIDC sign-ins get it in the gateway's HttpOnly cookie instead (then
// only a flag is stored). Refresh tokens rotate on every use and reusing an old one revokes
// the session, so tabs take turns refreshing under a Web Lock and always read the newest
// token inside it.

import { ApiError, request } from "./api.js";

const REFRESH_KEY = "qc.refresh";
const COOKIE_KEY = "qc.cookieSession";
/** OIDC_PENDING is set (sessionStorage) just before following the OIDC sign-in link. */
export const OIDC_PENDING = "qc.oidcPending";

let access = null; // {token, expiresAt, user}
let inflight = null;
const listeners = new Set();

/** onChange registers fn(user|null), called when the signed-in account changes. */
export function onChange(fn) {
  listeners.add(fn);
  return () => listeners.delete(fn);
}

function emit() {
  for (const fn of listeners) fn(currentUser());
}

/** currentUser is the signed-in account, or null. */
export function currentUser() {
  return access ? access.user : null;
}

function adopt(s) {
  access = { token: s.access_token, expiresAt: Date.now() + s.expires_in * 1000, user: s.user };
  if (s.refresh_token) {
    localStorage.setItem(REFRESH_KEY, s.refresh_token);
    localStorage.removeItem(COOKIE_KEY);
  } else {
    localStorage.removeItem(REFRESH_KEY);
    localStorage.setItem(COOKIE_KEY, "1");
  }
  sessionStorage.removeItem(OIDC_PENDING);
  emit();
  return s.user;
}

function forget() {
  const had = access !== null;
  access = null;
  localStorage.removeItem(REFRESH_KEY);
  localStorage.removeItem(COOKIE_KEY);
  sessionStorage.removeItem(OIDC_PENDING);
  if (had) emit();
}

/** register creates an account and signs in. */
export async function register(email, password, name) {
  return adopt(await request("POST", "/api/auth/register", { body: { email, password, name } }));
}

/** login signs in with email and password. */
export async function login(email, password) {
  return adopt(await request("POST", "/api/auth/login", { body: { email, password } }));
}

/** logout ends the session on the server (best effort) and here. */
export async function logout() {
  const stored = localStorage.getItem(REFRESH_KEY);
  const cookie = localStorage.getItem(COOKIE_KEY) === "1";
  try {
    if (stored) await request("POST", "/api/auth/logout", { body: { refresh_token: stored } });
    else if (cookie) await request("POST", "/api/auth/logout");
  } catch {
    // Signing out locally is what matters; the server-side session expires anyway.
  } finally {
    forget();
  }
}

/** restore signs in from a stored session if there is one; resolves to the user or null. */
export async function restore() {
  if (access && access.expiresAt - Date.now() > 30_000) return access.user;
  try {
    return await refresh();
  } catch {
    return null;
  }
}

function refresh() {
  if (!inflight) {
    const run = () => refreshOnce();
    const p = navigator.locks ? navigator.locks.request("qc-refresh", run) : run();
    inflight = p.finally(() => {
      inflight = null;
    });
  }
  return inflight;
}

async function refreshOnce() {
  // Read inside the lock: another tab may have rotated the token a moment ago.
  const stored = localStorage.getItem(REFRESH_KEY);
  const cookie = localStorage.getItem(COOKIE_KEY) === "1" || sessionStorage.getItem(OIDC_PENDING) === "1";
  if (!stored && !cookie) {
    forget();
    return null;
  }
  try {
    const s = await request("POST", "/api/auth/refresh", stored ? { body: { refresh_token: stored } } : {});
    return adopt(s);
  } catch (err) {
    if (err instanceof ApiError && (err.status === 400 || err.status === 401)) {
      forget();
      return null;
    }
    throw err;
  }
}

/** accessToken returns a valid access token, refreshing when needed, or null. */
export async function accessToken() {
  if (access && access.expiresAt - Date.now() > 30_000) return access.token;
  const user = await refresh();
  return user ? access.token : null;
}

/** authed calls the API with the access token, refreshing it once on 401. */
export async function authed(method, path, opts = {}) {
  let token = await accessToken();
  if (!token) throw new ApiError(401, "unauthorized", "Please sign in again.");
  try {
    return await request(method, path, { ...opts, token });
  } catch (err) {
    if (!(err instanceof ApiError) || err.status !== 401) throw err;
    access = null;
    token = await accessToken();
    if (!token) throw new ApiError(401, "unauthorized", "Your session has ended. Please sign in again.");
    return request(method, path, { ...opts, token });
  }
}
