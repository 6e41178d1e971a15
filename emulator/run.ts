// KVM_RUN: run_pid_change, the kvm_run area, MMIO completion and the guest loop.
import { KVM_RUN_LAYOUT as RUN } from '../uapi/kvm.ts';
import { KVM_ARM_VCPU_SVE, KVM_EXIT, KVM_RUN_LAYOUT } from '../uapi/kvm-uapi.ts';
import { MASK64, run as runCpu } from './aarch64.ts';
import { CallHangs, fail, KernelError } from './errors.ts';
import { psci } from './psci.ts';
import { NormalBus } from './stage2.ts';
import type { Vcpu } from './vcpu.ts';

const RUN_EXIT = KVM_RUN_LAYOUT.RUN_EXIT_REASON;
const RUN_U = KVM_RUN_LAYOUT.RUN_UNION;
const MMIO = RUN.mmio;
const RUN_IMMEDIATE_EXIT = 1;
const KVM_INTERNAL_ERROR_EMULATION = 1;

/** kvm_arch_vcpu_run_pid_change (UP-run), until it has succeeded once (G4). */
function runPidChange(vcpu: Vcpu): void {
  if (!vcpu.initialized) fail('ENOEXEC', 'KVM_RUN before KVM_ARM_VCPU_INIT (G5)');
  const realmFinal = vcpu.vm.kernel.realm?.isFinalized(vcpu);
  if (realmFinal === false) fail('EPERM', 'realm vCPU not finalised (R1-V10)');
  if (vcpu.hasFeature(KVM_ARM_VCPU_SVE) && !vcpu.sveFinalized) fail('EPERM', 'SVE not finalised (G6)');
  if (vcpu.hasRunOnce) return;
  vcpu.vm.vgic?.mapResources();
  vcpu.vm.kernel.realm?.firstRun(vcpu);
  vcpu.hasRunOnce = true;
  vcpu.vm.hasRanOnce = true;
}

export function runVcpu(vcpu: Vcpu): number {
  const k = vcpu.vm.kernel;
  runPidChange(vcpu);
  const run = new DataView(vcpu.runPage.buffer);
  // kvm_handle_mmio_return: load the data of an MMIO read, step past the access
  if (vcpu.mmio && run.getUint32(RUN_EXIT, true) === KVM_EXIT.MMIO) {
    const m = vcpu.mmio;
    if (!m.isWrite) {
      let v = 0n;
      for (let i = m.size - 1; i >= 0; i--) v = (v << 8n) | BigInt(run.getUint8(RUN_U + MMIO.data + i));
      if (m.rt !== 31) m.cpu.x[m.rt] = v;
    }
    m.cpu.pc = (m.cpu.pc + 4n) & MASK64;
  }
  vcpu.mmio = undefined;
  if (run.getUint8(RUN_IMMEDIATE_EXIT)) fail('EINTR', 'immediate_exit');
  run.setUint32(RUN_EXIT, KVM_EXIT.UNKNOWN, true);
  run.setUint16(14, 0, true); // flags
  // a stopped vCPU sleeps until another vCPU wakes it: nothing will
  if (vcpu.stopped) throw new CallHangs('vCPU is powered off and nothing will wake it');
  const realmEntry = k.realm?.enter(vcpu);
  if (realmEntry && 'shutdown' in realmEntry) {
    run.setUint32(RUN_EXIT, KVM_EXIT.SHUTDOWN, true);
    return 0;
  }
  const entered = realmEntry;
  const cpu = entered?.cpu ?? vcpu.cpu;
  const bus = entered?.bus ?? new NormalBus(vcpu.vm);
  let budget = k.host.maxInsnsPerRun;
  for (;;) {
    const { stop, executed } = runCpu(cpu, bus, budget);
    budget -= executed;
    switch (stop.kind) {
      case 'mmio': {
        run.setUint32(RUN_EXIT, KVM_EXIT.MMIO, true);
        run.setBigUint64(RUN_U + MMIO.physAddr, stop.ipa, true);
        for (let i = 0; i < 8; i++) run.setUint8(RUN_U + MMIO.data + i, i < stop.size ? Number((stop.data >> BigInt(8 * i)) & 0xffn) : 0);
        run.setUint32(RUN_U + MMIO.len, stop.size, true);
        run.setUint8(RUN_U + MMIO.isWrite, stop.isWrite ? 1 : 0);
        vcpu.mmio = { isWrite: stop.isWrite, size: stop.size, rt: stop.rt, cpu };
        return 0;
      }
      case 'hvc':
      case 'smc': {
        // a realm's PSCI conduit is SMC (handled via the RMM's PSCI exit); its HVC is undefined
        const isRealm = entered !== undefined;
        if ((stop.kind === 'smc') !== isRealm) {
          if (!isRealm) {
            // 6.1 handle_smc: SMC from a normal guest returns -1 in x0 and steps over
            cpu.x[0] = MASK64;
            continue;
          }
          return internalError(run, 'HVC in a realm: the RMM injects an undefined-instruction exception (not modelled)');
        }
        const exit = psci(vcpu, cpu, run);
        if (exit) return 0;
        continue;
      }
      case 'wfi':
        throw new CallHangs('WFI with no interrupt source modelled: the vCPU blocks');
      case 'errno':
        throw new KernelError(stop.errno, 'guest memory fault');
      case 'guest-exception':
        return internalError(run, stop.what);
      case 'budget':
        throw new CallHangs(`guest still running after ${k.host.maxInsnsPerRun} instructions`);
    }
  }
}

/**
 * The emulator does not model guest exceptions. Where a real kernel would
 * inject one (undefined instruction, abort outside RAM), the vCPU stops with
 * KVM_EXIT_INTERNAL_ERROR / KVM_INTERNAL_ERROR_EMULATION so a check sees it;
 * a real guest would take the exception (and, without vectors, spin).
 */
function internalError(run: DataView, _what: string): number {
  run.setUint32(RUN_EXIT, KVM_EXIT.INTERNAL_ERROR, true);
  run.setUint32(RUN_U, KVM_INTERNAL_ERROR_EMULATION, true);
  run.setUint32(RUN_U + 4, 0, true);
  return 0;
}
