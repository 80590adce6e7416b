import { ApiError, config, errorText, request, splitURLs } from "../api.js";
import { authed, currentUser, restore } from "../auth.js";
import * as files from "../attachments.js";
import { alertBox, busy, confirmAction, field, formatTime, h, toast } from "../dom.js";
import * as members from "../members.js";
import { Room } from "../realtime.js";
import { copyLink } from "./dashboard.js";
import { endedScreen } from "./ended.js";
import { guestBadge, peoplePanel } from "./people.js";

const PAGE = 50;
const MAX_BODY_BYTES = 4096;

/** chatView is the share link's page: the join form for newcomers, the room for members,
 * and the ended screen for someone whose membership was revoked. */
export async function chatView({ main, params, signal }) {
  const gid = params.id;
  document.title = "Chat · Quick Chat";
  const [, cfg] = await Promise.all([restore(), config()]);
  if (signal.aborted) return;

  const stale = members.load(gid);
  let rec;
  try {
    rec = await members.usable(gid);
  } catch (err) {
    if (signal.aborted) return;
    if (err instanceof members.Ended) return endedScreen(main, gid, err.reason, stale && stale.group && stale.group.title);
    return showProblem(main, errorText(err));
  }
  if (signal.aborted) return;
  if (!rec) {
    // Removed, banned or left earlier: say so again rather than showing a bare join form.
    const ended = members.ended(gid);
    if (ended) return endedScreen(main, gid, ended.reason, ended.title);
    const notice = stale ? "Your session in this chat has ended. Join again with the passcode." : "";
    rec = await joinForm(main, gid, notice, signal);
    if (!rec || signal.aborted) return;
  }
  main.replaceChildren();
  chatRoom({ main, gid, rec, cfg, signal });
}

// endedBy turns an API refusal of a revoked membership into members.Ended.
function endedBy(err) {
  if (err instanceof ApiError && (err.code === "revoked" || err.code === "banned")) return new members.Ended(err.code);
  return err;
}

function showProblem(main, text) {
  main.replaceChildren(
    h("section", { class: "panel narrow" },
      h("h1", { text: "This chat could not be opened" }),
      h("p", { class: "alert", role: "alert", text }),
      h("button", { type: "button", class: "btn", text: "Try again", on: { click: () => location.reload() } })),
  );
}

// joinForm asks for a display name and the passcode; resolves to the membership.
function joinForm(main, gid, notice, signal) {
  return new Promise((resolve) => {
    document.title = "Join chat · Quick Chat";
    const alert = alertBox();
    const user = currentUser();
    const name = field("Your name", {
      name: "name", autocomplete: "nickname", required: true, maxlength: 40,
      value: members.lastName() || (user ? user.name : ""),
    }, "Shown next to your messages; 1 to 40 characters, not a name someone in the chat already uses.");
    const passcode = field("Passcode", { name: "passcode", type: "password", autocomplete: "off", required: true }, "Ask whoever shared the link.");
    const submit = h("button", { type: "submit", class: "btn", text: "Join chat" });
    const form = h("form", { class: "stack join-form" }, alert.el, name.wrap, passcode.wrap, submit);
    form.addEventListener("submit", async (e) => {
      e.preventDefault();
      alert.set("");
      const n = name.input.value.trim();
      if (!n) {
        alert.set("Enter your name.");
        name.input.focus();
        return;
      }
      if (!passcode.input.value) {
        alert.set("Enter the passcode.");
        passcode.input.focus();
        return;
      }
      try {
        const rec = await busy(form, () => members.join(gid, n, passcode.input.value));
        resolve(rec);
      } catch (err) {
        if (signal.aborted) return;
        if (err instanceof members.Ended) {
          endedScreen(main, gid, err.reason);
          resolve(null);
          return;
        }
        alert.set(errorText(err, {
          forbidden: "Wrong passcode. Check it with whoever shared the link.",
          not_found: "This chat does not exist. The link may be mistyped, or the group was deleted.",
          unauthorized: "Your sign-in has expired. Reload the page and try again.",
          conflict: "Someone in this chat already uses that name. Choose another one.",
        }));
        if (err instanceof ApiError && (err.code === "conflict" || err.code === "invalid")) {
          name.input.select();
          name.input.focus();
          return;
        }
        passcode.input.select();
        passcode.input.focus();
      }
    });
    main.replaceChildren(
      h("section", { class: "panel narrow" },
        h("h1", { text: "Join the chat" }),
        notice ? h("p", { class: "notice", text: notice }) : null,
        h("p", { class: "muted", text: "Enter a display name and the passcode you were given. No account needed." }),
        form),
    );
    (name.input.value ? passcode.input : name.input).focus();
  });
}

