// Writing a post: live grapheme counter (the server's rule), hashtag and mention
// highlighting, typing in an Indic script from Latin letters (GET /v1/transliterations),
// and media with upload progress and processing state.
import * as api from "../api.js";
import { announce, h, replace } from "../dom.js";
import { POST_LANGUAGES, number, t } from "../i18n.js";
import { errorText } from "../main.js";
import { session } from "../session.js";
import { MAX_GRAPHEMES, graphemeCount, richText } from "../text.js";

let instances = 0;
const LATIN_TAIL = /[A-Za-z]+$/;
const WORD_END = /[\s.,!?;:।॥)"'-]/;
const cache = new Map();

async function candidates(word, language) {
  const key = `${language}:${word.toLowerCase()}`;
  if (!cache.has(key)) {
    cache.set(
      key,
      api
        .get("/v1/transliterations", { text: word, language, max_candidates: 5 })
        .then((answer) => answer.candidates.map((c) => c.text))
        .catch((err) => {
          cache.delete(key);
          throw err;
        }),
    );
  }
  return cache.get(key);
}

// The Unicode block of each language's script (the same ranges as services/kit/text.py).
const SCRIPT_BLOCKS = {
  as: /[\u0980-\u09FF]/u,
  bn: /[\u0980-\u09FF]/u,
  gu: /[\u0A80-\u0AFF]/u,
  hi: /[\u0900-\u097F]/u,
  kn: /[\u0C80-\u0CFF]/u,
  ml: /[\u0D00-\u0D7F]/u,
  mr: /[\u0900-\u097F]/u,
  or: /[\u0B00-\u0B7F]/u,
  pa: /[\u0A00-\u0A7F]/u,
  ta: /[\u0B80-\u0BFF]/u,
  te: /[\u0C00-\u0C7F]/u,
};

function hasScriptOf(value, language) {
  const block = SCRIPT_BLOCKS[language];
  return Boolean(block && block.test(value));
}

function indicLanguages() {
  const mine = (session.me ? session.me.languages : []).filter((code) => code !== "en");
  const rest = Object.keys(POST_LANGUAGES).filter((code) => code !== "en" && !mine.includes(code));
  return [...mine, ...rest];
}

