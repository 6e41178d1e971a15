// The reference emulator must model the target's host, not the emulator's
// default one: a real kernel whose CPU has AArch32 EL1, or no SVE, answers
// KVM_ARM_VCPU_INIT differently for reasons that have nothing to do with
// realms. The host's capabilities are asked once, the way a VMM asks them
// (KVM_CHECK_EXTENSION on /dev/kvm), and the reference is built with them.
import type { HostSettings } from '../../core/targets/emulator.ts';
import { CAP, KVM_CHECK_EXTENSION, O_CLOEXEC, O_RDWR } from '../../../uapi/kvm-uapi.ts';
import type { Target } from '../../core/target.ts';

export async function probeHost(target: Target, timeoutMs: number): Promise<Partial<HostSettings>> {
  const s = await target.session();
  try {
    const open = await s.call({ op: 'open', path: '/dev/kvm', flags: O_RDWR | O_CLOEXEC, as: 'kvm', timeout_ms: timeoutMs });
    if (open.ret < 0 || open.error) return {};
    const ask = async (cap: number): Promise<number | undefined> => {
      const r = await s.call({ op: 'ioctl', fd: 'kvm', req: KVM_CHECK_EXTENSION, arg: { int: cap }, timeout_ms: timeoutMs });
      return r.error === undefined && r.ret >= 0 ? r.ret : undefined;
    };
    const out: Partial<HostSettings> = {};
    const ipa = await ask(CAP.KVM_CAP_ARM_VM_IPA_SIZE);
    if (ipa) out.ipaLimit = ipa;
    const cpus = await ask(CAP.KVM_CAP_NR_VCPUS);
    if (cpus) out.nrCpus = cpus;
    const flag = async (cap: number, set: (v: boolean) => void): Promise<void> => {
      const v = await ask(cap);
      if (v !== undefined) set(v > 0);
    };
    await flag(CAP.KVM_CAP_ARM_SVE, (v) => (out.sve = v));
    await flag(CAP.KVM_CAP_ARM_PMU_V3, (v) => (out.pmu = v));
    await flag(CAP.KVM_CAP_ARM_PTRAUTH_ADDRESS, (v) => (out.ptrauth = v));
    await flag(CAP.KVM_CAP_ARM_EL1_32BIT, (v) => (out.el1_32bit = v));
    return out;
  } finally {
    await s.close().catch(() => undefined);
  }
}
