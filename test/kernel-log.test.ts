// Kernel reports in the log a check produced: the parser on real splats of the
// cca-host/v7 stack (test/fixtures/kernel-log/v7-warns.txt, an excerpt of its
// guest console), the engine on a scripted target whose kernel log gets a WARN
// while exactly one check runs, and the baseline naming a known report.
import { readFileSync } from 'node:fs';
import t from 'tap';
import { getProfile } from '../profiles/index.ts';
import { Baseline, parseBaseline } from '../harness/tools/baseline.ts';
import { causeLines } from '../harness/tools/report/summary.ts';
import { runChecks, type CheckDef } from '../harness/core/engine.ts';
import { findSplats, KernelLogWatch, parseRecord } from '../harness/core/kernel-log.ts';
import { ktapLine } from '../harness/tools/report/ktap.ts';
import type { Target } from '../harness/core/target.ts';
import { createTargetSync } from '../harness/core/targets/index.ts';
import type { WireResult } from '../uapi/wire.ts';

const fixture = readFileSync(new URL('./fixtures/kernel-log/v7-warns.txt', import.meta.url), 'utf8').split('\n');

t.test('the v7 WARN splats: two reports, headline, key, lines to the end marker', async (t) => {
  const s = findSplats(fixture);
  t.equal(s.length, 2);
  t.equal(s[0]?.kind, 'WARN');
  t.equal(s[0]?.title, 'WARNING: CPU: 0 PID: 72 at arch/arm64/kvm/rme.c:1213 kvm_realm_enable_cap+0x6b8/0xf50');
  t.equal(s[0]?.key, 'WARN arch/arm64/kvm/rme.c:1213 kvm_realm_enable_cap');
  t.equal(s[0]?.lines[0], '------------[ cut here ]------------');
  t.match(s[0]?.lines.at(-1), /end trace/);
  t.ok(s[0]?.lines.includes(' kvm_vm_ioctl_enable_cap+0x64/0x1ac'), 'the call trace is kept');
  t.equal(s[1]?.key, 'WARN arch/arm64/kvm/arch_timer.c:273 kvm_timer_irq_can_fire');
  t.same(findSplats(fixture.slice(0, 6)), [], 'boot lines are no report');
});

t.test('other report kinds, timestamps, a bare WARN line', async (t) => {
  const kinds = (l: string[]) => findSplats(l).map((s) => s.kind);
  t.same(kinds(['[   12.345678] WARNING: CPU: 1 PID: 9 at arch/arm64/kvm/rme.c:10 f+0x1/0x2']), ['WARN']);
  t.same(
    kinds([
      'BUG: KASAN: slab-use-after-free in kvm_destroy_realm+0x10/0x20',
      'Read of size 8',
      '==================================================================',
    ]),
    ['KASAN'],
  );
  t.same(
    kinds(['kernel BUG at arch/arm64/kvm/rme.c:99!', 'Internal error: Oops - BUG: 00000000f2000800 [#1] SMP']),
    ['BUG'],
    'the oops line after a BUG belongs to it',
  );
  t.same(kinds(['Unable to handle kernel NULL pointer dereference at virtual address 0000000000000008']), ['oops']);
  t.same(kinds(['WARNING: possible circular locking dependency detected']), ['lockdep']);
  t.same(kinds(['UBSAN: shift-out-of-bounds in arch/arm64/kvm/rme.c:5:6']), ['UBSAN']);
  t.same(kinds(['kvm: a line that mentions a WARNING: in passing', 'virtio_net virtio0: BUG-free']), []);
});

t.test('kmsg records: parsing and the escaped bytes', async (t) => {
  t.same(parseRecord('4,812,40123456;WARNING: CPU: 0 PID: 1 at x.c:1 f+0x0/0x4'), {
    prio: 4,
    seq: 812,
    usec: 40123456,
    text: 'WARNING: CPU: 0 PID: 1 at x.c:1 f+0x0/0x4',
  });
  t.equal(parseRecord('6,1,2;tab\\x09here')?.text, 'tab\there');
  t.equal(parseRecord('garbage'), undefined);
});

