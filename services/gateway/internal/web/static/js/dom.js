// Tiny DOM helpers. Every piece of text goes in through text nodes, never through HTML
// parsing, so message bodies and names can never become markup.

/**
 * h creates an element. attrs: "class", "text", "on" ({event: handler}), "dataset",
 * booleans (set when true), anything else via setAttribute. Children are nodes or strings
 * (strings become text nodes); null, undefined and false are skipped.
 */
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value === undefined || value === null || value === false) continue;
    if (key === "class") el.className = value;
    else if (key === "text") el.textContent = value;
    else if (key === "on") for (const [ev, fn] of Object.entries(value)) el.addEventListener(ev, fn);
    else if (key === "dataset") Object.assign(el.dataset, value);
    else if (key === "value") el.value = value;
    else if (value === true) el.setAttribute(key, "");
    else el.setAttribute(key, String(value));
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const c of children) {
    if (c === null || c === undefined || c === false) continue;
    if (Array.isArray(c)) append(el, c);
    else el.append(typeof c === "string" ? document.createTextNode(c) : c);
  }
}

/** clear removes every child of el. */
export function clear(el) {
  el.replaceChildren();
  return el;
}

/** field builds a labelled input; returns {wrap, input}. */
export function field(label, attrs = {}, hint = "") {
  const id = attrs.id || uid(attrs.name || "f");
  const input = h(attrs.multiline ? "textarea" : "input", { ...attrs, multiline: undefined, id });
  const hintEl = hint ? h("small", { id: id + "-hint", class: "hint", text: hint }) : null;
  if (hintEl) input.setAttribute("aria-describedby", hintEl.id);
  const wrap = h("div", { class: "field" }, h("label", { for: id, text: label }), input, hintEl);
  return { wrap, input };
}

let counter = 0;
/** uid returns a document-unique id with the given prefix. */
export function uid(prefix) {
  counter += 1;
  return `${prefix}-${counter}`;
}

/** alertBox is an element that announces errors; set(text) shows one, set("") hides it. */
export function alertBox() {
  const el = h("p", { class: "alert", role: "alert", hidden: true });
  return {
    el,
    set(text) {
      el.textContent = text || "";
      el.hidden = !text;
    },
  };
}

/** toast shows a short status message at the bottom of the screen. */
export function toast(text, kind = "info") {
  const box = document.getElementById("toasts");
  if (!box) return;
  const t = h("div", { class: `toast toast-${kind}`, text });
  box.append(t);
  setTimeout(() => t.remove(), 4000);
}

/** formatTime renders a timestamp (ms or ISO string) as a short local time. */
export function formatTime(at) {
  const d = new Date(at);
  if (Number.isNaN(d.getTime())) return "";
  const now = new Date();
  const sameDay = d.toDateString() === now.toDateString();
  return sameDay
    ? d.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" })
    : d.toLocaleString([], { month: "short", day: "numeric", hour: "2-digit", minute: "2-digit" });
}

/** busy disables a form's controls while fn runs. */
export async function busy(form, fn) {
  const controls = [...form.querySelectorAll("button, input, textarea")];
  const was = controls.map((c) => c.disabled);
  controls.forEach((c) => (c.disabled = true));
  form.setAttribute("aria-busy", "true");
  try {
    return await fn();
  } finally {
    controls.forEach((c, i) => (c.disabled = was[i]));
    form.removeAttribute("aria-busy");
  }
}

/**
 * openDialog shows content in a modal <dialog> labelled label; it is removed when closed,
 * and closed when signal (the view's) aborts. Focus returns to what had it before.
 */
export function openDialog(content, label, signal) {
  const before = document.activeElement;
  const dlg = h("dialog", { "aria-label": label }, content);
  document.body.append(dlg);
  dlg.addEventListener("close", () => {
    dlg.remove();
    if (before && before.isConnected && typeof before.focus === "function") before.focus();
  });
  if (signal) signal.addEventListener("abort", () => dlg.open && dlg.close());
  dlg.showModal();
  return dlg;
}

/**
 * confirmAction asks before something that cannot be taken back. action runs when the
 * person confirms; while it runs the buttons are disabled, and an error it throws is
 * shown in the dialog (through errorText) instead of closing it. Resolves to true when
 * the action ran, false when the person cancelled.
 */
export function confirmAction({ title, text, confirm, cancel = "Cancel", danger = true, action, errorText, signal }) {
  return new Promise((resolve) => {
    const alertIn = alertBox();
    const no = h("button", { type: "button", class: "btn btn-ghost", text: cancel });
    const yes = h("button", { type: "submit", class: danger ? "btn btn-danger" : "btn", text: confirm });
    const form = h("form", { class: "stack" },
      h("h2", { text: title }),
      text ? h("p", { text }) : null,
      alertIn.el,
      h("div", { class: "dialog-actions" }, no, yes));
    let done = false;
    const dlg = openDialog(form, title, signal);
    dlg.addEventListener("close", () => resolve(done));
    no.addEventListener("click", () => dlg.close());
    form.addEventListener("submit", async (e) => {
      e.preventDefault();
      alertIn.set("");
      try {
        await busy(form, action);
        done = true;
        dlg.close();
      } catch (err) {
        alertIn.set(errorText ? errorText(err) : "Something went wrong. Try again.");
      }
    });
    no.focus();
  });
}
