#!/usr/bin/env bash
# Measures what JWT_REVOCATION_CHECK costs: the latency and throughput of GET / with a valid
# token under `wrangler dev` (local D1), with the check off and on. Needs wrk (apt-get install wrk).
# Loopback only; each run is bounded (DURATION seconds). Usage: bash bench/revocation-check.sh
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PWD/node_modules/.bin:$PATH" # Node 22 from the devDependency
port=${PORT:-$(node scripts/free-port.ts)}
duration=${DURATION:-10}
base="http://localhost:$port"
command -v wrk >/dev/null || { echo "wrk is not installed: apt-get install wrk"; exit 1; }

server=
stop() { [ -n "$server" ] && { kill -TERM -- "-$server" 2>/dev/null || true; wait "$server" 2>/dev/null || true; }; server=; }
trap stop EXIT

start() { # extra wrangler args...
  # Only our own server counts: the port must be free, and our npm start must stay up.
  node scripts/free-port.ts --check "$port" || { echo "port $port is already in use"; exit 1; }
  setsid npm start -- --port "$port" "$@" >/tmp/bench-dev.log 2>&1 &
  server=$!
  for _ in $(seq 1 90); do
    kill -0 "$server" 2>/dev/null || { echo "npm start exited"; tail -20 /tmp/bench-dev.log; exit 1; }
    curl -sf "$base/" >/dev/null 2>&1 && return
    sleep 1
  done
  echo "wrangler dev did not start"; tail -20 /tmp/bench-dev.log; exit 1
}

user="bench_$(date +%s)"
npm run -s createsuperuser -- --username "$user" --password bench-pass-123 >/dev/null
for check in false true; do
  start --var "JWT_REVOCATION_CHECK:$check"
  token=$(curl -s -X POST -H 'Content-Type: application/json' -d "{\"username\":\"$user\",\"password\":\"bench-pass-123\"}" "$base/api-auth/" |
    node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>console.log(JSON.parse(s).token))')
  curl -sf -H "Authorization: Bearer $token" "$base/" >/dev/null
  wrk -t1 -c1 -d2s -H "Authorization: Bearer $token" "$base/" >/dev/null # warm-up
  echo "== JWT_REVOCATION_CHECK=$check: GET / with a token, 1 connection, ${duration}s"
  wrk -t1 -c1 -d"${duration}s" --latency -H "Authorization: Bearer $token" "$base/" | grep -E "Latency|50%|99%|Requests/sec"
  stop
done
