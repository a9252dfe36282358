# citymind images, both installed by deploy/install.sh (docs/deploy.md):
#   gateway (default): a serving install (no torch, statsmodels, matplotlib, skl2onnx) run by a non-root user,
#                      `citymind serve` on 0.0.0.0 inside the container with API keys required
#   train:             the same plus the train extra, for `citymind train` / `citymind bootstrap` jobs
#   mlflow:            the MLflow server of deploy/compose.yaml (basic-auth app, PostgreSQL driver), same pins
#
#   docker build -t citymind:0.1.0 .                  docker build --target train -t citymind-train:0.1.0 .
#
# BASE: a Debian-based image with python3 (3.11 or 3.12) and its venv module. Behind a TLS-inspecting proxy or an
# intranet mirror with its own CA, give pip that CA: --secret id=pip-ca,src=/path/to/ca-bundle.crt.
ARG BASE=docker.io/library/python:3.11-slim-bookworm

FROM ${BASE} AS install-serving
COPY . /src
RUN --mount=type=cache,target=/root/.cache/pip --mount=type=secret,id=pip-ca \
    if [ -s /run/secrets/pip-ca ]; then export PIP_CERT=/run/secrets/pip-ca; fi; \
    /src/deploy/install.sh /opt/citymind

FROM ${BASE} AS install-train
# torch's CPU wheels (PyPI's x86_64 torch is a multi-GB CUDA build); empty to take PyPI's. PIP_FIND_LINKS: a folder
# of wheels mounted into the build instead (podman build -v /opt/wheels:/opt/wheels:ro, as docs/deploy.md shows)
ARG TORCH_INDEX=https://download.pytorch.org/whl/cpu
ARG PIP_FIND_LINKS=""
COPY . /src
RUN --mount=type=cache,target=/root/.cache/pip --mount=type=secret,id=pip-ca \
    if [ -s /run/secrets/pip-ca ]; then export PIP_CERT=/run/secrets/pip-ca; fi; \
    PIP_EXTRA_INDEX_URL="${TORCH_INDEX}" /src/deploy/install.sh /opt/citymind train

FROM ${BASE} AS install-mlflow
COPY constraints.txt /src/constraints.txt
RUN --mount=type=cache,target=/root/.cache/pip --mount=type=secret,id=pip-ca \
    if [ -s /run/secrets/pip-ca ]; then export PIP_CERT=/run/secrets/pip-ca; fi; \
    python3 -m venv /opt/mlflow && /opt/mlflow/bin/python -m pip install --quiet --constraint /src/constraints.txt \
      "mlflow[auth]==3.17.2" "psycopg2-binary>=2.9,<3" && /opt/mlflow/bin/python -m pip check

FROM ${BASE} AS mlflow
RUN useradd --system --uid 10002 --user-group --home-dir /var/lib/mlflow --create-home --shell /usr/sbin/nologin mlflow
COPY --from=install-mlflow /opt/mlflow /opt/mlflow
COPY deploy/mlflow-entrypoint.sh /usr/local/bin/mlflow-entrypoint
ENV PATH=/opt/mlflow/bin:$PATH PYTHONUNBUFFERED=1
USER mlflow
WORKDIR /var/lib/mlflow
EXPOSE 5000
HEALTHCHECK --interval=10s --timeout=5s --start-period=60s --retries=3 \
    CMD ["python", "-c", "import sys, urllib.request as u; sys.exit(u.urlopen('http://127.0.0.1:5000/health', timeout=4).status != 200)"]
ENTRYPOINT ["mlflow-entrypoint"]
CMD ["mlflow", "server", "--host", "0.0.0.0", "--port", "5000"]

FROM ${BASE} AS runtime
RUN useradd --system --uid 10001 --user-group --home-dir /var/lib/citymind --create-home --shell /usr/sbin/nologin citymind
ENV PATH=/opt/citymind/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    CITYMIND_HOME=/var/lib/citymind \
    CITYMIND_KEYS_FILE=/etc/citymind/keys.json \
    RAY_USAGE_STATS_ENABLED=0
WORKDIR /var/lib/citymind
# KubeRay starts Ray pods with `bash -lc "ray start ..."`: a login shell resets PATH, /usr/local/bin stays on it
RUN ln -s /opt/citymind/bin/citymind /opt/citymind/bin/ray /opt/citymind/bin/serve /usr/local/bin/

FROM runtime AS train
COPY --from=install-train /opt/citymind /opt/citymind
USER citymind
ENTRYPOINT ["citymind"]
CMD ["--help"]

FROM runtime AS gateway
COPY --from=install-serving /opt/citymind /opt/citymind
# Off loopback the gateway requires API keys whatever CITYMIND_AUTH says (serving/auth.py); `on` says so here too.
# Health stays open for the orchestrator. Mount the keys file (citymind keys create) at CITYMIND_KEYS_FILE.
ENV CITYMIND_HOST=0.0.0.0 \
    CITYMIND_PORT=8000 \
    CITYMIND_AUTH=on
USER citymind
VOLUME ["/var/lib/citymind"]
# 8000: the gateway (direct ingress of the first replica); 8100: Ray Serve's proxy, across replicas
EXPOSE 8000 8100
HEALTHCHECK --interval=15s --timeout=5s --start-period=180s --retries=3 \
    CMD ["python", "-c", "import sys, urllib.request as u; sys.exit(u.urlopen('http://127.0.0.1:8000/v2/health/ready', timeout=4).status != 200)"]
STOPSIGNAL SIGTERM
ENTRYPOINT ["citymind"]
CMD ["serve"]
