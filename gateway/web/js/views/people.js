// A person in a list (followers, following, search results).
import { h } from "../dom.js";
import { number, t } from "../i18n.js";

export function personRow(user) {
  return h(
    "article",
    { class: "person", "aria-label": user.display_name || user.handle },
    h(
      "a",
      { href: `#/u/${user.handle}` },
      h("span", { class: "name", dir: "auto" }, user.display_name || user.handle),
      user.verified ? h("span", { class: "verified", title: t("verified") }, " ✓") : null,
      " ",
      h("span", { class: "handle" }, `@${user.handle}`),
    ),
    user.bio ? h("p", { class: "bio", dir: "auto" }, user.bio) : null,
    h("p", { class: "hint" }, t("followers_count", { n: number(user.follower_count) })),
  );
}
