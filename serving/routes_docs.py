"""``/docs`` (Swagger UI) and ``/redoc`` with their scripts and styles served by the gateway itself from the
installed ``fastapi-offline`` package: a city intranet has no CDN, and the pages must render there."""

from __future__ import annotations

from importlib.resources import files
from typing import Annotated

from fastapi import APIRouter, FastAPI, Path
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html
from fastapi.responses import HTMLResponse, Response

from citymind.errors import AssetNotFound

STATIC = "/docs/static"
#: the documentation's files and their media types
ASSETS = {"swagger-ui-bundle.js": "text/javascript", "swagger-ui.css": "text/css",
          "redoc.standalone.js": "text/javascript", "favicon.png": "image/png"}  # fmt: skip
#: the pages may load from the gateway alone: Redoc's bundle still points an image at cdn.redoc.ly, which a
#: browser would otherwise fetch (inline: the pages' own start-up script and the styles the bundles set; blob: and
#: data: Redoc's worker and icons)
POLICY = (
    "default-src 'none'; script-src 'self' 'unsafe-inline'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; font-src 'self' data:; connect-src 'self'; worker-src 'self' blob:; "
    "frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
)
HEADERS = {"Content-Security-Policy": POLICY, "X-Content-Type-Options": "nosniff"}


def docs_router(app: FastAPI) -> APIRouter:
    router = APIRouter(include_in_schema=False)
    title = f"{app.title} {app.version}"

    @router.get("/docs")
    def swagger() -> HTMLResponse:
        page = get_swagger_ui_html(
            openapi_url="/openapi.json",
            title=title,
            swagger_js_url=f"{STATIC}/swagger-ui-bundle.js",
            swagger_css_url=f"{STATIC}/swagger-ui.css",
            swagger_favicon_url=f"{STATIC}/favicon.png",
            swagger_ui_parameters={"persistAuthorization": True, "validatorUrl": None},  # no badge from the web
        )
        page.headers.update(HEADERS)
        return page

    @router.get("/redoc")
    def redoc() -> HTMLResponse:
        page = get_redoc_html(
            openapi_url="/openapi.json",
            title=title,
            redoc_js_url=f"{STATIC}/redoc.standalone.js",
            redoc_favicon_url=f"{STATIC}/favicon.png",
            with_google_fonts=False,
        )
        page.headers.update(HEADERS)
        return page

    @router.get(STATIC + "/{name}")
    def asset(name: Annotated[str, Path(max_length=40)]) -> Response:
        if name not in ASSETS:
            raise AssetNotFound(f"no documentation file {name!r}")
        body = files("fastapi_offline").joinpath("static", name).read_bytes()
        return Response(body, media_type=ASSETS[name], headers={"cache-control": "public, max-age=86400"})

    return router
