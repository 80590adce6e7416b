// The account session. The access token lives in memory only; the refresh token lives
// only in the gateway's HttpOnly cookie, out of reach of scripts (ours or injected ones).
// localStorage keeps just a flag saying a cookie session may exist, so pages know whether
// to try a refresh. Refresh tokens rotate on every use and reusing an old one revokes the
// session, so tabs take turns refreshing under a Web Lock.

import { ApiError, request } from "./api.js";

const COOKIE_KEY = "qc.cookieSession";
// Older versions kept the refresh token itself in localStorage under this key; it is
// removed on sight.
const LEGACY_REFRESH_KEY = "qc.refresh";
localStorage.removeItem(LEGACY_REFRESH_KEY);
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
  localStorage.setItem(COOKIE_KEY, "1");
  sessionStorage.removeItem(OIDC_PENDING);
  emit();
  return s.user;
}

function forget() {
  const had = access !== null;
  access = null;
  localStorage.removeItem(COOKIE_KEY);
  sessionStorage.removeItem(OIDC_PENDING);
  if (had) emit();
}

/** register creates an account and signs in. The server answers a registration the same
 * whether or not the email already has an account, so only the sign-in that follows tells:
 * it fails (401) when the email belonged to someone already. */
export async function register(email, password, name) {
  await request("POST", "/api/auth/register", { body: { email, password, name } });
  return login(email, password);
}

/** login signs in with email and password. */
export async function login(email, password) {
  return adopt(await request("POST", "/api/auth/login", { body: { email, password } }));
}

/** logout ends the session on the server (best effort) and here. */
export async function logout() {
  try {
    if (localStorage.getItem(COOKIE_KEY) === "1") await request("POST", "/api/auth/logout");
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
  // Read inside the lock: another tab may have signed out a moment ago.
  const cookie = localStorage.getItem(COOKIE_KEY) === "1" || sessionStorage.getItem(OIDC_PENDING) === "1";
  if (!cookie) {
    forget();
    return null;
  }
  try {
    return adopt(await request("POST", "/api/auth/refresh"));
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
