# One image for every role; the command picks the role (deploy/entrypoint.sh reads the Procfile):
#   docker run IMAGE web | worker | welcome | scheduler
#   docker run IMAGE flask --app wsgi db upgrade        (the one-off step before a new release)
# compose.yaml runs them all with PostgreSQL and Redis. Settings come from the environment at run
# time (`env_file: .env`); none is baked in. Build behind a pip mirror (e.g. in mainland China):
#   docker build --build-arg PIP_INDEX_URL=https://<mirror>/simple -t scrm .
# CI tests the service on Python 3.11, the version used here.
ARG PYTHON_VERSION=3.11
FROM python:${PYTHON_VERSION}-slim

# Empty: pip's default index. A mirror URL is no secret, but it stays in the image's history:
# one with credentials in it belongs in a build secret, not here.
ARG PIP_INDEX_URL=""

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PORT=8000 \
    WEB_CONCURRENCY=2 \
    SCRM_SPOOL_DIR=/var/lib/scrm/spool

WORKDIR /app

# Dependencies first, so a code change does not reinstall them. Every pinned package ships a
# manylinux wheel: no compiler needed.
COPY requirements.txt ./
RUN if [ -z "$PIP_INDEX_URL" ]; then unset PIP_INDEX_URL; fi \
    && pip install -r requirements.txt

# A user of its own (no login, no shell history); it owns only what the service writes: the
# spool directory (mount a volume there) and instance/ (the app factory creates it; unused
# with PostgreSQL).
RUN groupadd --system --gid 10001 scrm \
    && useradd --system --uid 10001 --gid scrm --home-dir /app --no-create-home --shell /usr/sbin/nologin scrm \
    && mkdir -p /var/lib/scrm/spool /app/instance \
    && chown scrm:scrm /var/lib/scrm/spool /app/instance

COPY --chown=root:root . .
# Compiled now, as root: the service's user cannot write __pycache__ under /app.
RUN python -m compileall -q scrm callbacks sidebar console jobs migrations deploy wsgi.py
USER scrm

EXPOSE 8000
# The web role's liveness (/healthz answers while the process serves); compose.yaml turns it off
# for the other roles, which serve no HTTP.
HEALTHCHECK --interval=15s --timeout=5s --start-period=20s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/healthz' % os.environ.get('PORT', '8000'), timeout=4)"]

ENTRYPOINT ["/app/deploy/entrypoint.sh"]
CMD ["web"]
