// A vCPU: its fd, KVM_CREATE_VCPU, the vCPU ioctl dispatch and KVM_ARM_VCPU_INIT.
import { IOCTLS, KVMIO, STRUCTS } from '../uapi/kvm.ts';
import { argSize, offsetOf, sizeOf, view } from '../uapi/layout.ts';
import { StructReader } from '../uapi/bytes.ts';
import {
  KVM_ARM_TARGET_GENERIC_V8,
  KVM_ARM_VCPU_FINALIZE,
  KVM_ARM_VCPU_EL1_32BIT,
  KVM_ARM_VCPU_INIT,
  KVM_ARM_VCPU_POWER_OFF,
  KVM_ARM_VCPU_SVE,
  KVM_GET_ONE_REG,
  KVM_RUN,
  KVM_SET_ONE_REG,
} from '../uapi/kvm-uapi.ts';
import { CpuState } from './aarch64.ts';
import { fail } from './errors.ts';
import { type IoctlCtx, KFile, KVM_MAX_VCPUS, VCPU_MMAP_SIZE } from './kernel.ts';
import { PAGE_SIZE, type PhysRange } from './memory.ts';
import { oneReg } from './one-reg.ts';
import type { RealmVcpu } from './realm-module.ts';
import { runVcpu } from './run.ts';
import type { Vm } from './vm.ts';

const KVM_VCPU_MAX_FEATURES_UPSTREAM = 7; // v6.1/v6.2

export class VcpuFile extends KFile {
  readonly kind = 'vcpu';
  constructor(readonly vcpu: Vcpu) {
    super();
    vcpu.vm.get();
  }
  ioctl(ctx: IoctlCtx): number {
    return vcpuIoctl(this.vcpu, ctx);
  }
  override release(): void {
    this.vcpu.vm.put();
  }
  override mmapBacking(offset: number, len: number): { mem: PhysRange; memPage: number; valid: number } | number {
    // kvm_vcpu_mmap: pages past the run area fault on access (SIGBUS), the mmap itself succeeds
    const first = offset / PAGE_SIZE;
    return { mem: this.vcpu.runMem, memPage: first, valid: Math.max(0, Math.min(len, VCPU_MMAP_SIZE - offset)) };
  }
}

export class Vcpu {
  /** kvm_vcpu_initialized: the target is set. */
  initialized = false;
  features = 0;
  readonly cpu = new CpuState();
  /** The kvm_run area: page 0 is struct kvm_run, page 1 the coalesced-MMIO ring. */
  readonly runMem: PhysRange;
  /** vcpu->pid is set: run_pid_change succeeded once (UP-pid). */
  hasRunOnce = false;
  /** PSCI power state. */
  stopped = false;
  sveFinalized = false;
  /** KVM_REG_ARM64_SVE_VLS: the largest VQ the vCPU may use (all below it available). */
  sveMaxVq = 0;
  /** An MMIO exit waiting for completion at the next KVM_RUN. */
  mmio: { isWrite: boolean; size: number; rt: number; cpu: CpuState } | undefined;
  realm: RealmVcpu | undefined;
  readonly mpidr: bigint;
  /** Other core registers (SP_EL1, ELR_EL1, SPSR, FP): stored, not used. */
  readonly otherCore = new Map<number, bigint>();

  constructor(
    readonly vm: Vm,
    readonly id: number,
  ) {
    this.runMem = vm.kernel.phys.alloc(VCPU_MMAP_SIZE / PAGE_SIZE);
    // reset_mpidr: Aff0 = id[3:0], Aff1 = id[11:4], Aff2 = id[19:12], bit 31 RES1
    this.mpidr = BigInt(id & 0xf) | (BigInt((id >> 4) & 0xff) << 8n) | (BigInt((id >> 12) & 0xff) << 16n);
  }

  get runPage(): Uint8Array {
    return this.runMem.page(0);
  }

  hasFeature(bit: number): boolean {
    return ((this.features >>> bit) & 1) === 1;
  }
}

