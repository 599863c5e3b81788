// The home feed: compose box, language chips (the reader's languages), infinite scroll.
import * as api from "../api.js";
import { h, replace } from "../dom.js";
import { POST_LANGUAGES, t } from "../i18n.js";
import { session } from "../session.js";
import { composeBox } from "./compose.js";
import { pagedList, postCard } from "./posts.js";

export async function homeView(page, _params, query) {
  const chosen = (query.lang || "").split(",").filter((code) => code in POST_LANGUAGES);
  const chips = h(
    "div",
    { class: "chips", role: "group", "aria-label": t("filter_languages") },
    h("a", { class: "chip", href: "#/", "aria-current": chosen.length === 0 ? "true" : false }, t("all_languages")),
    session.me.languages.map((code) =>
      h(
        "a",
        {
          class: "chip",
          lang: code,
          href: `#/?lang=${code}`,
          "aria-current": chosen.includes(code) ? "true" : false,
        },
        POST_LANGUAGES[code] || code,
      ),
    ),
  );
  const feed = h("section", { "aria-labelledby": "feed-title" }, h("h2", { id: "feed-title", class: "visually-hidden" }, t("home_feed")));
  replace(
    page,
    h("h1", {}, t("home")),
    composeBox({ onPosted: (post) => list.prepend(post) }),
    chips,
    feed,
  );
  const list = pagedList(
    feed,
    async (token) => {
      const answer = await api.get("/v1/feed/home", { page_size: 20, page_token: token, language: chosen });
      return { items: answer.posts, next: answer.next_page_token };
    },
    (post) => postCard(post),
    { empty: t("feed_empty") },
  );
  await list.load();
}
