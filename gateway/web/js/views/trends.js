// Trending hashtags per language.
import * as api from "../api.js";
import { h, replace } from "../dom.js";
import { POST_LANGUAGES, number, t } from "../i18n.js";
import { go } from "../router.js";
import { session } from "../session.js";

export async function trendsView(page, _params, query) {
  const mine = session.me.languages.length ? session.me.languages : ["hi"];
  const language = query.lang in POST_LANGUAGES ? query.lang : mine[0];
  const order = [...mine, ...Object.keys(POST_LANGUAGES).filter((code) => !mine.includes(code))];
  const picker = h(
    "select",
    { id: "trends-language", onchange: (event) => go(`/trends?lang=${event.target.value}`) },
    order.map((code) => h("option", { value: code, lang: code, selected: code === language }, POST_LANGUAGES[code])),
  );
  const list = h("ol", { class: "trends" });
  replace(
    page,
    h("h1", {}, t("nav_trends")),
    h("div", { class: "card row" }, h("label", { for: "trends-language" }, t("trends_in")), picker),
    h("section", { "aria-label": t("nav_trends") }, list),
  );
  const answer = await api.get("/v1/trends/hashtags", { language });
  if (!answer.hashtags.length) {
    list.replaceWith(h("p", { class: "hint" }, t("no_trends")));
    return;
  }
  replace(
    list,
    answer.hashtags.map((tag) =>
      h(
        "li",
        {},
        h("a", { class: "tag", lang: language, href: `#/search?type=posts&q=${encodeURIComponent("#" + tag.tag)}` }, `#${tag.tag}`),
        " ",
        h("span", { class: "hint" }, t("posts_count", { n: number(tag.post_count) })),
      ),
    ),
  );
}
