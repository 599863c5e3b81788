// Hash routes (`#/post/123`): the gateway serves one page at `/`, so a deep link never
// needs a server route, and API paths and app paths can never collide.
const routes = [];

export function addRoute(pattern, view, { open = false } = {}) {
  routes.push({ pattern, view, open });
}

export function current() {
  const hash = location.hash.replace(/^#/, "") || "/";
  const [path, queryText = ""] = hash.split("?");
  const query = Object.fromEntries(new URLSearchParams(queryText));
  for (const route of routes) {
    const match = route.pattern.exec(path);
    if (match) return { route, params: match.slice(1).map((v) => (v === undefined ? undefined : decodeURIComponent(v))), query, path };
  }
  return null;
}

export function go(path) {
  if (location.hash === `#${path}`) window.dispatchEvent(new HashChangeEvent("hashchange"));
  else location.hash = path;
}
