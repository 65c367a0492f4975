"""The staff console: server-rendered pages in Bahasa Indonesia under ``/console`` for unit
staff and the Bagian Organisasi, over the same services as the API and the CLI."""

from fastapi import APIRouter

from app.console import (
    admin,
    alerts,
    auth,
    followup,
    organisation,
    paper,
    publication,
    reports,
    results,
    zona_integritas,
)

router = APIRouter(include_in_schema=False)  # each page module names its /console paths
router.include_router(auth.router)
router.include_router(results.router)
router.include_router(organisation.router)
router.include_router(paper.router)
router.include_router(reports.router)
router.include_router(publication.router)
router.include_router(followup.router)
router.include_router(zona_integritas.router)
router.include_router(alerts.router)
router.include_router(admin.router)
