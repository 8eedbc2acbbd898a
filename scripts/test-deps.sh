#!/usr/bin/env bash
# Installs the Debian packages the tests use when they are missing (npm test runs this first),
# so `npm ci && npm test` works on a fresh machine and in CI. Needs root (or sudo) only when
# something is missing.
set -euo pipefail
need=()
command -v mosquitto_pub >/dev/null 2>&1 || need+=(mosquitto-clients)
# the product documentation's PHP callback receivers (test/php-receivers.test.ts)
command -v php >/dev/null 2>&1 || need+=(php-cli)
# the admin panel's browser tests (test/admin.test.ts): Debian's chromium, never a download
[[ -x /usr/bin/chromium ]] || need+=(chromium)
((${#need[@]} == 0)) && exit 0
echo "test-deps: installing ${need[*]}" >&2
sudo=()
[[ $(id -u) -eq 0 ]] || sudo=(sudo)
"${sudo[@]}" apt-get update -qq
DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
