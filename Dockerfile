# scalewise container image: Debian 12, built with the project's Makefile,
# run as a non-root user (uid 65532) on a read-only root filesystem.
#
#   docker build -t scalewise:dev --build-arg VERSION=$(git describe --always --dirty) .
#
# manifests/deployment.yaml runs it with `serve --config ...` and the serving
# certificate from a Secret; anything it writes goes to mounted volumes.

FROM debian:12-slim AS build
ARG VERSION=unknown
WORKDIR /src
COPY scripts/deps.sh scripts/deps.sh
# the build dependencies, as `make` would install them
RUN sh scripts/deps.sh build && rm -rf /var/lib/apt/lists/*
COPY . .
RUN make VERSION="$VERSION" build/scalewise && strip build/scalewise

FROM debian:12-slim
# libcurl4, libpq5, libhiredis0.14 and libssl3 (libcrypto) are dlopened when first needed (ldd does not list them)
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      ca-certificates tzdata libmicrohttpd12 libcurl4 libcjson1 libyaml-0-2 libssl3 libgnutls30 \
      libhiredis0.14 libpq5 \
 && rm -rf /var/lib/apt/lists/*
COPY --from=build /src/build/scalewise /usr/local/bin/scalewise
USER 65532:65532
EXPOSE 6443
ENTRYPOINT ["/usr/local/bin/scalewise"]
CMD ["serve", "--config", "/etc/scalewise/config.yaml"]
