import { errorText } from "../api.js";
import { authed, restore } from "../auth.js";
import { alertBox, busy, field, formatTime, h, openDialog, toast, uid } from "../dom.js";
import { navigate } from "../router.js";

/** shareLink is the address people open to join a group. */
export function shareLink(groupId) {
  return `${location.origin}/chat/${encodeURIComponent(groupId)}`;
}

/** copyLink copies a group's share link; falls back to selecting it in input. */
export async function copyLink(groupId, input, button) {
  const link = shareLink(groupId);
  try {
    await navigator.clipboard.writeText(link);
    if (button) {
      const was = button.textContent;
      button.textContent = "Copied!";
      setTimeout(() => (button.textContent = was), 2000);
    }
    toast("Link copied. Send it with the passcode to whoever should join.");
  } catch {
    // No clipboard access (permission denied, or a plain-HTTP origin): let people copy it.
    if (input) {
      input.focus();
      input.select();
      toast("Press Ctrl+C (or ⌘C) to copy the selected link.");
    } else {
      toast(`Share this link: ${link}`);
    }
  }
}

// keepGuestsField is the "keep current guests" checkbox of a passcode change.
function keepGuestsField() {
  const id = uid("keep-members");
  const input = h("input", { type: "checkbox", id, name: "keep_members", "aria-describedby": id + "-hint" });
  const wrap = h("div", { class: "field check" },
    h("div", { class: "check-row" }, input, h("label", { for: id, text: "Keep current guests" })),
    h("small", { id: id + "-hint", class: "hint", text: "Off: everyone who joined without an account is removed and must join again with the new passcode. Members with accounts always stay." }));
  return { wrap, input };
}

