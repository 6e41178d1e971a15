// A check whose set-up step fails is blocked, not failed: TAP, JUnit, the
// matrix, the summary, the baseline, the exit code and the trace all say so.
// The target is the v7 emulator behind a wrapper that refuses CREATE_REALM with
// -ENXIO, as the pristine cca-host/v7 kernel on TF-RMM v0.6.0 did (the realm
// was created before any KVM_ARM_VCPU_INIT, so its breakpoint/watchpoint counts
// were 0 and the RMM refused the parameters).
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { getProfile } from '../profiles/index.ts';
import { CiHooks } from '../harness/tools/ci.ts';
import { applicable, firstCause, isFailure, runChecks, type CheckOutcome } from '../harness/core/engine.ts';
import { ERRNO } from '../uapi/errno.ts';
import { junitXml } from '../harness/tools/report/junit.ts';
import { buildMatrix, matrixHtml, matrixMarkdown } from '../harness/tools/report/matrix.ts';
import { causeLines, countLine } from '../harness/tools/report/summary.ts';
import { ktapLine } from '../harness/tools/report/ktap.ts';
import { Baseline, parseBaseline } from '../harness/tools/baseline.ts';
import type { Target } from '../harness/core/target.ts';
import { createTargetSync } from '../harness/core/targets/index.ts';
import { interceptedEmulator } from './lib/intercept.ts';
import { readTrace } from '../harness/tools/trace.ts';
import { ALL_CHECKS } from '../checks/index.ts';

const abi = getProfile('v7')!;
const KVM_ENABLE_CAP = 0x4068aea3;
const CAP_RME_LE = '2c010000'; // KVM_CAP_ARM_RME = 300 in v7, little-endian u32

/** The emulator, except that ENABLE_CAP(RME, CREATE_REALM) answers -ENXIO. */
function createRealmEnxio(): Target {
  return interceptedEmulator('v7', async (req, call) => {
    if (req.op === 'ioctl' && req.req === KVM_ENABLE_CAP && 'buf' in req.arg) {
      const h = req.arg.buf.hex;
      if (h.startsWith(`${CAP_RME_LE}00000000`) && h.slice(16, 32) === `0${abi.subcmd?.CREATE ?? 1}`.padEnd(16, '0'))
        return { id: 0, ret: -1, errno: ERRNO.ENXIO, us: 1 };
    }
    return call();
  });
}

let outs: CheckOutcome[] = [];
t.before(async () => {
  if (process.env.SHOW) process.on('exit', () => console.error(outs.map((o) => `${o.status} ${o.name} ${firstCause(o)}`).join('\n')));
  const target = createRealmEnxio();
  await target.start();
  try {
    outs = await runChecks(applicable(ALL_CHECKS, abi), {
      abi,
      target,
      targetKind: 'emulator',
      allowCrash: true,
      callTimeoutMs: 2000,
      checkTimeoutMs: 10000,
      targetFor: (emulatorSettings) => createTargetSync('emulator', { abi, bugs: [], emulatorSettings }),
    });
  } finally {
    await target.stop();
  }
});

const CAUSE = 'KVM_ENABLE_CAP(RME, CREATE_REALM) = -1 ENXIO';

