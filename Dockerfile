# taizhang: the build stage installs every dependency (compiling better-sqlite3's native module),
# compiles src/ to dist/ and drops the dev dependencies; the runtime stage carries only what runs
# (dist, bin, templates, the example config, production node_modules), as the unprivileged `node`
# user, with state on a volume.
FROM node:20-bookworm-slim AS build
WORKDIR /app
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 make g++ \
 && rm -rf /var/lib/apt/lists/*
COPY package.json package-lock.json ./
# Dependencies first, so this layer is reused while the lock file is unchanged. Our own prepare
# script (a build) needs the sources, so scripts are skipped here and better-sqlite3's is run alone.
RUN npm ci --ignore-scripts && npm rebuild better-sqlite3
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
RUN npm run build && npm prune --omit=dev --ignore-scripts

FROM node:20-bookworm-slim
ENV NODE_ENV=production TZ=Asia/Shanghai
WORKDIR /app
COPY --from=build /app/package.json ./
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY bin ./bin
COPY templates ./templates
COPY config/taizhang.example.yaml ./config/
RUN mkdir -p /data /config && chown node:node /data
USER node
VOLUME ["/data"]
# Mount the config at /config/taizhang.yaml with `data_dir: /data`, and pass the mailbox
# authorization code as TAIZHANG_MAIL_PASSWORD.
ENTRYPOINT ["node", "/app/bin/taizhang", "--config", "/config/taizhang.yaml"]
CMD ["run"]
