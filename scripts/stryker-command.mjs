// StrykerJS's test command (stryker.config.mjs): a thin client; the suite is
// scripts/stryker-suite.ts.
// - Starting tsx and loading the suite's TypeScript costs ~1.5 s a process,
//   10x a mutant's run; so the run without a mutant (Stryker's dry run, always
//   first in a sandbox) bundles the (instrumented) suite once with esbuild. The
//   bundle sits one directory below the root, as tests/ and harness/ do, so
//   their paths relative to import.meta.url still hold.
// - A mutant's run asks a warm worker (the bundle with --serve, started on
//   first use, in the sandbox) over a unix socket, since Stryker's mutants
//   switch at run time. A "static" mutant (reached while the modules load) runs
//   in this process instead, as does any mutant when the worker cannot answer:
//   a worker silent for 15 s is killed (an endless loop the hit limit missed).
import { spawn } from 'node:child_process';
import { existsSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const bundleDir = join(root, '.stryker-bundle');
const out = join(bundleDir, 'suite.mjs');
const sock = join(bundleDir, 'suite.sock');
const pidFile = join(bundleDir, 'worker.pid');
const active = process.env.__STRYKER_ACTIVE_MUTANT__;
const dir = process.env.STRYKER_SUITE_DIR;

const inProcess = () => import(pathToFileURL(out).href);

/** The worker's answer for mutant `id` (its exit code), or undefined if it gave none. */
function ask(id, ms) {
  return new Promise((resolve) => {
    const s = connect(sock);
    let buf = '';
    const timer = setTimeout(() => {
      s.destroy();
      resolve('hung');
    }, ms);
    s.on('connect', () => s.write(`${id}\n`));
    s.on('data', (d) => (buf += d.toString()));
    s.on('end', () => {
      clearTimeout(timer);
      const n = Number(buf.trim());
      resolve(buf.trim() !== '' && (n === 0 || n === 1) ? n : undefined);
    });
    s.on('error', () => {
      clearTimeout(timer);
      resolve(undefined);
    });
  });
}

async function startWorker() {
  const env = { ...process.env };
  delete env.__STRYKER_ACTIVE_MUTANT__;
  const child = spawn(process.execPath, [out, '--serve', sock, ...process.argv.slice(2)], { env, detached: true, stdio: 'ignore' });
  child.unref();
  writeFileSync(pidFile, String(child.pid));
  for (let i = 0; i < 600 && !existsSync(sock); i++) await new Promise((r) => setTimeout(r, 50));
}

function killWorker() {
  try {
    process.kill(Number(readFileSync(pidFile, 'utf8')), 'SIGKILL');
  } catch {
    // gone already
  }
  rmSync(sock, { force: true });
}

if (active === undefined || !existsSync(out)) {
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

let statics;
try {
  statics = dir ? JSON.parse(readFileSync(join(dir, 'static.json'), 'utf8')) : [];
} catch {
  statics = undefined;
}
if (active === undefined || !dir || !statics || statics.includes(active) || process.env.STRYKER_NO_WORKER) await inProcess();
else {
  if (!existsSync(sock)) await startWorker();
  let code = await ask(active, 15000);
  if (code === 'hung') killWorker();
  if (code === undefined || code === 'hung') await inProcess();
  else process.exitCode = code;
}
