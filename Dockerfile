# One image for every Koo process: the five gRPC services, the REST gateway, the event
# workers and the migration job. The process is chosen by the arguments:
#   koo serve user|post|feed|search|media|gateway|feed-worker|search-indexer|media-worker|outbox-relay
#   koo migrate
# Build:  docker build -t koo:dev .
# Lint:   hadolint Dockerfile   (run by .ci/check-infra)

ARG PYTHON_IMAGE=python:3.11.14-slim-bookworm

# ---------------------------------------------------------------------------------------
# builder: install the package and its production dependencies into /opt/venv
# ---------------------------------------------------------------------------------------
FROM ${PYTHON_IMAGE} AS builder

SHELL ["/bin/bash", "-o", "pipefail", "-c"]

# Only `project.dependencies`, all of them wheels: no compiler. The extras stay out of the
# image (`local`: embedded PostgreSQL/Redis and PyPI ffmpeg; `bench`; `dev`).
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1 \
    PYTHONDONTWRITEBYTECODE=1
RUN python -m venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH

WORKDIR /src

# Dependencies first, from pyproject.toml alone, so that a code change does not
# reinstall them (this layer is rebuilt only when pyproject.toml changes).
COPY pyproject.toml README.md ./
RUN python -c 'import tomllib; print("\n".join(tomllib.load(open("pyproject.toml", "rb"))["project"]["dependencies"]))' > /tmp/requirements.txt \
 && pip install --no-cache-dir -r /tmp/requirements.txt

# Then the code, including the generated stubs in gen/. A regular (non-editable) install
# puts every package into site-packages; nothing is read from /src at run time.
COPY . .
RUN pip install --no-cache-dir --no-deps . \
 && koo --help > /dev/null \
 && python -c 'import gen, services, gateway, koo_cli'

# ---------------------------------------------------------------------------------------
# runtime: the interpreter, ffmpeg for the media service, the venv; no compiler, no pip use
# ---------------------------------------------------------------------------------------
FROM ${PYTHON_IMAGE} AS runtime

SHELL ["/bin/bash", "-o", "pipefail", "-c"]

# ffmpeg/ffprobe: audio and video renditions (media service and media-worker).
# tini: PID 1 that forwards SIGTERM to koo (graceful drain) and reaps ffmpeg children.
# hadolint ignore=DL3008
RUN apt-get update \
 && apt-get install -y --no-install-recommends ffmpeg tini \
 && rm -rf /var/lib/apt/lists/* \
 && groupadd --system --gid 10001 koo \
 && useradd --system --uid 10001 --gid 10001 --home-dir /home/koo --create-home \
      --shell /usr/sbin/nologin koo

COPY --from=builder /opt/venv /opt/venv

ENV PATH=/opt/venv/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    KOO_ENV=production

LABEL org.opencontainers.image.title="koo" \
      org.opencontainers.image.description="Koo microblogging platform: gRPC services, REST gateway and workers" \
      org.opencontainers.image.licenses="Apache-2.0"

WORKDIR /home/koo
USER 10001:10001

# gRPC ports 50051-50055, worker health 50061-50064, gateway 8080 (each set by KOO_PORT).
EXPOSE 8080 50051 50052 50053 50054 50055

ENTRYPOINT ["/usr/bin/tini", "--", "koo"]
CMD ["serve", "gateway"]
