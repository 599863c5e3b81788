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

// Hashtags and mentions exactly as services/kit/text.py finds them (one rule, two
// languages: tests/e2e/test_webapp_browser.py compares the two on every script).
const WORD = "[\\p{L}\\p{M}\\p{N}_]";
// ZWNJ/ZWJ belong to Indic spelling inside a word: between two word characters, and last
// only as the ZWJ after a virama (a chillu or khanda-ta written the old way).
const JOINER = "[\\u200C\\u200D]";
const VIRAMA = "[\\u094D\\u09CD\\u0A4D\\u0ACD\\u0B4D\\u0BCD\\u0C4D\\u0CCD\\u0D3B\\u0D3C\\u0D4D]";
const JOINED_WORD = `${WORD}+(?:${JOINER}+${WORD}+)*(?:(?<=${VIRAMA})\\u200D)?`;
const HASHTAG = new RegExp(`(?<!${WORD}|${JOINER})#(${JOINED_WORD})`, "gu");
const HANDLE_CHAR = "[A-Za-z0-9_]";
const MENTION = new RegExp(
  `(?<![\\p{L}\\p{M}\\p{N}_@.]|${JOINER})@(${HANDLE_CHAR}+(?:${JOINER}+${HANDLE_CHAR}+)*)(?!${HANDLE_CHAR}|${JOINER}+${WORD})`,
  "gu",
);
const LETTER = /\p{L}/u;
const HANDLE = /^[A-Za-z0-9_]{3,30}$/;
const MAX_HASHTAG_GRAPHEMES = 100;

// [{start, end, tag} | {start, end, handle}] in order, as the server would count them.
function tokens(text) {
  const found = [];
  for (const m of text.matchAll(HASHTAG)) {
    if (LETTER.test(m[1]) && graphemeCount(m[1]) <= MAX_HASHTAG_GRAPHEMES) {
      found.push({ start: m.index, end: m.index + m[0].length, tag: m[1] });
    }
  }
  for (const m of text.matchAll(MENTION)) {
    const handle = m[1].replace(/[\u200C\u200D]/g, "");
    if (HANDLE.test(handle)) found.push({ start: m.index, end: m.index + m[0].length, handle: handle.toLowerCase() });
  }
  return found.sort((a, b) => a.start - b.start);
}

export function hashtags(text) {
  return tokens(text.normalize("NFC"))
    .filter((t) => t.tag)
    .map((t) => t.tag);
}

// Text as nodes: hashtags and mentions become links, everything else stays text.
export function richText(text, { links = true } = {}) {
  const nodes = [];
  let last = 0;
  const normal = text.normalize("NFC");
  for (const token of tokens(normal)) {
    if (token.start < last) continue;
    nodes.push(normal.slice(last, token.start));
    const whole = normal.slice(token.start, token.end);
    if (token.tag) {
      nodes.push(
        links
          ? h("a", { class: "tag", href: `#/search?type=posts&q=${encodeURIComponent("#" + token.tag)}` }, whole)
          : h("mark", { class: "tag" }, whole),
      );
    } else {
      nodes.push(
        links
          ? h("a", { class: "mention", href: `#/u/${encodeURIComponent(token.handle)}` }, whole)
          : h("mark", { class: "mention" }, whole),
      );
    }
    last = token.end;
  }
  nodes.push(normal.slice(last));
  return nodes.filter((n) => n !== "");
}
