// Sign in and sign up.
import * as api from "../api.js";
import { h, replace } from "../dom.js";
import { POST_LANGUAGES, language, t } from "../i18n.js";
import { afterSignIn, errorText } from "../main.js";
import { go } from "../router.js";

function field(id, label, attrs = {}, hint = "") {
  return h(
    "div",
    { class: "field" },
    h("label", { for: id }, label),
    h("input", { id, name: id, ...attrs, "aria-describedby": hint ? `${id}-hint` : false }),
    hint ? h("p", { class: "hint", id: `${id}-hint` }, hint) : null,
  );
}

export async function signInView(page) {
  const problem = h("p", { class: "error", role: "alert", hidden: true });
  const form = h(
    "form",
    {
      class: "card narrow",
      onsubmit: async (event) => {
        event.preventDefault();
        const data = new FormData(form);
        problem.hidden = true;
        try {
          const user = await api.signIn(String(data.get("handle")).trim(), String(data.get("password")));
          await afterSignIn(user);
          go("/");
        } catch (err) {
          replace(problem, err.status === 401 ? t("error_bad_credentials") : errorText(err));
          problem.hidden = false;
        }
      },
    },
    field("handle", t("handle"), { autocomplete: "username", required: true, autocapitalize: "none", spellcheck: "false" }),
    field("password", t("password"), { type: "password", autocomplete: "current-password", required: true }),
    problem,
    h("button", { type: "submit", class: "primary" }, t("sign_in")),
    h("p", {}, t("no_account"), " ", h("a", { href: "#/signup" }, t("sign_up"))),
  );
  replace(page, h("h1", {}, t("sign_in_title")), form);
}

export async function signUpView(page) {
  const problem = h("p", { class: "error", role: "alert", hidden: true });
  // In the order ticked: the first is the profile's first language, which picks the
  // interface language (the one shown now is ticked first for the reader).
  const picked = language() in POST_LANGUAGES ? [language()] : [];
  const languages = h(
    "fieldset",
    { class: "languages" },
    h("legend", {}, t("your_languages")),
    Object.entries(POST_LANGUAGES).map(([code, name]) =>
      h(
        "label",
        { class: "chip-check" },
        h("input", {
          type: "checkbox",
          name: "languages",
          value: code,
          checked: picked.includes(code),
          onchange: (event) => {
            const at = picked.indexOf(code);
            if (event.target.checked && at < 0) picked.push(code);
            if (!event.target.checked && at >= 0) picked.splice(at, 1);
          },
        }),
        h("span", { lang: code }, name),
      ),
    ),
  );
  const form = h(
    "form",
    {
      class: "card narrow",
      onsubmit: async (event) => {
        event.preventDefault();
        const data = new FormData(form);
        problem.hidden = true;
        const handle = String(data.get("handle")).trim();
        const password = String(data.get("password"));
        try {
          await api.signUp({
            handle,
            password,
            display_name: String(data.get("display_name")).trim(),
            languages: picked,
          });
          const user = await api.signIn(handle, password);
          await afterSignIn(user);
          go("/");
        } catch (err) {
          const named = err.fields && err.fields.length ? err.fields.map((f) => f.description).join(" ") : "";
          replace(problem, err.status === 409 ? t("error_handle_taken") : named || errorText(err));
          problem.hidden = false;
        }
      },
    },
    field("handle", t("handle"), {
      autocomplete: "username",
      required: true,
      pattern: "[A-Za-z0-9_]{3,30}",
      autocapitalize: "none",
      spellcheck: "false",
    }, t("handle_hint")),
    field("display_name", t("display_name"), { autocomplete: "name", required: true, maxlength: "50" }, t("display_name_hint")),
    field("password", t("password"), { type: "password", autocomplete: "new-password", required: true, minlength: "8" }, t("password_hint")),
    languages,
    problem,
    h("button", { type: "submit", class: "primary" }, t("sign_up")),
    h("p", {}, t("have_account"), " ", h("a", { href: "#/signin" }, t("sign_in"))),
  );
  replace(page, h("h1", {}, t("sign_up_title")), form);
}