/**
 * The breakpoint and watchpoint counts a realm's parameters get (v6 35/43,
 * lore:20241212155610.76522-36-steven.price@arm.com): the BRPs/WRPs fields of
 * the VM's ID_AA64DFR0_EL1, sanitised to the RMM's limits, so 0 until the
 * first KVM_ARM_VCPU_INIT has set the VM's ID registers up.
 */
export function vmDebugCounts(vm: Vm): { numBps: number; numWps: number } {
  if (!vm.idRegsReady) return { numBps: 0, numWps: 0 };
  const s = vm.kernel.rmm.settings;
  return { numBps: s.numBps, numWps: s.numWps };
}

export function createVcpu(vm: Vm, arg: bigint): Vcpu {
  const id = Number(arg & 0xffffffffn);
  if (id >= KVM_MAX_VCPUS) fail('EINVAL', 'vCPU id >= KVM_MAX_VCPU_IDS');
  if (vm.createdVcpus >= vm.maxVcpus) fail('EINVAL', 'too many vCPUs');
  // kvm_arch_vcpu_precreate (G9)
  if (vm.vgic?.initialized && !vm.kernel.bug('vcpu-after-vgic-init-allowed')) fail('EBUSY', 'vGIC initialised (G9)');
  if (vm.vcpus.some((v) => v.id === id)) fail('EEXIST', 'vCPU id in use');
  const v = new Vcpu(vm, id);
  vm.createdVcpus++;
  vm.vcpus.push(v);
  return v;
}

function vcpuIoctl(vcpu: Vcpu, ctx: IoctlCtx): number {
  const k = vcpu.vm.kernel;
  if (((ctx.req >>> 8) & 0xff) !== KVMIO) fail('EINVAL', 'not a KVMIO request');
  switch (ctx.req) {
    case KVM_RUN:
      if (ctx.arg !== 0n) fail('EINVAL', 'KVM_RUN takes no argument');
      return runVcpu(vcpu);
    case KVM_ARM_VCPU_INIT: {
      const b = new StructReader(ctx.read(ctx.arg, sizeOf(STRUCTS.vcpuInit), `struct ${STRUCTS.vcpuInit.c}`));
      return vcpuInit(vcpu, b);
    }
    case KVM_SET_ONE_REG:
    case KVM_GET_ONE_REG: {
      if (!vcpu.initialized) fail('ENOEXEC', 'ONE_REG before KVM_ARM_VCPU_INIT');
      const b = view(STRUCTS.oneReg, ctx.read(ctx.arg, sizeOf(STRUCTS.oneReg), `struct ${STRUCTS.oneReg.c}`));
      return oneReg(vcpu, ctx, b.u64('id'), b.u64('addr'), ctx.req === KVM_SET_ONE_REG);
    }
    case KVM_ARM_VCPU_FINALIZE: {
      if (!vcpu.initialized) fail('ENOEXEC', 'FINALIZE before KVM_ARM_VCPU_INIT (G7)');
      const what = new StructReader(ctx.read(ctx.arg, argSize(IOCTLS.KVM_ARM_VCPU_FINALIZE.arg), 'FINALIZE feature (G7)')).i32(0);
      const mine = k.realm?.finalize(ctx, vcpu, what);
      if (mine !== undefined) return mine;
      if (what === KVM_ARM_VCPU_SVE) {
        if (!vcpu.hasFeature(KVM_ARM_VCPU_SVE)) fail('EINVAL', 'FINALIZE(SVE) without SVE');
        if (vcpu.sveFinalized) fail('EPERM', 'SVE already finalised');
        vcpu.sveFinalized = true;
        return 0;
      }
      return fail('EINVAL', `FINALIZE(${what}): unknown feature (G7)`);
    }
    default: {
      const mine = k.realm?.vcpuIoctl(ctx, vcpu, ctx.req);
      if (mine !== undefined) return mine;
      fail('EINVAL', 'unknown vCPU ioctl');
    }
  }
}

