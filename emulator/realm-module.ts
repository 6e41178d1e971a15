// The plug-in point between the generic KVM code (kernel.ts, vm.ts, vcpu.ts,
// run.ts, ...) and one era of the realm uAPI. The RME era (RFC v1..v10:
// ENABLE_CAP sub-commands, FINALIZE(REC)) lives in realm-rme.ts; the RMI era
// (v12..v14: guest_memfd, KVM_ARM_RMI_POPULATE, activation at the first
// KVM_RUN) in realm-rmi.ts, plugged in through the same hooks.
//
// Each hook returns `undefined` for "not mine": the generic path goes on.
import type { GuestBus, CpuState } from './aarch64.ts';
import type { IoctlCtx } from './kernel.ts';
import type { Vcpu } from './vcpu.ts';
import type { Vm } from './vm.ts';

/** Per-VM realm state owned by a module. */
export interface RealmVm {
  readonly generation: string;
}

/** Per-vCPU realm state (a REC) owned by a module. */
export interface RealmVcpu {
  readonly generation: string;
}

export interface VmTypeDecoded {
  /** The IPA-size byte (bits[7:0]). */
  ipaField: number;
  /** The type asks for a realm (whether it becomes one depends on the RMM). */
  realmType: boolean;
}

export interface RealmModule {
  readonly generation: string;
  /** KVM_CHECK_EXTENSION of a capability the module owns (vm undefined: /dev/kvm). */
  checkExtension(vm: Vm | undefined, cap: number): number | undefined;
  /** Decode and validate the KVM_CREATE_VM type (throws -EINVAL). */
  decodeVmType(type: bigint): VmTypeDecoded;
  /** The VM exists (IPA validated): attach realm state, or leave it a normal VM. */
  initVm(vm: Vm, decoded: VmTypeDecoded): RealmVm | undefined;
  /** IPA limit used for a realm-type VM at CREATE_VM (host limit in RFC v1). */
  ipaLimit(decoded: VmTypeDecoded, hostLimit: number): number;
  /** arm64 KVM_ENABLE_CAP after the generic flags check. */
  enableCap(ctx: IoctlCtx, vm: Vm, cap: number, args: readonly bigint[]): number | undefined;
  /** VM ioctls the generic code does not know (v12+ POPULATE). */
  vmIoctl(ctx: IoctlCtx, vm: Vm, req: number): number | undefined;
  /** vCPU ioctls the generic code does not know (PSCI_COMPLETE). */
  vcpuIoctl(ctx: IoctlCtx, vcpu: Vcpu, req: number): number | undefined;
  /** KVM_VCPU_MAX_FEATURES in this revision. */
  maxVcpuFeatures(): number;
  /** Extra KVM_ARM_VCPU_INIT feature rules (REC bit, AArch32 realms); throws -EINVAL. `owned` bits are not "unsupported by the host". */
  checkVcpuFeatures(vcpu: Vcpu, has: (bit: number) => boolean): void;
  /** Feature bits at or above 7 this revision gives a meaning (the REC bit). */
  ownsFeature(bit: number): boolean;
  /** KVM_{SET,GET}_ONE_REG restrictions for realm vCPUs, before the generic code (throws). */
  oneReg(vcpu: Vcpu, id: bigint, set: boolean): void;
  /**
   * The first-run block of kvm_arch_vcpu_run_pid_change, after the vGIC is
   * mapped and before the vCPU counts as having run: the irqchip rule
   * (V10-V14) or the whole implicit activation (V14-A4..A12). Throws.
   */
  firstRun(vcpu: Vcpu): void;
  /** KVM_ARM_VCPU_FINALIZE(what) for features the module owns. */
  finalize(ctx: IoctlCtx, vcpu: Vcpu, what: number): number | undefined;
  /** kvm_arm_vcpu_is_finalized: the realm part (undefined: not a realm vCPU). */
  isFinalized(vcpu: Vcpu): boolean | undefined;
  /**
   * The guest context a KVM_RUN enters for a realm vCPU (after run_pid_change):
   * the REC's registers and the realm's view of memory. Throws for a REC that
   * cannot be entered. undefined: not a realm vCPU. `shutdown`: REC_ENTER
   * answered RMI_ERROR_REALM, which KVM reports as KVM_EXIT_SHUTDOWN (V14-R2).
   */
  enter(vcpu: Vcpu): { cpu: CpuState; bus: GuestBus } | { shutdown: string } | undefined;
  /** The guest did PSCI SYSTEM_OFF (the RMM marks the realm SYSTEM_OFF). */
  systemOff(vm: Vm): void;
  /**
   * PSCI CPU_ON of a realm vCPU: its REC's registers, whether it is already
   * on, and how to mark it runnable. undefined: not a realm vCPU (or no REC).
   */
  cpuOn(vcpu: Vcpu): { cpu: CpuState; on: boolean; wake(): void } | undefined;
  /** The VM is being destroyed (last reference gone). */
  destroyVm(vm: Vm): void;
}
