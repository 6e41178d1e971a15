// The RMI realm uAPI generation (v12 .. v14): a query-only KVM_CAP_ARM_RMI,
// no ENABLE_CAP sub-commands, guest_memfd memslots marked PRIVATE decide what
// is protected, one VM ioctl KVM_ARM_RMI_POPULATE (v12: _IOW returning bytes;
// v13+: _IOWR in/out returning 0), and the RD, the RECs and activation made
// implicitly: the RD at the first POPULATE or the first KVM_RUN, everything
// else at the first KVM_RUN of any vCPU (conditions.md §4, read in v14; v12
// and v13 differ where abi-evolution.md §3.5-§3.6 says). Numbers come from
// the profile; behaviour that changes between revisions is in RMI_RULES.
import { StructReader, StructWriter } from '../harness/bytes.ts';
import type { ErrnoName } from '../harness/errno.ts';
import type { AbiName, AbiProfile } from '../harness/abi/types.ts';
import { CAP, KVM_ARM_VCPU_EL1_32BIT, KVM_ARM_VCPU_PSCI_0_2, KVM_ARM_VCPU_SVE } from '../harness/kvm-uapi.ts';
import type { CpuState } from './aarch64.ts';
import { fail, KernelError } from './errors.ts';
import { gmemPage, KVM_REG_ARM64_SVE_VLS, vmDebugCounts, type IoctlCtx, type Kernel, type Vcpu, type Vm } from './kvm.ts';
import { PAGE_SIZE } from './memory.ts';
import type { RealmModule, RealmVcpu, RealmVm, VmTypeDecoded } from './realm-module.ts';
import { RealmBus } from './realm-multiplexed.ts';
import { FEAT0, RMI_ERROR_RTT, RMI_SUCCESS, rmiCode, type Rd, type Rec } from './rmm.ts';

/** What differs between v12, v13 and v14 beyond the profile's numbers. */
export interface RmiRules {
  abi: AbiName;
  /** KVM_VCPU_MAX_FEATURES: v12 45/46 still raises it to 10 (abi-evolution.md §4.9), v14 has no such patch (V14-V2). */
  maxVcpuFeatures: number;
  /** POPULATE on a non-realm VM: -EPERM in v12, -ENXIO from v13 (V14-PO1, conditions.md §6.7). */
  populateNotRealm: ErrnoName;
  /** source_uaddr must be page-aligned (v13 on: abi-evolution.md §3.6; V14-PO3). */
  sourceAligned: boolean;
  /** The state is set DEAD before the irqchip check (v12 11/46, abi-evolution.md §3.5); v13 16/48 and v14 check the irqchip first (V14-A5). */
  deadBeforeIrqchip: boolean;
  /**
   * Activation returns early for state >= ACTIVE (v13 16/48, V14-A4); v12
   * compares == ACTIVE, so a DEAD realm goes on to the RD step, which refuses it.
   */
  activeOrBeyond: boolean;
  /** The realm CAP allowlist still has ARM_PMU_V3 (v12; v13 dropped it: abi-evolution.md §3.5). */
  allowPmu: boolean;
  /** ENABLE_CAP also enforces the allowlist on realm VMs (v14, abi-evolution.md §3.7; V14-EC4). */
  enableCapAllowlist: boolean;
  /** source_uaddr = 0: v12 pins the user page itself, so address 0 faults (-EFAULT); the callback that refuses a missing source (-EOPNOTSUPP, V14-PO13) starts in v13. */
  sourceZero: ErrnoName;
  /** PSCI complete on a vCPU of a normal VM: -EPERM in v12; v13 "change return code for non-realms" to -ENXIO. */
  psciNotRealm: ErrnoName;
}

