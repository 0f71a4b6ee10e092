# Webhook Inspector: a slim image that runs `inspector serve`, keeping its SQLite file in /data.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

# The user first: its uid is fixed (10001), so volumes and Kubernetes' runAsNonRoot can rely on it.
RUN groupadd --system --gid 10001 inspector \
 && useradd --system --uid 10001 --gid 10001 --home-dir /data --shell /usr/sbin/nologin inspector \
 && mkdir -p /data \
 && chown 10001:10001 /data

# Dependencies in a layer of their own, exactly as pinned (requirements.lock, made by .ci/lock.py):
# builds are reproducible, and a change to the source does not reinstall them.
WORKDIR /src
COPY requirements.lock ./
RUN pip install --no-deps -r requirements.lock

# Then the package itself, without touching the dependencies installed above.
COPY pyproject.toml README.md LICENSE ./
COPY inspector ./inspector
COPY templates ./templates
COPY static ./static
RUN pip install --no-deps . \
 && pip check \
 && rm -rf /src

# Numeric, so the runtime can tell it is not root without reading /etc/passwd.
USER 10001:10001
WORKDIR /data
VOLUME ["/data"]
# Listening on 0.0.0.0 turns on public mode: bins are private by default, and replays and forwards
# may not reach private or loopback addresses (add --allow-target host.docker.internal, say).
ENV INSPECTOR_HOST=0.0.0.0 \
    INSPECTOR_PORT=8000 \
    INSPECTOR_DB=/data/inspector.db \
    INSPECTOR_LOG_FORMAT=json
EXPOSE 8000

# Asks the port the server really listens on: INSPECTOR_PORT, as `docker run -e` may have changed it.
HEALTHCHECK --interval=30s --timeout=3s --start-period=10s --retries=3 \
  CMD ["python", "-c", "import os, sys, urllib.request; port = os.environ.get('INSPECTOR_PORT') or '8000'; sys.exit(urllib.request.urlopen(f'http://127.0.0.1:{port}/healthz', timeout=2).status != 200)"]

# Settings come from INSPECTOR_* variables (or flags added after the image name).
CMD ["inspector", "serve"]
