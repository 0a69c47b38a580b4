#!/usr/bin/env bash
# Vendor axe-core (npm) into tests/e2e/vendor/: the Chromium tests inject it into every page and fail on serious or
# critical accessibility violations. Test-only: nothing under static/ serves it.
# Usage: bash scripts/vendor-axe-core.sh [VERSION]   (default: the latest 4.x)
set -euo pipefail
cd "$(dirname "$0")/.."
version="${1:-4}"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
(cd "$work" && npm pack --silent "axe-core@$version" >/dev/null && tar xzf axe-core-*.tgz)
dest=tests/e2e/vendor
mkdir -p "$dest"
cp "$work/package/axe.min.js" "$dest/axe.min.js"
cp "$work/package/LICENSE" "$dest/axe-core.LICENSE"
python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["version"])' "$work/package/package.json" \
  > "$dest/axe-core.VERSION"
echo "vendored axe-core $(cat "$dest/axe-core.VERSION") into $dest"
