#!/usr/bin/env bash
# End-to-end check of the README's set-up as a new user runs it: `npm start -- --port N` on a
# fresh clone (N free, chosen by the OS unless given), the tutorial's calls with curl, and
# `npm run createsuperuser` while it runs; then that npm start refuses a busy port and a bad setting.
# Usage: bash scripts/smoke-test.sh [port]   (stops the server it started; bounded to ~3 minutes)
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PWD/node_modules/.bin:$PATH" # Node 22 from the devDependency, as npm scripts use
port=${1:-$(node scripts/free-port.ts)}
base="http://localhost:$port"
log=$(mktemp)
passed=0
failed=0

server=
stop_server() { [ -n "$server" ] && { kill -TERM -- "-$server" 2>/dev/null || true; wait "$server" 2>/dev/null || true; }; server=; }
trap 'stop_server; rm -f "$log"' EXIT

# Only the server this script starts counts: the port must be free before it starts, and if
# npm start exits, nothing else may answer for it.
start_server() { # extra npm start arguments...
  node scripts/free-port.ts --check "$port" || { echo "port $port is already in use: the server there is not ours"; exit 1; }
  setsid npm start -- --port "$port" "$@" >"$log" 2>&1 &
  server=$!
  for _ in $(seq 1 90); do
    kill -0 "$server" 2>/dev/null || { echo "npm start exited:"; tail -30 "$log"; exit 1; }
    curl -sf "$base/" >/dev/null 2>&1 && return
    sleep 1
  done
  echo "npm start did not serve $base within 90 s:"; tail -30 "$log"; exit 1
}
start_server

check() { # name, expected substring, actual
  if [[ "$3" == *"$2"* ]]; then passed=$((passed + 1)); echo "ok   $1"; else failed=$((failed + 1)); echo "FAIL $1: expected $2 in: $3"; fi
}
absent() { # name, forbidden substring, actual
  if [[ "$3" != *"$2"* ]]; then passed=$((passed + 1)); echo "ok   $1"; else failed=$((failed + 1)); echo "FAIL $1: found $2 in: $3"; fi
}
json() { node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>console.log(JSON.parse(s)[process.argv[1]]))' "$1"; }
post() { curl -s -X POST -H 'Content-Type: application/json' -d "$2" "$base$1"; }

user="smoke_$(date +%s)_$RANDOM"
registered=$(post /api-register/ "{\"username\":\"$user\",\"password\":\"your_pass\",\"email\":\"$user@example.com\"}")
check "register answers a confirmation_url on the chosen port" "\"confirmation_url\":\"$base/api-activate/" "$registered"
check "activate by the confirmation_url" '["User Activated"]' "$(curl -s "$(json confirmation_url <<<"$registered")")"
obtained=$(post /auth/obtain_token "{\"username\":\"$user\",\"password\":\"your_pass\"}")
check "obtain a token" '"token":"ey' "$obtained"
token=$(json token <<<"$obtained")
check "refresh the token" '"token":"ey' "$(post /auth/refresh_token/ "{\"token\":\"$token\"}")"
check "verify the token" "\"token\":\"$token\"" "$(post /auth/verify_token/ "{\"token\":\"$token\"}")"
check "use the token with the JWT prefix" '"register"' "$(curl -s -H "Authorization: JWT $token" "$base/")"

task=$(curl -s -X POST -H 'Content-Type: application/json' -H "Authorization: Bearer $token" \
  -d '{"title":"Next one","due_to":"2016-10-18T19:12:01Z"}' "$base/tasks/")