export const RMI_RULES: Partial<Record<AbiName, RmiRules>> = {
  v12: {
    abi: 'v12',
    maxVcpuFeatures: 10,
    populateNotRealm: 'EPERM',
    sourceAligned: false,
    deadBeforeIrqchip: true,
    activeOrBeyond: false,
    allowPmu: true,
    enableCapAllowlist: false,
    sourceZero: 'EFAULT',
    psciNotRealm: 'EPERM',
  },
  v13: {
    abi: 'v13',
    maxVcpuFeatures: 10,
    populateNotRealm: 'ENXIO',
    sourceAligned: true,
    deadBeforeIrqchip: false,
    activeOrBeyond: true,
    allowPmu: false,
    enableCapAllowlist: false,
    sourceZero: 'EOPNOTSUPP',
    psciNotRealm: 'ENXIO',
  },
  v14: {
    abi: 'v14',
    maxVcpuFeatures: 9,
    populateNotRealm: 'ENXIO',
    sourceAligned: true,
    deadBeforeIrqchip: false,
    activeOrBeyond: true,
    allowPmu: false,
    enableCapAllowlist: true,
    sourceZero: 'EOPNOTSUPP',
    psciNotRealm: 'ENXIO',
  },
};

/** enum realm_state, compared numerically (V14 §4.1): DYING and DEAD are >= ACTIVE. */
const STATES = ['none', 'new', 'active', 'dying', 'dead'] as const;
type State = (typeof STATES)[number];
const atLeastActive = (s: State): boolean => STATES.indexOf(s) >= STATES.indexOf('active');

class RmiRealmVm implements RealmVm {
  readonly generation = 'rmi';
  state: State = 'none';
  rd: Rd | undefined;
}

/** A vCPU's REC, made at activation with the registers it had then (V14-A9). */
class RmiRec implements RealmVcpu {
  readonly generation = 'rmi';
  constructor(
    readonly rec: Rec,
    readonly cpu: CpuState,
  ) {}
}

const MEASURE = 1;
const PAGE = BigInt(PAGE_SIZE);
const MASK64 = (1n << 64n) - 1n;
/** struct kvm_arm_rmi_populate {u64 base, size, source_uaddr; u32 flags, reserved} */
const RMI_POPULATE_SIZE = 32;

// Capabilities (V14-CE2): the arch allowlist for realm VMs; generic ones are answered before it (V14-CE4)
const KVM_CAP_MSI_DEVID = 131;
const KVM_CAP_MAX_VCPU_ID = 128;
const GENERIC_CAPS = new Set([3, 4, 16, 36, 88, 118, 140, 182, CAP.KVM_CAP_USER_MEMORY2, CAP.KVM_CAP_MEMORY_ATTRIBUTES, CAP.KVM_CAP_GUEST_MEMFD]);
const ALLOWLIST = new Set<number>([
  CAP.KVM_CAP_IRQCHIP,
  CAP.KVM_CAP_ARM_PSCI,
  CAP.KVM_CAP_ARM_PSCI_0_2,
  CAP.KVM_CAP_NR_VCPUS,
  CAP.KVM_CAP_MAX_VCPUS,
  KVM_CAP_MAX_VCPU_ID,
  KVM_CAP_MSI_DEVID,
  CAP.KVM_CAP_ARM_VM_IPA_SIZE,
  CAP.KVM_CAP_ARM_PTRAUTH_ADDRESS,
  CAP.KVM_CAP_ARM_PTRAUTH_GENERIC,
]);
// ONE_REG ids a realm vCPU may set (V14-V6; v12/v13 also PMCR_EL0, as v10 V10-R1)
const CORE_REG_BASE = 0x6030000000100000n;
const SYSREG = (op0: number, op1: number, crn: number, crm: number, op2: number): bigint =>
  0x6030000000130000n | BigInt((op0 << 14) | (op1 << 11) | (crn << 7) | (crm << 3) | op2);
const REG_PMCR_EL0 = SYSREG(3, 3, 9, 12, 0);
const REG_ID_AA64DFR0_EL1 = SYSREG(3, 0, 0, 5, 0);

function pgdPages(ipaBits: number): number {
  const levels = Math.floor((ipaBits - 8) / 9);
  return Math.max(1, 2 ** Math.max(0, ipaBits - 12 - 9 * levels));
}

export class RmiRealm implements RealmModule {
  readonly generation = 'rmi';
  private readonly rules: RmiRules;

  constructor(
    private readonly k: Kernel,
    private readonly p: AbiProfile,
  ) {
    const rules = RMI_RULES[p.name];
    if (!rules || !p.rmiPopulate) throw new Error(`the emulator has no RMI-generation rules for ${p.name}`);
    this.rules = rules;
    if (k.bug('rmm-accepts-zero-debug-counts')) k.rmm.rejectZeroDebugCounts = false;
  }

