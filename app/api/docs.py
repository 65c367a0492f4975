"""The interactive API documentation at /docs, served entirely from this package.

FastAPI's own /docs loads Swagger UI from a CDN, which an intranet deployment cannot reach.
Swagger UI's files are vendored from the npm package ``swagger-ui-dist`` (see ``SOURCE``
beside them): the maintained PyPI bundle ships Swagger UI 4, which cannot render the OpenAPI
3.1 document FastAPI writes.
"""

from pathlib import Path

from fastapi import APIRouter, Request
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import FileResponse, HTMLResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

SWAGGER_UI_VERSION = "5.35.0"
STATIC = Path(__file__).resolve().parent / "static" / "swagger-ui"
# Served by name with a fixed type: nosniff makes browsers refuse a script sent as anything
# else, and the guessed type of .js differs between Python versions and hosts.
ASSETS = {
    "swagger-ui-bundle.js": "text/javascript; charset=utf-8",
    "swagger-ui.css": "text/css; charset=utf-8",
    "favicon-32x32.png": "image/png",
}
# The version is in the path, so a browser may keep the files until the next upgrade.
ASSET_PATH = f"/docs/swagger-ui-{SWAGGER_UI_VERSION}"

router = APIRouter(include_in_schema=False)


@router.get("/docs")
def swagger_ui(request: Request) -> HTMLResponse:
    return get_swagger_ui_html(
        openapi_url=request.app.openapi_url,
        title=f"{request.app.title}: API",
        swagger_js_url=f"{ASSET_PATH}/swagger-ui-bundle.js",
        swagger_css_url=f"{ASSET_PATH}/swagger-ui.css",
        swagger_favicon_url=f"{ASSET_PATH}/favicon-32x32.png",
        # No call to the online validator at swagger.io (an intranet cannot reach it, and it
        # would learn the schema's address).
        swagger_ui_parameters={"validatorUrl": None},
    )


@router.get(ASSET_PATH + "/{name}")
def swagger_ui_asset(name: str) -> FileResponse:
    media_type = ASSETS.get(name)
    if media_type is None:
        raise StarletteHTTPException(404)
    return FileResponse(
        STATIC / name,
        media_type=media_type,
        headers={"Cache-Control": "public, max-age=31536000, immutable"},
    )