function chatRoom({ main, gid, rec: initialRec, cfg, signal }) {
  let rec = initialRec;
  const me = rec.member.id;
  const title = (rec.group && rec.group.title) || "Chat";
  const user = currentUser();
  const isOwner = !!(user && rec.group && user.id === rec.group.owner_id);
  document.title = `${title} · Quick Chat`;
  main.className = "chat-page";

  // --- state ---
  const byId = new Map(); // message id → element
  const ids = []; // message ids in ascending order (UUIDv7 sorts by time)
  const pendingEls = new Map(); // client_msg_id → element
  const pendingFiles = new Map(); // client_msg_id → the attachments of a message being sent
  // Deletions heard of, by the deleted message's id: a deletion may arrive before its
  // message is shown (older than what was loaded, or loaded later after a reset).
  const deletions = new Set();
  const online = new Map(); // client_id → {member_id, name}
  const typers = new Map(); // client_id → {name, member_id, until}
  let hasMore = false;
  let loadingOlder = false;
  let typingTimer = null;
  let renewTimer = null;
  let over = false; // the membership ended; the ended screen is showing

  // --- elements ---
  const status = h("span", { class: "status", role: "status", "data-state": "connecting", text: "Connecting…" });
  const onlineBtn = h("button", { type: "button", class: "btn btn-small btn-ghost online-toggle", "aria-expanded": "false", "aria-controls": "people", text: "Online" });
  const copyBtn = h("button", { type: "button", class: "btn btn-small btn-ghost", text: "Copy link" });
  copyBtn.addEventListener("click", () => copyLink(gid, null, copyBtn));
  const banner = h("p", { class: "banner", role: "alert", hidden: true });
  const olderBtn = h("button", { type: "button", class: "btn btn-small btn-ghost older", hidden: true, text: "Load older messages" });
  const list = h("ol", { class: "messages", "aria-label": "Messages" });
  const outbox = h("ol", { class: "messages outbox", "aria-label": "Messages being sent" });
  const empty = h("p", { class: "empty muted", text: "No messages yet. Say hello!" });
  const scroller = h("div", { class: "scroller", tabindex: "0", "aria-label": "Conversation", role: "log", "aria-live": "polite" }, olderBtn, empty, list, outbox);
  const panel = peoplePanel({
    gid, me, isOwner, signal,
    call: (method, path, body) => (isOwner ? authed(method, path, { body }).catch((err) => { throw endedBy(err); }) : memberCall(method, path, body)),
    leave: async () => {
      await memberCall("POST", `/api/chat-group/${encodeURIComponent(gid)}/leave`);
      endRoom("left");
    },
    ended: (reason) => endRoom(reason),
  });
  const people = panel.el;
  const typingLine = h("p", { class: "typing", "aria-live": "polite" });
  const composerAlert = alertBox();
  const fileSettings = cfg.attachments || null;
  const links = new files.Links(gid, (method, path, body) => memberCall(method, path, body));
  const fileInput = h("input", { type: "file", multiple: true, class: "visually-hidden", id: "composer-files", tabindex: "-1",
    accept: fileSettings ? fileSettings.types.join(",") : undefined });
  const attachBtn = fileSettings ? h("button", { type: "button", class: "btn btn-ghost attach", title: "Attach files (or paste or drop them)", "aria-label": "Attach files" },
    h("img", { src: "/assets/attach.svg", alt: "", width: "22", height: "22" })) : null;
  const input = h("textarea", { id: "composer-input", name: "body", rows: "2", required: true, placeholder: "Write a message…", autocomplete: "off", "aria-describedby": "composer-help" });
  const sendBtn = h("button", { type: "submit", class: "btn", text: "Send" });
  const composer = h("form", { class: "composer" },
    h("label", { for: "composer-input", class: "visually-hidden", text: "Message" }),
    attachBtn, fileSettings ? fileInput : null, input, sendBtn,
    h("small", { id: "composer-help", class: "visually-hidden", text: "Enter sends, Shift+Enter starts a new line." }));

  main.append(
    h("section", { class: "chat", "aria-label": title },
      h("header", { class: "chat-head" },
        h("div", { class: "chat-title" }, h("h1", { text: title }), status),
        h("div", { class: "chat-tools" }, onlineBtn, copyBtn)),
      banner,
      h("div", { class: "chat-body" }, scroller, people),
      typingLine,
      composerAlert.el,
      composer),
  );

  onlineBtn.addEventListener("click", () => {
    const open = people.classList.toggle("open");
    onlineBtn.setAttribute("aria-expanded", String(open));
    if (open) people.querySelector("h2")?.setAttribute("tabindex", "-1");
    if (open) people.querySelector("h2")?.focus();
  });
  people.addEventListener("keydown", (e) => {
    if (e.key === "Escape" && people.classList.contains("open")) {
      people.classList.remove("open");
      onlineBtn.setAttribute("aria-expanded", "false");
      onlineBtn.focus();
    }
  });

  // --- messages ---
  const nearBottom = () => scroller.scrollHeight - scroller.scrollTop - scroller.clientHeight < 80;
  const toBottom = () => {
    scroller.scrollTop = scroller.scrollHeight;
  };

  function messageEl(m, pending = false) {
    const mine = m.sender_id === me;
    const time = pending ? null : h("time", { datetime: new Date(m.created_at).toISOString(), text: formatTime(m.created_at) });
    // The owner may delete any message; the server checks it again.
    const del = isOwner && !pending ? h("button", {
      type: "button", class: "btn-link msg-delete", text: "Delete", "aria-label": `Delete message from ${m.sender_name}`,
      on: { click: () => askDelete(m.id) },
    }) : null;
    const el = h("li", { class: `msg${mine ? " mine" : ""}${pending ? " pending" : ""}`, dataset: pending ? { cmid: m.client_msg_id } : { id: m.id } },
      h("div", { class: "meta" }, h("span", { class: "sender", text: mine ? `${m.sender_name} (you)` : m.sender_name }),
        m.sender_guest ? guestBadge() : null, time,
        pending ? h("span", { class: "state", text: room && room.live ? "Sending…" : "Waiting for connection…" }) : null, del),
      h("p", { class: "body", text: m.body, hidden: !m.body && !!(m.attachments && m.attachments.length) }),
      m.attachments && m.attachments.length > 0 && !m.deleted_at ? files.attachmentsEl(m.attachments, { links, signal }) : null);
    if (!pending && (m.deleted_at || deletions.has(m.id))) tombstone(el);
    return el;
  }

  // tombstone turns a shown message into "Message deleted": its text is gone for everyone.
  function tombstone(el) {
    el.classList.add("deleted");
    el.classList.remove("deleting");
    el.querySelector(".msg-delete")?.remove();
    el.querySelector(".attachments")?.remove();
    el.querySelector(".body").replaceWith(h("p", { class: "body tombstone", text: "Message deleted" }));
  }

  function markDeleted(messageId) {
    deletions.add(messageId);
    const el = byId.get(messageId);
    if (el && !el.classList.contains("deleted")) tombstone(el);
  }

  async function askDelete(id) {
    const el = byId.get(id);
    if (!el || el.classList.contains("deleted")) return;
    const ok = await confirmAction({
      title: "Delete this message?",
      text: "It is replaced by “Message deleted” for everyone in the chat. This cannot be undone.",
      confirm: "Delete",
      action: async () => {},
      signal,
    });
    if (!ok || over || el.classList.contains("deleted")) return;
    el.classList.add("deleting");
    const btn = el.querySelector(".msg-delete");
    if (btn) {
      btn.disabled = true;
      btn.textContent = "Deleting…";
    }
    room.deleteMessage(id);
  }

  // addMessage inserts m in id order unless it is already shown; reports whether it was new.
  function addMessage(m) {
    if (!m || !m.id || byId.has(m.id)) return false;
    const el = messageEl(m);
    let lo = 0;
    let hi = ids.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (ids[mid] < m.id) lo = mid + 1;
      else hi = mid;
    }
    if (lo === ids.length) list.append(el);
    else list.insertBefore(el, byId.get(ids[lo]));
    ids.splice(lo, 0, m.id);
    byId.set(m.id, el);
    if (m.sender_id === me) removePending(m.client_msg_id);
    empty.hidden = true;
    return true;
  }

  function removePending(cmid) {
    const el = pendingEls.get(cmid);
    if (el) {
      el.remove();
      pendingEls.delete(cmid);
    }
    pendingFiles.delete(cmid);
  }

  function addBatch(msgs) {
    for (const m of msgs) addMessage(m);
  }

  // --- history from the gateway ---
  async function memberToken() {
    const r = await members.usable(gid, 10_000);
    if (!r) throw new ApiError(401, "unauthorized", "Your membership of this chat has ended. Reload and join again.");
    setRec(r);
    return r.token;
  }

  // memberCall calls the API with the member token, renewing it once on 401. A refusal
  // because the membership was revoked becomes members.Ended.
  async function memberCall(method, path, body) {
    try {
      try {
        return await request(method, path, { body, token: await memberToken() });
      } catch (err) {
        if (!(err instanceof ApiError) || err.status !== 401) throw err;
        const r = await members.renew(gid);
        if (!r) throw err;
        setRec(r);
        return await request(method, path, { body, token: r.token });
      }
    } catch (err) {
      throw endedBy(err);
    }
  }

  function history(query) {
    return memberCall("GET", `/api/chats/${encodeURIComponent(gid)}?${query}`);
  }

  // endRoom shows the ended screen for reason, once; the room stops reconnecting.
  function endRoom(reason) {
    if (over || signal.aborted) return;
    over = true;
    room.end(reason);
    clearTimeout(renewTimer);
    clearTimeout(typingTimer);
    members.markEnded(gid, reason, title);
    endedScreen(main, gid, reason, title);
  }

  // failure reports an error of a background task, unless it ended the membership.
  function failure(err) {
    if (signal.aborted) return;
    if (err instanceof members.Ended) endRoom(err.reason);
    else toast(errorText(err), "error");
  }

  async function loadLatest() {
    const page = await history(`limit=${PAGE}`);
    if (signal.aborted) return;
    addBatch(page.messages || []);
    hasMore = !!page.has_more;
    olderBtn.hidden = !hasMore;
    toBottom();
  }

  async function loadOlder() {
    if (loadingOlder || !hasMore || !ids.length) return;
    loadingOlder = true;
    olderBtn.disabled = true;
    try {
      const page = await history(`limit=${PAGE}&before=${encodeURIComponent(ids[0])}`);
      if (signal.aborted) return;
      const before = scroller.scrollHeight;
      const top = scroller.scrollTop;
      addBatch(page.messages || []);
      hasMore = !!page.has_more;
      olderBtn.hidden = !hasMore;
      scroller.scrollTop = top + (scroller.scrollHeight - before);
    } catch (err) {
      failure(err);
    } finally {
      loadingOlder = false;
      olderBtn.disabled = false;
    }
  }

  // catchUp merges what the gateway has after the newest message shown; used when the
  // realtime service cannot tell what was missed, and shortly after the first join for
  // messages accepted just before it that the history did not have yet.
  async function catchUp() {
    try {
      if (!ids.length) return await loadLatest();
      let after = ids[ids.length - 1];
      const stick = nearBottom();
      for (let i = 0; i < 50; i++) {
        const page = await history(`limit=100&after=${encodeURIComponent(after)}`);
        if (signal.aborted) return;
        const msgs = page.messages || [];
        addBatch(msgs);
        if (!page.has_more || !msgs.length) break;
        after = msgs[msgs.length - 1].id;
      }
      if (stick) toBottom();
    } catch (err) {
      failure(err);
    }
  }

  olderBtn.addEventListener("click", loadOlder);
  scroller.addEventListener("scroll", () => {
    if (scroller.scrollTop < 120) loadOlder();
  }, { passive: true });

  // --- presence and typing ---
  function drawPeople() {
    onlineBtn.textContent = `${panel.drawOnline(online.values())} online`;
  }

  function drawTyping() {
    clearTimeout(typingTimer);
    const now = Date.now();
    for (const [k, t] of typers) if (t.until <= now) typers.delete(k);
    const names = [...new Set([...typers.values()].map((t) => t.name))];
    typingLine.textContent =
      names.length === 0 ? "" :
      names.length === 1 ? `${names[0]} is typing…` :
      names.length === 2 ? `${names[0]} and ${names[1]} are typing…` :
      "Several people are typing…";
    if (typers.size) {
      const next = Math.min(...[...typers.values()].map((t) => t.until)) - now;
      typingTimer = setTimeout(drawTyping, Math.max(50, next));
    }
  }

  // --- connection ---
  const stateText = {
    connecting: "Connecting…",
    live: "Connected",
    reconnecting: "Reconnecting…",
    failed: "Disconnected",
    closed: "Disconnected",
    removed: "Removed",
  };
  let firstJoin = true;

  const room = new Room({
    groupId: gid,
    memberId: me,
    urls: splitURLs(rec.realtimeUrl, ...(cfg.realtime_urls || [])),
    getToken: async (force) => {
      const r = force ? await members.renew(gid) : await members.usable(gid, 30_000);
      if (r) setRec(r);
      return r ? r.token : null;
    },
    on: {
      state(state, detail) {
        status.dataset.state = state;
        status.dataset.url = room ? room.url : "";
        status.textContent = stateText[state] || state;
        if (state === "reconnecting") {
          banner.textContent = "Connection lost. Reconnecting… Messages you send now are delivered when the connection is back.";
          banner.hidden = false;
        } else if (state === "failed") {
          banner.replaceChildren(detail || "Disconnected.", " ",
            h("button", { type: "button", class: "btn btn-small", text: "Join again", on: { click: () => { members.drop(gid); location.reload(); } } }));
          banner.hidden = false;
        } else {
          banner.hidden = true;
        }
        for (const el of pendingEls.values()) {
          const s = el.querySelector(".state");
          if (s && !el.classList.contains("failed")) s.textContent = state === "live" ? "Sending…" : "Waiting for connection…";
        }
      },
      joined() {
        status.dataset.url = room.url;
        if (firstJoin) {
          firstJoin = false;
          setTimeout(() => !signal.aborted && catchUp(), 1500);
          setTimeout(() => !signal.aborted && catchUp(), 5000);
        }
      },
      message(m) {
        const stick = nearBottom() || m.sender_id === me;
        for (const [k, t] of typers) if (t.member_id === m.sender_id) typers.delete(k);
        drawTyping();
        if (addMessage(m) && stick) toBottom();
      },
      ack(f) {
        const el = pendingEls.get(f.client_msg_id);
        if (!el) return;
        if (!byId.has(f.id)) {
          addMessage({
            id: f.id, sender_id: me, sender_name: rec.member.display_name, sender_guest: rec.guest, client_msg_id: f.client_msg_id,
            body: el.querySelector(".body").textContent, created_at: new Date().toISOString(),
            attachments: pendingFiles.get(f.client_msg_id),
          });
        }
        removePending(f.client_msg_id);
      },
      deleted(f) {
        markDeleted(f.message_id);
      },
      deleteFailed(messageId, text) {
        const el = byId.get(messageId);
        if (el) {
          el.classList.remove("deleting");
          const btn = el.querySelector(".msg-delete");
          if (btn) {
            btn.disabled = false;
            btn.textContent = "Delete";
          }
        }
        toast(text, "error");
      },
      sendFailed(cmid, text) {
        const el = pendingEls.get(cmid);
        if (!el) return;
        el.classList.add("failed");
        el.querySelector(".state").textContent = text;
        el.append(h("button", { type: "button", class: "btn-link", text: "Remove", on: { click: () => removePending(cmid) } }));
      },
      presence(clients) {
        online.clear();
        for (const c of clients) online.set(c.client_id, c);
        drawPeople();
      },
      presenceJoin(c) {
        online.set(c.client_id, c);
        drawPeople();
      },
      presenceLeave(c) {
        online.delete(c.client_id);
        typers.delete(c.client_id);
        drawPeople();
        drawTyping();
      },
      typing(c, ttl) {
        if (c.member_id === me) return;
        typers.set(c.client_id, { name: c.name, member_id: c.member_id, until: Date.now() + ttl });
        drawTyping();
      },
      gap() {
        catchUp();
      },
      fatal() {
        composer.classList.add("disabled");
      },
      removed(reason) {
        endRoom(reason);
      },
    },
  });

  function setRec(r) {
    rec = r;
    clearTimeout(renewTimer);
    if (signal.aborted) return;
    // Renew ahead of expiry so a reconnect always has a valid token at hand.
    renewTimer = setTimeout(async () => {
      try {
        const nr = await members.renew(gid);
        if (nr) setRec(nr);
      } catch (err) {
        if (err instanceof members.Ended) return endRoom(err.reason);
        // Offline: the next reconnect renews on demand.
        setRec(rec);
      }
    }, members.renewDelay(rec));
  }
  setRec(rec);

  // --- composer ---
  function submit() {
    composerAlert.set("");
    const body = input.value;
    if (!body.trim()) return;
    const size = new TextEncoder().encode(body).length;
    if (size > MAX_BODY_BYTES) {
      composerAlert.set(`The message is too long (${size} of ${MAX_BODY_BYTES} bytes). Shorten it or split it up.`);
      return;
    }
    input.value = "";
    const cmid = room.send(body);
    const el = messageEl({ client_msg_id: cmid, sender_id: me, sender_name: rec.member.display_name, sender_guest: rec.guest, body }, true);
    pendingEls.set(cmid, el);
    outbox.append(el);
    empty.hidden = true;
    toBottom();
  }
  // --- files: the attach button, paste and drag-and-drop ---
  // Each file is uploaded straight to the object store (with a progress bar), checked by
  // the gateway, then sent as a message of its own.
  async function sendFile(file) {
    const why = files.refusal(file, fileSettings);
    if (why) {
      toast(why, "error");
      return;
    }
    const up = files.uploadEl(file, rec.member.display_name);
    outbox.append(up.el);
    empty.hidden = true;
    toBottom();
    let ready;
    try {
      ready = await files.upload(gid, file, { call: memberCall, onProgress: up.set, signal });
    } catch (err) {
      if (signal.aborted) return;
      if (err instanceof members.Ended) return endRoom(err.reason);
      up.fail(errorText(err, { too_large: err.message, conflict: err.message }));
      up.el.append(h("button", { type: "button", class: "btn-link", text: "Remove", on: { click: () => { up.release(); up.el.remove(); } } }));
      return;
    }
    if (signal.aborted || over) return;
    up.release();
    const cmid = room.send("", undefined, [ready.ref]);
    const el = messageEl({ client_msg_id: cmid, sender_id: me, sender_name: rec.member.display_name, sender_guest: rec.guest, body: "",
      attachments: [ready.attachment] }, true);
    pendingEls.set(cmid, el);
    pendingFiles.set(cmid, [ready.attachment]);
    up.el.replaceWith(el);
  }
  function sendFiles(list) {
    for (const file of list) sendFile(file);
  }
  if (fileSettings) {
    attachBtn.addEventListener("click", () => fileInput.click());
    fileInput.addEventListener("change", () => {
      sendFiles([...fileInput.files]);
      fileInput.value = "";
    });
    input.addEventListener("paste", (e) => {
      const pasted = [...(e.clipboardData ? e.clipboardData.files : [])];
      if (!pasted.length) return;
      e.preventDefault();
      sendFiles(pasted);
    });
    const chat = main.querySelector(".chat");
    let depth = 0;
    chat.addEventListener("dragenter", (e) => {
      if (![...(e.dataTransfer ? e.dataTransfer.types : [])].includes("Files")) return;
      depth += 1;
      chat.classList.add("dropping");
    });
    chat.addEventListener("dragleave", () => {
      depth = Math.max(0, depth - 1);
      if (!depth) chat.classList.remove("dropping");
    });
    chat.addEventListener("dragover", (e) => {
      if ([...(e.dataTransfer ? e.dataTransfer.types : [])].includes("Files")) e.preventDefault();
    });
    chat.addEventListener("drop", (e) => {
      depth = 0;
      chat.classList.remove("dropping");
      const dropped = [...(e.dataTransfer ? e.dataTransfer.files : [])];
      if (!dropped.length) return;
      e.preventDefault();
      sendFiles(dropped);
    });
  }

  composer.addEventListener("submit", (e) => {
    e.preventDefault();
    submit();
    input.focus();
  });
  input.addEventListener("keydown", (e) => {
    if (e.key === "Enter" && !e.shiftKey && !e.isComposing) {
      e.preventDefault();
      submit();
    }
  });
  input.addEventListener("input", () => {
    if (input.value.trim()) room.typing();
  });

  signal.addEventListener("abort", () => {
    room.stop();
    clearTimeout(renewTimer);
    clearTimeout(typingTimer);
  });

  drawPeople();
  loadLatest()
    .catch(failure)
    .finally(() => {
      if (signal.aborted || over) return;
      room.start();
      if (hasMore && scroller.scrollHeight <= scroller.clientHeight) loadOlder();
    });
  input.focus();
}
