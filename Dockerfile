# syntax=docker/dockerfile:1
# Switchyard container image: Next.js standalone server, production files only,
# non-root, read-only root file system except the /data volume (SQLite + models).
#
#   docker build -t switchyard .                                  # served at /
#   docker build --build-arg BASE_PATH=/llm -t switchyard:llm .   # served at /llm
#   docker build --build-arg LLAMA_BINARIES=cuda \
#     --build-arg RUNTIME_IMAGE=nvidia/cuda:12.6.3-runtime-ubuntu24.04 -t switchyard:cuda .
#
# BASE_PATH is fixed at build time (Next bakes it into every URL); the image refuses to
# start with another one. See README "Deploy". scripts/test-image.ts runs what this file
# describes (the runtime stage's COPYs, ENV, USER, WORKDIR, ENTRYPOINT and CMD) without
# Docker, so keep those instructions one per line and in the simple forms used here.

ARG NODE_IMAGE=node:20-bookworm-slim
# The CUDA variant needs CUDA's runtime libraries (libcudart, libcublas): use an
# nvidia/cuda *-runtime image here; Node is copied in from the build stage.
ARG RUNTIME_IMAGE=node:20-bookworm-slim

FROM ${NODE_IMAGE} AS build
# better-sqlite3 compiles on install
RUN apt-get update && apt-get install -y --no-install-recommends python3 make g++ ca-certificates \
  && rm -rf /var/lib/apt/lists/*
WORKDIR /src
ENV NEXT_TELEMETRY_DISABLED=1
ENV NODE_LLAMA_CPP_SKIP_DOWNLOAD=true
COPY package.json package-lock.json ./
COPY patches ./patches
COPY prisma ./prisma
COPY prisma.config.ts ./
COPY scripts/prisma-generate.ts ./scripts/
RUN npm ci --no-audit --no-fund
COPY . .
ARG BASE_PATH=""
# cpu (default) | cuda (adds node-llama-cpp's CUDA 12 engines, ~540 MB) | none
ARG LLAMA_BINARIES=cpu
RUN BASE_PATH="$BASE_PATH" LLAMA_BINARIES="$LLAMA_BINARIES" npm run build

FROM ${RUNTIME_IMAGE} AS runtime
ARG BASE_PATH=""
# tini: PID 1 that forwards SIGTERM to node and reaps zombies (or run with `docker run --init`)
RUN apt-get update && apt-get install -y --no-install-recommends tini ca-certificates \
  && rm -rf /var/lib/apt/lists/* \
  && groupadd --system --gid 10001 switchyard \
  && useradd --system --uid 10001 --gid 10001 --home-dir /data --no-create-home --shell /usr/sbin/nologin switchyard \
  && mkdir -p /data && chown 10001:10001 /data
COPY --from=build /usr/local/bin/node /usr/local/bin/node
WORKDIR /app
# Owned by root and never written: the container can run with a read-only root FS.
COPY --from=build /src/.next/standalone ./
COPY --from=build /src/.next/static ./.next/static
COPY --from=build /src/public ./public
ENV NODE_ENV=production
ENV PORT=3000
# standalone's server.js binds to $HOSTNAME, which Docker sets to the container id
ENV HOSTNAME=0.0.0.0
ENV BASE_PATH=${BASE_PATH}
ENV DATABASE_URL=file:/data/switchyard.db
ENV SWITCHYARD_ENGINE_DIR=/data/engine
ENV HOME=/data
ENV NEXT_TELEMETRY_DISABLED=1
USER 10001:10001
VOLUME ["/data"]
EXPOSE 3000
HEALTHCHECK --interval=15s --timeout=5s --start-period=60s --retries=3 CMD ["node", "-e", "fetch('http://127.0.0.1:'+process.env.PORT+process.env.BASE_PATH+'/api/health').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]
ENTRYPOINT ["/usr/bin/tini", "--"]
CMD ["node", "server.js"]
