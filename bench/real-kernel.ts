// Figures for the real-kernel run: `./run.sh --target qemu --abi absent` as a
// user runs it (wall time, process start included), the same run in-process
// split into boot (readiness line, start()), checks and stop(), and the
// per-call cost of the agent path against the emulator for the same calls.
//   npx tsx bench/real-kernel.ts [RUNS] [N]     (default 3 runs, 200 calls)
// Prints figures only; no thresholds (TCG speed depends on the machine).
import { fileURLToPath } from 'node:url';
import { performance } from 'node:perf_hooks';
import { execa } from 'execa';
import { getProfile } from '../profiles/index.ts';
import { applicable, runChecks } from '../harness/core/engine.ts';
import { DEFAULT_CALL_TIMEOUT_MS, type Session } from '../harness/core/target.ts';
import { EmulatorTarget } from '../harness/core/targets/emulator.ts';
import { QemuTarget } from '../harness/core/targets/qemu.ts';
import { ALL_CHECKS } from '../checks/index.ts';

const root = fileURLToPath(new URL('..', import.meta.url));
const RUNS = Number(process.argv[2] ?? 3);
const N = Number(process.argv[3] ?? 200);
const KVM_CHECK_EXTENSION = 0xae03;
const KVM_CAP_ARM_VM_IPA_SIZE = 165;

const abi = getProfile('absent');
if (!abi) throw new Error('no absent profile');
const checks = applicable(ALL_CHECKS, abi);
const ms = (x: number) => `${x.toFixed(0)} ms`;
const med = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? NaN;
const span = (xs: number[]) => `median ${ms(med(xs))} (min ${ms(Math.min(...xs))}, max ${ms(Math.max(...xs))})`;

// 1. As a user runs it.
const walls: number[] = [];
for (let i = 0; i < RUNS; i++) {
  const t0 = performance.now();
  const r = await execa(`${root}run.sh`, ['--target', 'qemu', '--abi', 'absent'], { cwd: root, reject: false });
  walls.push(performance.now() - t0);
  if (r.exitCode !== 0) process.stderr.write(`run ${i + 1}: exit ${r.exitCode ?? r.signal ?? '?'}: ${r.stderr.trim().split('\n').slice(-1)[0] ?? ''}\n`);
}

// 2. The same run in-process, split; the last boot stays up for 3.
const preps: number[] = [];
const boots: number[] = [];
const starts: number[] = [];
const runs: number[] = [];
const stops: number[] = [];
let q: QemuTarget | undefined;
for (let i = 0; i < RUNS; i++) {
  q = new QemuTarget();
  const t0 = performance.now();
  await q.start();
  starts.push(performance.now() - t0);
  boots.push(q.bootMs ?? NaN);
  preps.push(q.prepMs ?? NaN);
  const r0 = performance.now();
  const out = await runChecks(checks, {
    abi,
    target: q,
    targetKind: q.kind,
    allowCrash: false,
    callTimeoutMs: DEFAULT_CALL_TIMEOUT_MS,
    checkTimeoutMs: 30000,
  });
  runs.push(performance.now() - r0);
  const bad = out.filter((o) => o.status !== 'pass');
  if (bad.length) process.stderr.write(`in-process run ${i + 1}: ${bad.map((o) => `${o.name} ${o.status}`).join(', ')}\n`);
  if (i < RUNS - 1) {
    const s0 = performance.now();
    await q.stop();
    stops.push(performance.now() - s0);
  }
}

// 3. N x KVM_CHECK_EXTENSION(IPA_SIZE) on the emulator and through the agent.
async function calls(s: Session): Promise<{ perCallUs: number; inCallUs: number; ret: number }> {
  const op = { op: 'ioctl', fd: 'kvm', req: KVM_CHECK_EXTENSION, arg: { int: KVM_CAP_ARM_VM_IPA_SIZE } } as const;
  const open = await s.call({ op: 'open', path: '/dev/kvm', flags: 2, as: 'kvm' });
  if (open.ret < 0) throw new Error(`open /dev/kvm: ${JSON.stringify(open)}`);
  for (let i = 0; i < 10; i++) await s.call(op); // warm up
  let inCall = 0;
  let ret = 0;
  const t0 = performance.now();
  for (let i = 0; i < N; i++) {
    const r = await s.call(op);
    if (r.error) throw new Error(`KVM_CHECK_EXTENSION: ${r.error}`);
    inCall += r.us ?? 0;
    ret = r.ret;
  }
  const perCallUs = ((performance.now() - t0) * 1000) / N;
  await s.close();
  return { perCallUs, inCallUs: inCall / N, ret };
}
const emu = new EmulatorTarget({ abi });
await emu.start();
const e = await calls(await emu.session());
await emu.stop();
let a: Awaited<ReturnType<typeof calls>>;
try {
  a = await calls(await q!.session());
} finally {
  const s0 = performance.now();
  await q?.stop();
  stops.push(performance.now() - s0);
}

const us = (x: number) => `${x.toFixed(1)} us`;
process.stdout.write(
  [
    `./run.sh --target qemu --abi absent (${checks.length} checks), ${RUNS} runs`,
    `  wall, process start to exit:        ${span(walls)}`,
    `  boot: start() in total:              ${span(starts)}`,
    `    prep (agent make, build-guest.sh):  ${span(preps)}`,
    `    qemu spawn to readiness line:       ${span(boots)}`,
    `    ssh master, probe, agent up:        ${ms(med(starts) - med(preps) - med(boots))}`,
    `  run: the ${checks.length} checks:                  ${span(runs)}`,
    `  stop():                              ${span(stops)}`,
    `  node/tsx start + load (wall - start - run - stop, from medians; noisy): ~${ms(Math.max(0, med(walls) - med(starts) - med(runs) - med(stops)))}`,
    `${N} x KVM_CHECK_EXTENSION(KVM_CAP_ARM_VM_IPA_SIZE), one session`,
    `  emulator (in-process):   ${us(e.perCallUs)}/call, ret ${e.ret}`,
    `  qemu target (ssh+agent): ${us(a.perCallUs)}/call, ret ${a.ret}; ${us(a.inCallUs)} of it in the ioctl on the guest`,
    `  agent path overhead:     ${us(a.perCallUs - e.perCallUs)}/call over the emulator (${(a.perCallUs / e.perCallUs).toFixed(0)}x)`,
  ].join('\n') + '\n',
);
