"""The web app in a real browser: Debian's Chromium driven by Playwright, against the
platform started as `koo up` starts it (the e2e `platform` fixture).

Journeys a person makes (two users, follow, a Hindi post typed in Latin letters, the
follower's feed, like, reply, search `bharat`, an image, sign out), the XSS case, the
session's tokens out of script's reach, the counter agreeing with the server, and axe-core
on every main page. Screenshots of each main page, in a Hindi and in a Tamil interface,
go to `artifacts/screenshots/<language>/` (KOO_SCREENSHOT_DIR moves them; CI keeps the
folder as its artifacts).

No browser is ever downloaded: Chromium comes from `apt-get install chromium
chromium-driver` (KOO_CHROMIUM names another binary); without it the module skips.
"""

from __future__ import annotations

import io
import os
import secrets
import shutil
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import regex
from PIL import Image

from tests.e2e.conftest import PASSWORD, register
from tests.e2e.platform import Platform

REPO = Path(__file__).resolve().parents[2]
CHROMIUM = os.environ.get("KOO_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
AXE = REPO / "node_modules" / "axe-core" / "axe.min.js"
SCREENSHOTS = Path(os.environ.get("KOO_SCREENSHOT_DIR") or REPO / "artifacts" / "screenshots")
LAUNCH_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
WAIT_MS = 20_000
TEXT = "form.compose textarea"
TRANSLIT = "form.compose input.translit-on"

if not Path(CHROMIUM).exists():
    pytest.skip(
        f"no Chromium at {CHROMIUM}: browser tests need `apt-get install chromium chromium-driver`",
        allow_module_level=True,
    )
sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is in the dev extra: pip install -e '.[dev]'")


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with sync_api.sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=LAUNCH_ARGS)
        try:
            yield launched
        finally:
            launched.close()


class App:
    """One person's browser tab on the app, with what went wrong in it recorded."""

    def __init__(self, browser: Any, base_url: str, locale: str) -> None:
        self.base_url = base_url
        self.context = browser.new_context(locale=locale, viewport={"width": 1100, "height": 900})
        self.page = self.context.new_page()
        self.page.set_default_timeout(WAIT_MS)
        self.dialogs: list[str] = []
        self.errors: list[str] = []
        self.page.on("dialog", self._dialog)
        self.page.on("pageerror", lambda error: self.errors.append(str(error)))

    def _dialog(self, dialog: Any) -> None:
        self.dialogs.append(dialog.message)
        dialog.dismiss()

    def open(self, route: str = "/") -> Any:
        self.page.goto(f"{self.base_url}/#{route}")
        self.page.wait_for_selector("body[data-ready=true]")
        return self.page

    def go(self, route: str) -> Any:
        """Within the app (no reload): what clicking a link does."""
        self.page.evaluate("route => { location.hash = route; }", route)
        return self.page

    def sign_up(self, handle: str, name: str, languages: list[str]) -> None:
        page = self.open("/signup")
        page.fill("#handle", handle)
        page.fill("#display_name", name)
        page.fill("#password", PASSWORD)
        for box in page.locator("input[name=languages]").all():
            box.set_checked(box.get_attribute("value") in languages)
        page.click("form button[type=submit]")
        page.wait_for_selector("form.compose textarea")

    def sign_in(self, handle: str) -> None:
        page = self.open("/signin")
        page.fill("#handle", handle)
        page.fill("#password", PASSWORD)
        page.click("form button[type=submit]")
        page.wait_for_selector("form.compose textarea")

    def shot(self, language: str, name: str) -> None:
        folder = SCREENSHOTS / language
        folder.mkdir(parents=True, exist_ok=True)
        self.page.wait_for_load_state("networkidle")
        self.page.screenshot(path=str(folder / f"{name}.png"), full_page=True)

    def failed(self, message: str) -> None:
        """Fail with a screenshot of the page as it was (kept with the artifacts)."""
        folder = SCREENSHOTS / "failures"
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"{int(time.time() * 1000)}.png"
        self.page.screenshot(path=str(path), full_page=True)
        pytest.fail(f"{message} (screenshot: {path}; page text: {self.page.inner_text('main')[:500]!r})")

    def axe(self) -> list[dict[str, Any]]:
        """axe-core's serious and critical violations on the page as it is."""
        if not self.page.evaluate("typeof window.axe !== 'undefined'"):
            # Evaluated through the DevTools protocol: the page's CSP (no inline script,
            # no eval) stays as strict as in production.
            self.page.evaluate(AXE.read_text(encoding="utf-8"))
        found = self.page.evaluate(
            "async () => (await axe.run(document, {resultTypes: ['violations']})).violations"
            ".map(v => ({id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.map(n => n.target.join(' '))}))"
        )
        return [v for v in found if v["impact"] in ("serious", "critical")]

    def close(self) -> None:
        self.context.close()


