FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

RUN useradd --create-home --uid 10001 skm \
    && mkdir -p /data \
    && chown skm:skm /data

WORKDIR /app

COPY pyproject.toml README.md alembic.ini ./
COPY app ./app
COPY migrations ./migrations
COPY survey_forms ./survey_forms

RUN pip install --no-cache-dir .

ENV SKM_FORMS_DIR=/app/survey_forms \
    SKM_DATABASE_URL=sqlite:////data/skm.db

VOLUME ["/data"]
USER skm
EXPOSE 8000

HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
    CMD ["python", "-c", "import urllib.request, sys; sys.exit(0 if urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=4).status == 200 else 1)"]

# On SQLite (the default, in the /data volume) `serve` applies migrations itself.
# On PostgreSQL, run migrations as a one-shot job before starting the new version:
#   docker run --rm -e SKM_DATABASE_URL=postgresql+psycopg://... IMAGE db upgrade
ENTRYPOINT ["skm"]
CMD ["serve", "--host", "0.0.0.0", "--port", "8000"]
