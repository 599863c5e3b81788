// Post text rules, mirrored from the server (services/kit/text.py) so the compose box
// agrees with it: length in grapheme clusters after NFC (Intl.Segmenter and Python's
// `regex` \X both follow Unicode's extended grapheme clusters), hashtags and mentions.
import { h } from "./dom.js";

export const MAX_GRAPHEMES = 500;

const segmenter = new Intl.Segmenter(undefined, { granularity: "grapheme" });

export function graphemeCount(text) {
  let n = 0;
  for (const _ of segmenter.segment(text.normalize("NFC").trim())) n += 1;
  return n;
}

// A word character of a hashtag: letters, combining marks (Indic vowel signs, viramas),
// digits, `_`, and the joiners ZWNJ/ZWJ that Indic spellings need inside words.
const WORD = "[\\p{L}\\p{M}\\p{N}_\\u200C\\u200D]";
// A hashtag starts after a non-word character and holds at least one letter.
const HASHTAG = `(?<!${WORD})#(${WORD}*\\p{L}${WORD}*)`;
// Mentions are handles (a-z 0-9 _), not inside e-mail addresses.
const MENTION = "(?<![\\p{L}\\p{M}\\p{N}_@.])@([A-Za-z0-9_]{3,30})(?![A-Za-z0-9_])";
const TOKENS = new RegExp(`${HASHTAG}|${MENTION}`, "gu");

export function hashtags(text) {
  return [...text.normalize("NFC").matchAll(TOKENS)].filter((m) => m[1]).map((m) => m[1]);
}

// Text as nodes: hashtags and mentions become links, everything else stays text.
export function richText(text, { links = true } = {}) {
  const nodes = [];
  let last = 0;
  const normal = text.normalize("NFC");
  for (const match of normal.matchAll(TOKENS)) {
    nodes.push(normal.slice(last, match.index));
    const [whole, tag, handle] = match;
    if (tag) {
      nodes.push(
        links
          ? h("a", { class: "tag", href: `#/search?type=posts&q=${encodeURIComponent("#" + tag)}` }, whole)
          : h("mark", { class: "tag" }, whole),
      );
    } else {
      nodes.push(
        links
          ? h("a", { class: "mention", href: `#/u/${encodeURIComponent(handle.toLowerCase())}` }, whole)
          : h("mark", { class: "mention" }, whole),
      );
    }
    last = match.index + whole.length;
  }
  nodes.push(normal.slice(last));
  return nodes.filter((n) => n !== "");
}
