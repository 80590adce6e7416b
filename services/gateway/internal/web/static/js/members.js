// Group memberships of this browser. A member token (from joining with the passcode, or
// renewed) is what the realtime service needs; guests have nothing else, so the token is
// kept per group in localStorage and a reload keeps the identity. Tokens live at most 15
// minutes and can only be renewed while still valid (or with an account that is a member).

import { ApiError, request } from "./api.js";
import { accessToken, currentUser } from "./auth.js";

const PREFIX = "qc.member.";
const NAME_KEY = "qc.displayName";

/** load returns the stored membership of the group, or null. */
export function load(groupId) {
  try {
    const rec = JSON.parse(localStorage.getItem(PREFIX + groupId) || "null");
    return rec && rec.token ? rec : null;
  } catch {
    return null;
  }
}

/** save stores a join or renew response. */
export function save(groupId, res) {
  const rec = {
    token: res.token,
    expiresAt: Date.now() + res.expires_in * 1000,
    ttl: res.expires_in * 1000,
    member: res.member,
    group: res.group,
    realtimeUrl: res.realtime_url,
  };
  localStorage.setItem(PREFIX + groupId, JSON.stringify(rec));
  if (res.member && res.member.display_name) localStorage.setItem(NAME_KEY, res.member.display_name);
  return rec;
}

/** drop forgets the group's membership. */
export function drop(groupId) {
  localStorage.removeItem(PREFIX + groupId);
}

/** lastName is the display name used last time, to prefill the join form. */
export function lastName() {
  return localStorage.getItem(NAME_KEY) || "";
}

/** join checks the passcode at the gateway and stores the membership. */
export async function join(groupId, name, passcode) {
  const token = currentUser() ? await accessToken() : null;
  const res = await request("POST", `/api/chat-group/${encodeURIComponent(groupId)}/join`, {
    body: { name, passcode },
    token,
  });
  return save(groupId, res);
}

/**
 * renew gets a fresh member token: with the stored member token while it is valid, else
 * with the account (owners and members who joined while signed in). Returns null when
 * this browser has no way to prove membership any more.
 */
export async function renew(groupId) {
  const path = `/api/chat-group/${encodeURIComponent(groupId)}/token`;
  const rec = load(groupId);
  if (rec && rec.expiresAt - Date.now() > 1_000) {
    try {
      return save(groupId, await request("POST", path, { token: rec.token }));
    } catch (err) {
      if (!(err instanceof ApiError) || (err.status !== 401 && err.status !== 404)) throw err;
    }
  }
  const token = currentUser() ? await accessToken() : null;
  if (token) {
    try {
      return save(groupId, await request("POST", path, { token }));
    } catch (err) {
      if (!(err instanceof ApiError) || (err.status !== 401 && err.status !== 404)) throw err;
    }
  }
  drop(groupId);
  return null;
}

/**
 * usable returns a membership whose token is valid for at least minMs (or half its
 * lifetime, when tokens live shorter than that), renewing it if needed.
 */
export async function usable(groupId, minMs = 60_000) {
  const rec = load(groupId);
  if (rec && rec.expiresAt - Date.now() > Math.min(minMs, (rec.ttl || 0) / 2)) return rec;
  return renew(groupId);
}

/** renewDelay is how long to wait before renewing rec's token ahead of its expiry. */
export function renewDelay(rec) {
  const lead = Math.min(60_000, (rec.ttl || 60_000) * 0.4);
  return Math.max(1_000, rec.expiresAt - Date.now() - lead);
}
