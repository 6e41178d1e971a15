// In-kernel PSCI and SMCCC (kvm_hvc_call_handler), for normal and realm vCPUs.
import { KVM_RUN_LAYOUT as RUN } from '../uapi/kvm.ts';
import { KVM_ARM_VCPU_PSCI_0_2, KVM_EXIT, KVM_RUN_LAYOUT, KVM_SYSTEM_EVENT_RESET, KVM_SYSTEM_EVENT_SHUTDOWN } from '../uapi/kvm-uapi.ts';
import { CpuState, MASK64 } from './aarch64.ts';
import { CallHangs } from './errors.ts';
import type { Vcpu } from './vcpu.ts';

const RUN_EXIT = KVM_RUN_LAYOUT.RUN_EXIT_REASON;
const RUN_U = KVM_RUN_LAYOUT.RUN_UNION;
const SYSEV = RUN.systemEvent;

const PSCI_RET_SUCCESS = 0n;
const PSCI_RET_NOT_SUPPORTED = MASK64; // -1
const PSCI_RET_INVALID_PARAMS = MASK64 - 1n; // -2
const PSCI_RET_ALREADY_ON = MASK64 - 3n; // -4
const PSCI_RET_INTERNAL_FAILURE = MASK64 - 5n; // -6

/** kvm_hvc_call_handler / kvm_psci_call. Returns true when KVM_RUN exits to userspace. */
export function psci(vcpu: Vcpu, cpu: CpuState, run: DataView): boolean {
  const vm = vcpu.vm;
  const fn = Number(cpu.x[0]! & 0xffffffffn);
  const ret = (v: bigint): boolean => {
    cpu.x[0] = v;
    cpu.x[1] = 0n;
    cpu.x[2] = 0n;
    cpu.x[3] = 0n;
    return false;
  };
  if (fn === 0x80000000) return ret(0x10001n); // SMCCC_VERSION 1.1
  if (!vcpu.hasFeature(KVM_ARM_VCPU_PSCI_0_2)) return ret(PSCI_RET_NOT_SUPPORTED); // PSCI 0.1 ids not modelled
  const event = (type: number): boolean => {
    for (const v of vm.vcpus) v.stopped = true;
    vm.kernel.realm?.systemOff(vm);
    run.setUint32(RUN_EXIT, KVM_EXIT.SYSTEM_EVENT, true);
    run.setUint32(RUN_U + SYSEV.type, type, true);
    run.setUint32(RUN_U + SYSEV.ndata, 1, true); // ndata (PSCI 1.x: flags in data[0])
    run.setBigUint64(RUN_U + SYSEV.data0, 0n, true);
    // a resumed vCPU must see INTERNAL_FAILURE
    ret(PSCI_RET_INTERNAL_FAILURE);
    return true;
  };
  switch (fn) {
    case 0x84000000: // PSCI_VERSION
      return ret(BigInt(vm.kernel.host.psciVersion));
    case 0x84000008: // SYSTEM_OFF
      return event(KVM_SYSTEM_EVENT_SHUTDOWN);
    case 0x84000009: // SYSTEM_RESET
      return event(KVM_SYSTEM_EVENT_RESET);
    case 0x84000002: // CPU_OFF
      vcpu.stopped = true;
      throw new CallHangs('PSCI CPU_OFF: the vCPU sleeps');
    case 0x84000006: // MIGRATE_INFO_TYPE: TOS not present / MP
      return ret(2n);
    case 0x84000003:
    case 0xc4000003: {
      // CPU_ON
      const mask = fn === 0x84000003 ? 0xffffffffn : MASK64;
      const target = vm.vcpuByMpidr(cpu.x[1]! & mask);
      if (!target) return ret(PSCI_RET_INVALID_PARAMS);
      const t = vm.realm ? vm.kernel.realm?.cpuOn(target) : { cpu: target.cpu, on: !target.stopped, wake: () => undefined };
      if (!t) return ret(PSCI_RET_INVALID_PARAMS);
      if (t.on) return ret(PSCI_RET_ALREADY_ON);
      t.cpu.pc = cpu.x[2]! & mask;
      t.cpu.x[0] = cpu.x[3]! & mask;
      t.wake();
      target.stopped = false;
      return ret(PSCI_RET_SUCCESS);
    }
    case 0x84000004:
    case 0xc4000004: {
      // AFFINITY_INFO: 0 ON, 1 OFF
      const target = vm.vcpuByMpidr(cpu.x[1]!);
      if (!target) return ret(PSCI_RET_INVALID_PARAMS);
      return ret(target.stopped ? 1n : 0n);
    }
    default:
      return ret(PSCI_RET_NOT_SUPPORTED);
  }
}
