#!/usr/bin/env bash
# Installs the Debian packages the tests use when they are missing (npm test runs this first),
# so `npm ci && npm test` works on a fresh machine and in CI. Needs root (or sudo) only when
# something is missing.
set -euo pipefail
need=()
command -v mosquitto_pub >/dev/null 2>&1 || need+=(mosquitto-clients)
((${#need[@]} == 0)) && exit 0
echo "test-deps: installing ${need[*]}" >&2
sudo=()
[[ $(id -u) -eq 0 ]] || sudo=(sudo)
"${sudo[@]}" apt-get update -qq
DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
