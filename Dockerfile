# syntax=docker/dockerfile:1
# qindex-mcp for the HTTP modes: `serve --transport http --auth bearer`, many users, each request with
# its user's JWT (docs/http.md). The configuration is a mounted file (/config/config.json) plus
# QINDEX_* and AWS_* environment variables; README "Container" has the docker run and Compose lines.
# (Local one-user mode binds loopback only, which a container port cannot publish: run it natively.)

# Build: the full dependency tree to compile, then only the production dependencies the lock pins.
FROM node:22-slim AS build
WORKDIR /src
COPY package.json package-lock.json ./
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY tools/build-cli.ts ./tools/
COPY src ./src
RUN npm run build && npm prune --omit=dev --ignore-scripts --no-audit --no-fund

# Runtime: the built CLI and its production node_modules, as an unprivileged user.
FROM node:22-slim
LABEL io.modelcontextprotocol.server.name="io.github.qindex-mcp/qindex-mcp" \
      org.opencontainers.image.title="qindex-mcp" \
      org.opencontainers.image.description="MCP server for an Amazon Q Business index, under each user's own permissions" \
      org.opencontainers.image.licenses="Apache-2.0"
ENV NODE_ENV=production \
    QINDEX_CONFIG=/config/config.json
WORKDIR /app
COPY --from=build /src/package.json ./
COPY --from=build /src/node_modules ./node_modules
COPY --from=build /src/dist/src ./dist/src
COPY schema/config.schema.json ./schema/
# The node image's own unprivileged user (uid 1000); nothing here is writable by it.
USER node
EXPOSE 8765
# 503 while draining on SIGTERM, so a load balancer stops sending before the replica exits.
HEALTHCHECK --interval=15s --timeout=5s --start-period=10s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:8765/healthz').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
ENTRYPOINT ["node", "dist/src/cli.js"]
CMD ["serve", "--transport", "http", "--auth", "bearer", "--host", "0.0.0.0", "--port", "8765"]
