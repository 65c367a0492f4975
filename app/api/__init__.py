"""The versioned HTTP API for staff and other systems, under /api/v1.

Every route takes an API key (``Authorization: Bearer <key>``) holding the route's scope; a key
limited to a subtree of the organisation sees nothing outside it (404, as if absent).
"""

from fastapi import APIRouter

from app.api import ikm, reports, responses, units
from app.api.deps import ERRORS

router = APIRouter(prefix="/api/v1", responses=ERRORS)
# Responses first: a request is matched against the routes in order, and the submissions are
# most of the traffic (units alone has over twenty routes to try before them). The prefixes do
# not overlap, so the order decides nothing else.
router.include_router(responses.router)
router.include_router(units.router)
router.include_router(ikm.router)
router.include_router(reports.router)
