# The baseline: how a service is often containerised by hand. One stage on
# python:X-slim, the whole checkout copied before the install, no lock, pip
# and build tools left in, root, a fixed worker count. Used only by bench/run.py.
ARG PYTHON_VERSION=3.13
FROM python:${PYTHON_VERSION}-slim-trixie
WORKDIR /app
COPY . .
# The CA secret lets pip reach the package index from inside a build on
# machines whose proxy the image does not trust; nothing of it stays behind.
RUN --mount=type=secret,id=ca \
    pip install --cert /run/secrets/ca flask gunicorn prometheus-client
ENV PYTHONPATH=/app/src
CMD ["gunicorn", "-w", "4", "-b", "0.0.0.0:8000", "my_service.wsgi:app"]
