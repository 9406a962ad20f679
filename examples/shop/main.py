"""The shop API. Set SHOP_DRIFT=1 to start it with the drifts a bad deploy
might bring (debug on, a weak HSTS, an insecure session cookie)."""

from __future__ import annotations

import os

from fastapi import FastAPI, Request, Response
from fastapi.middleware.cors import CORSMiddleware
from starlette.middleware.trustedhost import TrustedHostMiddleware

from .config import settings
from .limits import BodySizeLimitMiddleware

DRIFT = os.environ.get("SHOP_DRIFT") == "1"

app = FastAPI(
    title="shop-api",
    debug=DRIFT,
    docs_url="/docs" if DRIFT else None,
    redoc_url=None,
    openapi_url="/openapi.json" if DRIFT else None,
)


# Innermost: its 413 (an HTTPException raised while the route reads the
# body) reaches FastAPI's exception handling directly.
app.add_middleware(BodySizeLimitMiddleware, max_bytes=1024 * 1024)


app.add_middleware(
    CORSMiddleware,
    allow_origins=["https://shop.example"],
    allow_credentials=True,
)


# Outside CORSMiddleware, so that it sees (and completes) CORS's Vary.
@app.middleware("http")
async def security_headers(request: Request, call_next):  # type: ignore[no-untyped-def]
    response = await call_next(request)
    response.headers["Strict-Transport-Security"] = "max-age=300" if DRIFT else "max-age=63072000; includeSubDomains"
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["X-Frame-Options"] = "DENY"
    response.headers["Content-Security-Policy"] = "default-src 'self'; frame-ancestors 'none'"
    response.headers["Referrer-Policy"] = "strict-origin-when-cross-origin"
    # Answers differ per Origin, so every answer says so: the CORSMiddleware
    # of older Starlette (0.36 among them) says it only to requests with an Origin.
    if "origin" not in ",".join(response.headers.getlist("vary")).lower():
        response.headers.append("Vary", "Origin")
    return response


app.add_middleware(TrustedHostMiddleware, allowed_hosts=["api.shop.example"])


@app.get("/")
def index() -> dict[str, str]:
    return {"service": "shop-api"}


@app.get("/healthz")
def healthz() -> dict[str, str]:
    return {"status": "ok", "env": settings.app_env}


@app.post("/login")
@app.get("/login")
def login(response: Response) -> dict[str, bool]:
    response.set_cookie("session", "opaque-session-id", max_age=3600, secure=not DRIFT, httponly=True, samesite="lax")
    return {"ok": True}


@app.get("/api/items")
def items(response: Response) -> list[dict[str, str]]:
    response.headers["Cache-Control"] = "no-store"
    return [{"sku": "tea-001"}]


@app.get("/static/app.js")
def app_js() -> Response:
    return Response(
        "console.log('shop');",
        media_type="text/javascript",
        headers={"Cache-Control": "public, max-age=31536000, immutable"},
    )


@app.get("/catalog")
def catalog(request: Request, response: Response) -> list[str]:
    personalised = (
        "session" in request.cookies or "authorization" in request.headers or "preview" in request.query_params
    )
    response.headers["Cache-Control"] = "private, no-store" if personalised else "public, max-age=300"
    response.headers["Vary"] = "Accept-Encoding, Cookie, Authorization"
    return ["tea", "coffee"]


@app.post("/api/avatar", status_code=201)
async def avatar(request: Request) -> dict[str, int]:
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
    return {"bytes": size}
