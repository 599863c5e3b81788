// The interface's language: the one chosen in the header, else the profile's first
// language, else the browser's; strings per language in strings/<code>.js, English for
// anything missing. Dates and numbers go through Intl in the same locale.

export const UI_LANGUAGES = {
  en: "English",
  hi: "हिन्दी",
  bn: "বাংলা",
  ta: "தமிழ்",
  te: "తెలుగు",
  kn: "ಕನ್ನಡ",
  mr: "मराठी",
};

// Every language a post may be in, with its name in its own script.
export const POST_LANGUAGES = {
  as: "অসমীয়া",
  bn: "বাংলা",
  en: "English",
  gu: "ગુજરાતી",
  hi: "हिन्दी",
  kn: "ಕನ್ನಡ",
  ml: "മലയാളം",
  mr: "मराठी",
  or: "ଓଡ଼ିଆ",
  pa: "ਪੰਜਾਬੀ",
  ta: "தமிழ்",
  te: "తెలుగు",
};

const CHOICE_KEY = "koo.ui-language"; // a preference, not a secret
let locale = "en";
let strings = {};
let fallback = {};

export function chosenLanguage() {
  try {
    return localStorage.getItem(CHOICE_KEY) || "";
  } catch {
    return "";
  }
}

export function choose(code) {
  try {
    if (code) localStorage.setItem(CHOICE_KEY, code);
    else localStorage.removeItem(CHOICE_KEY);
  } catch {
    // storage refused (private mode): the choice lasts this page only
  }
}

// The best interface language for a reader with these profile languages.
export function pickLanguage(profileLanguages = []) {
  const candidates = [chosenLanguage(), ...profileLanguages, ...(navigator.languages || [navigator.language])];
  for (const tag of candidates) {
    const code = (tag || "").toLowerCase().split("-")[0];
    if (code in UI_LANGUAGES) return code;
  }
  return "en";
}

export async function setLanguage(code) {
  if (!(code in UI_LANGUAGES)) code = "en";
  if (!fallback.app_name) fallback = (await import("./strings/en.js")).default;
  strings = code === "en" ? fallback : (await import(`./strings/${code}.js`)).default;
  locale = code;
  document.documentElement.lang = code;
  return code;
}

export function language() {
  return locale;
}

export function t(key, vars = {}) {
  const text = strings[key] ?? fallback[key] ?? key;
  return text.replace(/\{(\w+)\}/g, (_, name) => (name in vars ? String(vars[name]) : `{${name}}`));
}

export function number(n) {
  return new Intl.NumberFormat(locale).format(Number(n || 0));
}

const UNITS = [
  ["year", 365 * 24 * 3600],
  ["month", 30 * 24 * 3600],
  ["day", 24 * 3600],
  ["hour", 3600],
  ["minute", 60],
];

export function relativeTime(iso) {
  const then = new Date(iso);
  const seconds = (then.getTime() - Date.now()) / 1000;
  const format = new Intl.RelativeTimeFormat(locale, { numeric: "auto" });
  for (const [unit, size] of UNITS) {
    if (Math.abs(seconds) >= size) return format.format(Math.round(seconds / size), unit);
  }
  return format.format(0, "second");
}

export function fullDate(iso) {
  return new Intl.DateTimeFormat(locale, { dateStyle: "long", timeStyle: "short" }).format(new Date(iso));
}

export function monthYear(iso) {
  return new Intl.DateTimeFormat(locale, { month: "long", year: "numeric" }).format(new Date(iso));
}
