# balance-exporter: a Prometheus exporter for prepaid API balances.
#
#   docker build -t balance-exporter .
#   docker run -p 9877:9877 balance-exporter --demo
#   docker run -p 9877:9877 -v "$PWD/balance-exporter.yml:/etc/balance-exporter/config.yml:ro" \
#       balance-exporter
#
# Any base with `python3` (3.11 or newer) and its `venv` module works, e.g. a Debian image with
# python3, python3-venv and ca-certificates: --build-arg BASE_IMAGE=...
ARG BASE_IMAGE=python:3.12-slim

# Stage 1: build the project's wheel and collect the wheels of its dependencies.
FROM ${BASE_IMAGE} AS build
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1 \
    PYTHONDONTWRITEBYTECODE=1
WORKDIR /src
COPY pyproject.toml README.md LICENSE ./
COPY balance_exporter ./balance_exporter
RUN python3 -m venv /opt/wheel-build \
    && /opt/wheel-build/bin/pip wheel --quiet --wheel-dir /wheels /src

# Stage 2: install the wheels into a venv; no compiler, no build tools, no sources.
FROM ${BASE_IMAGE}
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PATH=/opt/balance-exporter/bin:$PATH \
    BALANCE_EXPORTER_HEALTHCHECK_URL=http://127.0.0.1:9877/-/healthy
RUN --mount=type=bind,from=build,source=/wheels,target=/tmp/wheels \
    python3 -m venv /opt/balance-exporter \
    && /opt/balance-exporter/bin/pip install --quiet --no-index --find-links /tmp/wheels \
        balance-exporter \
    && /opt/balance-exporter/bin/pip uninstall --quiet --yes pip \
    && mkdir -p /etc/balance-exporter \
    && echo 'balance-exporter:x:10001:10001:balance-exporter:/nonexistent:/usr/sbin/nologin' \
        >> /etc/passwd \
    && echo 'balance-exporter:x:10001:' >> /etc/group

# A numeric user, so that Kubernetes' runAsNonRoot can verify it.
USER 10001:10001
EXPOSE 9877
# Set BALANCE_EXPORTER_HEALTHCHECK_URL when --web.listen-address moves the port.
HEALTHCHECK --interval=30s --timeout=5s --start-period=10s --retries=3 \
    CMD ["/opt/balance-exporter/bin/python", "-c", "import os, urllib.request; urllib.request.build_opener(urllib.request.ProxyHandler({})).open(os.environ['BALANCE_EXPORTER_HEALTHCHECK_URL'], timeout=4)"]
ENTRYPOINT ["balance-exporter"]
CMD ["--config.file=/etc/balance-exporter/config.yml"]
