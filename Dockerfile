# The gateway daemon. PostgreSQL is external: set GATEWAY_DATABASE_URL.
#
#   docker build -t gateway .
#   docker run -e GATEWAY_DATABASE_URL=postgresql://... gateway migrate
#   docker run --stop-timeout 40 -e GATEWAY_DATABASE_URL=... -v ./my.toml:/etc/gateway/gateway.toml:ro gateway
#
# Pinned: the base image by digest (python 3.11.7, the version the tests run on), every
# dependency by version and hash (requirements.lock, made by pip-compile --generate-hashes).
# Give `docker stop` more than engine.drain_seconds + 15 s (default 20 + 15): --stop-timeout 40,
# Compose stop_grace_period: 40s, Kubernetes terminationGracePeriodSeconds: 45.
ARG PYTHON_IMAGE=python:3.11.7-slim-bookworm@sha256:d11b9bd5e49ea7401753d78f4d3b56f3aec952b85b49bcae88981f0452818e0b

FROM ${PYTHON_IMAGE} AS build
WORKDIR /src
COPY requirements.lock ./
RUN pip wheel --no-cache-dir --require-hashes --wheel-dir /wheels -r requirements.lock
COPY pyproject.toml README.md ./
COPY gateway ./gateway
RUN pip wheel --no-cache-dir --no-deps --wheel-dir /wheels .

FROM ${PYTHON_IMAGE}
RUN groupadd --system --gid 10001 gateway \
    && useradd --system --uid 10001 --gid 10001 --no-create-home --shell /usr/sbin/nologin gateway
COPY --from=build /wheels /wheels
RUN pip install --no-cache-dir --no-index --find-links /wheels gateway && rm -rf /wheels
COPY config/container.toml /etc/gateway/gateway.toml
COPY config/gateway.example.toml /etc/gateway/gateway.example.toml
ENV GATEWAY_CONFIG=/etc/gateway/gateway.toml \
    PYTHONUNBUFFERED=1
# A numeric user, so that Kubernetes' runAsNonRoot can check it.
USER 10001:10001
# 8080: public webhooks (/reports/...); 8081: operators (/healthz /readyz /metrics /status /admin).
EXPOSE 8080 8081
STOPSIGNAL SIGTERM
# `gateway health` asks /healthz on the configured admin port (GATEWAY_ADMIN_PORT, the file, or 8081);
# it answers while the daemon still waits for PostgreSQL: liveness, not readiness.
HEALTHCHECK --interval=10s --timeout=5s --start-period=20s --retries=3 CMD ["gateway", "health"]
ENTRYPOINT ["gateway"]
CMD ["run"]