check "create a task with the token" '"title":"Next one"' "$task"
check "list the tasks" '"count":' "$(curl -s "$base/tasks/")"
check "the OpenAPI document" '"openapi":"3.1.0"' "$(curl -s "$base/openapi.json")"
check "an app path without a browser's navigation headers answers the app" '<div id="app"></div>' "$(curl -s "$base/app/tasks/5")"
check "the docs page loads Swagger UI from our own files" 'src="/app/docs/swagger-ui-bundle.js"' "$(curl -s "$base/docs")"
check "... which npm start serves" 'SwaggerUIBundle' "$(curl -s "$base/app/docs/swagger-ui-bundle.js" | head -c 300000)"
check "a request id on every response" 'x-request-id:' "$(curl -s -D - -o /dev/null "$base/" | tr 'A-Z' 'a-z')"

admin="admin_$(date +%s)_$RANDOM"
created=$(npm run -s createsuperuser -- --username "$admin" --email admin@example.com --password admin-pass 2>&1 || true)
check "createsuperuser while npm start runs" "Superuser \"$admin\" created." "$created"
check "the superuser logs in" '"token":"ey' "$(post /api-auth/ "{\"username\":\"$admin\",\"password\":\"admin-pass\"}")"
again=$(npm run -s createsuperuser -- --username "$admin" --password other-pass 2>&1 && echo "exit 0" || echo "exit $?")
check "createsuperuser refuses a taken username" "That username is already taken." "$again"
check "... and exits with an error" "exit 1" "$again"
admin_token=$(post /api-auth/ "{\"username\":\"$admin\",\"password\":\"admin-pass\"}" | json token)
client=$(npm run -s oauth-client -- create --name "Smoke app" --redirect-uri https://smoke.example/cb 2>&1 || true)
check "oauth-client create while npm start runs: the secret shown once" '"client_secret": "' "$client"
client_id=$(sed -n 's/.*"client_id": "\([^"]*\)".*/\1/p' <<<"$client")
check "... and the staff routes list it" "\"client_id\":\"$client_id\"" "$(curl -s -H "Authorization: Bearer $admin_token" "$base/oauth/clients/")"
remote_path=$(npm run -s oauth-client -- list --wrangler-local 2>&1 || true)
check "oauth-client through wrangler (the path of --remote) lists it too" "\"client_id\": \"$client_id\"" "$remote_path"
deleted=$(npm run -s oauth-client -- delete "$client_id" --wrangler-local 2>&1 || true)
check "oauth-client delete through wrangler" "Deleted client $client_id" "$deleted"
check "... and the staff routes no longer list it" '[]' "$(curl -s -H "Authorization: Bearer $admin_token" "$base/oauth/clients/" | grep -o "$client_id" || echo '[]')"

second=$(timeout 60 npm start -- --port "$port" 2>&1 && echo "exit 0" || echo "exit $?")
check "a second npm start on the same port refuses, naming the port" "port $port is already in use" "$second"
check "... and exits with an error" "exit 1" "$second"
misconfigured=$(timeout 60 npm -s start -- --port "$(node scripts/free-port.ts)" --var JWT_LEEWAY:secret-looking-value 2>&1 || true)
check "npm start refuses a bad setting, naming it" "npm start: JWT_LEEWAY must be a duration" "$misconfigured"
absent "... without echoing its value" "secret-looking-value" "$misconfigured"

refused=$(timeout 120 npm run -s deploy -- --dry-run --var JWT_ALGORITHM:secret-looking-value 2>&1 || true)
check "npm run deploy refuses a bad setting before wrangler runs" "npm run deploy: JWT_ALGORITHM must be one of" "$refused"
absent "... without echoing its value" "secret-looking-value" "$refused"

# The account lifecycle by email, as a developer clicks through it: npm start in email mode, each
# link read from the local outbox (wrangler dev keeps every message; scripts/outbox.ts reads it).
stop_server
port=$(node scripts/free-port.ts)
base="http://localhost:$port"
start_server --var ACTIVATION_DELIVERY:email
mailed="mailed_$(date +%s)_$RANDOM"
address="$mailed@example.com"
registered=$(post /api-register/ "{\"username\":\"$mailed\",\"password\":\"your_pass\",\"email\":\"$address\"}")
check "email mode: register answers without the link" '"detail":"Check your email' "$registered"
link=$(node scripts/outbox.ts "$base" "$address" /app/activate/ 2>&1 || true)
check "email mode: the outbox holds the app's activation link" "$base/app/activate/ey" "$link"
check "email mode: the app's confirm page POSTs the token" '["User Activated"]' "$(post /api-activate/ "{\"token\":\"${link##*/}\"}")"
check "email mode: the user logs in" '"token":"ey' "$(post /api-auth/ "{\"username\":\"$mailed\",\"password\":\"your_pass\"}")"
check "password reset: the same answer for any address" '"detail":"If an account uses that email' "$(post /auth/password/reset/ "{\"email\":\"$address\"}")"
link=$(node scripts/outbox.ts "$base" "$address" /app/password-reset/ 2>&1 || true)
check "password reset: the outbox holds the reset link" "$base/app/password-reset/ey" "$link"
check "password reset: confirm sets the new password" '"detail":"Your password has been set' \
  "$(post /auth/password/reset/confirm/ "{\"token\":\"${link##*/}\",\"new_password\":\"a new passphrase\"}")"
token=$(json token <<<"$(post /api-auth/ "{\"username\":\"$mailed\",\"password\":\"a new passphrase\"}")")
check "password reset: the user logs in with the new password" "ey" "$token"
admin="admin_$(date +%s)_$RANDOM"
npm run -s createsuperuser -- --username "$admin" --email admin@example.com --password admin-pass >/dev/null 2>&1 || true
staff=$(json token <<<"$(post /api-auth/ "{\"username\":\"$admin\",\"password\":\"admin-pass\"}")")
user_id=$(json user_id <<<"$(node -e 'console.log(Buffer.from(process.argv[1].split(".")[1], "base64url").toString())' "$token")")
deactivated=$(curl -s -X PATCH -H 'Content-Type: application/json' -H "Authorization: Bearer $staff" -d '{"is_active":false}' "$base/users/$user_id/")
check "staff deactivate the account" '"is_active":false' "$deactivated"
check "... whose tokens then stop refreshing" 'User account is disabled.' "$(post /auth/refresh_token/ "{\"token\":\"$token\"}")"

# Moving in from Django: the tutorial's dump (made by Django 3.2) into a new database through
# wrangler's CLI, the path --remote takes, then its users logging in with their Django passwords.
stop_server
django_db=$(mktemp -d)
trap 'stop_server; rm -f "$log"; rm -rf "$django_db"' EXIT
dump=test/fixtures/django-tutorial-dump.json
imported=$(npm run -s import-django -- "$dump" --persist-to "$django_db" --wrangler-local 2>&1 || true)
check "import-django: the tutorial's dump, through wrangler's CLI" "Imported 6 users and 6 tasks" "$imported"
again=$(npm run -s import-django -- "$dump" --persist-to "$django_db" --wrangler-local 2>&1 || true)
check "... a second time changes nothing, and says so" "Nothing to import: 6 users and 6 tasks" "$again"
broken=$(npm run -s import-django -- package.json --persist-to "$django_db" 2>&1 && echo "exit 0" || echo "exit $?")
check "... a file that is not a dump is refused" "The file is not a dumpdata list" "$broken"
check "... with an error" "exit 1" "$broken"
port=$(node scripts/free-port.ts)
base="http://localhost:$port"
start_server --persist-to "$django_db"
check "an imported user logs in with the Django password" '"token":"ey' \
  "$(post /api-auth/ '{"username":"alice","password":"alice-tutorial-pass"}')"
check "... and one whose hash has 120,000 iterations" '"token":"ey' \
  "$(post /api-auth/ '{"username":"dave","password":"dave-tutorial-pass"}')"
check "... whose tasks kept their ids" '"title":"Due in Django time"' "$(curl -s "$base/tasks/7/")"

echo "smoke test: $passed of $((passed + failed)) checks passed"
[ "$failed" -eq 0 ]
