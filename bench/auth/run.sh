#!/bin/sh
# Builds the Security target in release and this benchmark against it, then prints the cost of
# each way a bearer token is authenticated (µs per operation). Run from the repository root:
#   sh bench/auth/run.sh
set -eu
swift build -c release --target Security >/dev/null
bin=$(swift build -c release --show-bin-path)
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
swiftc -O -swift-version 6 -module-name AuthBench bench/auth/main.swift \
  -I "$bin/Modules" -I "$bin" \
  -Xcc -fmodule-map-file=CSupport/shims/COpenSSL/module.modulemap \
  -Xcc -fmodule-map-file="$bin/CSupport.build/module.modulemap" -Xcc -ICSupport/core/include \
  "$bin"/Security.build/*.o "$bin"/MCPCore.build/*.o "$bin"/CSupport.build/*.o \
  -luv -lssl -lcrypto -o "$out/auth-bench"
"$out/auth-bench"