@pytest.fixture
def apps(browser: Any, platform: Platform) -> Iterator[Callable[[str], App]]:
    opened: list[App] = []

    def make(locale: str = "hi-IN") -> App:
        app = App(browser, platform.base_url, locale)
        opened.append(app)
        return app

    yield make
    for app in opened:
        assert not app.errors, f"script errors in the page: {app.errors}"
        app.close()


def handle(prefix: str) -> str:
    return f"{prefix}_{secrets.token_hex(4)}"


def png_file(tmp_path: Path) -> Path:
    out = io.BytesIO()
    image = Image.linear_gradient("L").resize((480, 270)).convert("RGB")
    image.paste((30, 120, 200), (40, 40, 200, 200))
    image.save(out, format="PNG")
    path = tmp_path / "photo.png"
    path.write_bytes(out.getvalue())
    return path


def until(check: Callable[[], bool], *, what: str, seconds: float = 40, then: Callable[[], None] | None = None) -> None:
    """Wait for what the platform does in the background (fanout, indexing, trends)."""
    deadline = time.monotonic() + seconds
    while not check():
        if time.monotonic() > deadline:
            pytest.fail(f"waited {seconds:.0f}s for {what}")
        if then:
            then()
        time.sleep(0.4)


def shown_after_reloads(app: App, text: str) -> Any:
    """The post holding `text` on the page, reloading while fanout and timelines catch up
    (they are built from events, a moment after the post is written)."""
    page = app.page
    locator = page.locator("article.post", has_text=text)
    try:
        until(
            lambda: locator.count() > 0,
            what=f"a post holding {text!r}",
            then=lambda: (page.reload(), page.wait_for_selector("body[data-ready=true]")),
        )
    except pytest.fail.Exception:
        app.failed(f"no post holding {text!r} at {page.url}")
    return locator.first


def type_with_script(page: Any, language: str, latin: str) -> None:
    page.check(TRANSLIT)
    page.select_option("form.compose select.translit-language", language)
    page.click(TEXT)
    page.keyboard.type(latin, delay=40)


# Journeys ---------------------------------------------------------------------------------


