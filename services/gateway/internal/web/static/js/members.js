// Group memberships of this browser. A member token (from joining with the passcode, or
// renewed) is what the realtime service needs; guests have nothing else, so the token is
// kept per group in localStorage and a reload keeps the identity. Tokens live at most 15
// minutes and can only be renewed while the membership is valid (or with an account that
// is a member). A guest also keeps the group's guest key: sent back on every later join,
// it lets the gateway recognise the same guest (and keep a ban on them) after their
// membership ended.

import { ApiError, request } from "./api.js";
import { accessToken, currentUser } from "./auth.js";

const PREFIX = "qc.member.";
const GUEST_KEY_PREFIX = "qc.guestKey.";
const ENDED_PREFIX = "qc.ended.";
const NAME_KEY = "qc.displayName";

/** Reasons a membership ends, as the removed frame and this client name them. "revoked"
 * is a membership the server refused without saying why (a renewal or a join of the
 * room answered "revoked"). */
export const REASONS = ["removed", "banned", "passcode_changed", "left", "revoked"];

/** Ended is thrown when the server refuses this browser's membership for good: the
 * member was removed, banned, left, or lost the membership when the passcode changed. */
export class Ended extends Error {
  constructor(reason) {
    super(`membership ended: ${reason}`);
    this.name = "Ended";
    this.reason = REASONS.includes(reason) ? reason : "revoked";
  }
}

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
    guest: isGuest(res),
    realtimeUrl: res.realtime_url,
  };
  localStorage.setItem(PREFIX + groupId, JSON.stringify(rec));
  if (res.guest_key) localStorage.setItem(GUEST_KEY_PREFIX + groupId, res.guest_key);
  if (res.member && res.member.display_name) localStorage.setItem(NAME_KEY, res.member.display_name);
  localStorage.removeItem(ENDED_PREFIX + groupId);
  return rec;
}

function isGuest(res) {
  if (typeof res.guest === "boolean") return res.guest;
  return !!(res.member && res.member.is_guest);
}

/** drop forgets the group's membership (the guest key stays: it is who this browser is). */
export function drop(groupId) {
  localStorage.removeItem(PREFIX + groupId);
}

/** markEnded forgets the membership and remembers why it ended (and the group's title),
 * so a reload can still say so. */
export function markEnded(groupId, reason, title = "") {
  const rec = load(groupId);
  const t = title || (rec && rec.group && rec.group.title) || "";
  drop(groupId);
  localStorage.setItem(ENDED_PREFIX + groupId, JSON.stringify({ reason, title: t }));
}

/** ended returns {reason, title} of this browser's ended membership of the group, or null. */
export function ended(groupId) {
  try {
    const v = JSON.parse(localStorage.getItem(ENDED_PREFIX + groupId) || "null");
    return v && REASONS.includes(v.reason) ? v : null;
  } catch {
    return null;
  }
}

/** forgetEnded clears the remembered reason (the person chose to join again). */
export function forgetEnded(groupId) {
  localStorage.removeItem(ENDED_PREFIX + groupId);
}

/** lastName is the display name used last time, to prefill the join form. */
export function lastName() {
  return localStorage.getItem(NAME_KEY) || "";
}

/** join checks the passcode at the gateway and stores the membership. A refusal because
 * this guest or account is banned from the group throws Ended("banned"). */
export async function join(groupId, name, passcode) {
  const token = currentUser() ? await accessToken() : null;
  const body = { name, passcode };
  const guestKey = localStorage.getItem(GUEST_KEY_PREFIX + groupId);
  if (guestKey) body.guest_key = guestKey;
  let res;
  try {
    res = await request("POST", `/api/chat-group/${encodeURIComponent(groupId)}/join`, { body, token });
  } catch (err) {
    if (err instanceof ApiError && err.code === "banned") {
      markEnded(groupId, "banned");
      throw new Ended("banned");
    }
    throw err;
  }
  return save(groupId, res);
}

// refused tells whether a renewal error means the membership is over for good.
function refused(err) {
  return err instanceof ApiError && (err.code === "revoked" || err.code === "banned");
}

/**
 * renew gets a fresh member token: with the stored member token while it is valid, else
 * with the account (owners and members who joined while signed in). Returns null when
 * this browser has no way to prove membership any more, and throws Ended when the server
 * says the membership was revoked.
 */
export async function renew(groupId) {
  const path = `/api/chat-group/${encodeURIComponent(groupId)}/token`;
  const rec = load(groupId);
  if (rec && rec.expiresAt - Date.now() > 1_000) {
    try {
      return save(groupId, await request("POST", path, { token: rec.token }));
    } catch (err) {
      if (refused(err)) throw refusal(groupId, err.code);
      if (!(err instanceof ApiError) || (err.status !== 401 && err.status !== 404)) throw err;
    }
  }
  const token = currentUser() ? await accessToken() : null;
  if (token) {
    try {
      return save(groupId, await request("POST", path, { token }));
    } catch (err) {
      if (refused(err)) throw refusal(groupId, err.code);
      if (!(err instanceof ApiError) || (err.status !== 401 && err.status !== 404)) throw err;
    }
  }
  drop(groupId);
  return null;
}

// refusal records a refused renewal; a reason learnt earlier (from a removed frame) is
// more precise than the renewal's "revoked".
function refusal(groupId, code) {
  const known = ended(groupId);
  const reason = code === "banned" ? "banned" : (known && known.reason) || "revoked";
  markEnded(groupId, reason);
  return new Ended(reason);
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
