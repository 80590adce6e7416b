// A small history-API router. Each view is an async function (ctx) rendering into
// ctx.main; ctx.signal is aborted when the user navigates away, which is when views stop
// their timers and sockets.

const routes = [];
let current = null; // AbortController of the rendered view
let notFoundView = null;

/** route registers a view for a path pattern like "/chat/:id". */
export function route(pattern, view) {
  const names = [];
  const re = new RegExp(
    "^" +
      pattern.replace(/:([a-z]+)/g, (_, n) => {
        names.push(n);
        return "([^/]+)";
      }) +
      "/?$",
  );
  routes.push({ re, names, view });
}

/** notFound sets the view for unknown paths. */
export function notFound(view) {
  notFoundView = view;
}

/** navigate shows path (a same-origin path with optional query). */
export function navigate(path, { replace = false } = {}) {
  if (replace) history.replaceState(null, "", path);
  else history.pushState(null, "", path);
  render();
}

/** safeNext returns a local path from ?next=, or fallback. */
export function safeNext(fallback) {
  const next = new URLSearchParams(location.search).get("next") || "";
  return next.startsWith("/") && !next.startsWith("//") && !next.startsWith("/\\") ? next : fallback;
}

/** render shows the view matching the current location. */
export async function render() {
  if (current) current.abort();
  const ctl = new AbortController();
  current = ctl;
  const main = document.getElementById("main");
  main.replaceChildren();
  document.getElementById("toasts")?.replaceChildren();
  main.className = "";
  let view = notFoundView;
  const params = {};
  for (const r of routes) {
    const m = location.pathname.match(r.re);
    if (m) {
      r.names.forEach((n, i) => (params[n] = decodeURIComponent(m[i + 1])));
      view = r.view;
      break;
    }
  }
  try {
    await view({ main, params, query: new URLSearchParams(location.search), signal: ctl.signal });
  } catch (err) {
    if (ctl.signal.aborted) return;
    console.error(err);
    main.replaceChildren();
    const p = document.createElement("p");
    p.className = "alert";
    p.setAttribute("role", "alert");
    p.textContent = "Something went wrong showing this page. Reload to try again.";
    main.append(p);
  }
}

/** start wires link clicks and back/forward, then renders. */
export function start() {
  document.addEventListener("click", (e) => {
    const a = e.target.closest("a[data-link]");
    if (!a || e.defaultPrevented || e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || e.altKey) return;
    const url = new URL(a.href, location.href);
    if (url.origin !== location.origin) return;
    e.preventDefault();
    navigate(url.pathname + url.search);
  });
  window.addEventListener("popstate", render);
  render();
}