  private realmOf(vm: Vm): RmiRealmVm | undefined {
    return vm.realm instanceof RmiRealmVm ? vm.realm : undefined;
  }

  private recOf(vcpu: Vcpu): RmiRec | undefined {
    return vcpu.realm instanceof RmiRec ? vcpu.realm : undefined;
  }

  // ------------------------------------------------------------ VM and CAPs

  decodeVmType(type: bigint): VmTypeDecoded {
    const realmBit = BigInt(this.p.vmTypeRealm);
    if (this.p.vmTypeProtected !== undefined) {
      // v14: REALM = bit 30 beside pKVM's PROTECTED = bit 31 (abi-evolution.md §2a)
      const prot = BigInt(this.p.vmTypeProtected);
      const isRealm = (type & realmBit) !== 0n;
      // V14-VM1: both at once
      if (isRealm && type & prot && !this.k.bug('realm-and-protected-accepted')) fail('EINVAL', 'REALM and PROTECTED together (V14-VM1)');
      // V14-VM2: no RMI (the changelog still says -EPERM)
      if (isRealm && !this.k.rmeAvailable) fail(this.k.bug('realm-no-rmi-eperm') ? 'EPERM' : 'EINVAL', 'realm type without RMI (V14-VM2)');
      // V14-VM3: anything outside IPA[7:0], bit 30 and bit 31
      if (type & ~(0xffn | realmBit | prot)) fail('EINVAL', 'type bits outside IPA[7:0], REALM and PROTECTED (V14-VM3)');
      // a protected VM needs pKVM, which this host does not run
      if (!isRealm && type & prot) fail('EINVAL', 'PROTECTED without pKVM');
      return { ipaField: Number(type & 0xffn), realmType: isRealm };
    }
    // v12/v13: the RFC..v10 encoding (V10-VM1/VM3), realm without RMI -EINVAL (abi-evolution.md §3.5)
    const field = BigInt(this.p.vmTypeFieldMask);
    if (type & ~(field | 0xffn)) fail('EINVAL', 'type bits outside the type field and IPA byte (V10-VM1)');
    const t = type & field;
    if (t !== 0n && t !== realmBit) fail('EINVAL', 'unknown VM type value (V10-VM3)');
    if (t !== 0n && !this.k.rmeAvailable) fail(this.k.bug('realm-no-rmi-eperm') ? 'EPERM' : 'EINVAL', 'realm type without RMI (abi-evolution.md §3.5)');
    return { ipaField: Number(type & 0xffn), realmType: t !== 0n };
  }

  ipaLimit(): number {
    // V14-VM4: the RMM S2SZ
    return FEAT0.s2sz(this.k.rmm.features0);
  }

  initVm(_vm: Vm, d: VmTypeDecoded): RealmVm | undefined {
    return d.realmType && this.k.rmeAvailable ? new RmiRealmVm() : undefined;
  }

  checkExtension(vm: Vm | undefined, cap: number): number | undefined {
    // V14-CE1: the static key, on any fd
    if (cap === this.p.cap.nr) return this.k.rmeAvailable ? 1 : 0;
    if (!vm || !this.realmOf(vm)) return undefined;
    // V14-CE4: common-code CAPs are answered before the arm64 allowlist
    if (GENERIC_CAPS.has(cap)) return undefined;
    // V14-CE2: ARM_SVE only if the RMM has SVE
    if (cap === CAP.KVM_CAP_ARM_SVE) return FEAT0.sveEn(this.k.rmm.features0) ? 1 : 0;
    if (ALLOWLIST.has(cap) || (this.rules.allowPmu && cap === CAP.KVM_CAP_ARM_PMU_V3)) return undefined;
    return 0;
  }

  enableCap(ctx: IoctlCtx, vm: Vm, cap: number, args: readonly bigint[]): number | undefined {
    const realm = this.realmOf(vm);
    if (!realm) return undefined;
    // bug old-subcommands-half-work: a v10 VMM's ENABLE_CAP(old CAP, CREATE) makes the RD and succeeds
    if (this.k.bug('old-subcommands-half-work') && (this.p.staleCaps ?? []).includes(cap) && args[0] === 1n) {
      this.ensureCreated(vm, realm);
      return 0;
    }
    // V14-EC4/EC5/EC6: nothing on the allowlist is handled by the arm64 switch, and there are no sub-commands
    if (this.rules.enableCapAllowlist || cap === this.p.cap.nr) fail('EINVAL', 'ENABLE_CAP on a realm VM (V14-EC4..EC6)');
    void ctx;
    return undefined;
  }

