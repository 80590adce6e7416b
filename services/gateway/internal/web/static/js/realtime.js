// One chat room over the realtime service's WebSocket protocol (docs/protocol.md), with
// what a reliable client needs: rejoin with `since` after any disconnect, rotation over
// the known realtime URLs, pending sends resent with their original client_msg_id, token
// renewal before rejoining, application pings to notice a dead server, and a signal to
// reload history when the server cannot tell what was missed. The room's owner may delete
// messages: deletions are resent like sends until acknowledged, and every member hears of
// them as message_deleted events in the room's order. When the member is removed
// from the room (a removed frame, close code 4003, or a join or send refused as revoked)
// the room stops for good: reconnecting could only be refused again.

const BACKOFF_MIN_MS = 500;
const BACKOFF_MAX_MS = 30_000;
const PING_EVERY_MS = 20_000;
const PONG_WAIT_MS = 10_000;
const TYPING_EVERY_MS = 2_500;
const RETRY_SEND_MS = 1_500;
/** CLOSE_REMOVED is the close code of a socket whose member was removed from its last room. */
export const CLOSE_REMOVED = 4003;

/** newClientMsgId returns a random UUID (also on plain-HTTP origins without randomUUID). */
export function newClientMsgId() {
  if (crypto.randomUUID) return crypto.randomUUID();
  const b = crypto.getRandomValues(new Uint8Array(16));
  b[6] = (b[6] & 0x0f) | 0x40;
  b[8] = (b[8] & 0x3f) | 0x80;
  const hex = [...b].map((x) => x.toString(16).padStart(2, "0")).join("");
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/**
 * Room keeps one room joined. Options:
 *   groupId, memberId, urls (WebSocket URLs, tried in turn),
 *   getToken(force) → Promise<string|null> (a member token valid long enough; null when
 *     membership cannot be proven any more; rejects with an error whose `reason` is set
 *     when the membership was revoked),
 *   on: {state(state, detail), joined(frame), message(msg, frame), ack(frame),
 *        sendFailed(cmid, text), deleted(frame), deleteFailed(messageId, text),
 *        presence(clients), presenceJoin(client),
 *        presenceLeave(client), typing(client, ttlMs), gap(), fatal(text),
 *        removed(reason)}
 * States: "connecting", "live", "reconnecting", "failed", "closed", "removed".
 * Removal reasons: "removed", "banned", "passcode_changed", "left", or "revoked" when the
 * server did not say.
 */
export class Room {
  constructor(opts) {
    this.groupId = opts.groupId;
    this.memberId = opts.memberId;
    this.urls = opts.urls.length ? opts.urls : [];
    this.getToken = opts.getToken;
    this.on = opts.on || {};
    this.urlIndex = Math.floor(Math.random() * Math.max(1, this.urls.length));
    this.ws = null;
    this.url = "";
    this.state = "connecting";
    this.live = false;
    this.everLive = false;
    this.pos = null; // {epoch, offset} of the last message received
    this.pending = new Map(); // client_msg_id → {body, attachments}
    this.deletes = new Map(); // client_msg_id → {messageId}, deletions not yet acknowledged
    this.failures = 0;
    this.authRetried = false;
    this.stopped = false;
    this.timers = new Set();
    this.pingTimer = null;
    this.pongTimer = null;
    this.lastTyping = 0;
    this.onOnline = () => {
      if (!this.live && !this.stopped) this.reconnectNow();
    };
    window.addEventListener("online", this.onOnline);
  }

  /** start opens the first connection. */
  start() {
    if (!this.urls.length) {
      this.fail("No realtime server is configured for this site.");
      return;
    }
    this.connect();
  }

  /** stop closes the connection for good (leaving the page). */
  stop() {
    this.stopped = true;
    window.removeEventListener("online", this.onOnline);
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    this.stopPing();
    if (this.ws) {
      const ws = this.ws;
      this.ws = null;
      ws.close(1000, "leaving");
    }
    this.setState("closed");
  }

  /** send queues a message and returns its client_msg_id; it is resent until acked.
   * attachments are the references of files the gateway checked. */
  send(body, cmid = newClientMsgId(), attachments = []) {
    this.pending.set(cmid, { body, attachments });
    if (this.live) this.writeSend(cmid);
    return cmid;
  }

  /**
   * deleteMessage asks to delete a message of the room (only the owner may) and returns
   * its client_msg_id; it is resent until acknowledged. on.deleted hears of the deletion,
   * on.deleteFailed of a refusal.
   */
  deleteMessage(messageId, cmid = newClientMsgId()) {
    this.deletes.set(cmid, { messageId });
    if (this.live) this.writeDelete(cmid);
    return cmid;
  }

  /** discard forgets a pending message (the user gave up on it). */
  discard(cmid) {
    this.pending.delete(cmid);
  }

  /** typing tells the room the user is typing, at most every 2.5 s. */
  typing() {
    const now = Date.now();
    if (!this.live || now - this.lastTyping < TYPING_EVERY_MS) return;
    this.lastTyping = now;
    this.write({ type: "typing", group_id: this.groupId });
  }

  /** reconnectNow drops the current connection (if any) and connects again at once. */
  reconnectNow() {
    if (this.stopped) return;
    if (this.ws) this.dropSocket(this.ws, 4000, false);
    else {
      for (const t of this.timers) clearTimeout(t);
      this.timers.clear();
      this.connect();
    }
  }

  // --- connection lifecycle -------------------------------------------------------------

  setState(state, detail = "") {
    this.state = state;
    if (this.on.state) this.on.state(state, detail);
  }

  // end stops the room because the member is no longer in it; nothing reconnects.
  end(reason) {
    if (this.state === "removed") return;
    this.stopped = true;
    this.live = false;
    this.stopPing();
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    window.removeEventListener("online", this.onOnline);
    if (this.ws) {
      const ws = this.ws;
      this.ws = null;
      ws.close(1000, "removed");
    }
    this.pending.clear();
    this.deletes.clear();
    this.setState("removed", reason);
    if (this.on.removed) this.on.removed(reason);
  }

  fail(text) {
    this.stopped = true;
    this.live = false;
    this.stopPing();
    if (this.ws) {
      const ws = this.ws;
      this.ws = null;
      ws.close(1000, "giving up");
    }
    this.setState("failed", text);
    if (this.on.fatal) this.on.fatal(text);
  }

  later(fn, ms) {
    const t = setTimeout(() => {
      this.timers.delete(t);
      fn();
    }, ms);
    this.timers.add(t);
  }

  connect() {
    if (this.stopped) return;
    const url = this.urls[this.urlIndex % this.urls.length];
    this.url = url;
    this.setState(this.everLive ? "reconnecting" : "connecting");
    let ws;
    try {
      ws = new WebSocket(url);
    } catch {
      this.scheduleReconnect(1006);
      return;
    }
    this.ws = ws;
    ws.onopen = () => this.sendJoin(ws, false);
    ws.onmessage = (ev) => this.onFrame(ws, ev.data);
    ws.onclose = (ev) => this.dropSocket(ws, ev.code, true);
    ws.onerror = () => {}; // a close event always follows
  }

  // dropSocket handles the end of a connection, whether the browser noticed it (a close
  // event) or we decided it is dead (no pong).
  dropSocket(ws, code, fromEvent) {
    if (ws !== this.ws) return;
    this.ws = null;
    this.live = false;
    this.stopPing();
    if (!fromEvent) {
      ws.onclose = null;
      try {
        ws.close(4000, "reconnecting");
      } catch {
        // already closed
      }
    }
    if (this.stopped) return;
    // A removed frame normally comes first and has already ended the room; a bare 4003
    // means the same without the reason.
    if (code === CLOSE_REMOVED) {
      this.end("revoked");
      return;
    }
    this.scheduleReconnect(code);
  }

  scheduleReconnect(code) {
    // The next attempt goes to the next known URL: the instance we were on may be gone.
    this.urlIndex = (this.urlIndex + 1) % Math.max(1, this.urls.length);
    this.setState(this.everLive ? "reconnecting" : "connecting");
    let delay;
    if (code === 4012 || code === 4000) {
      delay = this.failures === 0 ? 0 : BACKOFF_MIN_MS;
    } else {
      const base = Math.min(BACKOFF_MAX_MS, BACKOFF_MIN_MS * 2 ** Math.min(this.failures, 10));
      delay = base / 2 + Math.random() * (base / 2);
    }
    this.failures += 1;
    this.later(() => this.connect(), delay);
  }

  async sendJoin(ws, forceToken) {
    let token;
    try {
      token = await this.getToken(forceToken);
    } catch (err) {
      if (err && err.reason) {
        this.end(err.reason);
        return;
      }
      // The gateway is unreachable; try the whole thing again later.
      if (ws === this.ws) this.dropSocket(ws, 1006, false);
      return;
    }
    if (ws !== this.ws) return;
    if (!token) {
      this.fail("Your membership of this group could not be renewed. Join again with the passcode.");
      return;
    }
    const frame = { type: "join", ref: "join", group_id: this.groupId, token };
    if (this.pos) frame.since = { epoch: this.pos.epoch, offset: this.pos.offset };
    this.write(frame);
  }

  write(frame) {
    if (!this.ws || this.ws.readyState !== WebSocket.OPEN) return false;
    this.ws.send(JSON.stringify(frame));
    return true;
  }

  writeSend(cmid) {
    const p = this.pending.get(cmid);
    if (!p) return;
    const frame = { type: "send", ref: `s:${cmid}`, group_id: this.groupId, client_msg_id: cmid, body: p.body };
    if (p.attachments && p.attachments.length) frame.attachments = p.attachments;
    this.write(frame);
  }

  writeDelete(cmid) {
    const d = this.deletes.get(cmid);
    if (!d) return;
    this.write({ type: "delete", ref: `d:${cmid}`, group_id: this.groupId, client_msg_id: cmid, message_id: d.messageId });
  }

  startPing(ws) {
    this.stopPing();
    this.pingTimer = setInterval(() => {
      if (ws !== this.ws) return;
      this.write({ type: "ping", ref: "ping" });
      clearTimeout(this.pongTimer);
      this.pongTimer = setTimeout(() => this.dropSocket(ws, 4013, false), PONG_WAIT_MS);
    }, PING_EVERY_MS);
  }

  stopPing() {
    clearInterval(this.pingTimer);
    clearTimeout(this.pongTimer);
    this.pingTimer = null;
    this.pongTimer = null;
  }

  // --- frames ---------------------------------------------------------------------------

  onFrame(ws, data) {
    if (ws !== this.ws) return;
    let f;
    try {
      f = JSON.parse(data);
    } catch {
      return;
    }
    if (!f || typeof f !== "object") return;
    if (f.group_id && f.group_id !== this.groupId) return;
    switch (f.type) {
      case "joined":
        return this.onJoined(ws, f);
      case "message":
        return this.onMessage(f);
      case "message_deleted":
        if (!f.message_id) return;
        this.pos = { epoch: f.epoch, offset: f.offset };
        if (this.on.deleted) this.on.deleted(f);
        return;
      case "ack":
        if (this.deletes.delete(f.client_msg_id)) return; // its message_deleted says the rest
        if (this.pending.delete(f.client_msg_id) && this.on.ack) this.on.ack(f);
        return;
      case "reset":
        this.pos = { epoch: f.epoch, offset: f.offset };
        if (this.on.gap) this.on.gap();
        return;
      case "presence":
        if (this.on.presence) this.on.presence(f.clients || []);
        return;
      case "presence_join":
        if (this.on.presenceJoin && f.client) this.on.presenceJoin(f.client);
        return;
      case "presence_leave":
        if (this.on.presenceLeave && f.client) this.on.presenceLeave(f.client);
        return;
      case "typing":
        if (this.on.typing && f.client) this.on.typing(f.client, f.ttl_ms || 5000);
        return;
      case "pong":
        clearTimeout(this.pongTimer);
        return;
      case "error":
        return this.onError(ws, f);
      case "removed":
        return this.end(f.reason || "revoked");
      default:
        return; // unknown frame types are ignored, as the protocol asks
    }
  }

  onJoined(ws, f) {
    const hadSince = this.pos !== null;
    this.pos = { epoch: f.epoch, offset: f.offset };
    this.live = true;
    this.everLive = true;
    this.failures = 0;
    this.authRetried = false;
    this.startPing(ws);
    this.setState("live");
    if (this.on.joined) this.on.joined(f);
    this.write({ type: "presence", ref: "presence", group_id: this.groupId });
    if (hadSince && f.recovered === false && this.on.gap) this.on.gap();
    // Anything not acknowledged may or may not have been accepted: resending with the
    // same client_msg_id is safe either way.
    for (const cmid of this.pending.keys()) this.writeSend(cmid);
    for (const cmid of this.deletes.keys()) this.writeDelete(cmid);
  }

  onMessage(f) {
    if (!f.message) return;
    this.pos = { epoch: f.epoch, offset: f.offset };
    const m = f.message;
    if (m.sender_id === this.memberId && this.pending.delete(m.client_msg_id) && this.on.ack) {
      this.on.ack({ id: m.id, client_msg_id: m.client_msg_id, epoch: f.epoch, offset: f.offset });
    }
    if (this.on.message) this.on.message(m, f);
  }

  onError(ws, f) {
    const ref = f.ref || "";
    if (ref === "join") {
      switch (f.code) {
        case "unauthorized":
          if (!this.authRetried) {
            this.authRetried = true;
            this.sendJoin(ws, true);
          } else {
            this.fail("Your membership of this group has expired. Join again with the passcode.");
          }
          return;
        case "forbidden":
          return this.fail("You are not a member of this group any more.");
        case "revoked":
        case "banned":
          return this.end(f.code);
        case "already_joined":
          return;
        case "too_many_rooms":
          return this.fail("Too many rooms are open in this browser. Close some chats and reload.");
        default:
          // unavailable and anything unexpected: start over on another connection.
          return this.dropSocket(ws, 1011, false);
      }
    }
    if (ref.startsWith("d:")) {
      const cmid = ref.slice(2);
      const d = this.deletes.get(cmid);
      if (!d) return;
      switch (f.code) {
        case "unavailable":
        case "rate_limited":
          this.later(() => {
            if (this.live) this.writeDelete(cmid);
          }, RETRY_SEND_MS);
          return;
        case "not_joined":
          return; // resent after the rejoin
        case "revoked":
          return this.end("revoked");
        default:
          this.deletes.delete(cmid);
          if (this.on.deleteFailed) this.on.deleteFailed(d.messageId, deleteErrorText(f));
          return;
      }
    }
    if (ref.startsWith("s:")) {
      const cmid = ref.slice(2);
      if (!this.pending.has(cmid)) return;
      switch (f.code) {
        case "unavailable":
        case "rate_limited":
          this.later(() => {
            if (this.live) this.writeSend(cmid);
          }, RETRY_SEND_MS);
          return;
        case "not_joined":
          return; // resent after the rejoin
        case "revoked":
          return this.end("revoked");
        default:
          this.pending.delete(cmid);
          if (this.on.sendFailed) this.on.sendFailed(cmid, sendErrorText(f));
          return;
      }
    }
  }
}

function deleteErrorText(f) {
  switch (f.code) {
    case "forbidden":
      return "Not deleted: only the owner of the group can delete messages.";
    case "internal":
      return "Not deleted: the server had a problem.";
    default:
      return `Not deleted: ${f.detail || f.code}.`;
  }
}

function sendErrorText(f) {
  switch (f.code) {
    case "too_large":
      return "Not sent: the message is too long.";
    case "bad_frame":
      return `Not sent: ${f.detail || "the message was refused"}.`;
    case "internal":
      return "Not sent: the server had a problem.";
    default:
      return `Not sent: ${f.detail || f.code}.`;
  }
}
