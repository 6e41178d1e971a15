// A fixed sample of the StrykerJS run (issue 13 item 4): the mutants of a few
// lines of the emulator (bench/stryker.ts SAMPLE, one revision) must all be
// killed by the suite. The full run and its scores are bench/stryker.ts.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { SAMPLE, sampleRange } from '../bench/stryker.ts';

// Stryker copies the project into a sandbox and runs the suite once before the mutants: slow on a shared machine.
t.setTimeout(600000);

const own = mkdtempSync(join(tmpdir(), 'kvm-cca-stryker-test-'));
t.teardown(() => rmSync(own, { recursive: true, force: true }));

interface Mutant {
  id: string;
  mutatorName: string;
  replacement?: string;
  status: string;
  location: { start: { line: number } };
}

t.test(`every mutant of ${sampleRange()} is killed on ${SAMPLE.abi}`, async (t) => {
  const env: NodeJS.ProcessEnv = { ...process.env };
  // the sandbox's instrumented files are not the project's: keep them out of tap's coverage
  delete env.NODE_V8_COVERAGE;
  const root = new URL('..', import.meta.url).pathname;
  const r = spawnSync(
    process.execPath,
    ['--import', join(root, 'node_modules/tsx/dist/loader.mjs'), join(root, 'bench/stryker.ts'), '--sample', '--out', own],
    { encoding: 'utf8', env, cwd: root },
  );
  t.equal(r.status, 0, `bench/stryker.ts --sample exits 0${r.status ? `: ${r.stderr.slice(-2000)}` : ''}`);
  const report = JSON.parse(readFileSync(join(own, 'mutation.json'), 'utf8')) as { files: Record<string, { mutants: Mutant[] }> };
  const mutants = Object.values(report.files).flatMap((f) => f.mutants);
  t.ok(mutants.length >= 5, `the sample has ${mutants.length} mutants`);
  for (const m of mutants) {
    t.ok(m.status === 'Killed' || m.status === 'Timeout', `line ${m.location.start.line} ${m.mutatorName} ${JSON.stringify(m.replacement ?? '')}: ${m.status}`);
  }
  t.match(r.stdout, /selection\s+\d+\s+\d+/, 'the score table is printed');
});
