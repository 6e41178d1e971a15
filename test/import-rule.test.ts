// The layering between the harness and the emulator: only the emulator target
// (harness/core/targets/emulator.ts), the project's own tests (test/) and the
// benchmarks (bench/) import emulator/; emulator/ imports, directly or
// through what it imports, only the pure shared modules (the uAPI
// description, bytes, errno, wire, ioc, the ABI profiles). So the suite can
// never lean on emulator internals, and the emulator never on the harness.
import t from 'tap';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '..');

/** The one module outside emulator/ (besides test/ and bench/) allowed to import it. */
const DOOR = 'harness/core/targets/emulator.ts';
const MAY_IMPORT_EMULATOR = (f: string): boolean => f === DOOR || f.startsWith('test/') || f.startsWith('bench/');
/** What emulator/ may reach outside itself: pure modules with no harness logic. */
const PURE = (f: string): boolean =>
  ['uapi/bytes.ts', 'uapi/errno.ts', 'uapi/wire.ts', 'uapi/ioc.ts', 'uapi/kvm-uapi.ts'].includes(f) ||
  f.startsWith('profiles/') ||
  f.startsWith('uapi/') ||
  f.startsWith('revisions/');

/** Every .ts file under `root` (repo-relative, '/'-separated), without node_modules and dot directories. */
function tsFiles(root: string, dir = ''): string[] {
  const out: string[] = [];
  for (const e of readdirSync(join(root, dir), { withFileTypes: true })) {
    if (e.name === 'node_modules' || e.name.startsWith('.')) continue;
    const rel = dir ? `${dir}/${e.name}` : e.name;
    if (e.isDirectory()) out.push(...tsFiles(root, rel));
    else if (e.name.endsWith('.ts') && !e.name.endsWith('.d.ts')) out.push(rel);
  }
  return out;
}

/** The relative modules a file imports: static imports, re-exports and import() with a literal, type-only ones included. */
function importsOf(root: string, file: string): string[] {
  const text = readFileSync(join(root, file), 'utf8')
    .replace(/\/\*[\s\S]*?\*\//g, '')
    .replace(/^\s*\/\/.*$/gm, '');
  const specs = [
    ...text.matchAll(/^\s*(?:import|export)\s[^;]*?\sfrom\s+['"]([^'"]+)['"]/gm),
    ...text.matchAll(/^\s*import\s+['"]([^'"]+)['"]/gm),
    ...text.matchAll(/\bimport\(\s*['"]([^'"]+)['"]\s*\)/g),
  ].map((m) => m[1]!);
  return specs
    .filter((s) => s.startsWith('.'))
    .map((s) =>
      relative(root, resolve(root, dirname(file), s))
        .split('\\')
        .join('/'),
    );
}

/** Every breach of the rule in the tree at `root`, one line each. */
function violations(root: string): string[] {
  const files = tsFiles(root);
  const graph = new Map(files.map((f) => [f, importsOf(root, f)]));
  const out: string[] = [];
  for (const [f, deps] of graph) {
    if (f.startsWith('emulator/') || MAY_IMPORT_EMULATOR(f)) continue;
    for (const d of deps) if (d.startsWith('emulator/')) out.push(`${f} imports ${d} (only ${DOOR} may)`);
  }
  // emulator/ and everything it reaches outside itself must stay inside emulator/ + the pure modules
  const seen = new Set<string>();
  const walk = (f: string, via: string): void => {
    for (const d of graph.get(f) ?? []) {
      if (d.startsWith('emulator/')) continue; // walked from its own root
      if (!PURE(d)) {
        out.push(`${via === f ? f : `${via} (through ${f})`} imports ${d}, which is not a pure shared module`);
        continue;
      }
      if (seen.has(d)) continue;
      seen.add(d);
      walk(d, via);
    }
  };
  for (const f of files) if (f.startsWith('emulator/')) walk(f, f);
  return [...new Set(out)].sort();
}

t.test('the repo keeps the rule', async (t) => {
  const v = violations(REPO);
  t.same(v, [], v.join('\n'));
  t.ok(tsFiles(REPO).filter((f) => f.startsWith('emulator/')).length > 10, 'emulator/ was scanned');
  t.ok(
    importsOf(REPO, DOOR).some((d) => d.startsWith('emulator/')),
    'the door itself imports the emulator (the scanner sees imports)',
  );
});

t.test('a breach in either direction is reported', async (t) => {
  const root = mkdtempSync(join(tmpdir(), 'import-rule-'));
  t.teardown(() => rmSync(root, { recursive: true, force: true }));
  const put = (f: string, text: string): void => {
    mkdirSync(dirname(join(root, f)), { recursive: true });
    writeFileSync(join(root, f), text);
  };
  put('emulator/kernel.ts', "import { StructReader } from '../uapi/bytes.ts';\nimport type { Engine } from '../harness/core/engine.ts';\n");
  put('emulator/rmm.ts', "import type { X } from '../profiles/types.ts';\n");
  put('uapi/bytes.ts', 'export class StructReader {}\n');
  put('harness/core/engine.ts', 'export type Engine = number;\n');
  put('profiles/types.ts', "import { y } from '../harness/core/policy.ts';\nexport type X = number;\n");
  put('harness/core/policy.ts', 'export const y = 1;\n');
  put('harness/tools/cli.ts', "const m = await import('../../emulator/rmm.ts');\n");
  put('harness/core/targets/emulator.ts', "export { Kernel } from '../../../emulator/kernel.ts';\n");
  put('harness/tools/replay.ts', "// import { x } from '../../emulator/kernel.ts';\nexport type { K } from '../core/targets/emulator.ts';\n");
  put('test/x.test.ts', "import '../emulator/kernel.ts';\n");
  put('bench/x.ts', "import { Kernel } from '../emulator/kernel.ts';\n");
  t.same(violations(root), [
    'emulator/kernel.ts imports harness/core/engine.ts, which is not a pure shared module',
    'emulator/rmm.ts (through profiles/types.ts) imports harness/core/policy.ts, which is not a pure shared module',
    `harness/tools/cli.ts imports emulator/rmm.ts (only ${DOOR} may)`,
  ]);
});
