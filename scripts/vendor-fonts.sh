#!/usr/bin/env bash
# Vendor PT Sans (ParaType, SIL Open Font License 1.1; the Google Fonts release, packaged on npm as
# @expo-google-fonts/pt-sans) into edutrack/fonts/, which the PDF report cards embed.
# Usage: bash scripts/vendor-fonts.sh [VERSION]
set -euo pipefail
cd "$(dirname "$0")/.."
version="${1:-0.4.1}"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
(cd "$work" && npm pack --silent "@expo-google-fonts/pt-sans@$version" >/dev/null && tar xzf expo-google-fonts-pt-sans-*.tgz)
dest=edutrack/fonts
mkdir -p "$dest"
cp "$work/package/400Regular/PTSans_400Regular.ttf" "$dest/PTSans-Regular.ttf"
cp "$work/package/700Bold/PTSans_700Bold.ttf" "$dest/PTSans-Bold.ttf"
cp "$work/package/LICENSE_FONT" "$dest/OFL.txt"
echo "vendored PT Sans from @expo-google-fonts/pt-sans@$version into $dest"
