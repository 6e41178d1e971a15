// StrykerJS's test command (stryker.config.mjs). Starting tsx and loading the
// suite's TypeScript costs ~1.5 s a process, ~15x a mutant's run; so the run
// without a mutant (Stryker's dry run, always first in a sandbox) bundles the
// (instrumented) suite once with esbuild, and every mutant's run loads that
// one file with plain node. The bundle sits one directory below the root, as
// tests/ and harness/ do, so their paths relative to import.meta.url still hold.
import { existsSync, renameSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const out = join(root, '.stryker-bundle', 'suite.mjs');
if (process.env.__STRYKER_ACTIVE_MUTANT__ === undefined || !existsSync(out)) {
  const { build } = await import('esbuild');
  await build({
    entryPoints: [join(root, 'scripts', 'stryker-suite.ts')],
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    packages: 'external',
    outfile: `${out}.tmp.mjs`,
    logLevel: 'error',
  });
  renameSync(`${out}.tmp.mjs`, out);
}
await import(pathToFileURL(out).href);
