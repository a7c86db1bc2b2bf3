# Quicksilver in a container: docker build -t quicksilver . (docs/operations.md#docker)

# Compile the TypeScript sources to dist/.
FROM node:24-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
# `npm install` honours package-lock.json; `npm ci` refuses this lock because npm records only the
# host platform's optional Biome binary in it.
RUN npm install --no-audit --no-fund --ignore-scripts
COPY tsconfig.json tsconfig.build.json ./
COPY scripts/node24.js ./scripts/
COPY src ./src
RUN npm run build

# The dependencies the hub runs with, and nothing else.
FROM node:24-slim AS production-dependencies
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm install --omit=dev --no-audit --no-fund --ignore-scripts

FROM node:24-slim
WORKDIR /app
COPY --from=production-dependencies /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY package.json ./
COPY bin ./bin
COPY ui ./ui
COPY packaging/healthcheck.js ./healthcheck.js
RUN ln -s /app/bin/quicksilver.js /usr/local/bin/quicksilver \
  && mkdir /data && chown node:node /data

# The history store (sqlite) lives on the volume, so updates survive a new container.
ENV MERCURE_DATA_DIR=/data
VOLUME /data

# The reference hub's image takes its address from SERVER_NAME (":80"); this one listens on 3000,
# which a user that is not root may bind everywhere (Kubernetes included). SERVER_NAME=:80 or
# MERCURE_LISTEN override it.
ENV SERVER_NAME=:3000
EXPOSE 3000

# The image's own unprivileged user (uid 1000), never root.
USER node

HEALTHCHECK --interval=10s --timeout=5s --start-period=10s --retries=3 CMD ["node", "/app/healthcheck.js"]

# The hub ends streams cleanly on SIGTERM (docker stop) within --shutdown-timeout (10 s; with
# --workers, 5 s more for a busy worker): give `docker stop` longer than that (`--time 20`,
# compose's stop_grace_period).
STOPSIGNAL SIGTERM
ENTRYPOINT ["quicksilver"]
CMD ["serve"]
