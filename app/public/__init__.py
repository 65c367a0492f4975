"""The public results pages: what a unit has published, open to anyone without a login
(``/hasil``), the same as open data (JSON, CSV), and the results board for a screen at the
service point (``/papan``). Server-rendered, no script, cacheable with an ETag."""

from fastapi import APIRouter

from app.public import board, results

router = APIRouter(include_in_schema=False)
router.include_router(results.router)
router.include_router(board.router)
