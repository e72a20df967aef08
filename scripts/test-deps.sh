#!/usr/bin/env bash
# Install the system packages the tests need (Debian), only those that are missing.
#
#   scripts/test-deps.sh            everything `make test` needs
#   scripts/test-deps.sh node ...   only the named groups: node postgresql redis chromium make venv
#
# As root it runs `apt-get update` once, then `apt-get install -y --no-install-recommends`.
# Otherwise it stops at once and prints the exact command to run. Used by `make test`,
# `make web` (node only) and `.ci/run`.
set -euo pipefail

groups=("$@")
[ ${#groups[@]} -gt 0 ] || groups=(make venv node postgresql redis chromium)

missing=()
for group in "${groups[@]}"; do
  case "$group" in
    make) command -v make >/dev/null || missing+=(make) ;;
    # `python3 -m venv` needs ensurepip, which Debian ships separately.
    venv) python3 -c 'import ensurepip' 2>/dev/null || missing+=(python3-venv) ;;
    # Node.js and npm build the dashboard's bundle (make web).
    node) { command -v node >/dev/null && command -v npm >/dev/null; } || missing+=(nodejs npm) ;;
    # PostgreSQL server binaries: the tests start a throwaway cluster of their own.
    postgresql) compgen -G "/usr/lib/postgresql/*/bin/initdb" >/dev/null || missing+=(postgresql) ;;
    # Redis for the scale-out tests (event bus, job queue, shared rate limits).
    redis) command -v redis-server >/dev/null || missing+=(redis-server) ;;
    # Headless Chromium for the browser tests (Playwright drives Debian's build).
    chromium) [ -x "${ORX_CHROMIUM:-/usr/bin/chromium}" ] || missing+=(chromium) ;;
    *) echo "test-deps: unknown group '$group'" >&2; exit 2 ;;
  esac
done

[ ${#missing[@]} -eq 0 ] && exit 0

install=(apt-get install -y --no-install-recommends "${missing[@]}")
if [ "$(id -u)" != 0 ]; then
  echo "test-deps: missing Debian packages: ${missing[*]}" >&2
  echo "test-deps: install them as root, then run make again:" >&2
  echo "  sudo apt-get update && sudo ${install[*]}" >&2
  exit 1
fi
echo "test-deps: installing Debian packages: ${missing[*]}"
apt-get update -q
DEBIAN_FRONTEND=noninteractive "${install[@]}"
