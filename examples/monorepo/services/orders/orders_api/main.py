"""Orders API: follows the platform baseline as it is."""

from fastapi import FastAPI, Request, Response

app = FastAPI(title="orders", docs_url=None, redoc_url=None, openapi_url=None)


@app.middleware("http")
async def platform_headers(request: Request, call_next):  # type: ignore[no-untyped-def]
    response = await call_next(request)
    response.headers["Strict-Transport-Security"] = "max-age=63072000; includeSubDomains"
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["X-Frame-Options"] = "DENY"
    return response


@app.get("/healthz")
def healthz() -> dict[str, str]:
    return {"status": "ok"}


@app.get("/orders")
def orders(response: Response) -> list[str]:
    response.headers["Cache-Control"] = "no-store"
    return []
