// Files in a chat: uploads straight to the object store with a progress bar, previews of
// images, chips for other files, and a lightbox. The gateway signs every URL and checks
// every file (docs/api.md, "Attachments"); nothing here is trusted by the server.
import { ApiError } from "./api.js";
import { h, openDialog } from "./dom.js";

/** allowedFile says why file cannot be shared, or "" when it can. settings is the
 * attachments part of /config.json. */
export function refusal(file, settings) {
  if (!settings) return "Files cannot be shared on this server.";
  if (!settings.types.includes(file.type)) {
    return `“${file.name}” cannot be shared: only ${describeTypes(settings.types)} files can.`;
  }
  if (file.size === 0) return `“${file.name}” is empty.`;
  if (file.size > settings.max_bytes) {
    return `“${file.name}” is ${humanSize(file.size)}; files may be at most ${humanSize(settings.max_bytes)}.`;
  }
  return "";
}

function describeTypes(types) {
  const names = { "image/png": "PNG", "image/jpeg": "JPEG", "image/gif": "GIF", "image/webp": "WebP", "application/pdf": "PDF", "text/plain": "text", "application/zip": "ZIP" };
  return [...new Set(types.map((t) => names[t] || t))].join(", ");
}

/** humanSize renders a byte count for people: 512 bytes, 12 KB, 3.4 MB. */
export function humanSize(n) {
  if (n < 1024) return `${n} byte${n === 1 ? "" : "s"}`;
  if (n < 1024 * 1024) return `${Math.round(n / 1024)} KB`;
  return `${(n / (1024 * 1024)).toFixed(1).replace(/\.0$/, "")} MB`;
}

/**
 * upload sends file to the object store and has the gateway check it; resolves to
 * {attachment, ref}. call(method, path, body) calls the API as the member; onProgress
 * gets the fraction sent (0..1).
 */
export async function upload(gid, file, { call, onProgress, signal }) {
  const base = `/api/chat-group/${encodeURIComponent(gid)}/attachments`;
  const up = await call("POST", base, { name: file.name, size: file.size, content_type: file.type });
  await postForm(up, file, onProgress, signal);
  onProgress(1);
  return call("POST", `${base}/${encodeURIComponent(up.attachment_id)}/complete`);
}

// postForm sends the file with the signed fields, the file last, as the policy says.
function postForm(up, file, onProgress, signal) {
  return new Promise((resolve, reject) => {
    const form = new FormData();
    for (const [k, v] of Object.entries(up.fields)) form.append(k, v);
    form.append("file", file, file.name);
    const xhr = new XMLHttpRequest();
    xhr.open(up.method || "POST", up.url);
    xhr.upload.addEventListener("progress", (e) => {
      if (e.lengthComputable && e.total > 0) onProgress(Math.min(0.99, e.loaded / e.total));
    });
    xhr.addEventListener("load", () => {
      if (xhr.status >= 200 && xhr.status < 300) resolve();
      else reject(new ApiError(xhr.status, "store", storeRefusal(xhr.responseText)));
    });
    xhr.addEventListener("error", () => reject(new ApiError(0, "network", "The upload could not reach the file store. Try again.")));
    xhr.addEventListener("abort", () => reject(new DOMException("upload cancelled", "AbortError")));
    if (signal) signal.addEventListener("abort", () => xhr.abort());
    xhr.send(form);
  });
}

// storeRefusal explains the object store's XML error without parsing it as markup.
function storeRefusal(xml) {
  const code = (/<Code>([^<]{1,64})<\/Code>/.exec(xml || "") || [])[1] || "";
  switch (code) {
    case "EntityTooLarge":
    case "EntityTooSmall":
      return "The file store refused the file: its size changed since the upload began.";
    case "AccessDenied":
      return "The file store refused the upload: it took too long or the file changed. Try again.";
    default:
      return "The file store refused the upload. Try again.";
  }
}

/**
 * Links fetches and caches the short-lived URLs of attachments: {url, thumbnail_url,
 * expires}. A refusal (a deleted message's file) is cached too, as null.
 */
export class Links {
  constructor(gid, call) {
    this.gid = gid;
    this.call = call;
    this.cache = new Map(); // attachment id → Promise of links or null
  }

  get(id) {
    const hit = this.cache.get(id);
    if (hit) return hit;
    const p = this.call("GET", `/api/chat-group/${encodeURIComponent(this.gid)}/attachments/${encodeURIComponent(id)}`)
      .then((l) => {
        // Ask again shortly before the URLs expire.
        const ttl = new Date(l.expires_at).getTime() - Date.now() - 30_000;
        setTimeout(() => this.cache.delete(id), Math.max(5_000, ttl));
        return l;
      })
      .catch((err) => {
        setTimeout(() => this.cache.delete(id), 10_000);
        if (err instanceof ApiError && err.status === 404) return null;
        throw err;
      });
    this.cache.set(id, p);
    return p;
  }
}

