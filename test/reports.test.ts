// The machine-read reports of a run: JUnit validates against the Jenkins
// xunit plugin's schema (xmllint) and carries the run's identity, timestamp,
// hostname, trace paths and last calls; --json validates against the results
// schema (ajv) and maps every status onto KCIDB's.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Ajv } from 'ajv';
import addFormats from 'ajv-formats';
import t from 'tap';
import type { ResultsFile } from '../harness/tools/report/results.ts';

const RUN = new URL('../run.sh', import.meta.url).pathname;
const XSD = new URL('./fixtures/jenkins-xunit-junit-10.xsd', import.meta.url).pathname;
const SCHEMA = JSON.parse(readFileSync(new URL('../harness/tools/report/results.schema.json', import.meta.url), 'utf8')) as object;
const work = mkdtempSync(join(tmpdir(), 'kvm-cca-reports-test-'));
t.teardown(() => rmSync(work, { recursive: true, force: true }));

const ajv = new Ajv({ allErrors: true, strict: true });
addFormats.default(ajv);
const validate = ajv.compile(SCHEMA);

function run(args: string[]) {
  const r = spawnSync(RUN, args, { encoding: 'utf8', env: { ...process.env, TMPDIR: work }, maxBuffer: 64 << 20 });
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

function xmllint(file: string): { ok: boolean; out: string } {
  const r = spawnSync('xmllint', ['--noout', '--schema', XSD, file], { encoding: 'utf8' });
  return { ok: r.status === 0, out: `${r.stdout}${r.stderr}`.trim() };
}

const hasXmllint = spawnSync('sh', ['-c', 'command -v xmllint']).status === 0;
if (!hasXmllint && process.env.KVM_CCA_REQUIRE_QEMU === '1') t.fail('xmllint missing: scripts/install-deps.sh installs libxml2-utils');

t.test('a failing, baselined, skipping run: JUnit valid for Jenkins, results valid for the schema', async (t) => {
  const baseline = join(work, 'b.txt');
  // the switch fails create-realm/in-new and in-active by their errno, and five more checks by
  // the afterwards probe (a second CREATE that succeeds); all but in-new are baselined
  writeFileSync(
    baseline,
    [
      'create-realm/in-active',
      'enable-cap/flags-nonzero',
      'config/rpv-repeat',
      'config/sha256-without-rmm-sha512',
      'lifecycle/minimal-order',
      'populate/whole-memslot',
    ]
      .map((n) => `rfc-v1/${n} known: the switch\n`)
      .join(''),
  );
  const junit = join(work, 'out.xml');
  const json = join(work, 'out.json');
  const r = run(['--abi', 'rfc-v1', '--emulator-bug', 'create-rd-twice', '--baseline', baseline, '--junit', junit, '--json', json]);
  t.equal(r.code, 1, 'one failure is not baselined');
  t.match(r.stderr, /^# results written to /m);

  const xml = readFileSync(junit, 'utf8');
  if (hasXmllint) {
    const v = xmllint(junit);
    t.ok(v.ok, `xmllint --schema jenkins junit-10.xsd: ${v.out}`);
  }
  t.match(
    xml,
    /<testsuite name="kvm-cca-conformance rfc-v1 on emulator" tests="\d+" failures="1" errors="0" skipped="\d+" time="[\d.]+" timestamp="\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d" hostname="[^"]+">/,
  );
  t.match(xml, /<property name="kernel.release" value="emulator-rfc-v1\+bugs"\/>/);
  t.match(xml, /<property name="tool" value="kvm-cca-conformance [^"]+"\/>/);
  t.match(xml, /<property name="emulator_bugs" value="create-rd-twice"\/>/);
  t.match(
    xml,
    /<failure message="KVM_ENABLE_CAP\(RME, CREATE_RD\) = 0, expected -1 EEXIST \(R1-CR2\)">[^<]*<\/failure>\n {6}<system-out>trace: \S+\.json\nlast calls:\n/,
  );
  t.match(xml, /<skipped message="xfail: baseline: known: the switch"\/>/);

  const doc = JSON.parse(readFileSync(json, 'utf8')) as ResultsFile;
  t.ok(validate(doc), JSON.stringify(validate.errors));
  t.equal(doc.run.exit_code, 1);
  t.same(doc.revisions, [{ name: 'rfc-v1' }]);
  t.same(doc.emulator_bugs, ['create-rd-twice']);
  t.equal(doc.target.kind, 'emulator');
  t.equal(doc.kernel.release, 'emulator-rfc-v1+bugs', 'the emulator says its bugs in its release');
  t.equal(doc.summary.total, doc.tests.length);
  const byName = new Map(doc.tests.map((x) => [x.name, x]));
  const failed = byName.get('rfc-v1/create-realm/in-new');
  t.equal(failed?.status, 'fail');
  t.equal(failed?.path, 'kvm_cca.rfc-v1.create-realm.in-new');
  t.same(failed?.kcidb, { path: 'kvm_cca.rfc-v1.create-realm.in-new', status: 'FAIL', waived: false, duration: failed?.kcidb.duration });
  t.ok(failed?.trace && existsSync(failed.trace), 'the trace path it names exists');
  t.match(failed?.failures[0], { message: /expected -1 EEXIST/, source: 'R1-CR2' });
  const xf = byName.get('rfc-v1/create-realm/in-active');
  t.equal(xf?.status, 'xfail');
  t.same([xf?.kcidb.status, xf?.kcidb.waived], ['FAIL', true], 'a baselined failure is a waived FAIL in KCIDB');
  t.equal(doc.summary.fail, 1);
  t.equal(doc.summary.xfail, 6);
  t.ok(doc.summary.todo > 0, 'UNCONFIRMED checks are todo (KCIDB DONE)');
  t.ok(doc.tests.filter((x) => x.status === 'todo').every((x) => x.kcidb.status === 'DONE'));
});

t.test('a clean run of every revision: both files valid, the revisions listed', async (t) => {
  const junit = join(work, 'all.xml');
  const json = join(work, 'all.json');
  const r = run(['--junit', junit, '--json', json]);
  t.equal(r.code, 0);
  if (hasXmllint) t.ok(xmllint(junit).ok, 'xmllint');
  const doc = JSON.parse(readFileSync(json, 'utf8')) as ResultsFile;
  t.ok(validate(doc), JSON.stringify(validate.errors));
  t.ok(doc.revisions.length >= 13, `${doc.revisions.length} revisions`);
  t.equal(doc.summary.fail + doc.summary.blocked + doc.summary.error, 0);
  t.equal(doc.run.exit_code, 0);
});

t.test('the schema refuses what a results file must not be', async (t) => {
  const good = JSON.parse(readFileSync(join(work, 'all.json'), 'utf8')) as ResultsFile;
  const bad1 = { ...good, tests: [{ ...good.tests[0], status: 'passed' }] };
  const bad2 = { ...good, kernel: { release: 'x' } };
  const bad3 = { ...good, extra: 1 };
  for (const [what, d] of [
    ['unknown status', bad1],
    ['kernel without uname', bad2],
    ['unknown key', bad3],
  ] as const)
    t.notOk(validate(d), what);
});

t.test('an interrupted or refused run leaves no results file that looks current', async (t) => {
  const json = join(work, 'stale.json');
  writeFileSync(json, '{"stale": true}');
  const r = run(['--json', json, 'no-such-check']);
  t.equal(r.code, 2);
  t.notOk(existsSync(json) && readFileSync(json, 'utf8').includes('"stale"'), 'the previous file is gone or replaced');
});
