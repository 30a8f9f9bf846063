#!/bin/sh
# Starts the service: the Node server when the image has node (the default node base image), else
# busybox httpd serving the /health and /version documents written at build time (a busybox-only
# base, as offline builds and tests use).
set -eu
if command -v node >/dev/null 2>&1; then
  exec node /app/src/server.js
fi
echo "node is not in this image: serving the static /health and /version on :${PORT:-8080} with busybox httpd"
exec httpd -f -p "${PORT:-8080}" -h /app/public
