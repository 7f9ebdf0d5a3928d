#!/usr/bin/env bash
# Runs test files with tap on another Node.js major:  scripts/test-node.sh 22 test/a.test.ts ...
# The runtime is npm's `node` package (x64 and arm64 binaries from the npm registry), which npx
# keeps in its cache after the first run. Its folder goes first on PATH, so the processes the
# tests start run on it too. Coverage is left to the main run on the machine's Node.
set -euo pipefail
cd "$(dirname "$0")/.."

major=${1:?usage: scripts/test-node.sh MAJOR test/file.test.ts ...}
shift
[ $# -gt 0 ] || { echo "scripts/test-node.sh: name the test files to run" >&2; exit 2; }

bin=$(npx --yes --prefer-offline "node@$major" -p process.execPath)
export PATH="$(dirname "$bin"):$PATH"
echo "== Node $(node --version) ($bin): $# test files"
started=$SECONDS
# tap ends a run without coverage with "# No coverage generated", which reads like a fault; here it
# is the plan, so the line says that instead (pipefail keeps tap's exit status).
node node_modules/tap/dist/esm/run.mjs --disable-coverage "$@" \
  | sed -u 's/^# No coverage generated$/# coverage: not measured on this Node (npm test measures it on the machine'"'"'s Node)/'
echo "== Node $(node --version): passed in $((SECONDS - started)) s"