export function composeBox({ replyTo = null, onPosted = () => {} } = {}) {
  const id = `compose-${++instances}`;
  const text = h("textarea", {
    id: `${id}-text`,
    class: "compose-text",
    rows: 3,
    dir: "auto",
    "aria-describedby": `${id}-count`,
    placeholder: replyTo ? t("reply_placeholder") : t("compose_placeholder"),
  });
  const counter = h("p", { id: `${id}-count`, class: "counter" });
  const preview = h("div", { class: "preview", "aria-hidden": "true", dir: "auto" });
  const problem = h("p", { class: "error", role: "alert", hidden: true });
  const submit = h("button", { type: "submit", class: "primary" }, replyTo ? t("reply") : t("post"));

  // Typing in a script ------------------------------------------------------------
  const languages = indicLanguages();
  const scriptOn = h("input", { type: "checkbox", id: `${id}-translit`, class: "translit-on", checked: languages.length > 0 && session.me && session.me.languages.some((c) => c !== "en") });
  const scriptLanguage = h(
    "select",
    { id: `${id}-translit-language`, class: "translit-language" },
    languages.map((code) => h("option", { value: code, lang: code }, POST_LANGUAGES[code])),
  );
  const suggestions = h("div", { class: "suggestions", role: "group", "aria-label": t("suggestions") });
  let queue = Promise.resolve();
  let suggestTimer = 0;

  function wordBefore(position) {
    const match = LATIN_TAIL.exec(text.value.slice(0, position));
    return match ? { start: position - match[0].length, end: position, word: match[0] } : null;
  }

  // Replace a Latin word that may have moved (earlier words were replaced meanwhile):
  // its nearest occurrence standing alone.
  function put(found, native) {
    const pattern = new RegExp(`(?<![A-Za-z])${found.word}(?![A-Za-z])`, "g");
    let best = -1;
    for (const match of text.value.matchAll(pattern)) {
      if (best < 0 || Math.abs(match.index - found.start) < Math.abs(best - found.start)) best = match.index;
    }
    if (best < 0) return;
    text.setRangeText(native, best, best + found.word.length, "preserve");
    refresh();
  }

  function commit(found) {
    const language = scriptLanguage.value;
    queue = queue.then(async () => {
      try {
        const options = await candidates(found.word, language);
        if (options.length) put(found, options[0]);
      } catch (err) {
        announce(errorText(err));
      }
    });
    return queue;
  }

  function suggest(found) {
    clearTimeout(suggestTimer);
    const language = scriptLanguage.value;
    suggestTimer = setTimeout(async () => {
      try {
        const options = await candidates(found.word, language);
        const still = wordBefore(text.selectionStart);
        if (!still || still.word !== found.word) return;
        replace(
          suggestions,
          options.map((option) =>
            h(
              "button",
              {
                type: "button",
                class: "suggestion",
                lang: language,
                onclick: () => {
                  put(still, option);
                  replace(suggestions);
                  text.focus();
                },
              },
              option,
            ),
          ),
        );
      } catch {
        replace(suggestions);
      }
    }, 120);
  }

  text.addEventListener("input", () => {
    refresh();
    if (!scriptOn.checked || !scriptLanguage.value) return;
    const position = text.selectionStart;
    const typed = text.value[position - 1];
    if (typed && WORD_END.test(typed)) {
      const found = wordBefore(position - 1);
      replace(suggestions);
      if (found) commit(found);
    } else {
      const found = wordBefore(position);
      if (found) suggest(found);
      else replace(suggestions);
    }
  });

  // Media ------------------------------------------------------------------------------
  const attachments = [];
  const attached = h("ul", { class: "attachments", "aria-label": t("attachments") });
  const fileInput = h("input", {
    type: "file",
    id: `${id}-file`,
    class: "attach-file",
    accept: "image/jpeg,image/png,image/webp,image/gif,audio/*,video/*",
    onchange: () => {
      for (const file of fileInput.files) attach(file);
      fileInput.value = "";
    },
  });

  function attach(file) {
    const progress = h("progress", { max: 1, value: 0, "aria-label": t("uploading", { name: file.name }) });
    const state = h("span", { class: "state", role: "status" }, t("uploading", { name: file.name }));
    const item = { media: null, busy: true };
    const row = h(
      "li",
      {},
      h("span", { class: "file", dir: "auto" }, file.name),
      progress,
      state,
      h("button", {
        type: "button",
        class: "quiet",
        onclick: () => {
          attachments.splice(attachments.indexOf(item), 1);
          row.remove();
          refresh();
        },
      }, t("remove")),
    );
    item.row = row;
    attachments.push(item);
    attached.append(row);
    refresh();
    api
      .upload(file, (fraction) => {
        progress.value = fraction;
      })
      .then(async (media) => {
        progress.value = 1;
        item.media = media;
        row.dataset.status = media.status;
        while (media.status === "processing") {
          replace(state, t("media_processing"));
          await new Promise((resolve) => setTimeout(resolve, 1000));
          media = await api.get(`/v1/media/${media.id}`);
          item.media = media;
        }
        row.dataset.status = media.status;
        replace(state, media.status === "ready" ? t("media_ready") : t("media_failed"));
      })
      .catch((err) => {
        row.dataset.status = "failed";
        replace(state, errorText(err));
        item.media = null;
      })
      .finally(() => {
        item.busy = false;
        refresh();
      });
  }

  // Counter, highlighting, submit ---------------------------------------------------------
  function refresh() {
    const used = graphemeCount(text.value);
    const left = MAX_GRAPHEMES - used;
    counter.classList.toggle("over", left < 0);
    counter.dataset.left = String(left);
    replace(counter, left < 0 ? t("too_long", { n: number(-left) }) : t("characters_left", { n: number(left) }));
    replace(preview, richText(text.value, { links: false }));
    const ready = attachments.filter((a) => a.media && a.media.status === "ready");
    const busy = attachments.some((a) => a.busy);
    submit.disabled = left < 0 || busy || (used === 0 && ready.length === 0);
  }

  let idempotencyKey = crypto.randomUUID();
  const form = h(
    "form",
    {
      class: "compose card",
      onsubmit: async (event) => {
        event.preventDefault();
        problem.hidden = true;
        if (scriptOn.checked) {
          const found = wordBefore(text.value.length);
          if (found) await commit(found);
        }
        await queue;
        const body = {
          text: text.value,
          media_ids: attachments.filter((a) => a.media && a.media.status === "ready").map((a) => a.media.id),
        };
        if (replyTo) body.reply_to_id = replyTo;
        // Typed through a language's script: that is the post's language (Koo would
        // otherwise guess it, and short Devanagari text is Hindi or Marathi alike).
        if (scriptOn.checked && scriptLanguage.value && hasScriptOf(text.value, scriptLanguage.value)) {
          body.language = scriptLanguage.value;
        }
        submit.disabled = true;
        try {
          const created = await api.post("/v1/posts", body, { "idempotency-key": idempotencyKey });
          idempotencyKey = crypto.randomUUID();
          text.value = "";
          attachments.splice(0);
          replace(attached);
          announce(t("posted"));
          onPosted(created);
        } catch (err) {
          replace(problem, errorText(err));
          problem.hidden = false;
        } finally {
          refresh();
        }
      },
    },
    h("label", { for: `${id}-text`, class: "visually-hidden" }, replyTo ? t("reply_label") : t("compose_label")),
    text,
    preview,
    h(
      "div",
      { class: "row" },
      languages.length
        ? h(
            "span",
            { class: "translit" },
            scriptOn,
            h("label", { for: `${id}-translit` }, t("type_in_script")),
            h("label", { for: `${id}-translit-language`, class: "visually-hidden" }, t("script_language")),
            scriptLanguage,
          )
        : null,
      counter,
    ),
    suggestions,
    attached,
    problem,
    h(
      "div",
      { class: "row" },
      h("label", { for: `${id}-file`, class: "attach" }, t("attach")),
      fileInput,
      submit,
    ),
  );
  refresh();
  return form;
}
