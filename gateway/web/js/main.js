// Start-up: restore the session (one refresh call), pick the interface language, draw
// the frame, then route.
import * as api from "./api.js";
import { announce, h, replace } from "./dom.js";
import { UI_LANGUAGES, choose, language, pickLanguage, setLanguage, t } from "./i18n.js";
import { addRoute, current, go } from "./router.js";
import { session } from "./session.js";
import { signInView, signUpView } from "./views/auth.js";
import { homeView } from "./views/home.js";
import { postView } from "./views/post.js";
import { profileView } from "./views/profile.js";
import { searchView } from "./views/search.js";
import { trendsView } from "./views/trends.js";

addRoute(/^\/signin$/, signInView, { open: true });
addRoute(/^\/signup$/, signUpView, { open: true });
addRoute(/^\/$/, homeView);
addRoute(/^\/post\/(\d+)$/, postView);
addRoute(/^\/u\/([A-Za-z0-9_]+)(?:\/(posts|followers|following))?$/, profileView);
addRoute(/^\/search$/, searchView);
addRoute(/^\/trends$/, trendsView);

const header = document.getElementById("top");
const main = document.getElementById("main");

function navLink(path, label) {
  const here = (location.hash.replace(/^#/, "") || "/").split("?")[0];
  const active = path === "/" ? here === "/" : here.startsWith(path);
  return h("li", {}, h("a", { href: `#${path}`, "aria-current": active ? "page" : false }, label));
}

function drawHeader() {
  const picker = h(
    "select",
    {
      id: "ui-language",
      onchange: async (event) => {
        choose(event.target.value);
        await setLanguage(event.target.value);
        drawHeader();
        await render();
      },
    },
    Object.entries(UI_LANGUAGES).map(([code, name]) =>
      h("option", { value: code, lang: code, selected: code === language() }, name),
    ),
  );
  const me = session.me;
  replace(
    header,
    h("a", { class: "brand", href: "#/" }, h("img", { src: "/app/icon.svg", alt: "" }), " ", t("app_name")),
    h(
      "nav",
      { "aria-label": t("nav_main") },
      h(
        "ul",
        {},
        me
          ? [
              navLink("/", t("nav_home")),
              navLink("/search", t("nav_search")),
              navLink("/trends", t("nav_trends")),
              navLink(`/u/${me.handle}`, t("nav_profile")),
            ]
          : [navLink("/signin", t("sign_in")), navLink("/signup", t("sign_up"))],
      ),
    ),
    h(
      "div",
      { class: "tools" },
      h("label", { for: "ui-language", class: "visually-hidden" }, t("interface_language")),
      picker,
      me ? h("button", { type: "button", id: "sign-out", class: "quiet", onclick: signOut }, t("sign_out")) : null,
    ),
  );
}

async function signOut() {
  await api.signOut().catch(() => {});
  session.me = null;
  drawHeader();
  announce(t("signed_out"));
  go("/signin");
}

export async function afterSignIn(user) {
  session.me = user;
  await setLanguage(pickLanguage(user.languages));
  drawHeader();
}

let rendering = 0;
async function render() {
  const found = current();
  const ticket = ++rendering;
  if (!found) {
    go("/");
    return;
  }
  if (!found.route.open && !session.me) {
    go("/signin");
    return;
  }
  if (found.route.open && session.me) {
    go("/");
    return;
  }
  drawHeader();
  const page = h("div", { class: "page" });
  replace(main, page);
  try {
    await found.route.view(page, found.params, found.query);
  } catch (err) {
    if (ticket !== rendering) return;
    replace(page, h("p", { class: "error", role: "alert" }, errorText(err)));
  }
  if (ticket === rendering) {
    const heading = page.querySelector("h1");
    if (heading) document.title = `${heading.textContent} · ${t("app_name")}`;
  }
}

export function errorText(err) {
  if (err instanceof api.ApiError) {
    if (err.status === 0) return t("error_network");
    if (err.status === 429) return t("error_rate_limited");
    if (err.status >= 500) return t("error_server");
    return err.message;
  }
  return t("error_server");
}

async function start() {
  api.setSignedOutHandler(() => {
    session.me = null;
    go("/signin");
  });
  let user = null;
  try {
    user = await api.refresh();
  } catch {
    user = null;
  }
  session.me = user;
  await setLanguage(pickLanguage(user ? user.languages : []));
  window.addEventListener("hashchange", render);
  await render();
  document.body.dataset.ready = "true";
}

start();