t.test('set-up failures are blocked, with the call; one cause in the summary', async (t) => {
  const blocked = outs.filter((o) => o.status === 'blocked');
  const failed = outs.filter((o) => o.status === 'fail');
  t.ok(blocked.length >= 20, `${blocked.length} blocked`);
  t.ok(
    blocked.every((o) => o.blockedBy === CAUSE),
    'every blocked check names the CREATE_REALM call',
  );
  t.ok(
    failed.every((o) => firstCause(o) === CAUSE),
    `the ${failed.length} failed checks too have CREATE_REALM as first unexpected call: ${failed
      .filter((o) => firstCause(o) !== CAUSE)
      .map((o) => `${o.name}: ${firstCause(o)}`)
      .join('; ')}`,
  );
  t.ok(
    outs.some((o) => o.status === 'pass'),
    'checks that create no realm still pass',
  );
  const lines = causeLines(outs);
  t.match(lines[0], new RegExp(`^# ${blocked.length + failed.length} check\\(s\\) failed or blocked, 1 cause\\(s\\)`));
  t.equal(lines[1], `#  cause 1: ${CAUSE} — ${failed.length ? `${failed.length} failed, ` : ''}${blocked.length} blocked`);
  t.ok(lines.some((l) => /^# {3}BLOCKED v7\/populate\/one-page$/.test(l)));
  t.match(countLine(outs), new RegExp(`, ${blocked.length} blocked, `));
});

t.test('TAP: not ok with blocked_by first; JUnit <error>; matrix cell and legend', async (t) => {
  const o = outs.find((x) => x.name === 'populate/one-page')!;
  t.equal(o.status, 'blocked');
  const tap = ktapLine(o, 7);
  t.match(
    tap,
    /^# blocked by: KVM_ENABLE_CAP\(RME, CREATE_REALM\) = -1 ENXIO\n(# .*\n)*not ok 7 - v7\/populate\/one-page # ERROR blocked by: KVM_ENABLE_CAP\(RME, CREATE_REALM\) = -1 ENXIO\n {2}---\n {2}blocked_by: KVM_ENABLE_CAP\(RME, CREATE_REALM\) = -1 ENXIO\n {2}failed:\n {4}- "?blocked by: KVM_ENABLE_CAP/,
  );
  const xml = junitXml(outs, 'emulator');
  t.match(xml, /errors="\d+"/);
  t.match(xml, /name="populate\/one-page"[^>]*>\n {6}<error type="blocked" message="blocked by: KVM_ENABLE_CAP\(RME, CREATE_REALM\) = -1 ENXIO">/);
  const input = { profiles: [abi], checks: ALL_CHECKS, outcomes: outs, title: 't' };
  const m = buildMatrix(input);
  t.equal(m.counts.v7?.blocked, outs.filter((x) => x.status === 'blocked').length);
  const html = matrixHtml(input);
  t.match(html, /<td class="blocked" title="[^"]*BLOCKED by the set-up call KVM_ENABLE_CAP\(RME, CREATE_REALM\) = -1 ENXIO">b<\/td>/);
  t.match(html, /<b class="blocked">b<\/b>blocked/);
  t.match(matrixMarkdown(input), /b blocked/);
});

t.test('trace records blocked_by; a baseline turns a blocked check into a known failure', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'kvm-cca-blocked-'));
  const ci = new CiHooks({ abi: 'v7', traceDir: dir });
  ci.started({
    kind: 'emulator',
    spec: 'emulator',
    info: { sysname: 'Linux', release: '6.14.0-rc1', version: '#1', machine: 'aarch64', euid: 0, kvm: true, executor: 'x' },
  });
  const o = { ...outs.find((x) => x.name === 'populate/one-page')! };
  ci.outcome(o);
  const tr = readTrace(join(dir, 'v7__populate_one-page.json'));
  t.equal(tr.status, 'blocked');
  t.equal(tr.blocked_by, CAUSE);
  t.ok(
    (JSON.parse(readFileSync(join(dir, 'v7__populate_one-page.json'), 'utf8')) as { assertions: { call?: string }[] }).assertions.some(
      (a: { call?: string }) => a.call === CAUSE,
    ),
  );
  const b = new Baseline(parseBaseline('v7/populate/* realm created before vCPU init (kernel bug)\n', 'b.txt'), '6.14.0-rc1');
  const o2 = { ...outs.find((x) => x.name === 'populate/one-page')! };
  t.ok(b.apply(o2));
  t.equal(o2.status, 'todo');
  t.ok(isFailure('blocked') && isFailure('fail') && !isFailure('todo'));
});
