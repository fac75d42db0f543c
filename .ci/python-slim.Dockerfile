# A local stand-in for the official python:3.13-slim image, used only by the
# template's tests on machines that cannot pull it. Same layout as the
# official image: CPython under /usr/local, shared libpython, pip included,
# Debian's hardening flags and frame pointers. PGO=1 adds the official image's
# --enable-optimizations --with-lto (about 15 minutes on 2 cores): the
# benchmarks need that to compare fairly; the tests do not.
ARG RELEASE=trixie
FROM debian:${RELEASE}-slim AS build
ARG PYTHON_VERSION
ARG PGO=0
RUN apt-get update && apt-get install -y --no-install-recommends \
      gcc make dpkg-dev libbz2-dev libffi-dev liblzma-dev libncursesw5-dev \
      libreadline-dev libsqlite3-dev libssl-dev uuid-dev zlib1g-dev libexpat1-dev
COPY Python.tar.xz /tmp/
SHELL ["/bin/bash", "-o", "pipefail", "-c"]
RUN mkdir /src && tar -xJf /tmp/Python.tar.xz -C /src --strip-components=1 \
 && cd /src \
 && opts=(--prefix=/usr/local --enable-shared --with-system-expat --with-ensurepip=install) \
 && if [ "$PGO" = 1 ]; then opts+=(--enable-optimizations --with-lto); fi \
 && ./configure "${opts[@]}" \
      LDFLAGS="$(dpkg-buildflags --get LDFLAGS) -Wl,-rpath=/usr/local/lib -Wl,--strip-all" \
 # EXTRA_CFLAGS follow CPython's own -O3, so Debian's -O2 wins, as in the official image.
 && make -j"$(nproc)" \
      EXTRA_CFLAGS="$(dpkg-buildflags --get CFLAGS) -fno-omit-frame-pointer -mno-omit-leaf-frame-pointer" \
 && make install \
 # What the official image removes: tests, static libraries, bytecode.
 && find /usr/local -depth \( -type d \( -name test -o -name tests -o -name idle_test \) \
      -o -type f \( -name '*.pyc' -o -name '*.a' \) \) -exec rm -rf {} + \
 && for b in python pip pydoc idle; do ln -s "${b}3" "/usr/local/bin/$b"; done \
 # The Debian packages that provide the libraries CPython links against.
 && find /usr/local -name '*.so*' -type f -exec ldd {} + 2>/dev/null \
      | awk '/=> \// {print $3}' | sort -u | xargs -r realpath | grep -v '^/usr/local/' \
      | xargs -r dpkg-query -S \
      | cut -d: -f1 | sort -u > /usr/local/runtime-packages.txt

FROM debian:${RELEASE}-slim
COPY --from=build /usr/local /usr/local
RUN apt-get update \
 && xargs -a /usr/local/runtime-packages.txt apt-get install -y --no-install-recommends ca-certificates \
 && apt-get clean \
 && rm -rf /var/lib/apt/lists/* /usr/local/runtime-packages.txt
ENV PATH=/usr/local/bin:$PATH LANG=C.UTF-8
CMD ["python3"]
