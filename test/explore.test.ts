// Exploration proves itself (harness/tools/explore/): on the emulator against
// itself, every catalogued bug switch is found within a fixed call budget and
// seed; without a switch a fixed-seed run finds nothing; each find comes back
// as a scenario that fails with the switch and passes without it, and as a
// trace that replays; bad options are one line and exit 2.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { getProfile } from '../profiles/index.ts';
import { EmulatorTarget } from '../harness/core/targets/emulator.ts';
import { launchOrders } from '../harness/tools/explore/gen.ts';
import { probeHost } from '../harness/tools/explore/host.ts';
import type { Call, Session, Target } from '../harness/core/target.ts';
import type { WireResult } from '../uapi/wire.ts';
import { explore } from '../harness/tools/explore/run.ts';
import { BUGS, bugRevision, explorePlanted, NOT_FOUND_YET, ROOT, roundTrip, UNREACHABLE } from '../harness/tools/explore/planted.ts';

// About five minutes on a loaded 2-core machine (forty explorations, a dozen ./run.sh starts): twice the default.
t.setTimeout(1_200_000);

// Fixed: the same sequences on every run.
const SEED = 1;
/**
 * Calls each switch took to be found with seed 1 (`npx tsx bench/explore.ts
 * --no-rate`, 2026-11-30). Its budget is three times that, at least 2,000: a
 * generator change that makes a find much slower fails here at once, and a
 * switch that is no longer found costs seconds, not minutes. After a
 * generator change, measure again and update the table.
 */
const CALLS_TO_FIND: Record<string, number> = {
  'vcpu-mixed-width-allowed': 535,
  'realm-no-rmi-eperm': 2,
  'sve-vls-after-rd-allowed': 495,
  'vcpu-after-vgic-init-allowed': 27,
  'init-ripas-einval': 24,
  'populate-skips-state-check': 5,
  'populate-ebusy-as-einval': 5,
  'init-ipa-accepts-past-ipa': 445,
  'init-ipa-state-before-wrap': 842,
  'config-accepts-unknown-item': 166,
  'config-copy-before-state': 54,
  'create-rd-twice': 212,
  'create-rd-ignores-vcpus': 60,
  'finalize-rec-before-create': 75,
  'rec-skips-psci-check': 9080,
  'vcpu-init-accepts-rec-bit': 123,
  'activate-skips-state-check': 49,
  'run-before-activate': 330,
  'realm-caps-not-hidden': 240,
  'enable-cap-realm-check-missing': 297,
  'populate-eperm-as-einval': 4,
  'populate-reserved-checked': 1701,
  'populate-no-gmem-check': 214,
  'finalize-rec-twice-allowed': 1363,
  'run-without-irqchip': 5803,
  'psci-complete-no-rec-check': 306,
  'populate-memslot-end-checked-late': 7000,
  'populate-skips-last-page': 120,
  'populate-chunks-checked-first': 1366,
  'populate-pages-checked-first': 31436,
  'populate-memslot-of-first-chunk': 8583,
  'init-ripas-first-block-only': 217,
  'run-rec-of-vcpu0': 1117,
  'rmi-populate-reserved-unchecked': 184,
  'populate-no-progress': 14,
  'populate-errors-after-progress-returned': 212,
  'populate-after-run-allowed': 102,
  'first-run-without-irqchip': 67,
  'old-subcommands-half-work': 545,
  'populate-source-not-advanced': 14,
  'populate-source-unaligned-accepted': 2032,
  'rmi-populate-normal-vm-eperm': 124,
  'dead-realm-revived': 7070,
  'dead-before-irqchip-check': 1795,
  'dead-realm-reactivated': 224,
  'realm-and-protected-accepted': 106,
  'rmm-accepts-zero-debug-counts': 280,
  'vcpu-features-differ-allowed': 657,
};
/** A switch not in the table yet (a new one): the budget every switch had before. */
const DEFAULT_BUDGET = 40_000;
const budgetOf = (bug: string): number => {
  const n = CALLS_TO_FIND[bug];
  return n === undefined ? DEFAULT_BUDGET : Math.max(2_000, 3 * n);
};
/** Switches whose find cannot come back as a scenario, with the reason. */
const NO_SCENARIO: Record<string, string> = {
  // the scenario format has no host settings: its steps run on the default host, which has an RMM
  'realm-no-rmi-eperm': 'needs a host without an RMM; the trace carries the setting (replay), a scenario cannot',
  'vcpu-mixed-width-allowed': 'needs a host with AArch32 EL1; the trace carries the setting (replay), a scenario cannot',
};

t.test('every catalogued bug switch is found, and round-trips', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'explore-test-'));
  for (const b of BUGS) {
    const skip = UNREACHABLE[b.name] ?? NOT_FOUND_YET[b.name];
    if (skip) {
      t.comment(`${b.name}: not explored: ${skip}`);
      continue;
    }
    const abi = bugRevision(b);
    const budget = budgetOf(b.name);
    const r = await explorePlanted(b.name, abi, SEED, { calls: budget });
    t.ok(r.found, `${b.name} (${abi}) found within ${budget} calls (after ${r.calls})`);
    if (!r.found) continue;
    const f = r.result.found!;
    t.ok(f.run.executed.length <= f.shrunkFrom, `${b.name}: shrunk to ${f.run.executed.length} steps from ${f.shrunkFrom}`);
    const rt = await roundTrip(r, join(dir, b.name));
    t.ok(rt.replays, `${b.name}: the trace replays with the switch on (${rt.files.trace})`);
    if (NO_SCENARIO[b.name]) {
      t.comment(`${b.name}: no scenario check: ${String(NO_SCENARIO[b.name])}`);
      continue;
    }
    t.ok(rt.failsWithBug, `${b.name}: its scenario fails with the switch on (${rt.files.scenario})`);
    t.ok(rt.passesWithout, `${b.name}: its scenario passes with the switch off`);
  }
});

