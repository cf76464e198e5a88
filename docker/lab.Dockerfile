# The lab in a container: the app under test, the upstream service and Locust's master and workers
# all run from this one image, with the locked dependencies (uv.lock), so a container serves exactly
# what `make bench` serves on the host. CMD: `python -m lab serve` (APP, SERVER, WORKERS, LOOP, HTTP,
# SERVER_FLAGS, PORT from the environment: lab/drive/compose.py).
ARG PYTHON_IMAGE=python:3.11-slim
FROM ${PYTHON_IMAGE}
ARG UV_VERSION=0.13.8
# The package index this host is configured with, if not PyPI's (make images reads it from pip's config).
ARG UV_DEFAULT_INDEX=
# Certificates the host trusts (make images copies them here; empty on the public path).
COPY docker/certs/ /usr/local/share/ca-certificates/lab/
ENV SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt PIP_CERT=/etc/ssl/certs/ca-certificates.crt
RUN (update-ca-certificates >/dev/null 2>&1 || true) \
 && python3 -m venv /opt/uv && /opt/uv/bin/pip install --quiet --disable-pip-version-check uv==${UV_VERSION}
WORKDIR /lab
COPY pyproject.toml uv.lock ./
ENV UV_PROJECT_ENVIRONMENT=/opt/venv UV_PYTHON_DOWNLOADS=never UV_NATIVE_TLS=1
RUN UV_DEFAULT_INDEX="${UV_DEFAULT_INDEX:-https://pypi.org/simple}" \
    /opt/uv/bin/uv sync --frozen --no-install-project --no-dev --extra apps --quiet --python python3
COPY lab ./lab
COPY apps ./apps
COPY locustfiles ./locustfiles
COPY scenarios ./scenarios
ENV PATH=/opt/venv/bin:$PATH PYTHONPATH=/lab PYTHONUNBUFFERED=1
CMD ["python", "-m", "lab", "serve"]
