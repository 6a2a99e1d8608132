# syntax=docker/dockerfile:1
#
# One image for every ALI Graph service: the four subgraphs and the gateway differ only in
# the command they run (see docker-compose.yml and deploy/helm/ali-graph). The default command
# runs the gateway.
#
#   docker build -t ali-graph .
#   docker run --rm -p 4001:4001 -e MONGODB_URI=mongodb://... -e GATEWAY_SIGNING_SECRET=... \
#     ali-graph node dist/subgraphs/alliances/index.js
#
# The image runs compiled JavaScript: `npm run build` (scripts/build.ts) compiles the services
# into dist/ and bundles the gateway's web pages, in a first stage that has the dev
# dependencies. The runtime image has the production dependencies and dist/ only: no TypeScript
# sources, no compiler, no tsx.

# Node 24 is the current LTS line. Debian slim rather than Alpine, because the prebuilt
# native packages of the build (esbuild's platform binary) target glibc.
FROM node:24-bookworm-slim AS build
WORKDIR /build
COPY package.json package-lock.json ./
# --ignore-scripts: the only script is our own `prepare` (the UI build), which `npm run build` does.
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY scripts scripts
COPY lib lib
COPY gateway gateway
COPY subgraphs subgraphs
COPY schema schema
COPY ui ui
RUN npm run build

# The production dependencies, in a stage of their own so that the runtime image gets
# node_modules without npm's cache. `npm ci` installs exactly what the lock file lists;
# --omit=dev leaves out the compiler, tsx, the test and codegen tools.
FROM node:24-bookworm-slim AS deps
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund

FROM node:24-bookworm-slim

WORKDIR /app

# Everything stays owned by root and read-only for the user that runs it; the services write
# nothing to disk (Kubernetes runs them with a read-only root filesystem).
# package.json is needed at run time: its "type": "module" makes Node load dist/ as ES modules.
COPY package.json ./
COPY --from=deps /app/node_modules node_modules
COPY --from=build /build/dist dist

# SUPERGRAPH_PATH: the committed supergraph as built into the image; Kubernetes mounts its own
# from a ConfigMap and points this variable at it.
ENV NODE_ENV=production \
    HOST=0.0.0.0 \
    SUPERGRAPH_PATH=/app/dist/schema/supergraph.graphql

# The `node` user of the official image, by number: Kubernetes can only verify runAsNonRoot
# for a numeric user.
USER 1000:1000

# The gateway is on 4000 and the subgraphs on 4001-4004. Each container uses only one of
# these ports.
EXPOSE 4000 4001 4002 4003 4004

CMD ["node", "dist/gateway/index.js"]