  // ------------------------------------------------------------ KVM_ARM_RMI_POPULATE

  vmIoctl(ctx: IoctlCtx, vm: Vm, req: number): number | undefined {
    if (req !== this.p.rmiPopulate!.req) return undefined;
    return this.populate(ctx, vm);
  }

  /**
   * realm_ensure_created (V14-PO6, V14-A7): NONE -> create the RD; DEAD ->
   * -ENXIO (V14-PO8); ACTIVE or DYING -> -EBUSY (V14-PO9).
   */
  private ensureCreated(vm: Vm, realm: RmiRealmVm): void {
    if (realm.state === 'dead') fail('ENXIO', 'realm is DEAD (V14-PO8)');
    if (realm.state === 'active' || realm.state === 'dying') {
      if (this.k.bug('populate-after-run-allowed')) return;
      fail('EBUSY', 'realm already active (V14-PO9)');
    }
    if (realm.state === 'new') return;
    this.createRd(vm, realm);
  }

  private createRd(vm: Vm, realm: RmiRealmVm): void {
    // V14-V9: a VM with SVE needs every vCPU SVE-finalised with one VL
    let vq = 0;
    if (vm.vcpus.some((v) => v.hasFeature(KVM_ARM_VCPU_SVE))) {
      const vls = vm.vcpus.map((v) => (v.hasFeature(KVM_ARM_VCPU_SVE) && v.sveFinalized ? v.sveMaxVq : -1));
      if (vls.includes(-1) || new Set(vls).size > 1) fail('EINVAL', 'SVE not finalised or VLs differ at RD creation (V14-V9)');
      vq = vls[0]!;
    }
    const rmm = this.k.rmm;
    const n = 1 + pgdPages(vm.ipaBits);
    const frames = this.k.phys.alloc(n);
    for (let i = 0; i < n; i++) {
      if (rmm.granuleDelegate(frames.baseFrame + i) !== RMI_SUCCESS) {
        for (let j = 0; j < i; j++) rmm.release(frames.baseFrame + j);
        fail('ENXIO', 'RD/PGD delegation failed (V14-PO6)');
      }
    }
    // RMM 2.0: no hash or RPV choice any more (abi-evolution.md §2b); SHA256
    const rd = rmm.realmCreate(frames.baseFrame, { s2sz: vm.ipaBits, hashAlgo: 0, sve: vq > 0, sveVl: vq > 0 ? vq - 1 : 0, rpv: new Uint8Array(64), ...vmDebugCounts(vm) });
    if (typeof rd === 'number') {
      for (let j = 0; j < n; j++) rmm.release(frames.baseFrame + j);
      fail('ENXIO', 'RMI_REALM_CREATE failed (V14-PO6)');
    }
    realm.rd = rd;
    realm.state = 'new';
  }

