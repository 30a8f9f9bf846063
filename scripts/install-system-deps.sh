#!/usr/bin/env bash
# Installs the Debian packages the tests and the demo need, when they are missing.
# As root it installs them with apt-get; otherwise it prints the exact command to run.
set -euo pipefail

declare -A want=(
  [buildah]=buildah
  [docker-registry]=docker-registry
  [busybox]=busybox-static
  [diff]=diffutils
  [openssl]=openssl
  [htpasswd]=apache2-utils
  [prometheus]=prometheus
  [jq]=jq
)

missing=()
for cmd in "${!want[@]}"; do
  if ! command -v "$cmd" >/dev/null 2>&1; then
    missing+=("${want[$cmd]}")
  fi
done
# busybox must be the static build: it is copied into an image with no libc.
if command -v busybox >/dev/null 2>&1 && ldd "$(command -v busybox)" >/dev/null 2>&1; then
  missing+=(busybox-static)
fi

if [ ${#missing[@]} -eq 0 ]; then
  echo "system packages: all present"
  exit 0
fi

mapfile -t missing < <(printf '%s\n' "${missing[@]}" | sort -u)
if [ "$(id -u)" -ne 0 ]; then
  echo "Missing system packages: ${missing[*]}" >&2
  echo "Install them with: sudo apt-get update && sudo apt-get install -y ${missing[*]}" >&2
  exit 1
fi
echo "installing system packages: ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
# The packages are tools for the tests, not services of this machine: stop their maintainer scripts
# from starting daemons (prometheus' would listen on :9090), unless a policy is already in place.
policy=/usr/sbin/policy-rc.d
if [ ! -e "$policy" ]; then
  printf '#!/bin/sh\nexit 101\n' >"$policy"
  chmod 755 "$policy"
  trap 'rm -f "$policy"' EXIT
fi
apt-get update -qq
apt-get install -y -qq "${missing[@]}"
