#!/usr/bin/env bash
# Lint findings counted, for planning a clean-up: per rule, then per file.
#   scripts/lint-report.sh [--fixed] [PATH...]   (default: the whole tree)
# --fixed counts what would remain after `eslint --fix`, run on a scratch copy
# of the working tree (its tracked and untracked files): nothing here is rewritten.
set -euo pipefail
cd "$(dirname "$0")/.."
fixed=
if [ "${1:-}" = --fixed ]; then fixed=1; shift; fi
[ $# -gt 0 ] || set -- .
root=$PWD
out=$(mktemp)
scratch=
cleanup() {
  rm -f "$out"
  if [ -n "$scratch" ]; then rm -rf "$scratch"; fi
}
trap cleanup EXIT
if [ -n "$fixed" ]; then
  scratch=$(mktemp -d)
  git ls-files --cached --others --exclude-standard -z | while IFS= read -r -d '' f; do
    if [ -e "$f" ]; then printf '%s\0' "$f"; fi
  done | xargs -0 -r cp --parents -t "$scratch"
  ln -s "$root/node_modules" "$scratch/node_modules"
  cd "$scratch"
  npx eslint --fix --no-warn-ignored "$@" >/dev/null 2>&1 || true
fi
npx eslint --no-warn-ignored -f json -o "$out" "$@" || true
node --input-type=commonjs - "$out" "$PWD/" <<'JS'
const [file, base] = process.argv.slice(2);
const results = JSON.parse(require('fs').readFileSync(file, 'utf8'));
const byRule = new Map(), byFile = [];
let total = 0;
for (const r of results) {
  if (!r.messages.length) continue;
  byFile.push([r.messages.length, r.filePath.replace(base, '')]);
  for (const m of r.messages) {
    const k = m.ruleId ?? (m.fatal ? 'parse error' : 'unused disable directive');
    byRule.set(k, (byRule.get(k) ?? 0) + 1);
    total++;
  }
}
const col = (rows) => rows.sort((a, b) => b[0] - a[0]).map(([n, s]) => `${String(n).padStart(6)}  ${s}`).join('\n');
console.log(`${total} finding(s) in ${byFile.length} file(s)\n\nper rule:\n${col([...byRule].map(([k, n]) => [n, k]))}\n\nper file:\n${col(byFile)}`);
JS
