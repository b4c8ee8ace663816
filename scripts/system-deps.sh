#!/usr/bin/env bash
# Debian packages the test suite needs: a real browser for the published pages,
# a real PostgreSQL + PostGIS for the PostGIS store, and Noto fonts so maps and
# charts draw district names in Myanmar, Thai, Khmer and Lao script (DejaVu has
# Latin and Vietnamese only; without Noto the maps fall back to it quietly). Installed once; a
# machine that already has them pays nothing.
set -euo pipefail

need=()
command -v chromium >/dev/null 2>&1 || need+=(chromium)
ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || need+=(postgresql)
ls /usr/share/postgresql/*/extension/postgis.control >/dev/null 2>&1 || need+=(postgresql-15-postgis-3)
ls /usr/share/fonts/truetype/noto/NotoSansMyanmar-Regular.ttf >/dev/null 2>&1 || need+=(fonts-noto-core)

if [ ${#need[@]} -eq 0 ]; then
  exit 0
fi

echo "installing system packages for the tests: ${need[*]}"
SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1; then SUDO="sudo"; else
    echo "need root (or sudo) to apt-get install ${need[*]}" >&2; exit 1
  fi
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
echo "installed: ${need[*]}"
