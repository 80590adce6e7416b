// The screen for someone whose membership of a group ended: removed or banned by the
// owner, dropped when the passcode changed, or gone because they left. It replaces the
// room, says what happened in plain words and offers a way back; nothing reconnects.

import { currentUser } from "../auth.js";
import { h } from "../dom.js";
import * as members from "../members.js";
import { navigate } from "../router.js";

// texts says, per reason: the heading, what happened (given the group's name), and
// whether joining again with the passcode can work.
const texts = {
  removed: {
    title: "You were removed from this group",
    text: (g) => `The owner removed you from ${g}. You can join again if they give you the passcode.`,
    rejoin: true,
  },
  banned: {
    title: "You were banned from this group",
    text: (g) => `The owner banned you from ${g}. You cannot join it again unless they lift the ban.`,
    rejoin: false,
  },
  passcode_changed: {
    title: "The passcode changed — join again",
    text: (g) => `The owner set a new passcode for ${g}, which ends the memberships of guests. Ask for the new passcode and join again.`,
    rejoin: true,
  },
  left: {
    title: "You left",
    text: (g) => `You left ${g}. Your messages stay in the chat. You can join again with the passcode.`,
    rejoin: true,
  },
  revoked: {
    title: "Your membership of this group ended",
    text: (g) => `The owner of ${g} removed you or changed the passcode. You can join again if you have the passcode.`,
    rejoin: true,
  },
};

/**
 * endedScreen replaces main's content with the screen for reason ("removed", "banned",
 * "passcode_changed", "left" or "revoked") and moves focus to its heading, so screen
 * readers announce what happened.
 */
export function endedScreen(main, groupId, reason, groupTitle = "") {
  const t = texts[reason] || texts.revoked;
  const name = groupTitle ? `“${groupTitle}”` : "this group";
  document.title = `${t.title} · Quick Chat`;
  for (const d of document.querySelectorAll("dialog[open]")) d.close();
  main.className = "";
  const heading = h("h1", { tabindex: "-1", text: t.title });
  const joinAgain = () => {
    members.forgetEnded(groupId);
    navigate(location.pathname, { replace: true });
  };
  const home = currentUser()
    ? h("a", { class: t.rejoin ? "btn btn-ghost" : "btn", href: "/dashboard", "data-link": true, text: "Go to my groups" })
    : h("a", { class: t.rejoin ? "btn btn-ghost" : "btn", href: "/", "data-link": true, text: "Go to the start page" });
  main.replaceChildren(
    h("section", { class: "panel narrow ended", dataset: { reason: texts[reason] ? reason : "revoked" }, "aria-labelledby": "ended-title" },
      Object.assign(heading, { id: "ended-title" }),
      h("p", { text: t.text(name) }),
      h("div", { class: "actions" },
        t.rejoin ? h("button", { type: "button", class: "btn", text: "Join again", on: { click: joinAgain } }) : null,
        home,
        // A ban can be lifted; checking again leads to the join form, which says so if not.
        t.rejoin ? null : h("button", { type: "button", class: "btn btn-ghost", text: "Try to join again", on: { click: joinAgain } }))),
  );
  heading.focus();
}
