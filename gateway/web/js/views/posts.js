// A post as a card, and lists of posts that load more as the reader scrolls.
import * as api from "../api.js";
import { announce, append, h, replace } from "../dom.js";
import { fullDate, number, relativeTime, t } from "../i18n.js";
import { errorText } from "../main.js";
import { session } from "../session.js";
import { richText } from "../text.js";

const isSet = (id) => id && id !== "0";

function mediaView(media, authorName) {
  const box = h("div", { class: "media", dataset: { status: media.status } });
  if (media.status !== "ready") {
    replace(box, h("p", { class: "hint" }, media.status === "failed" ? t("media_failed") : t("media_processing")));
    return box;
  }
  const path = media.kind === "image" ? media.thumbnail_url || media.url : media.url;
  api
    .mediaUrl(path)
    .then((url) => {
      if (media.kind === "image") replace(box, h("img", { src: url, alt: t("image_by", { name: authorName }), loading: "lazy" }));
      else if (media.kind === "audio") replace(box, h("audio", { src: url, controls: true, "aria-label": t("audio_by", { name: authorName }) }));
      else replace(box, h("video", { src: url, controls: true, "aria-label": t("video_by", { name: authorName }) }));
    })
    .catch(() => replace(box, h("p", { class: "hint" }, t("media_failed"))));
  return box;
}

function countButton({ label, count, pressed, onclick, className }) {
  return h(
    "button",
    { type: "button", class: `action ${className}`, "aria-pressed": pressed === undefined ? false : String(pressed), onclick },
    h("span", { class: "label" }, label),
    " ",
    h("span", { class: "count" }, number(count)),
  );
}

export function postCard(post, { onDeleted, linkToPost = true } = {}) {
  const author = post.author || {};
  const name = author.display_name || author.handle || "";
  const card = h("article", { class: "post", dataset: { postId: post.id }, "aria-label": t("post_by", { name }) });
  const mine = session.me && author.id === session.me.id;

  const like = countButton({
    className: "like",
    label: post.liked_by_me ? t("liked") : t("like"),
    count: post.like_count,
    pressed: post.liked_by_me,
    onclick: async () => {
      try {
        const updated = await api.post(`/v1/posts/${post.id}:${post.liked_by_me ? "unlike" : "like"}`);
        Object.assign(post, updated);
        card.replaceWith(postCard(post, { onDeleted, linkToPost }));
      } catch (err) {
        announce(errorText(err));
      }
    },
  });
  const rekoo = countButton({
    className: "rekoo",
    label: t("rekoo"),
    count: post.repost_count,
    onclick: async (event) => {
      const button = event.currentTarget;
      try {
        await api.post("/v1/posts", { repost_of_id: post.id }, { "idempotency-key": crypto.randomUUID() });
        post.repost_count = String(Number(post.repost_count || 0) + 1);
        button.querySelector(".count").textContent = number(post.repost_count);
        button.setAttribute("aria-pressed", "true");
        announce(t("rekooed"));
      } catch (err) {
        announce(errorText(err));
      }
    },
  });
  const reply = h(
    "a",
    { class: "action reply", href: `#/post/${post.id}` },
    h("span", { class: "label" }, t("reply")),
    " ",
    h("span", { class: "count" }, number(post.reply_count)),
  );
  const remove = mine
    ? h(
        "button",
        {
          type: "button",
          class: "action delete",
          onclick: async (event) => {
            const button = event.currentTarget;
            if (button.dataset.confirm !== "yes") {
              button.dataset.confirm = "yes";
              button.textContent = t("delete_confirm");
              return;
            }
            try {
              await api.del(`/v1/posts/${post.id}`);
              announce(t("deleted"));
              card.remove();
              if (onDeleted) onDeleted(post);
            } catch (err) {
              announce(errorText(err));
            }
          },
        },
        t("delete"),
      )
    : null;

  const when = h("time", { datetime: post.created_at, title: fullDate(post.created_at) }, relativeTime(post.created_at));
  const text = post.text
    ? h("p", { class: "text", lang: post.language || false, dir: "auto" }, richText(post.text))
    : null;
  const original = isSet(post.repost_of_id) ? h("div", { class: "quoted" }) : null;
  if (original) {
    api
      .get(`/v1/posts/${post.repost_of_id}`)
      .then((p) => replace(original, postCard(p)))
      .catch(() => replace(original, h("p", { class: "hint" }, t("post_gone"))));
  }
  append(card, [
    h(
      "header",
      {},
      isSet(post.repost_of_id) && !post.text ? h("p", { class: "hint" }, t("rekooed_by", { name })) : null,
      h("a", { class: "author", href: `#/u/${author.handle}` }, h("span", { class: "name", dir: "auto" }, name)),
      author.verified ? h("span", { class: "verified", title: t("verified") }, "✓") : null,
      " ",
      h("span", { class: "handle" }, `@${author.handle}`),
      " · ",
      linkToPost ? h("a", { href: `#/post/${post.id}`, class: "when" }, when) : when,
    ),
    isSet(post.reply_to_id) ? h("p", { class: "hint" }, h("a", { href: `#/post/${post.reply_to_id}` }, t("in_reply"))) : null,
    text,
    (post.media || []).map((m) => mediaView(m, name)),
    original,
    h("footer", { class: "actions" }, reply, like, rekoo, remove),
  ]);
  return card;
}

// A list fed page by page by `fetchPage(token)` -> {items, next}: more loads when the
// end comes into view, or with the "more" button (keyboards, and browsers without
// IntersectionObserver).
export function pagedList(container, fetchPage, renderItem, { empty }) {
  const list = h("div", { class: "list", "aria-busy": "true" });
  const more = h("button", { type: "button", class: "more", hidden: true }, t("load_more"));
  const note = h("p", { class: "hint end" });
  let token = "";
  let loading = false;
  let done = false;
  let count = 0;
  const observer = "IntersectionObserver" in window
    ? new IntersectionObserver((entries) => entries.some((e) => e.isIntersecting) && load())
    : null;

  async function load() {
    if (loading || done) return;
    loading = true;
    list.setAttribute("aria-busy", "true");
    try {
      const page = await fetchPage(token);
      for (const item of page.items) {
        list.append(renderItem(item));
        count += 1;
      }
      token = page.next || "";
      done = !token;
      more.hidden = done;
      replace(note, done ? (count ? t("end_of_list") : empty) : "");
    } catch (err) {
      replace(note, errorText(err));
      more.hidden = false;
    } finally {
      loading = false;
      list.setAttribute("aria-busy", "false");
    }
    // Still at the end after a short page: the observer will not fire again by itself.
    if (!done && note.getBoundingClientRect().top < window.innerHeight + 400) setTimeout(load, 0);
  }
  more.addEventListener("click", load);
  container.append(list, note, more);
  if (observer) observer.observe(note);
  function prepend(item) {
    list.prepend(renderItem(item));
    count += 1;
    if (done) replace(note, t("end_of_list"));
  }
  return { load, list, prepend };
}
