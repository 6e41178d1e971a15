// docs/adding-a-revision.md, done: in a temporary copy of the tree, add a
// throwaway v15 (v14 with one errno changed and one ioctl added), show that
// a forgotten unit or a forgotten rules row fails `tsc` naming it, then that
// the tree type-checks, the suite passes on v15 with the changed errno, the
// snapshot takes the new ioctl, and count the files it took.
import { spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import t from 'tap';

// two tsc runs, the suite and a tap run in a copy of the tree: longer than the default on a loaded machine
t.setTimeout(1800000);

const ROOT = join(import.meta.dirname, '..');
const SKIP = new Set(['node_modules', '.git', '.tap', 'coverage']);

const V15 = `// v15 (throwaway, test/adding-a-revision.test.ts): v14 with one errno changed and one ioctl added.
import { derive } from '../profiles/derive.ts';
import { KVMIO } from '../uapi/kvm.ts';
import { REALM_STRUCTS, type RevisionUapi } from '../uapi/realm.ts';
import { withUapi, type Revision } from './types.ts';
import { v14 } from './v14.ts';

export const uapi: RevisionUapi = {
  ...v14.uapi,
  cap: { name: 'KVM_CAP_ARM_RMI', nr: 250, source: 'throwaway' },
  ioctls: [{ name: 'KVM_ARM_RMI_EXAMPLE', dir: 'w', type: KVMIO, nr: 0xd8, arg: { kind: 'struct', struct: REALM_STRUCTS.rmiPopulate }, on: 'vm', source: 'throwaway' }],
};

const behaviour = derive(v14.profile, { name: 'v15', title: 'v15 (throwaway)', source: 'throwaway', expect: { 'rmi.populate-source-zero': { errno: 'EFAULT', source: 'throwaway: source_uaddr 0 faults again' } } }, 'v15 is v14 plus one errno');

export const v15 = {
  name: 'v15',
  era: 'rmi',
  uapi,
  profile: withUapi('v15', 'rmi', uapi, behaviour),
  /*RULES*/ rules: { ...v14.rules, abi: 'v15', sourceZero: 'EFAULT' },
  rmm: v14.rmm,
} satisfies Revision<'v15'>;
`;

function run(cwd: string, cmd: string, args: string[]): { code: number; out: string } {
  const r = spawnSync(cmd, args, { cwd, encoding: 'utf8', timeout: 400000, env: { ...process.env, TAP_SNAPSHOT: '0', NO_COLOR: '1' } });
  return { code: r.status ?? -1, out: `${r.stdout}${r.stderr}` };
}

t.test('a throwaway v15 takes four files, and the build names what is missing', { timeout: 1700000 }, async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'kcc-v15-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  cpSync(ROOT, dir, { recursive: true, filter: (src) => !SKIP.has(relative(ROOT, src).split('/')[0] ?? '') });
  symlinkSync(join(ROOT, 'node_modules'), join(dir, 'node_modules'));
  const git = (...a: string[]): { code: number; out: string } => run(dir, 'git', ['-c', 'user.name=t', '-c', 'user.email=t@t', ...a]);
  git('init', '-q');
  git('add', '-A');
  git('commit', '-qm', 'base');
  const tsc = (): { code: number; out: string } => run(dir, 'npx', ['tsc', '--noEmit', '-p', '.']);
  // steps 1 and 2 only need the registry and what it imports to show the error (a whole-tree tsc is
  // ~20 s of CPU); step 3 type-checks the whole tree
  writeFileSync(join(dir, 'tsconfig.registry.json'), JSON.stringify({ extends: './tsconfig.json', include: ['revisions/index.ts'] }));
  const tscRegistry = (): { code: number; out: string } => run(dir, 'npx', ['tsc', '--noEmit', '-p', 'tsconfig.registry.json']);
  const edit = (file: string, from: string, to: string): void => {
    const p = join(dir, file);
    const s = readFileSync(p, 'utf8');
    if (!s.includes(from)) throw new Error(`${file}: no ${from}`);
    writeFileSync(p, s.replace(from, to));
  };

  // 1. the name alone: the registry is no longer total, and tsc says which revision
  edit('revisions/names.ts', "'v14', 'absent'", "'v14', 'v15', 'absent'");
  let r = tscRegistry();
  t.not(r.code, 0, 'tsc fails with the name and no unit');
  t.match(
    r.out,
    /revisions\/index\.ts.*'v15'/,
    `the error names v15 in the registry: ${r.out.split('\n').find((l) => l.includes('v15')) ?? r.out.slice(0, 300)}`,
  );

  // 2. the unit without its emulator rules row: tsc names the row
  writeFileSync(join(dir, 'revisions/v15.ts'), V15.replace(/\/\*RULES\*\/.*\n/, ''));
  edit('revisions/index.ts', "import { v14 } from './v14.ts';", "import { v14 } from './v14.ts';\nimport { v15 } from './v15.ts';");
  edit('revisions/index.ts', '  v14,\n  absent,', '  v14,\n  v15,\n  absent,');
  r = tscRegistry();
  t.not(r.code, 0, 'tsc fails without the rules row');
  t.match(r.out, /revisions\/v15\.ts.*'rules'/s, 'the error names the missing rules row');

  // 3. the whole unit: clean
  writeFileSync(join(dir, 'revisions/v15.ts'), V15);
  r = tsc();
  t.equal(r.code, 0, `tsc clean with v15${r.code ? `: ${r.out.slice(0, 2000)}` : ''}`);

  // 4. the suite on v15: every check passes or is todo, the changed errno included
  r = run(dir, './run.sh', ['--abi', 'v15', '--ktap']);
  t.equal(r.code, 0, `./run.sh --abi v15 exits 0${r.code ? `: ${r.out.slice(-2000)}` : ''}`);
  const failing = r.out.split('\n').filter((l) => /^\s*not ok /.test(l) && !/# (TODO|SKIP)/i.test(l));
  t.same(failing, [], 'no check fails on v15');
  t.match(r.out, /ok \d+ .*source-zero/, 'the check of the changed errno ran');

  // 5. the one reviewed snapshot takes the new CAP and ioctl
  r = run(dir, 'npx', ['tap', '--snapshot', '--disable-coverage', 'test/uapi-snapshot.test.ts']);
  t.equal(r.code, 0, `snapshot regenerated${r.code ? `: ${r.out.slice(-1500)}` : ''}`);
  const snap = readFileSync(join(dir, 'tap-snapshots/test/uapi-snapshot.test.ts.test.cjs'), 'utf8');
  t.match(snap, /KVM_ARM_RMI_EXAMPLE = 0x4020aed8/, 'the added ioctl, its number computed');
  t.match(snap, /KVM_CAP_ARM_RMI = 250/, 'the new CAP');

  // 6. count the files
  const changed = git('status', '--porcelain')
    .out.split('\n')
    .filter(Boolean)
    .filter((l) => !l.endsWith('tsconfig.registry.json'))
    .map((l) => l.slice(3));
  t.comment(`files a new revision took: ${changed.length} (${changed.join(', ')})`);
  t.ok(changed.length <= 4, `four files or fewer: ${changed.join(', ')}`);
});
