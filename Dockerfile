# Webhook Inspector: a slim image that runs `inspector serve`, keeping its SQLite file in /data.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /src
COPY pyproject.toml README.md LICENSE ./
COPY inspector ./inspector
COPY templates ./templates
COPY static ./static
RUN pip install . \
 && useradd --system --uid 10001 --home-dir /data --shell /usr/sbin/nologin inspector \
 && mkdir -p /data \
 && chown inspector:inspector /data \
 && rm -rf /src

USER inspector
WORKDIR /data
VOLUME ["/data"]
ENV INSPECTOR_DB=/data/inspector.db \
    INSPECTOR_LOG_FORMAT=json
EXPOSE 8000

HEALTHCHECK --interval=30s --timeout=3s --start-period=10s --retries=3 \
  CMD ["python", "-c", "import sys, urllib.request; sys.exit(urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=2).status != 200)"]

CMD ["inspector", "serve", "--host", "0.0.0.0"]