def test_two_people_in_hindi_follow_post_read_like_reply_search_and_sign_out(
    apps: Callable[[str], App], platform: Platform, tmp_path: Path
) -> None:
    ravi_handle, asha_handle = handle("ravi"), handle("asha")
    ravi, asha = apps("hi-IN"), apps("hi-IN")
    ravi.sign_up(ravi_handle, "रवि कुमार", ["hi"])
    asha.sign_up(asha_handle, "आशा", ["hi", "en"])
    assert asha.page.evaluate("document.documentElement.lang") == "hi"  # the profile's first language
    assert asha.page.locator("#sign-out").inner_text() == "साइन आउट"

    # Asha follows Ravi from his profile.
    page = asha.go(f"/u/{ravi_handle}")
    page.click("button.follow")
    page.wait_for_selector("button.follow[aria-pressed=true]")

    # Ravi writes in Hindi by typing Latin letters, with an image.
    page = ravi.page
    type_with_script(page, "hi", "namaste bharat #bharat ")
    until(lambda: "#bharat" not in page.input_value(TEXT), what="the Latin words turned into Devanagari")
    text = page.input_value(TEXT).strip()
    assert text.startswith("नमस्ते भ"), text
    assert page.locator("form.compose .preview mark.tag").inner_text().startswith("#भ")
    page.set_input_files("form.compose input.attach-file", str(png_file(tmp_path)))
    page.wait_for_selector(".attachments li[data-status=ready]", timeout=60_000)
    page.click("form.compose button[type=submit]")
    page.wait_for_selector("article.post .text >> text=नमस्ते")
    ravi.shot("hi", "home")

    # Asha's feed shows it, image included; she likes it.
    asha.go("/").wait_for_selector("form.compose")
    post = shown_after_reloads(asha, "नमस्ते")
    post.locator(".media img[src^='blob:']").wait_for()
    post.locator("button.like").click()
    asha.page.wait_for_selector("article.post button.like[aria-pressed=true] >> text=1")
    asha.page.locator("article.post", has_text="नमस्ते").first.locator("button.rekoo").click()
    asha.page.wait_for_selector("article.post button.rekoo[aria-pressed=true] >> text=1")
    asha.shot("hi", "home-follower")

    # She replies on the post's page.
    asha.page.locator("article.post", has_text="नमस्ते").first.locator("a.reply").click()
    page = asha.page
    page.wait_for_selector("h1 >> text=रवि कुमार")
    page.uncheck(TRANSLIT)
    page.fill(TEXT, "बिल्कुल सही! @" + ravi_handle)
    page.click("form.compose button[type=submit]")
    page.wait_for_selector("section[aria-labelledby=replies-title] article.post >> text=बिल्कुल सही")
    asha.shot("hi", "post")

    # `bharat` in Latin letters finds the Devanagari post.
    page = asha.go("/search")
    page.fill("#search-q", "bharat")
    page.press("#search-q", "Enter")
    shown_after_reloads(asha, "नमस्ते")  # the search index, too, follows events
    asha.shot("hi", "search")

    page = asha.go(f"/u/{ravi_handle}")
    shown_after_reloads(asha, "नमस्ते")
    asha.shot("hi", "profile")
    page = asha.go("/trends?lang=hi")
    page.wait_for_selector("h1 >> text=ट्रेंड्स")
    until(
        lambda: page.locator("ol.trends a.tag").count() > 0,
        what="a trending hashtag",
        then=lambda: (page.reload(), page.wait_for_selector("body[data-ready=true]")),
    )
    asha.shot("hi", "trends")

    # Ravi deletes his post (a second click confirms); it leaves his profile.
    page = ravi.go(f"/u/{ravi_handle}")
    post_id = shown_after_reloads(ravi, "नमस्ते").get_attribute("data-post-id")
    card = f"article.post[data-post-id='{post_id}']"
    page.click(f"{card} button.delete")
    page.wait_for_selector(f"{card} button.delete[data-confirm=yes]")
    page.click(f"{card} button.delete")
    try:
        page.wait_for_selector(card, state="detached")
    except sync_api.TimeoutError:
        ravi.failed(f"the deleted post stayed; the app said {page.inner_text('#status')!r}")
    page.reload()
    page.wait_for_selector("p.end")
    assert page.locator("article.post", has_text="नमस्ते").count() == 0

    # Signing out ends the session for good: a reload does not bring it back.
    page = asha.page
    page.click("#sign-out")
    page.wait_for_selector("#handle")
    asha.open("/")
    page.wait_for_selector("#handle")
    asha.shot("hi", "signin")
    assert not asha.dialogs and not ravi.dialogs


def test_tamil_interface_pages(apps: Callable[[str], App], client: httpx.Client) -> None:
    friend = register(client, display_name="கவிதா", languages=["ta"])
    me = apps("ta-IN")
    me.sign_up(handle("selvi"), "செல்வி", ["ta"])
    assert me.page.evaluate("document.documentElement.lang") == "ta"
    page = me.go(f"/u/{friend.handle}")
    page.click("button.follow")
    page.wait_for_selector("button.follow[aria-pressed=true]")
    posted = client.post("/v1/posts", json={"text": "வணக்கம் #தமிழ் நண்பர்களே"}, headers=friend.auth)
    assert posted.status_code == 201, posted.text
    shown_after_reloads(me, "நண்பர்களே")
    me.shot("ta", "profile")

    page = me.go("/")
    type_with_script(page, "ta", "vanakkam ")
    until(lambda: "vanakkam" not in page.input_value(TEXT), what="vanakkam turned into Tamil script")
    page.click("form.compose button[type=submit]")
    page.wait_for_selector("article.post .text[lang=ta]")
    shown_after_reloads(me, "நண்பர்களே")
    me.shot("ta", "home")
    me.page.locator("article.post", has_text="நண்பர்களே").first.locator("a.reply").click()
    me.page.wait_for_selector("h2#replies-title")
    me.shot("ta", "post")
    page = me.go("/search?type=posts&q=vanakkam")
    shown_after_reloads(me, "வணக்கம்")
    me.shot("ta", "search")
    page = me.go("/trends?lang=ta")
    until(
        lambda: page.locator("ol.trends a.tag").count() > 0,
        what="a trending hashtag",
        then=lambda: (page.reload(), page.wait_for_selector("body[data-ready=true]")),
    )
    me.shot("ta", "trends")
    page = me.go(f"/u/{friend.handle}")
    page.wait_for_selector("button.mute")
    for control in ("mute", "block"):  # and back: the profile shows the reader's own state
        page.click(f"button.{control}")
        page.wait_for_selector(f"button.{control}[aria-pressed=true]")
        page.click(f"button.{control}")
        page.wait_for_selector(f"button.{control}[aria-pressed=false]")
    page.wait_for_selector("button.follow")
    page.click("#sign-out")
    page.wait_for_selector("#handle")
    me.shot("ta", "signin")


