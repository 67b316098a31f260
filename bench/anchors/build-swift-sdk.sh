#!/usr/bin/env bash
# Builds the Swift SDK anchor (bench/anchors/swift-sdk-server) against a patched copy of the
# official MCP Swift SDK 0.12.1, prepared outside the repository: the SDK's manifest names
# swift-docc-plugin on branch `main` and ships a Package.resolved with revisions a package
# mirror may lack, so the copy drops both. None of the SDK's files are committed here.
#   bench/anchors/build-swift-sdk.sh        prints the path of the built executable
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
SDK_VERSION=${SWIFT_SDK_VERSION:-0.12.1}
DIR=${SWIFT_SDK_ANCHOR_DIR:-${TMPDIR:-/tmp}/switchyard-swift-sdk-anchor}
mkdir -p "$DIR"
if [ ! -d "$DIR/swift-sdk/.git" ]; then
  rm -rf "$DIR/swift-sdk"
  git clone -q --depth 1 --branch "$SDK_VERSION" https://github.com/modelcontextprotocol/swift-sdk "$DIR/swift-sdk" >&2
  rm -f "$DIR/swift-sdk/Package.resolved"
  sed -i '/swift-docc-plugin/d' "$DIR/swift-sdk/Package.swift"
fi
mkdir -p "$DIR/anchor/Sources"
sed "s|@SDK_PATH@|$DIR/swift-sdk|" "$here/swift-sdk-server/Package.swift.template" > "$DIR/anchor/Package.swift"
cp "$here/swift-sdk-server/main.swift" "$DIR/anchor/Sources/main.swift"
(cd "$DIR/anchor" && swift build -c release >&2)
echo "$DIR/anchor/.build/release/swift-sdk-anchor"