  /** kvm_arm_rmi_populate (V14-PO*), in its order. */
  private populate(ctx: IoctlCtx, vm: Vm): number {
    const realm = this.realmOf(vm);
    // V14-PO1: not a realm VM, before the struct is read (-EPERM in v12, §6.7)
    if (!realm) fail(this.k.bug('rmi-populate-normal-vm-eperm') ? 'EPERM' : this.rules.populateNotRealm, 'POPULATE on a non-realm VM (V14-PO1)');
    const b = new StructReader(ctx.read(ctx.arg, RMI_POPULATE_SIZE, 'struct kvm_arm_rmi_populate (V14-PO2)'));
    const base = b.u64(0);
    const size = b.u64(8);
    const src = b.u64(16);
    const flags = b.u32(24);
    const reserved = b.u32(28);
    // V14-PO3: one combined check, before any state check; V14-PO4: no wrap check
    const badReserved = reserved !== 0 && !this.k.bug('rmi-populate-reserved-unchecked');
    const badSource = this.rules.sourceAligned && src % PAGE !== 0n && !this.k.bug('populate-source-unaligned-accepted');
    if (badReserved || flags & ~MEASURE || base % PAGE || ((base + size) & MASK64) % PAGE || badSource) {
      fail('EINVAL', 'reserved, flags or alignment (V14-PO3)');
    }
    // V14-PO5..PO9: the RD is made even for size 0; DEAD -ENXIO, ACTIVE -EBUSY
    this.ensureCreated(vm, realm);
    const rd = realm.rd!;
    const done = this.gmemPopulate(ctx, vm, rd, base, size, src, (flags & MEASURE) !== 0);
    const step = this.k.bug('populate-no-progress') ? 0n : BigInt(done) * PAGE;
    if (!this.p.rmiPopulate!.inOut) return Number(step); // v12: the bytes populated
    // v13+: base/size/source_uaddr advance together (V14-PO15); the caller loops
    const srcStep = this.k.bug('populate-source-not-advanced') ? 0n : step;
    const out = new StructWriter(RMI_POPULATE_SIZE)
      .u64(0, (base + step) & MASK64)
      .u64(8, size - step)
      .u64(16, (src + srcStep) & MASK64)
      .u32(24, flags)
      .u32(28, reserved).bytes;
    // V14-PO18: a failing copy-out overrides everything, done work included
    ctx.write(ctx.arg, out, 'struct kvm_arm_rmi_populate copy-out (V14-PO18)');
    return 0;
  }

  /**
   * kvm_gmem_populate with the realm's post-populate callback (UP-gmem,
   * V14-PO10..PO16). Returns the pages done; an error on the first page
   * is thrown, an error after >= 1 page is swallowed (V14-PO15).
   */
  private gmemPopulate(ctx: IoctlCtx, vm: Vm, rd: Rd, base: bigint, size: bigint, src: bigint, measure: boolean): number {
    // V14-PO10: a negative page count; no memslot or not guest_memfd
    if (size >= 1n << 63n) fail('EINVAL', 'page count negative (V14-PO10)');
    const slot = vm.findSlot(base);
    if (!slot?.gmem) fail('EINVAL', 'no guest_memfd memslot at base (V14-PO10)');
    // V14-PO12: clipped to the memslot end
    const pages = Number((size / PAGE < (slot.gpa + slot.size - base) / PAGE ? size / PAGE : (slot.gpa + slot.size - base) / PAGE));
    const rmm = this.k.rmm;
    let i = 0;
    let err: number | ErrnoName | undefined;
    for (; i < pages; i++) {
      const ipa = base + BigInt(i) * PAGE;
      const gfn = Number(ipa / PAGE);
      // V14-PO11: the source page first (GUP of the caller's address), then the gfn must be PRIVATE
      let source: Uint8Array | undefined;
      if (src !== 0n) {
        try {
          source = ctx.read((src + BigInt(i) * PAGE) & MASK64, PAGE_SIZE, 'populate source (V14-PO11)');
        } catch (e) {
          if (!(e instanceof KernelError)) throw e;
          err = 'EFAULT';
          break;
        }
      }
      if (!vm.isPrivate(gfn, gfn + 1)) {
        err = 'EINVAL'; // V14-PO11
        break;
      }
      // V14-PO13: no source page: the v13/v14 callback refuses; v12 pinned address 0 itself and faulted
      if (!source) {
        err = this.rules.sourceZero;
        break;
      }
      const dst = gmemPage(slot, ipa)!;
      // V14-PO14: a page populated before is delegated: the delegation fails
      if (rmm.granuleDelegate(dst.frame) !== RMI_SUCCESS) {
        err = 'ENXIO';
        break;
      }
      // V14-PO19: RIPAS RAM implied; RMI_RTT_DATA_MAP_INIT
      const r = rmm.dataCreate(rd, dst.frame, Number(ipa), source, dst.page, measure);
      if (r !== RMI_SUCCESS) {
        rmm.granuleUndelegate(dst.frame);
        // V14-PO17: an RTT error at the last level is KVM_BUG_ON (not modelled: -ENXIO);
        // V14-PO16: any other status comes back raw and positive, read as a page count
        err = rmiCode(r) === RMI_ERROR_RTT ? 'ENXIO' : rmiCode(r);
        break;
      }
    }
    if (err !== undefined && (i === 0 || this.k.bug('populate-errors-after-progress-returned'))) {
      if (typeof err === 'number') return err; // V14-PO16: misreported progress
      fail(err, 'populate failed on the first page (V14-PO15)');
    }
    return i;
  }

