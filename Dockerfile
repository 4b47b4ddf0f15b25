# One image for every tsx service of the lab (topic-init, producer, consumer,
# dlq-service); compose.yaml picks the entrypoint with `command`.
# Node 24, the major the project targets (package.json engines, .nvmrc).
FROM node:24.21.0-slim

ENV NODE_ENV=production
WORKDIR /app

# Dependencies first, from the lockfile only, so a code change reuses this
# layer. tsx is a runtime dependency: the services run from TypeScript source.
COPY package.json package-lock.json ./
# npm ci's postinstall applies services/lib/patches (patch-package):
# kafkajs's read_committed filter fixed, see the README there.
COPY services/lib/patches ./services/lib/patches
RUN npm ci --omit=dev --no-audit --no-fund && npm cache clean --force

COPY tsconfig.json ./
COPY schemas ./schemas
COPY services ./services

# The files stay root-owned and read-only to the service; the node user (uid
# 1000, from the base image) only runs them. It owns the DLQ archive's
# directory, which compose.yaml mounts a named volume on (a new volume takes
# the directory's owner).
RUN mkdir -p /var/lib/dlq-service && chown node:node /var/lib/dlq-service
USER node

# Signals reach node directly (exec form); compose adds an init for reaping.
ENTRYPOINT ["node", "--import", "tsx"]
CMD ["services/consumer/main.ts"]
