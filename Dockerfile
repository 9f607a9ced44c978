# One image, two commands: the dataflow (python -m ops.cluster ...) and the API (the default).
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /app
# /recovery: the dataflow's recovery store, a volume; made here and owned by the
# service's user, so a fresh volume mounted on it starts with that owner.
RUN useradd --create-home --uid 10001 orders \
    && mkdir /recovery \
    && chown orders /recovery

# The runtime from uv.lock, every wheel checked against the lock's hashes: uv writes
# the lock's runtime part out as requirements, pip installs exactly those.
COPY pyproject.toml uv.lock ./
RUN pip install uv==0.13.9 \
    && uv export --frozen --no-default-groups --no-emit-project --no-header -o /tmp/runtime.txt \
    && pip install --require-hashes --no-deps -r /tmp/runtime.txt \
    && pip uninstall -y uv \
    && rm /tmp/runtime.txt

COPY shared/ shared/
COPY dataflows/ dataflows/
COPY http_api/ http_api/
COPY ops/ ops/

USER 10001
# Listen on every interface of the container, so published ports reach the API.
ENV ORDER_SERVICE_HOST=0.0.0.0
# 8080: the API; 9464: a dataflow process's /metrics and /live
EXPOSE 8080 9464
CMD ["python", "-m", "http_api"]