t.test('without a switch, a fixed-seed run finds no difference (what CI runs)', async (t) => {
  for (const name of ['rfc-v1', 'v6', 'v10', 'v12', 'v14', 'absent'] as const) {
    const abi = getProfile(name)!;
    const r = await explore(
      { abi, target: new EmulatorTarget({ abi }), reference: new EmulatorTarget({ abi }), exact: true, callTimeoutMs: 5000 },
      launchOrders(abi, ROOT),
      {
        seed: SEED,
        budget: { calls: 3000 },
      },
    );
    t.notOk(r.found, `${name}: no difference in ${r.calls} calls`);
    t.ok(r.calls >= 3000, `${name}: the budget was spent (${r.sequences} sequences)`);
  }
});

t.test('./run.sh explore: a planted difference end to end, seed and path replay it, bad options', async (t) => {
  const run = (args: string[]) => spawnSync(join(ROOT, 'run.sh'), ['explore', ...args], { encoding: 'utf8', timeout: 120_000 });
  const out = mkdtempSync(join(tmpdir(), 'explore-cli-'));
  const a = run(['--abi', 'v10', '--emulator-bug', 'create-rd-twice', '--seed', '1', '--budget', '20000', '--out', out]);
  t.equal(a.status, 1, 'a difference: exit 1');
  t.match(
    a.stdout,
    /KVM_ENABLE_CAP\(RME, CREATE_REALM\) = 0 {3}reference: = -1 EEXIST {3}<-- result differs/,
    'the differing call, in kernel names, with both answers',
  );
  const again = /# again: \.\/run\.sh explore (.*)$/m.exec(a.stdout)?.[1]?.split(' ') ?? [];
  t.ok(again.includes('--path'), 'the seed and path are printed');
  const b = run([...again, '--out', join(out, 'again')]);
  t.equal(b.status, 1, 'seed and path find it again');
  t.same(readdirSync(join(out, 'again', 'scenarios')), readdirSync(join(out, 'scenarios')), 'the same sequence (same scenario name: a hash of its steps)');
  const trace = join(out, 'traces', readdirSync(join(out, 'traces'))[0] ?? '');
  const rp = spawnSync(join(ROOT, 'run.sh'), ['replay', trace], { encoding: 'utf8', timeout: 120_000 });
  t.equal(rp.status, 0, './run.sh replay reproduces the recording');
  const rc = spawnSync(join(ROOT, 'run.sh'), ['repro', trace], { encoding: 'utf8', timeout: 120_000 });
  t.equal(rc.status, 0, './run.sh repro writes a C reproducer');
  t.match(rc.stdout, /int main/, 'a C program');

  const clean = run(['--abi', 'v14', '--seed', '3', '--budget', '1500']);
  t.equal(clean.status, 0, 'no switch: exit 0');
  t.match(clean.stdout, /no difference from the reference emulator/);

  for (const [args, msg] of [
    [['--abi', 'v99'], /unknown ABI revision 'v99' \(did you mean v9\?\)/],
    [['--budgt', '3'], /unknown option --budgt \(did you mean --budget\?\)/],
    [['--budget', '3x'], /--budget takes a time/],
    [['--seed', 'x'], /--seed takes an integer/],
    [['--path', '1:2'], /--path needs the --seed/],
    [['--emulator-bug', 'create-rd-twic'], /unknown emulator bug 'create-rd-twic' \(did you mean create-rd-twice\?\)/],
    [['--abi', 'v14', '--emulator-bug', 'create-rd-twice'], /is not in v14/],
    [['--target', 'ssh://root@h', '--emulator-bug', 'create-rd-twice'], /--emulator-bug needs --target emulator/],
    [['--target', 'nowhere'], /unknown target 'nowhere'/],
  ] as const) {
    const r = run([...args]);
    t.equal(r.status, 2, `${args.join(' ')}: exit 2`);
    t.match(r.stderr, msg, `${args.join(' ')}: ${r.stderr.trim()}`);
    t.equal(r.stderr.trim().split('\n').length, 1, 'one line');
  }
});

t.test('a real target: the reference models its host (AArch32 EL1, SVE, PMU, IPA limit from KVM_CHECK_EXTENSION)', async (t) => {
  // a scripted host: IPA 44, 8 CPUs, AArch32 EL1, no SVE
  const answers: Record<number, number> = { 165: 44, 9: 8, 170: 0, 126: 1, 171: 1, 93: 1 };
  const session: Session = {
    call: (req: Call): Promise<WireResult> => {
      if (req.op === 'open') return Promise.resolve({ id: 0, ret: 3, errno: 0 });
      if (req.op === 'ioctl' && 'int' in req.arg) return Promise.resolve({ id: 0, ret: answers[req.arg.int] ?? 0, errno: 0 });
      return Promise.resolve({ id: 0, ret: -1, errno: 22 });
    },
    close: () => Promise.resolve(),
  };
  const target = { kind: 'ssh', session: () => Promise.resolve(session) } as unknown as Target;
  t.same(await probeHost(target, 1000), { ipaLimit: 44, nrCpus: 8, sve: false, pmu: true, ptrauth: true, el1_32bit: true });
  const none = { kind: 'ssh', session: () => Promise.resolve({ ...session, call: () => Promise.resolve({ id: 0, ret: -1, errno: 2 }) }) } as unknown as Target;
  t.same(await probeHost(none, 1000), {}, 'no /dev/kvm: the default host');
});
