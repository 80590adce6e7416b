// The people panel of a chat room: who is online now (presence), the group's members
// (GET /api/chat-group/{id}/members, page by page), and for the owner the moderation
// tools: remove or ban a member, and the list of bans with unban. Everyone but the owner
// can leave the group from here. Guests carry a "guest" badge wherever they appear.

import { errorText } from "../api.js";
import { confirmAction, formatTime, h, toast } from "../dom.js";
import { Ended } from "../members.js";

const PAGE = 50;

/** guestBadge marks a member who joined without an account. */
export function guestBadge() {
  return h("span", { class: "badge badge-guest", text: "guest" });
}

// norm accepts the members API's fields, and the older names the same data had.
function norm(m) {
  return {
    id: m.member_id || m.id,
    name: m.name ?? m.display_name ?? "",
    guest: !!(m.guest ?? m.is_guest),
    owner: !!m.owner,
    joinedAt: m.joined_at,
    lastSeenAt: m.last_seen_at,
    online: m.online,
    messageCount: m.message_count,
  };
}

/**
 * peoplePanel builds the panel. Options:
 *   gid, me (this member's id), isOwner,
 *   call(method, path, body) → Promise (an API call with the right token: the owner's
 *     access token, else the member token),
 *   leave() → Promise (leave the group; the room then ends),
 *   ended(reason) (the server says this membership is over),
 *   signal (the view's).
 * Returns {el, drawOnline(clients) → count of members online, refresh(), seen(memberId)}.
 */
