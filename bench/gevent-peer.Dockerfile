# The second peer: the pattern of the "perfect Python Dockerfile" seed, on
# Debian's own Python as that article recommends. A builder stage makes a
# venv, the runner copies it, a non-root user, and gunicorn with four gevent
# workers, heartbeats in /dev/shm and no access log. Used only by bench/.
ARG DEBIAN_RELEASE=trixie
FROM debian:${DEBIAN_RELEASE}-slim AS builder
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 python3-venv python3-pip
RUN python3 -m venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH
# The CA secret lets pip reach the package index through this machine's proxy.
RUN --mount=type=secret,id=ca \
    pip install --no-cache-dir --cert /run/secrets/ca flask "gunicorn[gevent]" prometheus-client

FROM debian:${DEBIAN_RELEASE}-slim
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 \
 && rm -rf /var/lib/apt/lists/*
RUN useradd --create-home app
COPY --from=builder /opt/venv /opt/venv
COPY src /app/src
USER app
WORKDIR /app
ENV PATH=/opt/venv/bin:$PATH PYTHONPATH=/app/src
CMD ["gunicorn", "-b", "0.0.0.0:8000", "-w", "4", "-k", "gevent", "--worker-tmp-dir", "/dev/shm", "my_service.wsgi:app"]
