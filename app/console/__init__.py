"""The staff console: server-rendered pages in Bahasa Indonesia under ``/console`` for unit
staff and the Bagian Organisasi, over the same services as the API and the CLI."""

from fastapi import APIRouter

from app.console import admin, auth, organisation, paper, reports, results

router = APIRouter(include_in_schema=False)  # each page module names its /console paths
router.include_router(auth.router)
router.include_router(results.router)
router.include_router(organisation.router)
router.include_router(paper.router)
router.include_router(reports.router)
router.include_router(admin.router)
