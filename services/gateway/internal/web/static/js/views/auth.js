import { errorText, config } from "../api.js";
import { OIDC_PENDING, login, register, restore } from "../auth.js";
import { alertBox, busy, field, h } from "../dom.js";
import { navigate, safeNext } from "../router.js";

/** loginView is the sign-in page. */
export async function loginView(ctx) {
  return authPage(ctx, "login");
}

/** registerView is the create-account page. */
export async function registerView(ctx) {
  return authPage(ctx, "register");
}

async function authPage({ main, signal }, mode) {
  const isLogin = mode === "login";
  document.title = (isLogin ? "Sign in" : "Create account") + " · Quick Chat";
  const [user, cfg] = await Promise.all([restore(), config()]);
  if (signal.aborted) return;
  if (user) {
    navigate(safeNext("/dashboard"), { replace: true });
    return;
  }
  const alert = alertBox();
  const name = isLogin ? null : field("Your name", { name: "name", autocomplete: "name", required: true, maxlength: 100 });
  const email = field("Email", { name: "email", type: "email", autocomplete: "email", required: true });
  const password = field(
    "Password",
    { name: "password", type: "password", autocomplete: isLogin ? "current-password" : "new-password", required: true, minlength: isLogin ? undefined : 8 },
    isLogin ? "" : "At least 8 characters.",
  );
  const submit = h("button", { type: "submit", class: "btn", text: isLogin ? "Sign in" : "Create account" });
  const form = h("form", { class: "stack", novalidate: true }, alert.el, name && name.wrap, email.wrap, password.wrap, submit);
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    alert.set("");
    const problem = validate();
    if (problem) {
      alert.set(problem);
      return;
    }
    try {
      await busy(form, () =>
        isLogin
          ? login(email.input.value, password.input.value)
          : register(email.input.value, password.input.value, name.input.value.trim()),
      );
      navigate(safeNext("/dashboard"));
    } catch (err) {
      alert.set(
        errorText(
          err,
          isLogin
            ? { unauthorized: "Email or password is wrong." }
            : { unauthorized: "This email may already have an account with another password. Sign in instead." },
        ),
      );
      (isLogin ? password.input : email.input).focus();
    }
  });

  function validate() {
    if (!isLogin && !name.input.value.trim()) return "Enter your name.";
    if (!email.input.value.trim() || !email.input.checkValidity()) return "Enter a valid email address.";
    if (!password.input.value) return "Enter your password.";
    if (!isLogin && password.input.value.length < 8) return "The password needs at least 8 characters.";
    return "";
  }

  const other = isLogin
    ? h("p", {}, "New here? ", h("a", { href: "/register" + location.search, "data-link": true, text: "Create an account" }))
    : h("p", {}, "Have an account? ", h("a", { href: "/login" + location.search, "data-link": true, text: "Sign in" }));
  const sso = cfg.oidc
    ? h("div", { class: "sso" },
        h("p", { class: "divider", text: "or" }),
        h("a", {
          class: "btn btn-ghost",
          href: "/api/auth/oidc/login",
          text: "Continue with single sign-on",
          on: { click: () => sessionStorage.setItem(OIDC_PENDING, "1") },
        }))
    : null;
  main.append(
    h("section", { class: "panel narrow" }, h("h1", { text: isLogin ? "Sign in" : "Create your account" }), form, sso, other),
  );
  (isLogin ? email.input : name.input).focus();
}
