#!/usr/bin/env bash
# `npm test`: check formatting (prettier), type-check everything, build dist/ (subprocess tests run the real `sentinel` binary), run every tap
# test, and end with the `N passed, N failed` line CI reads (tap's own summary is `# { total, pass, fail }`).
set -uo pipefail
cd "$(dirname "$0")/.."
export AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED=true

npm run --silent format:check >/dev/null || { npx prettier --list-different "{core,daemon,cli,native,test,bench,lambda,scripts}/**/*.{ts,mjs}"; echo "format: 0 passed, 1 failed (run \`npm run format\`)"; exit 1; }
npx tsc --noEmit -p tsconfig.json || { echo "typecheck: 0 passed, 1 failed"; exit 1; }
npm run --silent build || { echo "build: 0 passed, 1 failed"; exit 1; }

out=$(mktemp)
trap 'rm -f "$out"' EXIT
npx tap "$@" 2>&1 | tee "$out"
rc=${PIPESTATUS[0]}
summary=$(grep -E '^# \{ total: [0-9]+' "$out" | tail -1)
pass=$(sed -nE 's/.*pass: ([0-9]+).*/\1/p' <<<"$summary")
fail=$(sed -nE 's/.*fail: ([0-9]+).*/\1/p' <<<"$summary")
skip=$(sed -nE 's/.*skip: ([0-9]+).*/\1/p' <<<"$summary")
if [ -z "$pass" ]; then
  echo "tap: 0 passed, 1 failed (no tap summary line: the run did not complete)"
  exit 1
fi
echo "tap: ${pass} passed, ${fail:-0} failed, ${skip:-0} skipped"
exit "$rc"
