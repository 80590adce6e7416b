import { OIDC_PENDING, restore } from "../auth.js";
import { h } from "../dom.js";
import { navigate } from "../router.js";

/** landingView is the start page. After an OIDC sign-in the gateway sends the browser
 * here with a refresh cookie; we then continue to the dashboard. */
export async function landingView({ main, signal }) {
  document.title = "Quick Chat — group chat in seconds";
  const oidcReturn = sessionStorage.getItem(OIDC_PENDING) === "1";
  const user = await restore();
  if (signal.aborted) return;
  if (user && oidcReturn) {
    navigate("/dashboard", { replace: true });
    return;
  }
  const actions = user
    ? [h("a", { class: "btn", href: "/dashboard", "data-link": true, text: "Go to my groups" })]
    : [
        h("a", { class: "btn", href: "/register", "data-link": true, text: "Create a group" }),
        h("a", { class: "btn btn-ghost", href: "/login", "data-link": true, text: "Sign in" }),
      ];
  main.className = "landing";
  main.append(
    h("section", { class: "hero" },
      h("h1", { text: "Group chat in seconds." }),
      h("p", { class: "lead", text: "Create a passcode-protected room, share the link, and talk live. People join with a name and the passcode — no account needed." }),
      h("div", { class: "actions" }, ...actions)),
    h("section", { class: "features", "aria-label": "Features" },
      feature("Live", "Messages arrive instantly and survive reconnects: nothing you were sent is lost."),
      feature("Private", "Rooms are protected by a passcode that only the server checks."),
      feature("Anywhere", "Works on phones and desktops, with the keyboard, in any modern browser.")),
  );
}

function feature(title, text) {
  return h("article", { class: "feature" }, h("h2", { text: title }), h("p", { text }));
}
