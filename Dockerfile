# heavylegs service image: `docker compose up` uses it with PostgreSQL (see docker-compose.yml).
# The service listens on 0.0.0.0 in the container, so it starts only with a login configured
# (service.auth; the compose file passes HEAVYLEGS_LOGIN_TOKEN).
FROM python:3.11.11-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    HEAVYLEGS_DATA_DIR=/data \
    MPLBACKEND=Agg

WORKDIR /src
# Reproducible: every dependency (and the build backend) at the version and hash in the lock file,
# then heavylegs itself without resolving anything again. Regenerate the lock file with:
#   uv pip compile pyproject.toml build-requirements.in --universal --python-version 3.11 --generate-hashes -o requirements.lock
COPY requirements.lock ./
RUN pip install --require-hashes --no-deps -r requirements.lock
COPY pyproject.toml README.md ./
COPY analysis ./analysis
COPY config ./config
COPY ingest ./ingest
COPY heavylegs ./heavylegs
RUN pip install --no-deps --no-build-isolation . && rm -rf /src

# Run unprivileged; the inbox is mounted read-only (heavylegs never changes the user's files).
RUN useradd --system --uid 10001 --home-dir /data heavylegs \
    && mkdir -p /data /inbox && chown heavylegs /data
USER heavylegs
WORKDIR /data
VOLUME ["/data"]
EXPOSE 8080

HEALTHCHECK --interval=30s --timeout=5s --start-period=30s \
    CMD python -c "import sys, urllib.request; sys.exit(0 if urllib.request.urlopen('http://127.0.0.1:8080/healthz', timeout=4).status == 200 else 1)"

# SIGTERM (docker stop) finishes the file or delivery in hand and exits 0.
STOPSIGNAL SIGTERM
CMD ["heavylegs", "run", "--inbox", "/inbox", "--host", "0.0.0.0", "--port", "8080"]
