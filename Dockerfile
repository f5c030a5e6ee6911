# One image for every FlowSync role: migrate, api, worker, scheduler.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

RUN useradd --system --create-home --home-dir /home/flowsync flowsync
WORKDIR /app
COPY pyproject.toml README.md ./
COPY flowsync ./flowsync
COPY sql ./sql
# Editable install: the package reads its SQL from /app/sql at run time.
RUN pip install --no-cache-dir -e .

USER flowsync
EXPOSE 8080
ENTRYPOINT ["python", "-m", "flowsync"]
CMD ["api", "--host", "0.0.0.0"]
