#!/usr/bin/env bash
# Vendor Swagger UI (npm swagger-ui-dist) into static/swagger-ui/, which /docs serves with no CDN.
# Usage: bash scripts/vendor-swagger-ui.sh [VERSION]   (default: the latest 5.x)
set -euo pipefail
cd "$(dirname "$0")/.."
version="${1:-5}"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
(cd "$work" && npm pack --silent "swagger-ui-dist@$version" >/dev/null && tar xzf swagger-ui-dist-*.tgz)
dest=static/swagger-ui
rm -rf "$dest"
mkdir -p "$dest"
# The bundle, its stylesheet and icons, and the licence texts; not the source maps (7 MB, for debugging only).
for file in swagger-ui-bundle.js swagger-ui-bundle.js.LICENSE.txt swagger-ui.css favicon-16x16.png favicon-32x32.png \
            LICENSE NOTICE package.json; do
  cp "$work/package/$file" "$dest/$file"
done
# The maps are not shipped: drop the comments that would make browser tools ask for them.
sed -i '/^\/\/# sourceMappingURL=/d' "$dest/swagger-ui-bundle.js"
sed -i 's#/\*\# sourceMappingURL=[^*]*\*/##' "$dest/swagger-ui.css"
echo "vendored swagger-ui-dist $(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["version"])' "$dest/package.json") into $dest"
