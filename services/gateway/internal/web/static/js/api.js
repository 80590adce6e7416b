// HTTP client for the gateway's JSON API (docs/api.md) and the text we show for its errors.

/** ApiError is a failed API call: the HTTP status (0 when the server was unreachable),
 * the error code from the body, the server's human-readable message and Retry-After. */
export class ApiError extends Error {
  constructor(status, code, message, retryAfter = 0) {
    super(message);
    this.name = "ApiError";
    this.status = status;
    this.code = code;
    this.retryAfter = retryAfter;
  }
}

/** request calls the API. body is JSON-encoded; token goes in Authorization. */
export async function request(method, path, { body, token, signal } = {}) {
  const headers = { Accept: "application/json" };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  if (token) headers.Authorization = `Bearer ${token}`;
  let res;
  try {
    res = await fetch(path, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      credentials: "same-origin",
      cache: "no-store",
      signal,
    });
  } catch (err) {
    if (err && err.name === "AbortError") throw err;
    throw new ApiError(0, "network", "Cannot reach Quick Chat. Check your connection and try again.");
  }
  if (res.status === 204) return null;
  let data = null;
  try {
    data = await res.json();
  } catch {
    data = null;
  }
  if (!res.ok) {
    const code = (data && data.error && data.error.code) || `http_${res.status}`;
    const message = (data && data.error && data.error.message) || `The server answered ${res.status} ${res.statusText}.`;
    throw new ApiError(res.status, code, message, Number(res.headers.get("Retry-After")) || 0);
  }
  return data;
}

/**
 * errorText turns any error into a sentence for people. overrides maps an error code to
 * the text to use in a particular place (e.g. forbidden → "Wrong passcode.").
 */
export function errorText(err, overrides = {}) {
  if (!(err instanceof ApiError)) return "Something went wrong. Reload the page and try again.";
  if (overrides[err.code]) return overrides[err.code];
  switch (err.code) {
    case "network":
      return err.message;
    case "rate_limited":
      return err.retryAfter > 0
        ? `Too many attempts. Try again in ${err.retryAfter} second${err.retryAfter === 1 ? "" : "s"}.`
        : "Too many attempts. Wait a minute and try again.";
    case "unavailable":
      return "Quick Chat is temporarily unavailable. Try again in a moment.";
    case "internal":
      return "Something went wrong on our side. Try again.";
    case "too_large":
      return "That is too much text to send at once.";
    default:
      return sentence(err.message);
  }
}

function sentence(s) {
  if (!s) return "The request failed.";
  const t = s.charAt(0).toUpperCase() + s.slice(1);
  return /[.!?]$/.test(t) ? t : t + ".";
}

let configPromise = null;

/** config fetches /config.json once: {oidc: bool, realtime_urls: [string]}. */
export function config() {
  if (!configPromise) {
    configPromise = request("GET", "/config.json").catch(() => ({ oidc: false, realtime_urls: [] }));
  }
  return configPromise;
}

/** splitURLs flattens comma-separated URL lists, without blanks or duplicates. */
export function splitURLs(...lists) {
  const out = [];
  for (const l of lists) {
    for (const part of String(l || "").split(",")) {
      const u = part.trim();
      if (u && !out.includes(u)) out.push(u);
    }
  }
  return out;
}