/** The emulator with a kernel log: the test appends lines, as a kernel would, while checks run. */
function loggingTarget(log: string[]): Target {
  const inner = createTargetSync('emulator', { abi: getProfile('v10')!, bugs: [] });
  return {
    kind: 'emulator',
    start: () => inner.start(),
    stop: () => inner.stop(),
    session: () => inner.session(),
    async kernelLog(since?: number): Promise<WireResult> {
      const recs = log.map((text, seq) => `4,${seq},${seq * 1000};${text}`);
      if (since === undefined) return { id: 0, ret: 0, errno: 0, kmsg: [], seq: log.length - 1 };
      return { id: 0, ret: 0, errno: 0, kmsg: recs.filter((_, seq) => seq > since), seq: log.length - 1 };
    },
  };
}

const WARN = 'WARNING: CPU: 0 PID: 77 at arch/arm64/kvm/rme.c:1213 kvm_realm_enable_cap+0x6b8/0xf50';
const check = (name: string, during?: () => void): CheckDef => ({
  name,
  area: 'generic',
  description: name,
  expects: [],
  run: async (c) => {
    during?.();
    c.ok(true, 'ran');
  },
});

t.test('a WARN logged during a check fails that check, not the next one', async (t) => {
  const log = ['Booting Linux on physical CPU 0x0', 'old WARNING: CPU: 0 PID: 1 at x.c:1 before+0x0/0x4'];
  const target = loggingTarget(log);
  await target.start();
  const checks = [
    check('generic/one'),
    check('generic/two', () => log.push('------------[ cut here ]------------', WARN, ' kvm_vm_ioctl+0x16a0/0x1ac8', '---[ end trace 0000000000000000 ]---')),
    check('generic/three'),
  ];
  const abi = getProfile('v10')!;
  const outs = await runChecks(checks, { abi, target, targetKind: 'ssh', allowCrash: true, callTimeoutMs: 1000, checkTimeoutMs: 5000 });
  await target.stop();
  t.same(
    outs.map((o) => o.status),
    ['pass', 'fail', 'pass'],
    "only the check that ran when the WARN came fails; the boot log is nobody's",
  );
  const two = outs[1]!;
  t.equal(two.splats?.[0]?.key, 'WARN arch/arm64/kvm/rme.c:1213 kvm_realm_enable_cap');
  const tap = ktapLine(two, 2);
  t.match(tap, /^(# .*\n)*not ok 2 - v10\/generic\/two\n/);
  t.match(tap, /the kernel logged a WARN report during the check: WARNING: CPU: 0\s+PID: 77\s+at arch\/arm64\/kvm\/rme\.c:1213/);
  t.match(tap, /kernel_log:\n {4}- -+\[ cut here \]-+\n {4}- "WARNING: CPU: 0 PID: 77/);
  t.equal(two.kernelLog?.length, 4);
  t.match(causeLines(outs)[1], /cause 1: kernel WARN arch\/arm64\/kvm\/rme\.c:1213 kvm_realm_enable_cap — 1 failed/);

  const b = new Baseline(parseBaseline('generic/two splat=WARN*rme.c:1213* realm_init_ipa_state WARNs on its error path\n', 'b.txt'));
  const known = structuredClone(two);
  t.ok(b.apply(known), 'splat= names the known WARN');
  t.equal(known.status, 'todo');
  t.match(known.reason, /baseline: known kernel report: realm_init_ipa_state/);
  const other = new Baseline(parseBaseline('generic/two splat=WARN*arch_timer* other\n', 'b.txt'));
  t.notOk(other.apply(structuredClone(two)), 'a different WARN is not covered');
  const both = structuredClone(two);
  both.assertions.unshift({ ok: false, message: 'EINVAL, expected EBUSY' });
  t.notOk(b.apply(both), 'nor a check that failed for another reason too');
});

t.test('a target without a readable kernel log: no judgement, a reason', async (t) => {
  const w = new KernelLogWatch(async () => ({ id: 0, ret: -1, errno: 13 }));
  await w.mark();
  t.match(w.unavailable, /cannot read \/dev\/kmsg on the target \(errno 13\)/);
  t.equal(await w.next(), undefined);
  t.equal(await new KernelLogWatch(undefined).next(), undefined);
});
