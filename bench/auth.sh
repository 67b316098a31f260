#!/usr/bin/env bash
# JWT authentication on vs off, same binary, side by side (bench/ab.sh): closed-loop echo at
# CONNS sessions, every request carrying the same RS256 bearer token (so the on side pays the
# token cache's hash and lookup per request, and one signature check per token). Target (issue:
# security): auth on >= 0.9x auth off. The load generator shares the cores: compare ratios.
#   bench/auth.sh [rounds]     (env: CONNS=3000 DURATION=10, BIN=.build/release/switchyard)
#   bench/auth.sh callgrind    instructions per call at the front, off then on (bench/callgrind.sh)
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${BIN:-.build/release/switchyard}
PY=${PY:-.venv/bin/python}
work=$(mktemp -d /tmp/switchyard-auth-XXXXXX)
trap 'rm -rf "$work"' EXIT
# A key pair, its JWKS, a policy and a token valid for an hour: made here, never committed.
"$PY" - "$work" <<'PY'
import base64, json, sys, time
import jwt
from cryptography.hazmat.primitives.asymmetric import rsa
work = sys.argv[1]
key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
pub = key.public_key().public_numbers()
b64 = lambda n: base64.urlsafe_b64encode(n.to_bytes((n.bit_length() + 7) // 8, "big")).rstrip(b"=").decode()
json.dump({"keys": [{"kty": "RSA", "kid": "bench", "alg": "RS256", "n": b64(pub.n), "e": b64(pub.e)}]},
          open(f"{work}/jwks.json", "w"))
json.dump({"defaultScopes": ["mcp:tools"]}, open(f"{work}/policy.json", "w"))
now = int(time.time())
token = jwt.encode({"iss": "https://auth.bench", "aud": "https://mcp.bench/mcp", "sub": "bench", "iat": now,
                    "exp": now + 3600, "scope": "mcp:tools"}, key, algorithm="RS256", headers={"kid": "bench"})
open(f"{work}/headers", "w").write(f"Authorization: Bearer {token}\n")
PY
auth=(--auth-issuer https://auth.bench --auth-audience https://mcp.bench/mcp --auth-jwks "$work/jwks.json"
      --policy "$work/policy.json")
if [ "${1:-}" = callgrind ]; then
  GEN_ARGS="--headers-file $work/headers" bench/callgrind.sh "$BIN"
  GEN_ARGS="--headers-file $work/headers" bench/callgrind.sh "$BIN" "${auth[@]}"
  exit
fi
A_ARGS="" B_ARGS="${auth[*]}" GEN_ARGS="--headers-file $work/headers" bench/ab.sh "$BIN" "$BIN" "${1:-5}"
