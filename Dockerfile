# The production image: web (gunicorn), worker and beat (Celery), migrate and the sandbox all run
# from it (docker-compose.yml). Third-party code comes only from requirements/production.lock,
# every file checked against its hash; `make lock` regenerates the lock from pyproject.toml (its
# dependencies and its production and sandbox extras).

FROM python:3.11-slim AS builder
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_CACHE_DIR=1
RUN python -m venv /venv
COPY requirements/production.lock /build/production.lock
RUN /venv/bin/pip install --require-hashes --no-deps -r /build/production.lock

FROM python:3.11-slim
ENV PYTHONUNBUFFERED=1 PYTHONDONTWRITEBYTECODE=1 PATH=/venv/bin:$PATH PYTHONPATH=/app \
    LOCAL_STATE_DIR=/var/lib/marketplace STATIC_ROOT=/app/static PORT=8000
RUN useradd --system --uid 10001 --home-dir /app --shell /usr/sbin/nologin app \
    && install -d -o app -g app /var/lib/marketplace /app/media /data
COPY --from=builder /venv /venv
WORKDIR /app
COPY manage.py gunicorn.conf.py ./
COPY core core
COPY marketplace marketplace
COPY sellers sellers
COPY invoicing invoicing
COPY reporting reporting
# Static files are part of the image (served by the web process); root owns them, read-only.
RUN LOCAL_STATE_DIR=/tmp/build-state python manage.py collectstatic --noinput \
    && rm -rf /tmp/build-state
USER app
EXPOSE 8000 8765
HEALTHCHECK --interval=10s --timeout=5s --start-period=20s --retries=3 \
    CMD python -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:${PORT}/healthz', timeout=3)"
CMD ["gunicorn", "marketplace.wsgi"]
