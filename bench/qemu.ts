// Boot time and per-call overhead of the qemu target's agent path.
//   npx tsx bench/qemu.ts [N]     (default 200 round trips)
// Boot figures come from QemuTarget: prepMs (before qemu is spawned) and bootMs.
// Prints figures only; no thresholds (TCG speed depends on the machine).
import { performance } from 'node:perf_hooks';
import { QemuTarget } from '../harness/core/targets/qemu.ts';

const N = Number(process.argv[2] ?? 200);
const KVM_CHECK_EXTENSION = 0xae03;
const KVM_CAP_ARM_VM_IPA_SIZE = 165;

const q = new QemuTarget({ log: (l) => process.stderr.write(`${l}\n`) });
const t0 = performance.now();
try {
  const id = await q.start();
  const started = performance.now() - t0;
  const s = await q.session();
  await s.call({ op: 'open', path: '/dev/kvm', flags: 2, as: 'kvm' });
  // Warm up, then time N round trips.
  for (let i = 0; i < 10; i++) await s.call({ op: 'ioctl', fd: 'kvm', req: KVM_CHECK_EXTENSION, arg: { int: KVM_CAP_ARM_VM_IPA_SIZE } });
  let agentUs = 0;
  const c0 = performance.now();
  for (let i = 0; i < N; i++) {
    const r = await s.call({ op: 'ioctl', fd: 'kvm', req: KVM_CHECK_EXTENSION, arg: { int: KVM_CAP_ARM_VM_IPA_SIZE } });
    if (r.error || r.ret !== 48) throw new Error(`unexpected result ${JSON.stringify(r)}`);
    agentUs += r.us ?? 0;
  }
  const wallMs = performance.now() - c0;
  await s.close();
  const ss0 = performance.now();
  for (let i = 0; i < 20; i++) await (await q.session()).close();
  const sessMs = (performance.now() - ss0) / 20;

  const perCall = (wallMs * 1000) / N;
  process.stdout.write(
    [
      `target: ${id.info.release} ${id.info.machine} (${id.info.executor})`,
      `prep before spawning qemu (agent make, build-guest.sh; both no-ops when up to date): ${q.prepMs ?? '?'} ms`,
      `boot to readiness line: ${q.bootMs ?? '?'} ms`,
      `start() total (build check, boot, ssh master, probe, agent up): ${started.toFixed(0)} ms`,
      `${N} x KVM_CHECK_EXTENSION round trips: ${wallMs.toFixed(0)} ms, ${perCall.toFixed(0)} us/call ` +
        `(of which in the ioctl: ${(agentUs / N).toFixed(0)} us; transport overhead ${(perCall - agentUs / N).toFixed(0)} us)`,
      `session() + close() (two resets): ${sessMs.toFixed(1)} ms`,
    ].join('\n') + '\n',
  );
} finally {
  const st0 = performance.now();
  await q.stop();
  process.stdout.write(`stop(): ${(performance.now() - st0).toFixed(0)} ms\n`);
}
