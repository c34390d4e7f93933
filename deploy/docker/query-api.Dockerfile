# syntax=docker/dockerfile:1
# The query-api image. Built from the repository root by `npx nx run query-api:docker-build`, which runs
#   docker build -f deploy/docker/query-api.Dockerfile -t k2/query-api:latest .
# The deps and prod-deps stages are the same text in all five Dockerfiles, so BuildKit runs `npm ci` and the prune
# once and reuses the layers for every image.

# NODE_VERSION is the Node.js release of both base images, the one the development machines run.
ARG NODE_VERSION=24.22.3

# deps has every dependency installed, dev ones included.
FROM node:${NODE_VERSION}-bookworm-slim AS deps
# Toolchain of the native modules: node-rdkafka compiles its bundled librdkafka (node-gyp, make, g++, python3);
# better-sqlite3 falls back to node-gyp when no prebuilt binary can be fetched; @duckdb/node-api ships prebuilt
# binaries through optional dependencies. librdkafka's configure enables every codec and TLS library it finds, so
# the -dev packages are listed explicitly on a slim base rather than taken from the full image (whose extra ones,
# libcurl for instance, would add runtime libraries): OpenSSL, zstd and zlib, as in the runtime stage.
RUN apt-get update \
 && apt-get install -y --no-install-recommends build-essential python3 pkg-config libssl-dev libzstd-dev zlib1g-dev ca-certificates \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /app
# node-gyp builds against the image's own headers instead of downloading them.
ENV npm_config_nodedir=/usr/local NX_DAEMON=false NX_NO_CLOUD=true
COPY package.json package-lock.json ./
RUN --mount=type=cache,target=/root/.npm npm ci --no-audit --no-fund

# prod-deps is the production node_modules.
FROM deps AS prod-deps
# The librdkafka and SQLite sources and object files are build leftovers (about 500 MB): the addons load
# build/Release/*.node, and node-librdkafka.node finds librdkafka.so.1 in build/deps through its $ORIGIN rpath.
RUN npm prune --omit=dev --no-audit --no-fund \
 && rm -rf node_modules/node-rdkafka/deps \
      node_modules/node-rdkafka/build/Release/obj.target node_modules/node-rdkafka/build/Release/.deps \
      node_modules/node-rdkafka/build/deps/include node_modules/node-rdkafka/build/deps/librdkafka \
      node_modules/node-rdkafka/build/deps/pkgconfig node_modules/node-rdkafka/build/deps/share \
      node_modules/node-rdkafka/build/deps/*.a \
      node_modules/better-sqlite3/deps node_modules/better-sqlite3/src \
      node_modules/better-sqlite3/build/Release/obj node_modules/better-sqlite3/build/Release/obj.target \
      node_modules/better-sqlite3/build/Release/test_extension.node node_modules/better-sqlite3/build/Release/sqlite3.a

# build runs the app's build target: type check, then one esbuild bundle with every npm package external.
FROM deps AS build
COPY . .
RUN npx nx run query-api:build --outputStyle=static

# runtime is the image: Node, the production node_modules and the bundle.
FROM node:${NODE_VERSION}-bookworm-slim AS runtime
# Runtime libraries of librdkafka (see the deps stage); CA certificates for TLS to brokers and object stores.
RUN apt-get update \
 && apt-get install -y --no-install-recommends libssl3 libzstd1 zlib1g ca-certificates \
 && rm -rf /var/lib/apt/lists/* \
 && groupadd --gid 10001 k2 \
 && useradd --uid 10001 --gid 10001 --create-home --home-dir /home/k2 --shell /usr/sbin/nologin k2
WORKDIR /app
ENV NODE_ENV=production
COPY --from=prod-deps /app/package.json ./package.json
COPY --from=prod-deps /app/node_modules ./node_modules
COPY --from=build /app/dist/apps/query-api ./dist/apps/query-api
# Loading every native addon here fails the build, not the first start, when a shared library is missing.
# .data is where the repo-relative defaults (journals, checkpoints, the local catalog) land; mount a volume on it.
RUN node -e "require('node-rdkafka'); require('better-sqlite3'); require('@duckdb/node-api')" \
 && mkdir -p /app/.data && chown 10001:10001 /app/.data
# Numeric, so Kubernetes' runAsNonRoot can verify it without /etc/passwd.
USER 10001:10001
# 8080: the API, the live page and the stream (PORT); 9405: /metrics, /healthz, /readyz (METRICS_PORT).
EXPOSE 8080 9405
# /healthz is liveness: it answers while the event loop turns (libs/runtime/src/http.ts). Node's fetch, since the
# slim image has no curl.
HEALTHCHECK --interval=15s --timeout=5s --start-period=30s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:' + (process.env.METRICS_PORT || 9405) + '/healthz').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
CMD ["node", "--enable-source-maps", "dist/apps/query-api/main.js"]
