// Entry point: routes, the navigation bar, and the first render.

import { currentUser, logout, onChange, restore } from "./auth.js";
import { h } from "./dom.js";
import { navigate, notFound, route, start } from "./router.js";
import { landingView } from "./views/landing.js";
import { loginView, registerView } from "./views/auth.js";
import { dashboardView } from "./views/dashboard.js";
import { chatView } from "./views/chat.js";

route("/", landingView);
route("/login", loginView);
route("/register", registerView);
route("/dashboard", dashboardView);
route("/chat/:id", chatView);
notFound(async ({ main }) => {
  document.title = "Not found · Quick Chat";
  main.append(
    h("section", { class: "panel narrow" },
      h("h1", { text: "Page not found" }),
      h("p", { text: "There is nothing at this address." }),
      h("a", { class: "btn", href: "/", "data-link": true, text: "Go to the start page" })),
  );
});

function renderNav(user) {
  const nav = document.getElementById("nav");
  if (!nav) return;
  if (user) {
    nav.replaceChildren(
      h("span", { class: "whoami", text: user.name }),
      h("a", { href: "/dashboard", "data-link": true, text: "My groups" }),
      h("button", {
        type: "button",
        class: "btn-link",
        text: "Sign out",
        on: {
          click: async () => {
            await logout();
            navigate("/");
          },
        },
      }),
    );
  } else {
    nav.replaceChildren(
      h("a", { href: "/login", "data-link": true, text: "Sign in" }),
      h("a", { href: "/register", "data-link": true, class: "btn btn-small", text: "Create account" }),
    );
  }
}

onChange(renderNav);
renderNav(null);
restore().then(() => renderNav(currentUser()));
start();
