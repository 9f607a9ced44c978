# One image, two commands: the dataflow (python -m ops.cluster ...) and the API (the default).
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /app
RUN useradd --create-home --uid 10001 orders

COPY requirements.txt .
RUN pip install -r requirements.txt

COPY shared/ shared/
COPY dataflows/ dataflows/
COPY http_api/ http_api/
COPY ops/ ops/

USER 10001
# 8080: the API; 9464: a dataflow process's /metrics and /live
EXPOSE 8080 9464
CMD ["python", "-m", "http_api"]
