// A profile: who they are, follow / mute / block, and their posts, followers, following.
import * as api from "../api.js";
import { announce, h, replace } from "../dom.js";
import { POST_LANGUAGES, monthYear, number, t } from "../i18n.js";
import { errorText } from "../main.js";
import { session } from "../session.js";
import { personRow } from "./people.js";
import { pagedList, postCard } from "./posts.js";

function toggle({ on, onLabel, offLabel, verbOn, verbOff, user, className, after, primary = false }) {
  return h(
    "button",
    {
      type: "button",
      class: `${className}${primary && !on ? " primary" : ""}`,
      "aria-pressed": String(on),
      onclick: async () => {
        try {
          await api.post(`/v1/users/${user.id}:${on ? verbOff : verbOn}`);
          after();
        } catch (err) {
          announce(errorText(err));
        }
      },
    },
    on ? onLabel : offLabel,
  );
}

export async function profileView(page, [handle, tab = "posts"]) {
  const user = await api.get(`/v1/handles/${encodeURIComponent(handle)}`);
  const mine = session.me && user.id === session.me.id;
  const reload = () => profileView(page, [handle, tab]);
  const actions = mine
    ? null
    : h(
        "div",
        { class: "row profile-actions" },
        toggle({ on: user.followed_by_me, onLabel: t("unfollow"), offLabel: t("follow"), verbOn: "follow", verbOff: "unfollow", user, className: "follow", after: reload, primary: true }),
        toggle({ on: user.muted_by_me, onLabel: t("unmute"), offLabel: t("mute"), verbOn: "mute", verbOff: "unmute", user, className: "mute quiet", after: reload }),
        toggle({ on: user.blocked_by_me, onLabel: t("unblock"), offLabel: t("block"), verbOn: "block", verbOff: "unblock", user, className: "block quiet", after: reload }),
      );
  const tabs = h(
    "nav",
    { class: "tabs", "aria-label": t("profile_sections") },
    h(
      "ul",
      {},
      [
        ["posts", t("posts_count", { n: number(user.post_count) })],
        ["followers", t("followers_count", { n: number(user.follower_count) })],
        ["following", t("following_count", { n: number(user.following_count) })],
      ].map(([name, label]) =>
        h("li", {}, h("a", { href: `#/u/${user.handle}/${name}`, "aria-current": name === tab ? "page" : false }, label)),
      ),
    ),
  );
  const section = h("section", { "aria-label": t(`tab_${tab}`) });
  replace(
    page,
    h(
      "div",
      { class: "card profile" },
      h("h1", { dir: "auto" }, user.display_name || user.handle, user.verified ? h("span", { class: "verified", title: t("verified") }, " ✓") : null),
      h("p", { class: "handle" }, `@${user.handle}`),
      user.bio ? h("p", { class: "bio", dir: "auto" }, user.bio) : null,
      h(
        "p",
        { class: "hint" },
        t("joined", { date: monthYear(user.created_at) }),
        user.languages.length ? " · " : "",
        user.languages.map((code) => POST_LANGUAGES[code] || code).join(", "),
      ),
      actions,
    ),
    tabs,
    section,
  );
  if (tab === "posts") {
    await pagedList(
      section,
      async (token) => {
        const answer = await api.get(`/v1/users/${user.id}/posts`, { page_size: 20, page_token: token });
        return { items: answer.posts, next: answer.next_page_token };
      },
      (post) => postCard(post),
      { empty: t("no_posts") },
    ).load();
  } else {
    await pagedList(
      section,
      async (token) => {
        const answer = await api.get(`/v1/users/${user.id}/${tab}`, { page_size: 20, page_token: token });
        return { items: answer.users, next: answer.next_page_token };
      },
      personRow,
      { empty: t("nobody_yet") },
    ).load();
  }
}