# Security of the browser client ---------------------------------------------------------------


def test_user_text_is_shown_as_text_never_run(apps: Callable[[str], App], client: httpx.Client) -> None:
    evil = '<img src=x onerror="alert(1);window.__xss=1"><script>window.__xss=2</script>'
    author = register(client, display_name='<b onmouseover="alert(2)">nasty</b>')
    posted = client.post("/v1/posts", json={"text": evil}, headers=author.auth)
    assert posted.status_code == 201, posted.text
    reader = apps("hi-IN")
    reader.sign_up(handle("reader"), "पाठक", ["hi"])
    page = reader.go(f"/u/{author.handle}")
    shown = shown_after_reloads(reader, "onerror").locator(".text")
    assert shown.inner_text() == evil
    assert page.locator("h1").inner_text().startswith('<b onmouseover="alert(2)">nasty</b>')
    assert page.locator("img[src='x'], main script, main b").count() == 0
    page.hover("h1")
    reader.go(f"/post/{posted.json()['id']}")
    page.wait_for_selector("h1")
    assert page.evaluate("window.__xss === undefined")
    assert reader.dialogs == []


def test_tokens_stay_out_of_scripts_reach_and_reloads_keep_the_session(apps: Callable[[str], App]) -> None:
    app = apps("hi-IN")
    app.sign_up(handle("keep"), "सुरक्षित", ["hi"])
    page = app.page
    stored = page.evaluate(
        "() => JSON.stringify({cookie: document.cookie, local: {...localStorage}, session: {...sessionStorage}})"
    )
    assert "koo_refresh" not in stored and "eyJ" not in stored  # no refresh token, no JWT
    (cookie,) = [c for c in app.context.cookies() if c["name"] == "koo_refresh"]
    assert cookie["httpOnly"] and cookie["secure"] and cookie["sameSite"] == "Strict"
    assert cookie["path"] == "/v1/sessions:refresh"
    assert "#" not in page.url.split("#", 1)[0] and "token" not in page.url

    page.reload()
    page.wait_for_selector("form.compose textarea")  # still signed in: one refresh call
    rotated = next(c for c in app.context.cookies() if c["name"] == "koo_refresh")
    assert rotated["value"] != cookie["value"]  # the refresh rotated it


def test_media_never_opens_as_a_page_of_the_app(apps: Callable[[str], App], client: httpx.Client) -> None:
    owner = register(client)
    out = io.BytesIO()
    Image.new("RGB", (16, 16), (1, 2, 3)).save(out, format="PNG")
    media = client.post("/v1/media", content=out.getvalue(), headers={**owner.auth, "content-type": "image/png"})
    assert media.status_code == 201
    app = apps("hi-IN")
    app.sign_up(handle("viewer"), "दर्शक", ["hi"])
    # Opened as a page (a link, a new tab), with the owner's token as the app would send
    # it: the document is sandboxed into an opaque origin, so nothing in it could reach
    # the app's storage, cookies or API as the app.
    content = f"{app.base_url}/v1/media/{media.json()['id']}/content"
    app.context.route(content, lambda route: route.continue_(headers={**route.request.headers, **owner.auth}))
    answer = app.page.goto(content)
    assert answer is not None and answer.status == 200
    assert app.page.evaluate("window.origin") == "null"
    assert app.page.evaluate("() => { try { return localStorage.length >= 0; } catch (e) { return e.name; } }") == (
        "SecurityError"
    )


# The compose box agrees with the server ------------------------------------------------------


