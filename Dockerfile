# Junggo API / worker image.
#
#   docker build -t junggo-api .
#   docker run --rm -p 3000:3000 junggo-api                    # API (default CMD)
#   docker run --rm junggo-api node dist/worker.js             # background worker
#   docker run --rm junggo-api node dist/cli/migrate.js        # one-shot migrations
#
# Signal handling: tini is PID 1 (ENTRYPOINT) and forwards SIGTERM/SIGINT to
# node, and reaps zombies. Do NOT also set `init: true` / `--init`.

ARG NODE_IMAGE=node:20-bookworm-slim

# ---------------------------------------------------------------------------
# deps: full dependency tree (incl. devDependencies such as typescript)
# ---------------------------------------------------------------------------
FROM ${NODE_IMAGE} AS deps
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund

# ---------------------------------------------------------------------------
# build: tsc -p tsconfig.build.json  ->  dist/ (rootDir src)
# ---------------------------------------------------------------------------
FROM deps AS build
COPY tsconfig.json tsconfig.build.json ./
COPY src/ ./src/
COPY generated/ ./generated/
RUN npm run build \
 && test -f dist/server.js \
 && test -f dist/worker.js \
 && test -f dist/cli/migrate.js

# ---------------------------------------------------------------------------
# runtime: production dependencies + compiled JS + generated OpenAPI bundle
# ---------------------------------------------------------------------------
FROM ${NODE_IMAGE} AS runtime

RUN apt-get update \
 && apt-get install -y --no-install-recommends tini \
 && rm -rf /var/lib/apt/lists/*

ENV NODE_ENV=production
WORKDIR /app

COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund \
 && npm cache clean --force

# Code stays root-owned (read-only for the app user). The app reads
# generated/openapi.json from <project root>/generated, i.e. /app/generated.
COPY --from=build /app/dist ./dist
COPY generated/ ./generated/
# Reference data read by the migrations (the dong table, with its attribution).
COPY data/ ./data/

# Photos on local disk (STORAGE_DIR defaults to ./var/uploads): the only path the app writes,
# owned by the app user. docker-compose.yml mounts one volume here for the API and the worker.
RUN mkdir -p var/uploads && chown node:node var/uploads

USER node
EXPOSE 3000

# No curl in the slim image: probe with node's built-in fetch.
HEALTHCHECK --interval=15s --timeout=5s --start-period=20s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:'+(process.env.PORT||3000)+'/health/live',{signal:AbortSignal.timeout(4000)}).then(r=>process.exit(r.ok?0:1)).catch(()=>process.exit(1))"]

ENTRYPOINT ["/usr/bin/tini", "--"]
CMD ["node", "dist/server.js"]