function vcpuInit(vcpu: Vcpu, b: StructReader): number {
  const k = vcpu.vm.kernel;
  const target = b.u32(offsetOf(STRUCTS.vcpuInit, 'target'));
  const featuresAt = offsetOf(STRUCTS.vcpuInit, 'features');
  if (target !== KVM_ARM_TARGET_GENERIC_V8) fail('EINVAL', 'target is not the preferred target');
  const max = k.realm?.maxVcpuFeatures() ?? KVM_VCPU_MAX_FEATURES_UPSTREAM;
  let features = 0;
  for (let i = 0; i < 7 * 32; i++) {
    const set = ((b.u32(featuresAt + 4 * (i >> 5)) >>> (i & 31)) & 1) === 1;
    // G8 / R1-V1: a bit at or past KVM_VCPU_MAX_FEATURES
    if (set && i >= max) fail('ENOENT', `feature bit ${i} >= KVM_VCPU_MAX_FEATURES ${max} (G8)`);
    if (vcpu.initialized && i < max && set !== vcpu.hasFeature(i)) fail('EINVAL', 'features differ from the first VCPU_INIT');
    if (set) features |= 1 << i;
  }
  // kvm_reset_vcpu's feature checks
  const h = k.host;
  const vm = vcpu.vm;
  const has = (bit: number): boolean => ((features >>> bit) & 1) === 1;
  // G10: before 6.7, kvm_reset_vcpu first fixes the VM's EL1 register width (kvm_set_vm_width, since 5.18): the first
  // VCPU_INIT sets it, kept even if a later reset check fails; a vCPU of the other width is -EINVAL. From 6.7 the
  // per-VM feature set below covers it.
  if (!k.perVmVcpuFeatures && !k.bug('vcpu-mixed-width-allowed')) {
    const is32 = has(KVM_ARM_VCPU_EL1_32BIT);
    if (vm.el1Is32bit !== undefined && vm.el1Is32bit !== is32) {
      if (!vcpu.initialized) vcpu.features = 0;
      fail('EINVAL', "EL1 register width differs from the VM's (kvm_set_vm_width)");
    }
    // a 32-bit vCPU on a host without AArch32 EL1 is refused before the width is fixed
    if (!is32 || h.el1_32bit) vm.el1Is32bit ??= is32;
  }
  let bad = '';
  if (has(KVM_ARM_VCPU_SVE) && !h.sve) bad = 'SVE not supported';
  if (has(5) !== has(6) || (has(5) && !h.ptrauth)) bad = 'PTRAUTH address and generic must go together';
  if (has(3) && !h.pmu) bad = 'PMU not supported';
  if (has(1) && (!h.el1_32bit || has(KVM_ARM_VCPU_SVE))) bad = 'EL1_32BIT not supported';
  // HAS_EL2 (7) and HAS_EL2_E2H0 (8): the host has no nested virtualisation (cleared from the supported mask)
  for (const nv of [7, 8]) if (has(nv) && !k.realm?.ownsFeature(nv)) bad = `feature ${nv} (nested virt) not supported`;
  if (!bad) {
    try {
      k.realm?.checkVcpuFeatures(vcpu, has);
    } catch (e) {
      if (!vcpu.initialized) vcpu.features = 0;
      throw e;
    }
  }
  if (bad) {
    if (!vcpu.initialized) vcpu.features = 0;
    fail('EINVAL', bad);
  }
  // kvm_vcpu_set_target: every vCPU of a VM has the first one's features (POWER_OFF is per call, not kept)
  const kept = features & ~(1 << KVM_ARM_VCPU_POWER_OFF);
  if (k.perVmVcpuFeatures && vm.vcpuFeatures !== undefined && vm.vcpuFeatures !== kept && !k.bug('vcpu-features-differ-allowed')) {
    if (!vcpu.initialized) vcpu.features = 0;
    fail('EINVAL', "features differ from the VM's first KVM_ARM_VCPU_INIT");
  }
  vm.vcpuFeatures ??= kept;
  // kvm_reset_vcpu -> the VM's ID registers are initialised once, at the first vCPU reset
  vm.idRegsReady = true;
  vcpu.features = features;
  vcpu.initialized = true;
  vcpu.sveMaxVq = h.sveMaxVq;
  vcpu.stopped = has(KVM_ARM_VCPU_POWER_OFF);
  // kvm_reset_vcpu: registers to their reset values
  const c = vcpu.cpu;
  c.x.fill(0n);
  c.sp = 0n;
  c.pc = 0n;
  c.pstate = 0x3c5n;
  return 0;
}
