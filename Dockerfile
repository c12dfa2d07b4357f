# syntax=docker/dockerfile:1
# Every image built from this repository, one target each (build context: the repository root):
#   docker build --target gateway|worker|drizzle|web -t orders-<target> .
# The Node services run their compiled JavaScript (dist/, with the workspace packages compiled
# in) on production dependencies only; no TypeScript at run time. The page is served by nginx.

# The Node release the native stack runs (20.20). npm's downloads stay in a build cache
# (--mount=type=cache), so a changed lockfile fetches only what changed and no layer keeps them.
#
# Every workspace's manifest: the lockfile names them all, and npm ci refuses a tree where one
# is missing. Each install below picks only the workspaces it needs.
FROM node:20.20.2-bookworm-slim AS workspace
WORKDIR /app
COPY package.json package-lock.json tsconfig.base.json ./
COPY packages/contract/package.json packages/contract/
COPY packages/client/package.json packages/client/
COPY packages/redis/package.json packages/redis/
COPY packages/test-harness/package.json packages/test-harness/
COPY drizzle/package.json drizzle/
COPY worker/package.json worker/
COPY gateway/package.json gateway/
COPY web/package.json web/

# The Node services' bundles, each from its source and the workspace sources it imports.
FROM workspace AS build
RUN --mount=type=cache,target=/root/.npm npm ci --workspace @orders/drizzle --workspace @orders/worker --workspace @orders/gateway --no-audit --no-fund
COPY tools tools
COPY packages/contract/src packages/contract/src
COPY drizzle/src drizzle/src
RUN npm run build --workspace @orders/drizzle
COPY packages/redis/src packages/redis/src
COPY worker/src worker/src
RUN npm run build --workspace @orders/worker
COPY gateway/src gateway/src
RUN npm run build --workspace @orders/gateway

# Production dependencies only, per service.
FROM workspace AS drizzle-deps
RUN --mount=type=cache,target=/root/.npm npm ci --omit=dev --no-audit --no-fund --workspace @orders/drizzle
FROM workspace AS worker-deps
RUN --mount=type=cache,target=/root/.npm npm ci --omit=dev --no-audit --no-fund --workspace @orders/worker
FROM workspace AS gateway-deps
RUN --mount=type=cache,target=/root/.npm npm ci --omit=dev --no-audit --no-fund --workspace @orders/gateway

FROM node:20.20.2-bookworm-slim AS runtime
ENV NODE_ENV=production
WORKDIR /app
COPY package.json ./
USER node

# Migrations (the default command); compose runs seed.js from the same image.
FROM runtime AS drizzle
COPY --from=drizzle-deps /app/node_modules node_modules
COPY drizzle/package.json drizzle/
COPY --from=build /app/drizzle/dist drizzle/dist
COPY drizzle/migrations drizzle/migrations
CMD ["node", "--enable-source-maps", "drizzle/dist/migrate.js"]

FROM runtime AS worker
COPY --from=worker-deps /app/node_modules node_modules
COPY worker/package.json worker/
COPY --from=build /app/worker/dist worker/dist
EXPOSE 9464
CMD ["node", "--enable-source-maps", "worker/dist/main.js"]

# The gateway (default command) and, in the same image, the development token issuer.
FROM runtime AS gateway
COPY --from=gateway-deps /app/node_modules node_modules
COPY gateway/package.json gateway/
COPY --from=build /app/gateway/dist gateway/dist
EXPOSE 8080
CMD ["node", "--enable-source-maps", "gateway/dist/main.js"]

# The page: bundles the client package from its workspace. Only the web and client workspaces'
# dependencies are installed; the other manifests are there so the lockfile resolves.
FROM workspace AS web-build
RUN --mount=type=cache,target=/root/.npm npm ci --workspace web --workspace @orders/client --include-workspace-root=false --ignore-scripts --no-audit --no-fund
COPY packages/contract/src packages/contract/src
COPY packages/client/src packages/client/src
COPY packages/client/tsconfig.build.json packages/client/
# File by file: copying the whole directory would also copy whatever sits in web/ on the host.
COPY web/index.html web/vite.config.ts web/tsconfig.json web/
COPY web/src web/src
COPY web/public web/public
RUN npm run build --workspace @orders/client && npm run build --workspace web

FROM nginx:1.28.0-alpine AS web
COPY web/nginx.conf /etc/nginx/conf.d/default.conf
COPY --from=web-build /app/web/dist /usr/share/nginx/html
COPY web/docker-entrypoint.sh /docker-entrypoint-orders.sh
EXPOSE 80
HEALTHCHECK --interval=10s --timeout=3s --retries=3 CMD wget -qO- http://127.0.0.1/healthz || exit 1
ENTRYPOINT ["/docker-entrypoint-orders.sh"]
