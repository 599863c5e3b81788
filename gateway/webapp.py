"""The web app's files, served by the gateway at `/` (the page) and `/app/...` (modules, styles).

The app is static (ES modules, no build step) and lives in `gateway/web/`. Files are read
once at start-up, with a gzip copy for clients that accept it, and answered with an ETag so
a reload costs a 304. What the browser may do with them is said by the page's policy
(`APP_CSP`, stated here, the one thing this route says for itself; nosniff, framing and
referrer headers come from the gateway-wide layer, security_headers.py): scripts and
styles only from this origin (no inline script, no eval), API calls only to this origin,
images and media from this origin or the `blob:` URLs the app makes of media it fetched
with the user's token, no framing, no plugins.
"""

from __future__ import annotations

import gzip
import hashlib
from dataclasses import dataclass
from pathlib import Path

from starlette.requests import Request
from starlette.responses import Response

from gateway.security_headers import page_csp

WEB_ROOT = Path(__file__).with_name("web")
ASSET_PREFIX = "/app/"

# The page's own policy (security_headers.page_csp): no `data:` images, the app makes only
# `blob:` URLs. The other security headers come from the gateway's default layer.
APP_CSP = page_csp(media="'self' blob:")

_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".json": "application/json",
    ".svg": "image/svg+xml",
    ".png": "image/png",
    ".woff2": "font/woff2",
    ".ico": "image/x-icon",
}
# Worth compressing; fonts and images already are.
_TEXT = frozenset({".html", ".js", ".css", ".json", ".svg"})


@dataclass(frozen=True, slots=True)
class Asset:
    content_type: str
    body: bytes
    gzipped: bytes | None
    etag: str


def _load(path: Path) -> Asset:
    body = path.read_bytes()
    gzipped = gzip.compress(body, compresslevel=9, mtime=0) if path.suffix in _TEXT else None
    etag = '"' + hashlib.sha256(body).hexdigest()[:20] + '"'
    return Asset(_TYPES[path.suffix], body, gzipped, etag)


def load_assets(root: Path = WEB_ROOT) -> dict[str, Asset]:
    """URL path -> file, for every servable file under `root` (`index.html` is `/`)."""
    assets: dict[str, Asset] = {}
    if not root.is_dir():
        return assets
    for path in sorted(root.rglob("*")):
        if not path.is_file() or path.suffix not in _TYPES:
            continue
        relative = path.relative_to(root).as_posix()
        url = "/" if relative == "index.html" else ASSET_PREFIX + relative
        assets[url] = _load(path)
    return assets


class WebApp:
    def __init__(self, assets: dict[str, Asset]) -> None:
        self.assets = assets

    def paths(self) -> list[str]:
        return list(self.assets)

    async def serve(self, request: Request) -> Response:
        asset = self.assets[request.url.path]
        headers = {"Content-Security-Policy": APP_CSP, "ETag": asset.etag}
        # Always revalidate: a new release is picked up on the next load, and an
        # unchanged file costs a 304.
        headers["Cache-Control"] = "no-cache"
        headers["Vary"] = "Accept-Encoding"
        if asset.etag in request.headers.get("if-none-match", ""):
            return Response(status_code=304, headers=headers)
        body = asset.body
        if asset.gzipped is not None and "gzip" in request.headers.get("accept-encoding", ""):
            body = asset.gzipped
            headers["Content-Encoding"] = "gzip"
        return Response(body, media_type=asset.content_type, headers=headers)