  // ------------------------------------------------------------ vCPU

  maxVcpuFeatures(): number {
    return this.rules.maxVcpuFeatures;
  }

  ownsFeature(): boolean {
    return false;
  }

  checkVcpuFeatures(vcpu: Vcpu, has: (bit: number) => boolean): void {
    // V14-V1: no AArch32 realm vCPU
    if (this.realmOf(vcpu.vm) && has(KVM_ARM_VCPU_EL1_32BIT)) fail('EINVAL', 'EL1_32BIT on a realm VM (V14-V1)');
  }

  oneReg(vcpu: Vcpu, id: bigint, set: boolean): void {
    const realm = this.realmOf(vcpu.vm);
    if (!realm || !set) return;
    // V14-V6: core x0..x30 and PC, ID_AA64DFR0_EL1, SVE_VLS (v12/v13: PMCR_EL0 too)
    const off = Number(id & 0xffffn);
    const ok =
      ((id & ~0xffffn) === CORE_REG_BASE && (off < 62 || off === 64)) ||
      id === REG_ID_AA64DFR0_EL1 ||
      id === KVM_REG_ARM64_SVE_VLS ||
      (this.rules.allowPmu && id === REG_PMCR_EL0);
    if (!ok) fail('EINVAL', 'register not settable on a realm vCPU (V14-V6)');
    // V14-V7: the VL is fixed once the RD exists
    if (id === KVM_REG_ARM64_SVE_VLS && realm.state !== 'none' && !this.k.bug('sve-vls-after-rd-allowed')) fail('EPERM', 'SVE_VLS after the RD exists (V14-V7)');
  }

  finalize(): number | undefined {
    // V14-V3: no REC feature: FINALIZE(9) reaches the generic -EINVAL
    return undefined;
  }

  isFinalized(): boolean | undefined {
    return undefined;
  }

  /** KVM_ARM_VCPU_RMI_PSCI_COMPLETE (v12/v13 only; V14-V11 removed it). */
  vcpuIoctl(ctx: IoctlCtx, vcpu: Vcpu, req: number): number | undefined {
    const pc = this.p.psciComplete;
    if (!pc || req !== pc.req) return undefined;
    // every vCPU of a realm is a REC (V14-V4); anything else -EPERM in v12 (abi-evolution.md §3.5), -ENXIO in v13
    if (!this.realmOf(vcpu.vm)) fail(this.rules.psciNotRealm, 'PSCI complete on a vCPU that is not a REC');
    const b = new StructReader(ctx.read(ctx.arg, this.p.sizes.psciComplete ?? 24, 'struct kvm_arm_rmi_psci_complete'));
    if (!vcpu.vm.vcpuByMpidr(b.u64(0))) fail('EINVAL', 'target MPIDR not found (abi-evolution.md §3.5)');
    // RMI_PSCI_COMPLETE: the calling REC has no PSCI request pending (in-kernel PSCI completes its own)
    fail('EINVAL', 'RMI_PSCI_COMPLETE refused: no PSCI request pending');
  }

