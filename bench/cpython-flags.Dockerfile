# One CPython build per set of configure options, for bench/flags.py: which
# options make the source base's interpreter fastest. Not shipped anywhere.
ARG BASE_IMAGE=debian:trixie-slim
FROM ${BASE_IMAGE} AS tools
# hadolint ignore=DL3008
RUN --mount=type=cache,target=/var/cache/apt,sharing=locked \
    --mount=type=cache,target=/var/lib/apt/lists,sharing=locked \
    rm -f /etc/apt/apt.conf.d/docker-clean \
 && apt-get update && apt-get install -y --no-install-recommends \
      ca-certificates curl gcc make xz-utils libbz2-dev libexpat1-dev libffi-dev liblzma-dev \
      libsqlite3-dev libssl-dev uuid-dev zlib1g-dev
WORKDIR /src
ARG PYTHON_URL
ARG PYTHON_SHA256
SHELL ["/bin/bash", "-o", "pipefail", "-c"]
RUN curl -fsSL --retry 3 -o python.tar.xz "$PYTHON_URL" \
 && echo "$PYTHON_SHA256  python.tar.xz" | sha256sum --check --strict - \
 && tar -xJf python.tar.xz --strip-components=1 \
 && rm python.tar.xz

FROM tools AS build
# Word-split on purpose: several options in one argument.
ARG CONFIGURE_OPTS=""
ARG EXTRA_CFLAGS=""
# The rpath lets a --enable-shared interpreter find its libpython without LD_LIBRARY_PATH.
RUN read -ra opts <<< "$CONFIGURE_OPTS" \
 && ./configure --prefix=/opt/python --with-system-expat --without-ensurepip "${opts[@]}" \
      CFLAGS="$EXTRA_CFLAGS" LDFLAGS="-Wl,-rpath=/opt/python/lib" \
 && make -j"$(nproc)" \
 && make install
ENV PATH=/opt/python/bin:$PATH
