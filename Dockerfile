# syntax=docker/dockerfile:1
#
# One image for every ALI Graph service: the four subgraphs and the gateway differ only in
# the command they run (see docker-compose.yml). The default command runs the gateway.
#
#   docker build -t ali-graph .
#   docker run --rm -p 4001:4001 -e MONGODB_URI=mongodb://... ali-graph \
#     node --import tsx subgraphs/alliances/index.ts
#
# The sources are TypeScript and run through tsx, which is a runtime dependency. The only
# build step is the gateway's web pages (explorer and dashboard), bundled in a first stage
# with the dev dependencies and copied into the runtime image as static files.

# Node 24 is the current LTS line. Debian slim rather than Alpine, because the prebuilt
# native packages we depend on (esbuild's platform binary, used by tsx) target glibc.
FROM node:24-bookworm-slim AS ui
WORKDIR /build
COPY package.json package-lock.json ./
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY scripts/build-ui.ts scripts/
COPY ui ui
RUN npx tsx scripts/build-ui.ts

FROM node:24-bookworm-slim

WORKDIR /app

# Dependencies first, in their own layer: editing the source does not re-install them.
# `npm ci` installs exactly what the lock file lists. --omit=dev leaves out the test and
# codegen tools. No install script is needed: tsx gets its esbuild binary from the optional
# platform package (@esbuild/linux-x64 or @esbuild/linux-arm64) in the lock file.
COPY package.json package-lock.json ./
# --ignore-scripts: the only script is our own `prepare` (the UI build), done in the first stage.
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund && npm cache clean --force

# The sources stay owned by root and read-only for the user that runs them. tsx writes its
# transform cache to the temp folder, not here.
COPY . .
COPY --from=ui /build/ui/dist ui/dist

ENV NODE_ENV=production \
    HOST=0.0.0.0

USER node

# The gateway is on 4000 and the subgraphs on 4001-4004. Each container uses only one of
# these ports.
EXPOSE 4000 4001 4002 4003 4004

CMD ["node", "--import", "tsx", "gateway/index.ts"]
