#!/usr/bin/env bash
# Fails when the deployable bundle (wrangler's own minified build) is over the budget, 280 KiB gzip,
# or when its size cannot be read at all. The budget was 150 KiB until passkeys: @simplewebauthn/server
# brings ~110 KiB gzip (its certificate parsing, asn1js and @peculiar/x509, does not tree-shake),
# imported on first use so no other request evaluates it. 260 until the OpenID Connect provider,
# whose endpoints, checks and token kinds add ~9 KiB. Cloudflare's own limit is 3 MiB (free plan).
# Usage: bash scripts/check-bundle-size.sh   (CI runs it)
set -euo pipefail
cd "$(dirname "$0")/.."
budget_kib=${BUDGET_KIB:-280}
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
WRANGLER_SEND_METRICS=false npx wrangler deploy --dry-run --minify --outdir "$out" >"$out/log" 2>&1 || { cat "$out/log"; exit 1; }
line=$(grep -o 'Total Upload: .*' "$out/log" || true)
gzip_kib=$(sed -n 's/.*gzip: \([0-9][0-9.]*\) KiB.*/\1/p' <<<"$line")
if [[ ! "$gzip_kib" =~ ^[0-9]+(\.[0-9]+)?$ ]]; then
  echo "could not read the bundle size from wrangler's output:"; cat "$out/log"; exit 1
fi
echo "bundle: $line (budget ${budget_kib} KiB gzip)"
awk -v size="$gzip_kib" -v budget="$budget_kib" 'BEGIN { exit !(size <= budget) }' || { echo "bundle is over budget"; exit 1; }