def test_the_counter_agrees_with_the_server(apps: Callable[[str], App], client: httpx.Client) -> None:
    app = apps("hi-IN")
    app.sign_up(handle("count"), "गिनती", ["hi"])
    page = app.page
    page.uncheck(TRANSLIT)
    # Clusters where counting is easy to get wrong: conjuncts (one cluster in Devanagari and
    # Bengali since Unicode 15.1, two in Tamil and Kannada), vowel signs, an emoji family.
    # Built up to 500 by Unicode's extended grapheme clusters (the `regex` module's \X).
    units = ["क्षि", "त्री", "ஸ்ரீ", "ক্ষে", "👩‍👩‍👧", "ನ್ನು", "ਸ੍ਰੀ", "ഞ്ഞ"]
    text = ""
    while len(regex.findall(r"\X", text)) < 500:
        text += units[len(text) % len(units)]
    text = "".join(regex.findall(r"\X", text)[:500])
    page.fill(TEXT, text)
    counter = page.locator("form.compose .counter")
    assert counter.get_attribute("data-left") == "0"
    assert page.locator("form.compose button[type=submit]").is_enabled()
    page.fill(TEXT, text + "ष्ट")
    assert counter.get_attribute("data-left") == "-1"
    assert page.locator("form.compose button[type=submit]").is_disabled()
    # The server counts the same way: 500 pass, 501 do not.
    who = register(client)
    assert client.post("/v1/posts", json={"text": text}, headers=who.auth).status_code == 201
    assert client.post("/v1/posts", json={"text": text + "ष्ट"}, headers=who.auth).status_code == 400
    page.fill(TEXT, text)
    page.click("form.compose button[type=submit]")
    page.wait_for_selector("article.post")


def test_hashtags_highlighted_as_the_server_extracts_them(apps: Callable[[str], App], client: httpx.Client) -> None:
    text = (
        "#भारत #বাংলা #தமிழ்நாடு #తెలుగు #ಕನ್ನಡ #ગુજરાત #ਪੰਜਾਬ #ଓଡ଼ିଆ #മലയാളം #मराठी_भाषा "
        "email a@b.com x#no #123 #2024चुनाव and#not "
        # joiners: inside a word, after a virama at the end, never first or dangling
        "#കേരളത്തിന്\u200d #क्\u200dष #শরৎ\u200cকাল #tag\u200c. #\u200cnot"
    )
    who = register(client)
    named = register(client)
    text += f" @{named.handle} mail@{named.handle}"
    posted = client.post("/v1/posts", json={"text": text}, headers=who.auth)
    assert posted.status_code == 201, posted.text
    app = apps("hi-IN")
    app.sign_up(handle("tags"), "टैग", ["hi"])
    page = app.page
    page.uncheck(TRANSLIT)
    page.fill(TEXT, text)
    marked = page.locator("form.compose .preview mark.tag").all_inner_texts()
    assert [m.lstrip("#") for m in marked] == posted.json()["hashtags"]
    mentions = page.locator("form.compose .preview mark.mention").all_inner_texts()
    assert [m.lstrip("@") for m in mentions] == posted.json()["mentions"] == [named.handle]


# Accessibility ---------------------------------------------------------------------------------


def test_no_serious_accessibility_problems_on_the_main_pages(apps: Callable[[str], App], client: httpx.Client) -> None:
    if not AXE.exists():
        pytest.skip("axe-core is not installed: run `npm ci`")
    other = register(client, display_name="मीरा")
    post = client.post("/v1/posts", json={"text": "सुप्रभात #सुबह"}, headers=other.auth).json()
    app = apps("hi-IN")
    problems: dict[str, list[dict[str, Any]]] = {}
    app.open("/signin")
    problems["signin"] = app.axe()
    app.open("/signup")
    problems["signup"] = app.axe()
    app.sign_up(handle("axe"), "जाँच", ["hi"])
    for name, route, ready in (
        ("home", "/", "form.compose"),
        ("post", f"/post/{post['id']}", "h2#replies-title"),
        ("profile", f"/u/{other.handle}", "button.follow"),
        ("followers", f"/u/{other.handle}/followers", "nav.tabs"),
        ("search", "/search?type=posts&q=suprabhat", "section[aria-label]"),
        ("people", "/search?type=people&q=meera", "section[aria-label]"),
        ("trends", "/trends", "h1"),
    ):
        app.go(route).wait_for_selector(ready)
        app.page.wait_for_load_state("networkidle")
        problems[name] = app.axe()
    assert {name: found for name, found in problems.items() if found} == {}
