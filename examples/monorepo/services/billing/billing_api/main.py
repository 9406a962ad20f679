"""Billing API: its invoice view is framed by the partner portal, so it does
not send X-Frame-Options (waived in its manifest, with a date)."""

from fastapi import FastAPI, Request

app = FastAPI(title="billing", docs_url=None, redoc_url=None, openapi_url=None)


@app.middleware("http")
async def platform_headers(request: Request, call_next):  # type: ignore[no-untyped-def]
    response = await call_next(request)
    response.headers["Strict-Transport-Security"] = "max-age=63072000; includeSubDomains"
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Content-Security-Policy"] = "frame-ancestors https://partners.example"
    return response


@app.get("/invoices")
def invoices() -> list[str]:
    return []