const isImage = (a) => !!a.thumbnail;

/** attachmentsEl renders a message's files: image previews and file chips. */
export function attachmentsEl(list, { links, signal }) {
  return h("div", { class: "attachments" }, list.map((a) => (isImage(a) ? imageEl(a, links, signal) : chipEl(a, links))));
}

function imageEl(a, links, signal) {
  const img = h("img", { alt: a.name, width: a.thumbnail.width, height: a.thumbnail.height, decoding: "async" });
  const btn = h("button", { type: "button", class: "att-image", "aria-label": `Open image ${a.name}`, title: a.name }, img);
  links.get(a.id).then((l) => {
    if (!l || !l.thumbnail_url) return unavailable(btn, a);
    img.src = l.thumbnail_url;
  }).catch(() => unavailable(btn, a));
  btn.addEventListener("click", () => lightbox(a, links, signal));
  return btn;
}

function unavailable(el, a) {
  el.replaceWith(h("span", { class: "att-file att-gone", text: `${a.name} (no longer available)` }));
}

function chipEl(a, links) {
  const chip = h("button", { type: "button", class: "att-file", title: `Download ${a.name}` },
    h("img", { class: "att-icon", src: "/assets/file.svg", alt: "", width: "18", height: "18" }),
    h("span", { class: "att-name", text: a.name }),
    h("span", { class: "att-size", text: humanSize(a.size) }));
  chip.addEventListener("click", async () => {
    chip.disabled = true;
    try {
      const l = await links.get(a.id);
      if (!l) return unavailable(chip, a);
      // The store answers with Content-Disposition: attachment, so this downloads.
      const link = h("a", { href: l.url, rel: "noopener" });
      document.body.append(link);
      link.click();
      link.remove();
    } finally {
      chip.disabled = false;
    }
  });
  return chip;
}

/** lightbox shows an image attachment at full size in a modal dialog. */
export async function lightbox(a, links, signal) {
  const img = h("img", { alt: a.name, class: "lightbox-img" });
  const close = h("button", { type: "button", class: "btn btn-small btn-ghost", text: "Close" });
  const open = h("a", { class: "btn btn-small btn-ghost", target: "_blank", rel: "noopener", text: "Open original" });
  const dlg = openDialog(h("figure", { class: "lightbox" }, img,
    h("figcaption", {},
      h("span", { class: "att-name", text: a.name }),
      h("span", { class: "att-size muted", text: `${a.width}×${a.height} · ${humanSize(a.size)}` }),
      h("span", { class: "dialog-actions" }, open, close))), `Image ${a.name}`, signal);
  dlg.classList.add("lightbox-dialog");
  close.addEventListener("click", () => dlg.close());
  close.focus();
  try {
    const l = await links.get(a.id);
    if (!l) {
      img.replaceWith(h("p", { class: "muted", text: "This image is no longer available." }));
      return;
    }
    img.src = l.url;
    open.setAttribute("href", l.url);
  } catch {
    img.replaceWith(h("p", { class: "alert", text: "The image could not be loaded. Try again." }));
  }
}

/**
 * uploadEl is the outbox entry of a file being uploaded: a preview (images), the name and
 * size, and a progress bar. set(fraction) moves the bar; fail(text) shows a refusal.
 */
export function uploadEl(file, sender) {
  const preview = file.type.startsWith("image/") ? h("img", { class: "upload-preview", alt: "", src: URL.createObjectURL(file) }) : null;
  const bar = h("progress", { max: "100", value: "0", "aria-label": `Uploading ${file.name}` });
  const state = h("span", { class: "state", text: "Uploading… 0%" });
  const el = h("li", { class: "msg mine pending upload" },
    h("div", { class: "meta" }, h("span", { class: "sender", text: `${sender} (you)` }), state),
    h("div", { class: "upload-body" }, preview,
      h("div", { class: "upload-info" },
        h("span", { class: "att-name", text: file.name }),
        h("span", { class: "att-size", text: humanSize(file.size) }),
        bar)));
  return {
    el,
    set(fraction) {
      const pct = Math.round(fraction * 100);
      bar.value = pct;
      state.textContent = pct >= 100 ? "Checking…" : `Uploading… ${pct}%`;
    },
    fail(text) {
      el.classList.add("failed");
      state.textContent = text;
      bar.remove();
    },
    release() {
      if (preview) URL.revokeObjectURL(preview.src);
    },
  };
}