export function peoplePanel({ gid, me, isOwner, call, leave, ended, signal }) {
  const base = `/api/chat-group/${encodeURIComponent(gid)}`;
  const rows = new Map(); // member id → {m, el}
  let cursor = "";
  let liveOnline = null; // member ids in the room, once presence is known
  let loading = null;
  let loaded = false; // a first page arrived
  let refreshTimer = null;

  const onlineList = h("ul", { class: "people-list" });
  const memberList = h("ul", { class: "member-list", "aria-label": "Members" });
  const memberNote = h("p", { class: "muted small", role: "status" });
  const moreBtn = h("button", { type: "button", class: "btn btn-small btn-ghost more", hidden: true, text: "Load more members" });
  const banList = h("ul", { class: "ban-list", "aria-label": "Banned" });
  const banNote = h("p", { class: "muted small", text: "Nobody is banned." });

  const el = h("aside", { id: "people", class: "people", "aria-label": "People" },
    h("section", { class: "people-section", "aria-labelledby": "online-title" },
      h("h2", { id: "online-title", text: "Online now" }), onlineList),
    h("section", { class: "people-section", "aria-labelledby": "members-title" },
      h("h2", { id: "members-title", text: "Members" }), memberList, memberNote, moreBtn),
    isOwner
      ? h("section", { class: "people-section bans", "aria-labelledby": "bans-title" },
        h("h2", { id: "bans-title", text: "Banned" }), banList, banNote)
      : null,
    isOwner
      ? null
      : h("div", { class: "people-section leave" },
        h("button", { type: "button", class: "btn btn-small btn-ghost btn-danger", "data-action": "leave", text: "Leave group", on: { click: askLeave } })));

  moreBtn.addEventListener("click", () => load(false));

  // failed shows a load error, or ends the room when the membership is over.
  function failed(err, where) {
    if (err instanceof Ended) {
      ended(err.reason);
      return;
    }
    where.textContent = errorText(err);
  }

  // --- online now -------------------------------------------------------------------------

  function drawOnline(clients) {
    const byMember = new Map();
    for (const c of clients) if (!byMember.has(c.member_id)) byMember.set(c.member_id, c);
    const entries = [...byMember.values()].sort((a, b) =>
      a.member_id === me ? -1 : b.member_id === me ? 1 : a.name.localeCompare(b.name));
    onlineList.replaceChildren(...entries.map((c) =>
      h("li", { dataset: { memberId: c.member_id } },
        h("span", { class: "dot", "aria-hidden": "true" }),
        h("span", { class: "person-name", text: c.member_id === me ? `${c.name} (you)` : c.name }),
        c.guest ? guestBadge() : null)));
    liveOnline = new Set(byMember.keys());
    for (const id of byMember.keys()) if (!rows.has(id)) seen(id);
    if (isOwner) for (const r of rows.values()) drawDot(r);
    return byMember.size;
  }

  // --- members ----------------------------------------------------------------------------

  async function load(fresh) {
    if (loading) return loading;
    const query = `limit=${PAGE}` + (!fresh && cursor ? `&cursor=${encodeURIComponent(cursor)}` : "");
    moreBtn.disabled = true;
    loading = (async () => {
      try {
        const page = await call("GET", `${base}/members?${query}`);
        if (signal.aborted) return;
        if (fresh) {
          rows.clear();
          memberList.replaceChildren();
        }
        for (const raw of page.members || []) {
          const m = norm(raw);
          if (!m.id || rows.has(m.id)) continue;
          const r = { m, el: null };
          r.el = memberRow(r);
          rows.set(m.id, r);
          memberList.append(r.el);
        }
        loaded = true;
        cursor = page.next_cursor || "";
        moreBtn.hidden = !cursor;
        memberNote.textContent = rows.size ? "" : "No members yet.";
      } catch (err) {
        if (!signal.aborted) failed(err, memberNote);
      } finally {
        moreBtn.disabled = false;
        loading = null;
      }
    })();
    return loading;
  }

  function memberRow(r) {
    const m = r.m;
    const self = m.id === me;
    const li = h("li", { class: "member", dataset: { memberId: m.id } });
    const line = h("div", { class: "member-line" },
      isOwner ? h("span", { class: "dot" }) : null,
      h("span", { class: "person-name", text: self ? `${m.name} (you)` : m.name }),
      m.guest ? guestBadge() : null,
      m.owner ? h("span", { class: "badge badge-owner", text: "owner" }) : null);
    li.append(line);
    if (isOwner) {
      const facts = [];
      if (typeof m.messageCount === "number") facts.push(`${m.messageCount} message${m.messageCount === 1 ? "" : "s"}`);
      if (m.lastSeenAt) facts.push(`seen ${formatTime(m.lastSeenAt)}`);
      else if (m.joinedAt) facts.push(`joined ${formatTime(m.joinedAt)}`);
      if (facts.length) li.append(h("small", { class: "member-facts muted", text: facts.join(" · ") }));
    }
    if (isOwner && !self && !m.owner) {
      li.append(h("div", { class: "member-actions" },
        h("button", { type: "button", class: "btn btn-small btn-ghost", "data-action": "remove", "aria-label": `Remove ${m.name}`, text: "Remove", on: { click: () => askRemove(r) } }),
        h("button", { type: "button", class: "btn btn-small btn-ghost btn-danger", "data-action": "ban", "aria-label": `Ban ${m.name}`, text: "Ban", on: { click: () => askBan(r) } })));
    }
    r.el = li;
    if (isOwner) drawDot(r);
    return li;
  }

  function drawDot(r) {
    const dot = r.el && r.el.querySelector(".dot");
    if (!dot) return;
    const on = liveOnline ? liveOnline.has(r.m.id) : !!r.m.online;
    dot.classList.toggle("off", !on);
    dot.setAttribute("role", "img");
    dot.setAttribute("aria-label", on ? "online" : "offline");
  }

  // seen notes a member id met in presence; one not in the list is a newcomer, so the
  // list is loaded again (once for a burst of them).
  function seen(memberId) {
    if (!loaded || rows.has(memberId) || cursor) return;
    clearTimeout(refreshTimer);
    refreshTimer = setTimeout(() => !signal.aborted && load(true), 400);
  }

  function dropRow(id) {
    const r = rows.get(id);
    if (!r) return;
    // Keep keyboard focus in the list instead of losing it with the removed row.
    const next = r.el.nextElementSibling || r.el.previousElementSibling;
    r.el.remove();
    rows.delete(id);
    const target = next && next.querySelector("button");
    if (target) target.focus();
    memberNote.textContent = rows.size ? "" : "No members yet.";
  }

  const ownerErrors = (err) => errorText(err, {
    not_found: "This member is no longer in the group.",
    forbidden: "Only the owner of the group can do this.",
  });

  async function askRemove(r) {
    const ok = await confirmAction({
      title: `Remove ${r.m.name}?`,
      text: `${r.m.name} leaves the chat at once. They can join again with the passcode.`,
      confirm: "Remove",
      action: () => call("DELETE", `${base}/members/${encodeURIComponent(r.m.id)}`),
      errorText: ownerErrors,
      signal,
    });
    if (!ok) return;
    dropRow(r.m.id);
    toast(`${r.m.name} was removed.`);
  }

  async function askBan(r) {
    const ok = await confirmAction({
      title: `Ban ${r.m.name}?`,
      text: `${r.m.name} leaves the chat at once and cannot join again, even with the passcode, until you lift the ban.`,
      confirm: "Ban",
      action: () => call("POST", `${base}/bans`, { member_id: r.m.id }),
      errorText: ownerErrors,
      signal,
    });
    if (!ok) return;
    dropRow(r.m.id);
    toast(`${r.m.name} was banned.`);
    loadBans();
  }

  // --- bans (owner) -----------------------------------------------------------------------

  async function loadBans() {
    if (!isOwner) return;
    try {
      const res = await call("GET", `${base}/bans`);
      if (signal.aborted) return;
      const bans = res.bans || [];
      banList.replaceChildren(...bans.map(banRow));
      banNote.textContent = bans.length ? "" : "Nobody is banned.";
    } catch (err) {
      if (!signal.aborted) failed(err, banNote);
    }
  }

  function banRow(b) {
    const name = b.name || "Former member";
    const btn = h("button", { type: "button", class: "btn btn-small btn-ghost", "data-action": "unban", "aria-label": `Unban ${name}`, text: "Unban" });
    const li = h("li", { class: "member", dataset: { banId: b.ban_id } },
      h("div", { class: "member-line" }, h("span", { class: "person-name", text: name }), b.guest ? guestBadge() : null),
      b.created_at ? h("small", { class: "member-facts muted", text: `banned ${formatTime(b.created_at)}` }) : null,
      h("div", { class: "member-actions" }, btn));
    btn.addEventListener("click", async () => {
      btn.disabled = true;
      try {
        await call("DELETE", `${base}/bans/${encodeURIComponent(b.ban_id)}`);
        li.remove();
        if (!banList.children.length) banNote.textContent = "Nobody is banned.";
        toast(`${name} may join again with the passcode.`);
      } catch (err) {
        btn.disabled = false;
        toast(errorText(err, { not_found: "This ban was already lifted." }), "error");
        if (err && err.code === "not_found") loadBans();
      }
    });
    return li;
  }

  // --- leave (members) --------------------------------------------------------------------

  function askLeave() {
    confirmAction({
      title: "Leave this group?",
      text: "You leave the chat at once and stop receiving its messages. To come back you need the passcode.",
      confirm: "Leave group",
      action: leave,
      errorText: (err) => errorText(err, { conflict: "The owner cannot leave; delete the group instead." }),
      signal,
    });
  }

  signal.addEventListener("abort", () => clearTimeout(refreshTimer));
  load(true);
  loadBans();
  return { el, drawOnline, refresh: () => load(true), seen };
}
