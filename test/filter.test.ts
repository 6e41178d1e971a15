// Names are handles: every name the suite prints (--list, TAP, the summary,
// the matrix: REV/area/check) is accepted back as a filter, exactly as
// printed, and selects that check alone; `!pattern` excludes; baselines use
// the same globs.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { ALL_REVISIONS, getProfile } from '../profiles/index.ts';
import { applicable } from '../harness/core/engine.ts';
import { CheckFilter, selectChecks, wholeGlob } from '../harness/core/filter.ts';
import { listLines } from '../harness/tools/list.ts';
import { ALL_CHECKS } from '../checks/index.ts';

const RUN = new URL('../run.sh', import.meta.url).pathname;
const work = mkdtempSync(join(tmpdir(), 'kvm-cca-filter-test-'));
t.teardown(() => rmSync(work, { recursive: true, force: true }));

function run(args: string[]) {
  const r = spawnSync(RUN, args, { encoding: 'utf8', env: { ...process.env, TMPDIR: work, KVM_CCA_TRACE_DIR: join(work, 'traces') }, maxBuffer: 64 << 20 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

const profiles = ALL_REVISIONS.map((n) => getProfile(n)!);
const listed = listLines({ profiles, allChecks: ALL_CHECKS, filters: [], kind: 'emulator', allowCrash: false, verbose: false }).map((l) => l.split('  #')[0]!);

t.test('every listed name, full or without its revision, selects exactly that check', async (t) => {
  let bad = 0;
  for (const full of listed) {
    const [abi, ...rest] = full.split('/');
    const name = rest.join('/');
    const checks = applicable(ALL_CHECKS, getProfile(abi!)!);
    const byFull = selectChecks(abi!, checks, [full]).map((c) => c.name);
    const byShort = selectChecks(abi!, checks, [name]).map((c) => c.name);
    if (byFull.length !== 1 || byFull[0] !== name || byShort.length !== 1 || byShort[0] !== name) {
      bad++;
      t.fail(`${full}: selected ${JSON.stringify(byFull)} / ${JSON.stringify(byShort)}`);
    }
  }
  t.equal(bad, 0, `${listed.length} names each select their own check`);
  t.ok(listed.length > 1000, `${listed.length} names listed`);
});

t.test('./run.sh runs every --list name given back to it, and TAP prints the same names', async (t) => {
  const l = run(['--list']);
  t.equal(l.code, 0);
  const names = l.stdout
    .trim()
    .split('\n')
    .map((x) => x.split('  #')[0]!);
  t.same(names, listed, '--list prints what listLines computes');
  const r = run(names);
  t.equal(r.code, 0, r.stderr.split('\n').slice(-3).join('\n'));
  const tapNames = [...r.stdout.matchAll(/^ {2}(?:not )?ok \d+ - (\S+)/gm)].map((m) => m[1]);
  t.same(tapNames, names, 'each name ran once, under the name it was given');
});

t.test('a pasted name from the TAP output selects one check across --abi all', async (t) => {
  const r = run(['v10/create-realm/in-new']);
  t.equal(r.code, 0);
  t.match(r.stdout, /^ {2}ok 1 - v10\/create-realm\/in-new$/m);
  t.equal([...r.stdout.matchAll(/^ {2}(not )?ok \d+ /gm)].length, 1, 'one check ran');
});

t.test('!pattern excludes; globs cross /', async (t) => {
  const f = new CheckFilter(['create-realm/*', '!*/in-new']);
  t.ok(f.matches('v10', 'create-realm/in-none'));
  t.notOk(f.matches('v10', 'create-realm/in-new'));
  t.notOk(f.matches('v10', 'populate/one-page'));
  t.ok(new CheckFilter(['!populate/']).matches('v7', 'config/rpv'), 'only exclusions: everything else');
  t.notOk(new CheckFilter(['!v7/*']).matches('v7', 'config/rpv'));
  t.ok(new CheckFilter(['v1*/populate/*']).matches('v10', 'populate/one-page'));
  t.ok(new CheckFilter(['*create*']).matches('v10', 'create-realm/in-new'), 'a single star crosses /');
  t.ok(new CheckFilter(['populate/']).matches('v10', 'populate/one-page'), 'a plain pattern is a substring');
  t.ok(wholeGlob('6.1*')('6.14.0-rc1'));
  t.notOk(wholeGlob('6.1')('6.14.0-rc1'), 'a baseline kernel glob is anchored');
  const r = run(['--abi', 'v10', '--list', 'create-realm/*', '!*/in-*']);
  t.equal(r.code, 0);
  t.notMatch(r.stdout, /\/in-/);
  t.match(r.stdout, /^v10\/create-realm\//m);
});

t.test('--list that matches nothing exits 2 with one line, like a run', async (t) => {
  for (const args of [['--list', 'no-such-check'], ['--abi', 'v7', '--list', 'no-such-check'], ['no-such-check']]) {
    const r = run(args);
    t.equal(r.code, 2, args.join(' '));
    t.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
    t.match(r.stderr, /no check of .* matches 'no-such-check'/);
  }
});

t.test('--list -v shows the description and the sources', async (t) => {
  const r = run(['--abi', 'v10', '--list', '-v', 'v10/create-realm/in-new']);
  t.equal(r.code, 0);
  t.match(r.stdout, /^v10\/create-realm\/in-new\n {4}\S.*\n {4}source: \S+/);
});
