#!/usr/bin/env bash
# Fetch the studio's canvas library (Drawflow, MIT) from npm into a git-ignored folder that
# ships as package data: the page then works offline, and no third-party code is committed.
# Run by `make setup` (target studio-assets) and the Dockerfile.  Usage: fetch_assets.sh [DEST]
set -euo pipefail
PACKAGE="drawflow@0.0.60"
# `npm view drawflow@0.0.60 dist.integrity`: a different tarball is refused.
INTEGRITY="sha512-UGj1+1DnWCVY6vJXBb6Ayt7KpPINBGqncVqpYDumVeBdIKxlBGn0tksp2yciVzQjkYsjFwMMDEdoVyWzUa2wkA=="
DEST="${1:-$(dirname "$0")/static/vendor}"

if ! command -v npm >/dev/null; then
  echo "error: npm is needed to fetch $PACKAGE for nlpfactory studio" >&2
  echo "  fix: install Node.js and npm (Debian: apt-get install -y npm), then rerun $0" >&2
  exit 1
fi
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
(cd "$work" && npm pack --silent "$PACKAGE" >/dev/null)
tarball="$(ls "$work"/*.tgz)"
actual="sha512-$(node -e 'const c=require("crypto"),f=require("fs");process.stdout.write(c.createHash("sha512").update(f.readFileSync(process.argv[1])).digest("base64"))' "$tarball")"
if [ "$actual" != "$INTEGRITY" ]; then
  echo "error: $PACKAGE tarball integrity $actual does not match the pinned $INTEGRITY" >&2
  exit 1
fi
tar -xzf "$tarball" -C "$work" package/dist/drawflow.min.js package/dist/drawflow.min.css package/LICENSE
mkdir -p "$DEST"
cp "$work/package/dist/drawflow.min.js" "$work/package/dist/drawflow.min.css" "$DEST/"
cp "$work/package/LICENSE" "$DEST/drawflow.LICENSE"
echo "$PACKAGE (integrity checked) -> $DEST"