  /** The implicit activation at the first KVM_RUN of any vCPU (V14-A4..A12). */
  firstRun(vcpu: Vcpu): void {
    const vm = vcpu.vm;
    const realm = this.realmOf(vm);
    if (!realm) return;
    // V14-A4: v13+ return early for ACTIVE, DYING and DEAD; v12 only for ACTIVE
    if (this.rules.activeOrBeyond ? atLeastActive(realm.state) : realm.state === 'active') return;
    const deadFirst = this.rules.deadBeforeIrqchip || this.k.bug('dead-before-irqchip-check');
    // V14-A5: no in-kernel irqchip (v13+: before the RD, so the state is unchanged)
    if (!deadFirst && !vm.vgic && !this.k.bug('first-run-without-irqchip')) fail('EOPNOTSUPP', 'realm without an in-kernel irqchip (V14-A5)');
    // V14-A7, v12 22/46: realm_ensure_created refuses a DEAD realm (reached on v12 only, whose early return is == ACTIVE)
    if (realm.state === 'dead' && !this.k.bug('dead-realm-reactivated')) fail('ENXIO', 'realm is DEAD (V14-A7; v12 22/46)');
    if (realm.state === 'none') this.createRd(vm, realm);
    const rd = realm.rd!;
    // V14-A8: DEAD first, "in case we fail"
    realm.state = 'dead';
    // v12 11/46: the irqchip check comes after DEAD (abi-evolution.md §3.5), so the realm is left DEAD
    if (deadFirst && !vm.vgic && !this.k.bug('first-run-without-irqchip')) fail('EOPNOTSUPP', 'realm without an in-kernel irqchip (v12: after DEAD)');
    // V14-A9: a REC for every vCPU in index order, registers captured now; only vcpu_id 0 RUNNABLE
    const rmm = this.k.rmm;
    for (const v of vm.vcpus) {
      // kvm_create_rec: a REC made by an earlier attempt (bug dead-realm-reactivated) -EBUSY
      if (this.recOf(v)) fail('EBUSY', `vCPU ${v.id} already has a REC (V14-A9)`);
      if (!v.hasFeature(KVM_ARM_VCPU_PSCI_0_2)) fail('EINVAL', `vCPU ${v.id} lacks PSCI_0_2 (V14-A9)`);
      const frame = this.k.phys.alloc(1).baseFrame;
      if (rmm.granuleDelegate(frame) !== RMI_SUCCESS) fail('ENXIO', 'REC delegation (V14-A9)');
      const rec = rmm.recCreate(rd, frame, { mpidr: v.mpidr, runnable: v.id === 0 });
      if (typeof rec === 'number') {
        rmm.release(frame);
        fail('ENXIO', 'RMI_REC_CREATE failed (V14-A9)');
      }
      v.realm = new RmiRec(rec, v.cpu.clone());
      // the others wait for PSCI CPU_ON
      if (v.id !== 0) v.stopped = true;
    }
    // V14-A10: RIPAS RAM over every guest_memfd memslot in full
    for (const s of vm.memslots.values()) {
      if (!s.gmem) continue;
      if (rmm.initRipasRange(rd, Number(s.gpa), Number(s.gpa + s.size)) !== RMI_SUCCESS) fail('ENXIO', 'RMI_RTT_INIT_RIPAS failed (V14-A10)');
    }
    // V14-A11
    if (rmm.realmActivate(rd) !== RMI_SUCCESS) fail('ENXIO', 'RMI_REALM_ACTIVATE failed (V14-A11)');
    realm.state = 'active'; // V14-A12
  }

  enter(vcpu: Vcpu): { cpu: CpuState; bus: RealmBus } | { shutdown: string } | undefined {
    const realm = this.realmOf(vcpu.vm);
    if (!realm) return undefined;
    const rec = this.recOf(vcpu);
    // V14-R1: kvm_rec_pre_enter refuses a realm that is not ACTIVE (a DEAD realm stays dead, §4.7)
    if ((realm.state !== 'active' && !this.k.bug('dead-realm-revived')) || !rec || !realm.rd) fail('EINVAL', 'REC entry while the realm is not ACTIVE (V14-R1)');
    // V14-R2: REC_ENTER on a realm the RMM never activated: RMI_ERROR_REALM -> KVM_EXIT_SHUTDOWN
    if (realm.rd.state !== 'active' && realm.rd.state !== 'system_off') return { shutdown: 'RMI_ERROR_REALM (V14-R2)' };
    return { cpu: rec.cpu, bus: new RealmBus(this.k, vcpu.vm, realm.rd) };
  }

  systemOff(vm: Vm): void {
    const rd = this.realmOf(vm)?.rd;
    if (rd) rd.state = 'system_off';
  }

  cpuOn(vcpu: Vcpu): { cpu: CpuState; on: boolean; wake(): void } | undefined {
    const m = this.recOf(vcpu);
    if (!m) return undefined;
    return {
      cpu: m.cpu,
      on: m.rec.runnable,
      wake: () => {
        m.rec.runnable = true;
      },
    };
  }

  destroyVm(vm: Vm): void {
    const realm = this.realmOf(vm);
    if (!realm) return;
    if (realm.rd) this.k.rmm.destroyRealm(realm.rd);
    realm.state = 'dying';
  }
}
