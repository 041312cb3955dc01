# taizhang: build stage compiles TypeScript and the native SQLite module; the runtime stage
# carries only what runs, as the unprivileged `node` user, with state on a volume.
FROM node:20-bookworm-slim AS build
WORKDIR /app
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 make g++ \
 && rm -rf /var/lib/apt/lists/*
COPY package.json package-lock.json tsconfig.json ./
COPY src ./src
RUN npm ci && npm prune --omit=dev

FROM node:20-bookworm-slim
ENV NODE_ENV=production TZ=Asia/Shanghai
WORKDIR /app
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY package.json ./
COPY bin ./bin
COPY templates ./templates
COPY config/taizhang.example.yaml ./config/
RUN mkdir -p /data /config && chown node:node /data
USER node
VOLUME ["/data"]
# Mount the config at /config/taizhang.yaml with `data_dir: /data`, and pass the mailbox
# authorization code as TAIZHANG_MAIL_PASSWORD.
ENTRYPOINT ["/app/bin/taizhang", "--config", "/config/taizhang.yaml"]
CMD ["run"]
