// One post with its replies and a reply box.
import * as api from "../api.js";
import { h, replace } from "../dom.js";
import { t } from "../i18n.js";
import { go } from "../router.js";
import { composeBox } from "./compose.js";
import { pagedList, postCard } from "./posts.js";

export async function postView(page, [postId]) {
  const post = await api.get(`/v1/posts/${postId}`);
  const replies = h("section", { "aria-labelledby": "replies-title" }, h("h2", { id: "replies-title" }, t("replies")));
  replace(
    page,
    h("h1", {}, t("post_title", { name: post.author.display_name || post.author.handle })),
    postCard(post, { linkToPost: false, onDeleted: () => go("/") }),
    composeBox({ replyTo: post.id, onPosted: (reply) => list.prepend(reply) }),
    replies,
  );
  const list = pagedList(
    replies,
    async (token) => {
      const answer = await api.get(`/v1/posts/${post.id}/replies`, { page_size: 20, page_token: token });
      return { items: answer.posts, next: answer.next_page_token };
    },
    (reply) => postCard(reply),
    { empty: t("no_replies") },
  );
  await list.load();
}
