// Search posts, people and hashtags; Latin typing finds native script (the server's job).
import * as api from "../api.js";
import { h, replace } from "../dom.js";
import { number, t } from "../i18n.js";
import { go } from "../router.js";
import { personRow } from "./people.js";
import { pagedList, postCard } from "./posts.js";

const TYPES = ["posts", "people", "hashtags"];

export async function searchView(page, _params, query) {
  const q = (query.q || "").trim();
  const type = TYPES.includes(query.type) ? query.type : "posts";
  const input = h("input", { id: "search-q", type: "search", name: "q", value: q, dir: "auto", autocomplete: "off" });
  const form = h(
    "form",
    {
      role: "search",
      class: "card search",
      onsubmit: (event) => {
        event.preventDefault();
        go(`/search?type=${type}&q=${encodeURIComponent(input.value.trim())}`);
      },
    },
    h("label", { for: "search-q" }, t("search_label")),
    h("div", { class: "row" }, input, h("button", { type: "submit", class: "primary" }, t("search"))),
    h("p", { class: "hint" }, t("search_hint")),
  );
  const tabs = h(
    "nav",
    { class: "tabs", "aria-label": t("search_what") },
    h(
      "ul",
      {},
      TYPES.map((name) =>
        h("li", {}, h("a", { href: `#/search?type=${name}&q=${encodeURIComponent(q)}`, "aria-current": name === type ? "page" : false }, t(`search_${name}`))),
      ),
    ),
  );
  const results = h("section", { "aria-label": t("results") });
  replace(page, h("h1", {}, t("nav_search")), form, tabs, results);
  if (!q) {
    input.focus();
    return;
  }
  if (type === "hashtags") {
    const answer = await api.get("/v1/search/hashtags", { q, limit: 30 });
    replace(
      results,
      answer.hashtags.length
        ? h(
            "ul",
            { class: "tags" },
            answer.hashtags.map((tag) =>
              h(
                "li",
                {},
                h("a", { class: "tag", dir: "auto", href: `#/search?type=posts&q=${encodeURIComponent("#" + tag.tag)}` }, `#${tag.tag}`),
                " ",
                h("span", { class: "hint" }, t("posts_count", { n: number(tag.post_count) })),
              ),
            ),
          )
        : h("p", { class: "hint" }, t("no_results")),
    );
    return;
  }
  const path = type === "people" ? "/v1/search/users" : "/v1/search/posts";
  await pagedList(
    results,
    async (token) => {
      const answer = await api.get(path, { q, page_size: 20, page_token: token });
      return { items: type === "people" ? answer.users : answer.posts, next: answer.next_page_token };
    },
    type === "people" ? personRow : (post) => postCard(post),
    { empty: t("no_results") },
  ).load();
}
