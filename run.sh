#!/usr/bin/env bash
# The one entry point: ./run.sh [options] [FILTER...]   (./run.sh --help)
# Installs the npm dependencies on first use, then runs the suite.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
if [ ! -x "$here/node_modules/.bin/tsx" ]; then
  echo "# run.sh: installing npm dependencies (first run)" >&2
  (cd "$here" && npm ci --no-audit --no-fund --loglevel=error >&2) || { echo "run.sh: npm ci failed" >&2; exit 2; }
fi
for a in "$@"; do
  if [ "$a" = "--install-deps" ]; then
    "$here/scripts/install-deps.sh" >&2 || { echo "run.sh: installing the Debian packages failed" >&2; exit 2; }
  fi
done
exec node --import "$here/node_modules/tsx/dist/loader.mjs" --no-warnings=ExperimentalWarning "$here/harness/tools/cli.ts" "$@"