/** dashboardView lists the signed-in account's groups and manages them. */
export async function dashboardView({ main, signal }) {
  document.title = "My groups · Quick Chat";
  const user = await restore();
  if (signal.aborted) return;
  if (!user) {
    navigate("/login?next=/dashboard", { replace: true });
    return;
  }
  const alert = alertBox();
  const list = h("ul", { class: "groups", "aria-label": "Your groups" });
  const newButton = h("button", { type: "button", class: "btn", text: "New group", on: { click: () => editDialog(null) } });
  main.className = "dashboard";
  main.append(
    h("div", { class: "page-head" }, h("h1", { text: "My groups" }), newButton),
    alert.el,
    list,
  );

  let groups = [];
  async function load() {
    try {
      const res = await authed("GET", "/api/chat-group");
      if (signal.aborted) return;
      groups = res.groups || [];
      alert.set("");
      draw();
    } catch (err) {
      if (signal.aborted) return;
      if (err.status === 401) {
        navigate("/login?next=/dashboard", { replace: true });
        return;
      }
      alert.set(errorText(err));
    }
  }

  function draw() {
    list.replaceChildren();
    if (!groups.length) {
      list.append(
        h("li", { class: "empty" },
          h("p", { text: "No groups yet. Create one, then share its link and passcode." })),
      );
      return;
    }
    for (const g of groups) list.append(card(g));
  }

  function card(g) {
    const linkInput = h("input", {
      type: "text", readonly: true, value: shareLink(g.id), id: `link-${g.id}`, class: "link-input",
      "aria-label": `Share link for ${g.title}`,
    });
    const copy = h("button", { type: "button", class: "btn btn-small", text: "Copy link", "data-action": "copy" });
    copy.addEventListener("click", () => copyLink(g.id, linkInput, copy));
    return h("li", { class: "card", dataset: { groupId: g.id } },
      h("div", { class: "card-head" },
        h("h2", {}, h("a", { href: `/chat/${encodeURIComponent(g.id)}`, "data-link": true, text: g.title })),
        h("small", { class: "muted", text: `Created ${formatTime(g.created_at)}` })),
      h("div", { class: "share" }, linkInput, copy),
      h("div", { class: "card-actions" },
        h("a", { class: "btn btn-small", href: `/chat/${encodeURIComponent(g.id)}`, "data-link": true, text: "Open chat" }),
        h("button", { type: "button", class: "btn btn-small btn-ghost", text: "Edit", "data-action": "edit", "aria-label": `Edit ${g.title}`, on: { click: () => editDialog(g) } }),
        h("button", { type: "button", class: "btn btn-small btn-danger", text: "Delete", "data-action": "delete", "aria-label": `Delete ${g.title}`, on: { click: () => deleteDialog(g) } })));
  }

  // editDialog creates (g null) or edits a group.
  function editDialog(g) {
    const creating = g === null;
    const alertIn = alertBox();
    const title = field("Title", { name: "title", required: true, maxlength: 100, value: creating ? "" : g.title, autocomplete: "off" });
    const passcode = field(
      creating ? "Passcode" : "New passcode",
      { name: "passcode", type: "password", autocomplete: "new-password", minlength: 8, maxlength: 128, required: creating },
      creating ? "8 to 128 characters, at least 5 different. People need it to join." : "Leave empty to keep the current passcode.",
    );
    // A new passcode removes the guests by default (they joined with the old one and
    // must join again); the owner may keep them instead.
    const keep = creating ? null : keepGuestsField();
    const cancel = h("button", { type: "button", class: "btn btn-ghost", text: "Cancel" });
    const save = h("button", { type: "submit", class: "btn", text: creating ? "Create group" : "Save" });
    const form = h("form", { class: "stack" },
      h("h2", { text: creating ? "New group" : `Edit “${g.title}”` }),
      alertIn.el, title.wrap, passcode.wrap, keep ? keep.wrap : null, h("div", { class: "dialog-actions" }, cancel, save));
    if (keep) {
      const sync = () => (keep.wrap.hidden = !passcode.input.value);
      passcode.input.addEventListener("input", sync);
      sync();
    }
    const dlg = openDialog(form, creating ? "New group" : "Edit group", signal);
    cancel.addEventListener("click", () => dlg.close());
    form.addEventListener("submit", async (e) => {
      e.preventDefault();
      alertIn.set("");
      const t = title.input.value.trim();
      const p = passcode.input.value;
      if (!t) return alertIn.set("Enter a title.");
      if (creating && p.length < 8) return alertIn.set("The passcode needs at least 8 characters.");
      if (!creating && p && p.length < 8) return alertIn.set("The passcode needs at least 8 characters.");
      const body = {};
      if (creating || t !== g.title) body.title = t;
      if (p) body.passcode = p;
      if (p && keep) body.keep_members = keep.input.checked;
      if (!creating && !Object.keys(body).length) return dlg.close();
      try {
        await busy(form, () =>
          creating ? authed("POST", "/api/chat-group", { body }) : authed("PUT", `/api/chat-group/${encodeURIComponent(g.id)}`, { body }),
        );
        dlg.close();
        toast(creating ? "Group created." : p && keep && !keep.input.checked ? "Group saved. Guests must join again with the new passcode." : "Group saved.");
        await load();
      } catch (err) {
        alertIn.set(errorText(err, { forbidden: "Only the owner can change this group.", not_found: "This group does not exist any more." }));
      }
    });
    title.input.focus();
  }

  function deleteDialog(g) {
    const alertIn = alertBox();
    const cancel = h("button", { type: "button", class: "btn btn-ghost", text: "Keep it" });
    const confirm = h("button", { type: "submit", class: "btn btn-danger", text: "Delete group" });
    const form = h("form", { class: "stack" },
      h("h2", { text: `Delete “${g.title}”?` }),
      h("p", { text: "The group, its members and all of its messages are deleted for everyone. This cannot be undone." }),
      alertIn.el, h("div", { class: "dialog-actions" }, cancel, confirm));
    const dlg = openDialog(form, "Delete group", signal);
    cancel.addEventListener("click", () => dlg.close());
    form.addEventListener("submit", async (e) => {
      e.preventDefault();
      try {
        await busy(form, () => authed("DELETE", `/api/chat-group/${encodeURIComponent(g.id)}`));
        dlg.close();
        toast("Group deleted.");
        await load();
      } catch (err) {
        alertIn.set(errorText(err, { forbidden: "Only the owner can delete this group." }));
      }
    });
    cancel.focus();
  }

  await load();
}
