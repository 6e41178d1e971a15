// The multiplexed realm uAPI generation (RFC v1 .. v10): KVM_ENABLE_CAP with
// a sub-command in args[0] and a user pointer in args[1], FINALIZE(REC), and
// explicit CREATE / ACTIVATE. Numbers and struct sizes come from the ABI
// profile; behaviour that changes between revisions is an explicit switch in
// MultiplexedRules. RFC v1 follows conditions.md §2; v2..v10 (the guest_memfd
// era: 32-byte args, MEASURE, 2 MB populate chunks, REC bit at VCPU_INIT,
// PSCI complete) follow §3, read in v10 (v9 for C* rows), with the switch
// points abi-evolution.md §2-§3 and conditions.md §6 give.
import { StructReader } from '../harness/bytes.ts';
import type { ErrnoName } from '../harness/errno.ts';
import type { AbiName, AbiProfile, SubcommandNumbers } from '../harness/abi/types.ts';
import { KVM_ARM_VCPU_EL1_32BIT, KVM_ARM_VCPU_PSCI_0_2, KVM_ARM_VCPU_SVE } from '../harness/kvm-uapi.ts';
import { MASK64, type BusFault, type CpuState, type GuestBus } from './aarch64.ts';
import { fail, KernelOops } from './errors.ts';
import { busLoad, busStore, gmemPage, KVM_REG_ARM64_SVE_VLS, vmDebugCounts, type IoctlCtx, type Kernel, type Vcpu, type Vm } from './kvm.ts';
import { ERRNO } from '../harness/errno.ts';
import { PAGE_SIZE } from './memory.ts';
import type { RealmModule, RealmVcpu, RealmVm, VmTypeDecoded } from './realm-module.ts';
import {
  FEAT0,
  RMI_ERROR_INPUT,
  RMI_ERROR_RTT,
  RMI_SUCCESS,
  RMM_RTT_MAX_LEVEL,
  rmiCode,
  rmiIndex,
  rmiStatus,
  rttLevelSize,
  type Rd,
  type Rec,
  type RmiStatus,
} from './rmm.ts';

/** What differs between revisions of the multiplexed generation, beyond the profile's numbers. */
export interface MultiplexedRules {
  abi: AbiName;
  /** Realm type with no RMM: RFC v1 makes a normal VM (R1-VM4); v2..v6 -EINVAL; v7..v10 -EPERM. */
  rmmAbsentRealmType: 'normal-vm' | ErrnoName;
  /** IPA limit for a realm at CREATE_VM: RFC v1 the host limit (R1-VM5, dead code R1-06s); v10 S2SZ. */
  realmIpaLimit: 'host' | 'rmm-s2sz';
  /** ENABLE_CAP refuses a non-realm VM at dispatch (v10 EC4); RFC v1 does not (R1-EC5). */
  dispatchChecksRealm: boolean;
  /** CREATE refuses once vCPUs exist (R1-CR1); v10 has no such check. */
  createChecksVcpus: boolean;
  /** Wrong-state errnos. */
  errno: {
    config: ErrnoName;
    create: ErrnoName;
    init: ErrnoName;
    populate: ErrnoName;
    activate: ErrnoName;
    rec: ErrnoName;
  };
  /** CONFIG on a normal VM with the RMM present writes through NULL params (R1-CF12). */
  normalVmConfigOops: boolean;
  /** FINALIZE(REC) needs the REC feature bit at VCPU_INIT (v10 V6); RFC v1 never checks it. */
  recNeedsFeatureBit: boolean;
  /**
   * 'rfc': RFC v1 (16-byte args, the memslot's own page delegated, INIT_IPA
   * recursion). 'gmem': v2..v10 (32-byte args, MEASURE, guest_memfd
   * destination, 2 MB chunks, REC bit, PSCI complete, irqchip at first run).
   */
  era: 'rfc' | 'gmem';
  /** POPULATE into a memslot without guest_memfd: -EINVAL in v6 (abi-evolution.md §3.2) and v7 (v7 20/45), -EPERM from v8 (v8 19/43; V10-PO7). */
  populateNoGmem?: ErrnoName;
  /**
   * INIT_RIPAS: an RTT error at (or below) the mapping level, e.g. a populated page in the block:
   * v7's realm_init_ipa_state treats it as unexpected, WARNs and returns -ENXIO (v7 16/45,
   * lore:20250213161426.102987-17-steven.price@arm.com; seen on the cca-host/v7 stack);
   * v9/v10 return -EINVAL (V10-IR8). v8 and v2..v6 are not read (their profiles mark it).
   */
  initRttAtLevel?: ErrnoName;
  /**
   * v2..v6 (v6 12/43, 23/43; v2..v5 not read, assumed the same): PSCI complete checks only that
   * the VM is a realm (-EINVAL otherwise), VCPU_INIT does not refuse the REC bit on a normal VM,
   * and FINALIZE(REC) has no guard against a second call (the RMM refuses the duplicate MPIDR).
   * v7 moved to a REC check (-EPERM), refused the REC bit on normal VMs and added the -EBUSY guard.
   */
  v6RecChecks?: boolean;
}

const GMEM_COMMON = {
  realmIpaLimit: 'rmm-s2sz', // V10-VM4
  dispatchChecksRealm: true, // V10-EC4; abi-evolution.md §3.2 (arm.c, v5/v6)
  createChecksVcpus: false, // V10-CR10
  normalVmConfigOops: false,
  recNeedsFeatureBit: true, // V10-V6
  era: 'gmem',
} as const;

/** v2..v7: the wrong-state errno of POPULATE and INIT is -EINVAL (conditions.md §6.5, §6.6). */
const EARLY_ERRNO = { config: 'EBUSY', create: 'EEXIST', init: 'EINVAL', populate: 'EINVAL', activate: 'EINVAL', rec: 'ENOENT' } as const;
/** v8..v10: -EPERM for POPULATE (V10-PO2, §6.5) and INIT_RIPAS (V10-IR3, §6.6); ACTIVATE -EINVAL (V10-AC1). */
const LATE_ERRNO = { config: 'EBUSY', create: 'EEXIST', init: 'EPERM', populate: 'EPERM', activate: 'EINVAL', rec: 'ENOENT' } as const;

function gmemRules(abi: AbiName, rmmAbsent: ErrnoName, errno: MultiplexedRules['errno'], noGmem: ErrnoName, recBit = true, initRttAtLevel: ErrnoName = 'ENXIO'): MultiplexedRules {
  const v6RecChecks = ['v2', 'v3', 'v4', 'v5', 'v6'].includes(abi);
  return { ...GMEM_COMMON, abi, rmmAbsentRealmType: rmmAbsent, errno, populateNoGmem: noGmem, recNeedsFeatureBit: recBit, initRttAtLevel, v6RecChecks };
}

export const MULTIPLEXED_RULES: Partial<Record<AbiName, MultiplexedRules>> = {
  'rfc-v1': {
    abi: 'rfc-v1',
    rmmAbsentRealmType: 'normal-vm',
    realmIpaLimit: 'host',
    dispatchChecksRealm: false,
    createChecksVcpus: true,
    errno: {
      config: 'EBUSY', // R1-CF1
      create: 'EEXIST', // R1-CR2
      init: 'EBUSY', // R1-IP3
      populate: 'EBUSY', // R1-PO2
      activate: 'EBUSY', // R1-AC1
      rec: 'ENOENT', // R1-V4
    },
    normalVmConfigOops: true,
    recNeedsFeatureBit: false,
    era: 'rfc',
  },
  // v2..v6: realm type without RMM -EINVAL (conditions.md §6.1); no-guest_memfd memslot -EINVAL (v6 code, §3.2; v2..v5 assumed the same)
  // v2 09/43: CONFIG once the RD exists -EINVAL (v5/v6 -EBUSY; v3/v4 not read, kept -EBUSY and todo in their profiles)
  v2: gmemRules('v2', 'EINVAL', { ...EARLY_ERRNO, config: 'EINVAL' }, 'EINVAL'),
  v3: gmemRules('v3', 'EINVAL', EARLY_ERRNO, 'EINVAL'),
  v4: gmemRules('v4', 'EINVAL', EARLY_ERRNO, 'EINVAL'),
  // v5: KVM_VCPU_MAX_FEATURES not raised, so the REC bit cannot be set: FINALIZE(REC) cannot require it (abi-evolution.md §2a)
  v5: gmemRules('v5', 'EINVAL', EARLY_ERRNO, 'EINVAL', false),
  v6: gmemRules('v6', 'EINVAL', EARLY_ERRNO, 'EINVAL'),
  // v7: "report -EPERM" for a realm VM without RMM (abi-evolution.md §3.3); no-guest_memfd memslot still -EINVAL (v7 20/45)
  v7: gmemRules('v7', 'EPERM', EARLY_ERRNO, 'EINVAL'),
  // v8 19/43 reworked the populate errnos: no-guest_memfd memslot -EPERM
  // v8..v10: INIT_RIPAS maps an RTT error at the mapping level to -EINVAL (V10-IR8; v8 not read, as v9)
  v8: gmemRules('v8', 'EPERM', LATE_ERRNO, 'EPERM', true, 'EINVAL'),
  v9: gmemRules('v9', 'EPERM', LATE_ERRNO, 'EPERM', true, 'EINVAL'),
  v10: gmemRules('v10', 'EPERM', LATE_ERRNO, 'EPERM', true, 'EINVAL'),
};

/** 2 MB: the most v10 populates per memslot lookup (V10-PO7). */
const POPULATE_CHUNK = 0x200000n;
/** CAPs a realm VM reads as 0 (V10-CE2). */
const KVM_CAP_SET_GUEST_DEBUG = 23;
const KVM_CAP_READONLY_MEM = 81;
const KVM_CAP_GUEST_DEBUG_HW_BPS = 119;
const KVM_CAP_GUEST_DEBUG_HW_WPS = 120;
const KVM_CAP_STEAL_TIME = 224;
const KVM_CAP_COUNTER_OFFSET = 227;
const KVM_CAP_ARM_SVE = 170;
const KVM_ARM_VCPU_PMU_V3 = 3;
// ONE_REG ids a v10 realm vCPU may set (V10-R1)
const CORE_REG_BASE = 0x6030000000100000n;
const SYSREG = (op0: number, op1: number, crn: number, crm: number, op2: number): bigint =>
  0x6030000000130000n | BigInt((op0 << 14) | (op1 << 11) | (crn << 7) | (crm << 3) | op2);
const REG_PMCR_EL0 = SYSREG(3, 3, 9, 12, 0);
const REG_ID_AA64DFR0_EL1 = SYSREG(3, 0, 0, 5, 0);

type State = 'none' | 'new' | 'active' | 'dying';

/** RFC v1 enum realm_state, plus the realm params page that lives until CREATE_RD. */
class MuxRealm implements RealmVm {
  readonly generation = 'multiplexed';
  state: State = 'none';
  /** The params page (R1-VM7, V10-VM5): RPV, hash, SVE VL; freed at CREATE success. */
  params: { rpv: Uint8Array; hashAlgo: number; sve: boolean; sveVl: number } | undefined = {
    rpv: new Uint8Array(64),
    hashAlgo: 0,
    sve: false,
    sveVl: 0,
  };
  rd: Rd | undefined;
}

/** A vCPU that went through FINALIZE(REC): its REC and the registers captured then (R1-V8). */
class MuxRec implements RealmVcpu {
  readonly generation = 'multiplexed';
  constructor(
    readonly rec: Rec | undefined,
    readonly cpu: CpuState,
  ) {}
}

const CONFIG_RPV_SIZE = 64;

function stage2StartLevel(ipaBits: number): number {
  // stage2_pgtable_levels(ipa) = ARM64_HW_PGTABLE_LEVELS(ipa - 4), 4K pages
  const levels = Math.floor((ipaBits - 4 - 4) / 9);
  return 4 - levels;
}

/** find_map_level: the largest block aligned at `start` that fits before `end`, never above start level + 1. */
function findMapLevel(start: number, end: number, startLevel: number): number {
  let level = RMM_RTT_MAX_LEVEL;
  while (level > startLevel + 1) {
    const size = rttLevelSize(level - 1);
    if (start % size !== 0 || start + size > end) break;
    level--;
  }
  return level;
}

/** u64 -> number, saturating: anything past 2^53 is past every IPA space anyway. */
const num = (v: bigint): number => (v > BigInt(Number.MAX_SAFE_INTEGER) ? Number.MAX_SAFE_INTEGER : Number(v));

export class MultiplexedRealm implements RealmModule {
  readonly generation = 'multiplexed';
  private readonly sub: SubcommandNumbers;
  private readonly rules: MultiplexedRules;

  constructor(
    private readonly k: Kernel,
    private readonly p: AbiProfile,
  ) {
    const rules = MULTIPLEXED_RULES[p.name];
    if (!rules || !p.subcmd) throw new Error(`the emulator has no multiplexed-generation rules for ${p.name}`);
    this.rules = rules;
    this.sub = p.subcmd;
    k.rmm.skipInitRipasRangeCheck = k.bug('init-ipa-accepts-past-ipa');
    // RTT_INIT_RIPAS over RAM: the era RMM decides (rmm.ts eraRmm); bet0 re-inits (R1-IP8), TF-RMM v0.6.0 too
    if (k.bug('rmm-accepts-zero-debug-counts')) k.rmm.rejectZeroDebugCounts = false;
  }

  private get gmem(): boolean {
    return this.rules.era === 'gmem';
  }

  /** vcpu_is_rec: the REC feature bit (v6..v10); where VCPU_INIT cannot set it, a finalised REC. */
  private isRec(vcpu: Vcpu): boolean {
    if (!this.realmOf(vcpu.vm)) return false;
    return this.rules.recNeedsFeatureBit ? vcpu.hasFeature(this.p.recFeature!) : this.recOf(vcpu) !== undefined;
  }

  private realmOf(vm: Vm): MuxRealm | undefined {
    return vm.realm instanceof MuxRealm ? vm.realm : undefined;
  }

  private recOf(vcpu: Vcpu): MuxRec | undefined {
    return vcpu.realm instanceof MuxRec ? vcpu.realm : undefined;
  }

  checkExtension(vm: Vm | undefined, cap: number): number | undefined {
    // R1-CE1, V10-CE1: the static key, on any fd, not per VM
    if (cap === this.p.cap.nr) return this.k.rmeAvailable ? 1 : 0;
    // V10-CE2: a realm VM hides what a realm cannot do
    if (this.gmem && vm && this.realmOf(vm) && !this.k.bug('realm-caps-not-hidden')) {
      switch (cap) {
        case KVM_CAP_SET_GUEST_DEBUG:
        case KVM_CAP_READONLY_MEM:
        case KVM_CAP_COUNTER_OFFSET:
        case KVM_CAP_STEAL_TIME:
        case KVM_CAP_GUEST_DEBUG_HW_BPS:
        case KVM_CAP_GUEST_DEBUG_HW_WPS:
          return 0;
        case KVM_CAP_ARM_SVE:
          return FEAT0.sveEn(this.k.rmm.features0) ? 1 : 0;
      }
    }
    return undefined;
  }

  decodeVmType(type: bigint): VmTypeDecoded {
    const field = BigInt(this.p.vmTypeFieldMask);
    if (type & ~(field | 0xffn)) fail('EINVAL', 'type bits outside the type field and IPA byte (R1-VM1)');
    const t = type & field;
    if (t !== 0n && t !== BigInt(this.p.vmTypeRealm)) fail('EINVAL', 'unknown VM type value (R1-VM2)');
    const realmType = t !== 0n; // R1-VM3
    if (realmType && !this.k.rmeAvailable && this.rules.rmmAbsentRealmType !== 'normal-vm') {
      fail(this.rules.rmmAbsentRealmType, 'realm type without an RMM');
    }
    return { ipaField: Number(type & 0xffn), realmType };
  }

  ipaLimit(_d: VmTypeDecoded, hostLimit: number): number {
    // R1-VM5: RFC v1 validates realms against the host limit; the RMM limit bites at CREATE_RD (R1-VM6)
    return this.rules.realmIpaLimit === 'host' ? hostLimit : FEAT0.s2sz(this.k.rmm.features0);
  }

  initVm(_vm: Vm, d: VmTypeDecoded): RealmVm | undefined {
    // R1-VM4: kvm_is_realm() is masked by the static key: without an RMM the VM is a normal VM
    if (!d.realmType || !this.k.rmeAvailable) return undefined;
    return new MuxRealm();
  }

  maxVcpuFeatures(): number {
    // R1-V1: RFC v1 leaves KVM_VCPU_MAX_FEATURES at 7, so the REC bit is refused; v5 likewise (8 unusable)
    return this.k.bug('vcpu-init-accepts-rec-bit') ? this.p.recFeature! + 1 : this.p.maxVcpuFeatures;
  }

  ownsFeature(bit: number): boolean {
    return bit === this.p.recFeature;
  }

  checkVcpuFeatures(vcpu: Vcpu, has: (bit: number) => boolean): void {
    const rec = this.p.recFeature;
    if (!this.gmem || rec === undefined || !has(rec)) return;
    // V10-V1: the REC bit is cleared from the supported mask of a normal VM (or without an RMM);
    // v6 12/43 clears it only without an RMM, so a normal VM takes it (v6RecChecks)
    if (!this.realmOf(vcpu.vm) && !(this.rules.v6RecChecks && this.k.rmeAvailable)) fail('EINVAL', 'REC feature on a normal VM (V10-V1)');
    // V10-V2: no AArch32 REC
    if (has(KVM_ARM_VCPU_EL1_32BIT)) fail('EINVAL', 'REC feature with EL1_32BIT (V10-V2)');
  }

  oneReg(vcpu: Vcpu, id: bigint, set: boolean): void {
    const realm = this.realmOf(vcpu.vm);
    if (!this.gmem || !realm || !set) return;
    // V10-R1: a REC's registers: core x0..x30 and PC, PMCR_EL0, ID_AA64DFR0_EL1, SVE_VLS
    const core = id & ~0xffffn;
    const off = Number(id & 0xffffn);
    const ok =
      (core === CORE_REG_BASE && (off < 62 || off === 64)) || id === REG_PMCR_EL0 || id === REG_ID_AA64DFR0_EL1 || id === KVM_REG_ARM64_SVE_VLS;
    if (!ok) fail('EINVAL', 'register not settable on a realm vCPU (V10-R1)');
    // V10-R2: the realm's SVE VL was fixed at CREATE
    if (id === KVM_REG_ARM64_SVE_VLS && realm.state !== 'none' && !this.k.bug('sve-vls-after-rd-allowed')) fail('EPERM', 'SVE_VLS after CREATE_REALM (V10-R2)');
  }

  firstRun(vcpu: Vcpu): void {
    // V10-V14: after the vGIC/timer/PMU setup, before HAS_RAN_ONCE: retried every run
    if (this.gmem && this.realmOf(vcpu.vm) && !vcpu.vm.vgic && !this.k.bug('run-without-irqchip')) fail('EOPNOTSUPP', 'realm without an in-kernel irqchip (V10-V14)');
  }

  vmIoctl(): number | undefined {
    return undefined;
  }

  /** KVM_ARM_VCPU_RMM_PSCI_COMPLETE (V10-PS*). */
  vcpuIoctl(ctx: IoctlCtx, vcpu: Vcpu, req: number): number | undefined {
    const pc = this.p.psciComplete;
    if (!pc || req !== pc.req) return undefined;
    // V10-PS1: only a REC (normal VM, realm vCPU without the REC bit, no RMM: -EPERM)
    // v6 23/43: only kvm_is_realm is checked (-EINVAL); a realm vCPU that is no REC goes on to the RMM, which refuses it
    if (this.rules.v6RecChecks) {
      if (!this.realmOf(vcpu.vm) && !this.k.bug('psci-complete-no-rec-check')) fail('EINVAL', 'PSCI complete on a VM that is not a realm (v6 23/43)');
    } else if (!this.isRec(vcpu) && !this.k.bug('psci-complete-no-rec-check')) fail('EPERM', 'PSCI complete on a vCPU that is not a REC (V10-PS1)');
    const b = new StructReader(ctx.read(ctx.arg, this.p.sizes.psciComplete ?? 24, 'struct kvm_arm_rmm_psci_complete (V10-PS2)'));
    // V10-PS5: padding not checked; V10-PS6: status passed through
    const target = vcpu.vm.vcpuByMpidr(b.u64(0));
    if (!target) fail('EINVAL', 'target_mpidr matches no vCPU (V10-PS3)');
    // V10-PS4: RMI_PSCI_COMPLETE needs a PSCI request of the calling REC pending for that target;
    // in-kernel PSCI completes CPU_ON/AFFINITY_INFO itself (V10-PS8), so none is ever pending here
    fail('EINVAL', 'RMI_PSCI_COMPLETE refused: no PSCI request pending (V10-PS4)');
  }

  // ------------------------------------------------------------ ENABLE_CAP

  enableCap(ctx: IoctlCtx, vm: Vm, cap: number, args: readonly bigint[]): number | undefined {
    if (cap !== this.p.cap.nr) return undefined;
    if (!this.k.rmeAvailable) fail('EINVAL', 'static key off: no RMM (R1-EC3)');
    const realm = this.realmOf(vm);
    // V10-EC4: not a realm VM, before args[0] is looked at
    if (this.rules.dispatchChecksRealm && !realm && !this.k.bug('enable-cap-realm-check-missing')) fail('EINVAL', 'not a realm VM (V10-EC4)');
    // R1-EC5: no realm check at dispatch in RFC v1: a normal VM reads as state NONE with NULL params
    const ptr = args[1]!;
    switch (args[0]) {
      case BigInt(this.sub.CONFIG_REALM):
        return this.config(ctx, realm, ptr);
      case BigInt(this.sub.CREATE):
        return this.createRd(vm, realm);
      case BigInt(this.sub.INIT_IPA):
        return this.gmem ? this.initRipas(ctx, vm, realm, ptr) : this.initIpa(ctx, vm, realm, ptr);
      case BigInt(this.sub.POPULATE):
        return this.gmem ? this.populateGmem(ctx, vm, realm, ptr) : this.populate(ctx, vm, realm, ptr);
      case BigInt(this.sub.ACTIVATE):
        return this.activate(realm);
      default:
        fail('EINVAL', 'unknown sub-command (R1-EC6)');
    }
  }

  /** CONFIG_REALM: state -> copy -> switch on cfg (R1-CF*). */
  private config(ctx: IoctlCtx, realm: MuxRealm | undefined, ptr: bigint): number {
    const state = realm?.state ?? 'none';
    const copyFirst = this.k.bug('config-copy-before-state');
    // R1-CF1: the state is checked before the user pointer is read
    if (!copyFirst && state !== 'none') fail(this.rules.errno.config, 'CONFIG after CREATE_RD (R1-CF1)');
    const size = this.p.sizes.configItem ?? 260;
    const b = new StructReader(ctx.read(ptr, size, 'config item (R1-CF2)'));
    if (copyFirst && state !== 'none') fail(this.rules.errno.config, 'CONFIG after CREATE_RD (bug: after the copy)');
    const items = this.p.configItems ?? {};
    const cfg = b.u32(0);
    const params = (): NonNullable<MuxRealm['params']> => {
      // R1-CF12: a normal VM has no params page; the write goes through NULL
      if (!realm?.params) throw new KernelOops('NULL dereference in kvm_rme_config_realm (R1-CF12)');
      return realm.params;
    };
    const f = this.k.rmm.features0;
    if (cfg === items.RPV) {
      params().rpv = b.slice(4, 4 + CONFIG_RPV_SIZE); // R1-CF3: copied verbatim
      return 0;
    }
    if (cfg === items.HASH_ALGO) {
      const algo = b.u32(4);
      const { SHA256, SHA512 } = this.p.hashAlgos ?? { SHA256: 0, SHA512: 1 };
      if (algo !== SHA256 && algo !== SHA512) fail('EINVAL', 'unknown hash algorithm (R1-CF4)');
      if ((algo === SHA256 && !FEAT0.sha256(f)) || (algo === SHA512 && !FEAT0.sha512(f))) fail('EINVAL', 'hash not in the RMM features (R1-CF5)');
      params().hashAlgo = algo === SHA512 ? 1 : 0;
      return 0;
    }
    if (cfg === items.SVE) {
      if (!FEAT0.sveEn(f)) fail('EINVAL', 'RMM has no SVE (R1-CF6)');
      const vq = b.u32(4);
      // R1-CF7: raw RMI SVE_VL encoding; 0 accepted
      if (vq > FEAT0.sveVl(f)) fail('EINVAL', 'sve_vq past the RMM SVE_VL (R1-CF7)');
      const pr = params();
      pr.sve = true;
      pr.sveVl = vq;
      return 0;
    }
    // R1-CF8, R1-CF9: DBG and PMU have no handler; R1-CF10: anything else
    if (cfg === items.DBG || cfg === items.PMU) fail('EINVAL', 'CONFIG item not implemented (R1-CF8/CF9)');
    if (this.k.bug('config-accepts-unknown-item')) return 0;
    fail('EINVAL', 'unknown CONFIG item (R1-CF10)');
  }

  /** CREATE_RD (R1-CR*). */
  private createRd(vm: Vm, realm: MuxRealm | undefined): number {
    if (this.rules.createChecksVcpus && vm.createdVcpus > 0 && !this.k.bug('create-rd-ignores-vcpus')) {
      fail('EBUSY', 'vCPUs already created (R1-CR1)');
    }
    if (!realm) fail(this.rules.errno.create, 'not a realm VM (R1-CR2)');
    if (realm.state !== 'none') {
      if (this.k.bug('create-rd-twice')) return 0;
      fail(this.rules.errno.create, 'realm already created (R1-CR2, V10-CR1)');
    }
    // R1-CR4: RD already set or params missing (WARN): unreachable here
    if (realm.rd || !realm.params) fail('EEXIST', 'RD set or params missing (R1-CR4)');
    // V10-CR7: the SVE VL comes from the vCPUs that exist now: all finalised, all the same (no SVE = VL 0)
    if (this.gmem) {
      const vls = vm.vcpus.map((v) => (v.hasFeature(KVM_ARM_VCPU_SVE) ? (v.sveFinalized ? v.sveMaxVq : -1) : 0));
      if (vls.includes(-1)) fail('EINVAL', 'a vCPU has SVE but is not SVE-finalised (V10-CR7)');
      if (new Set(vls).size > 1) fail('EINVAL', 'vCPUs differ in SVE VL (V10-CR7)');
      const vq = vls[0] ?? 0;
      realm.params.sve = vq > 0;
      realm.params.sveVl = vq > 0 ? vq - 1 : 0; // RMI SVE_VL encoding: VQ - 1
    }
    const rmm = this.k.rmm;
    // R1-CR6: delegate the RD granule and the PGD granules
    const startLevel = stage2StartLevel(vm.ipaBits);
    const pgdPages = Math.max(1, 2 ** Math.max(0, vm.ipaBits - 12 - 9 * (4 - startLevel)));
    const frames = this.k.phys.alloc(1 + pgdPages);
    const delegated: number[] = [];
    for (let i = 0; i <= pgdPages; i++) {
      if (rmm.granuleDelegate(frames.baseFrame + i) !== RMI_SUCCESS) {
        delegated.forEach((f) => rmm.release(f));
        fail('ENXIO', 'granule delegation failed (R1-CR6)');
      }
      delegated.push(frames.baseFrame + i);
    }
    // R1-CR7: S2SZ comes from VTCR (the VM's IPA size), so an IPA the RMM refuses fails here (R1-VM6)
    const pr = realm.params;
    const rd = rmm.realmCreate(frames.baseFrame, {
      s2sz: vm.ipaBits,
      hashAlgo: pr.hashAlgo,
      sve: pr.sve,
      sveVl: pr.sveVl,
      rpv: pr.rpv,
      // RFC v1: CONFIG(DBG) has no handler (R1-CF8), so the params page's counts stay 0;
      // v6+ (35/43): from the VM's ID_AA64DFR0_EL1, which is 0 before the first vCPU init
      ...(this.gmem ? vmDebugCounts(vm) : { numBps: 0, numWps: 0 }),
    });
    if (typeof rd === 'number') {
      delegated.forEach((f) => rmm.release(f));
      fail('ENXIO', 'RMI_REALM_CREATE failed (R1-CR7)');
    }
    realm.rd = rd;
    realm.state = 'new'; // R1-CR9
    realm.params = undefined;
    return 0;
  }

  /** INIT_IPA_REALM: copy -> wrap -> state -> RMM loop (R1-IP*). */
  private initIpa(ctx: IoctlCtx, vm: Vm, realm: MuxRealm | undefined, ptr: bigint): number {
    const b = new StructReader(ctx.read(ptr, this.p.sizes.initIpaArgs ?? 16, 'init IPA args (R1-IP1)'));
    const base = b.u64(0);
    const size = b.u64(8);
    const stateFirst = this.k.bug('init-ipa-state-before-wrap');
    const state = realm?.state ?? 'none';
    if (stateFirst && state !== 'new') fail(this.rules.errno.init, 'INIT_IPA outside NEW (bug: before the wrap check)');
    if (base + size > MASK64) fail('EINVAL', 'base + size wraps (R1-IP2)');
    if (state !== 'new' || !realm?.rd) fail(this.rules.errno.init, 'INIT_IPA outside NEW (R1-IP3)');
    if (size === 0n) return 0; // R1-IP4
    const rd = realm.rd;
    const startLevel = stage2StartLevel(vm.ipaBits);
    const end = num(base + size);
    let addr = num(base);
    while (addr < end) {
      const level = findMapLevel(addr, end, startLevel);
      const blockEnd = Math.min(addr - (addr % PAGE_SIZE) + rttLevelSize(level), end);
      // R1-IP10: a failure part-way leaves earlier blocks RAM
      const err = this.initIpaBlock(rd, addr, blockEnd, level, startLevel);
      if (err) fail(err, 'RTT_INIT_RIPAS failed');
      addr = blockEnd;
    }
    return 0;
  }

  /** INIT_RIPAS_REALM (v2..v10): copy -> wrap -> state -> size 0 -> RMM loop (V10-IR*). */
  private initRipas(ctx: IoctlCtx, vm: Vm, realm: MuxRealm | undefined, ptr: bigint): number {
    // V10-IR5: reserved[] is read and ignored
    const b = new StructReader(ctx.read(ptr, this.p.sizes.initIpaArgs ?? 32, 'init RIPAS args (V10-IR1)'));
    const base = b.u64(0);
    const size = b.u64(8);
    const stateFirst = this.k.bug('init-ipa-state-before-wrap');
    const state = realm?.state ?? 'none';
    if (stateFirst && state !== 'new') fail(this.rules.errno.init, 'INIT_RIPAS outside NEW (bug: before the wrap check)');
    if (base + size > MASK64) fail('EINVAL', 'base + size wraps (V10-IR2)');
    if (state !== 'new' || !realm?.rd) fail(this.k.bug('init-ripas-einval') ? 'EINVAL' : this.rules.errno.init, 'INIT_RIPAS outside NEW (V10-IR3)');
    if (size === 0n) return 0; // V10-IR4
    const rd = realm.rd;
    const rmm = this.k.rmm;
    const startLevel = stage2StartLevel(vm.ipaBits);
    const end = num(base + size);
    let addr = num(base);
    // V10-IR10: no progress report; earlier ranges stay RAM
    while (addr < end) {
      const level = findMapLevel(addr, end, startLevel);
      const top = Math.min(addr - (addr % PAGE_SIZE) + rttLevelSize(level), end);
      let r = rmm.rttInitRipas(rd, addr, top, level, startLevel);
      // V10-IR9: an RTT missing above the mapping level: create it and retry
      if (rmiCode(r) === RMI_ERROR_RTT && rmiIndex(r) < level) {
        if (rmm.rttCreate(rd, addr) !== RMI_SUCCESS) fail('ENXIO', 'RMI_RTT_CREATE failed (V10-IR9)');
        r = rmm.rttInitRipas(rd, addr, top, level, startLevel);
      }
      if (rmiCode(r) === RMI_ERROR_RTT && rmiIndex(r) >= level) fail(this.rules.initRttAtLevel ?? 'EINVAL', 'RTT error at or below the mapping level (V10-IR8; v7 16/45: -ENXIO)');
      if (r !== RMI_SUCCESS) fail('ENXIO', 'RMI_RTT_INIT_RIPAS failed (V10-IR6/IR7)');
      addr = top;
    }
    return 0;
  }

  /** realm_init_ipa_state for one block. Returns an errno name, or undefined on success. */
  private initIpaBlock(rd: Rd, addr: number, top: number, level: number, startLevel: number): ErrnoName | undefined {
    const rmm = this.k.rmm;
    let r = rmm.rttInitRipas(rd, addr, top, level, startLevel);
    if (rmiCode(r) === RMI_ERROR_RTT && rmiIndex(r) < level) {
      // R1-IP9: missing RTT levels are created on the fly, then the call is retried
      if (rmm.rttCreate(rd, addr) !== RMI_SUCCESS) return 'ENXIO';
      r = rmm.rttInitRipas(rd, addr, top, level, startLevel);
      if (rmiCode(r) === RMI_ERROR_RTT && rmiIndex(r) < level) return 'ENXIO';
    }
    if (r === RMI_SUCCESS) return undefined;
    if (rmiCode(r) === RMI_ERROR_RTT) {
      // R1-IP7: at level 3 the kernel WARNs and returns -EINVAL ...
      if (level === RMM_RTT_MAX_LEVEL) return 'EINVAL';
      // ... above it, it recurses one level down and ignores the result (R1-IP11): the call returns 0
      const step = rttLevelSize(level + 1);
      for (let a = addr; a < top; a += step) this.initIpaBlock(rd, a, Math.min(a + step, top), level + 1, startLevel);
      return undefined;
    }
    // R1-IP5, R1-IP6: any other RMM error: WARN and -ENXIO
    return 'ENXIO';
  }

  /** POPULATE_REALM: copy -> state -> alignment -> wrap -> memslot -> per page (R1-PO*). */
  private populate(ctx: IoctlCtx, vm: Vm, realm: MuxRealm | undefined, ptr: bigint): number {
    const b = new StructReader(ctx.read(ptr, this.p.sizes.populateArgs ?? 16, 'populate args (R1-PO1)'));
    const state = realm?.state ?? 'none';
    // R1-PO2: the state is checked before the alignment
    if (state !== 'new' && !this.k.bug('populate-skips-state-check')) {
      fail(this.k.bug('populate-ebusy-as-einval') ? 'EINVAL' : this.rules.errno.populate, 'POPULATE outside NEW (R1-PO2)');
    }
    const base = b.u64(0);
    const size = b.u64(8);
    if (base % BigInt(PAGE_SIZE) || size % BigInt(PAGE_SIZE)) fail('EINVAL', 'base or size not 4K-aligned (R1-PO3)');
    if (base + size > MASK64) fail('EINVAL', 'base + size wraps (R1-PO4)');
    const slot = vm.findSlot(base);
    if (!slot) fail('EFAULT', 'no memslot at base (R1-PO5)');
    if (base + size > slot.gpa + slot.size) fail('EINVAL', 'range ends past the memslot (R1-PO6)');
    if (size === 0n) return 0; // R1-PO7
    const rmm = this.k.rmm;
    const rd = realm?.rd;
    const startLevel = stage2StartLevel(vm.ipaBits);
    for (let ipa = base; ipa < base + size; ipa += BigInt(PAGE_SIZE)) {
      const host = vm.mm.frameOf(slot.uaddr + (ipa - slot.gpa));
      if (!host) fail('EFAULT', 'no VMA for the page (R1-PO9)');
      const a = Number(ipa);
      // R1-PO10: populate implies RIPAS RAM: RTT_INIT_RIPAS first
      let r: RmiStatus = rd ? rmm.rttInitRipas(rd, a, a + PAGE_SIZE, RMM_RTT_MAX_LEVEL, startLevel) : rmiStatus(RMI_ERROR_INPUT);
      if (rmiCode(r) === RMI_ERROR_RTT && rd) {
        // R1-PO11: create the missing levels and retry; a second failure is -ENXIO
        if (rmm.rttCreate(rd, a) !== RMI_SUCCESS) fail('ENXIO', 'RTT creation failed (R1-PO11)');
        r = rmm.rttInitRipas(rd, a, a + PAGE_SIZE, RMM_RTT_MAX_LEVEL, startLevel);
        if (rmiCode(r) === RMI_ERROR_RTT) fail('ENXIO', 'RTT_INIT_RIPAS retry failed (R1-PO11)');
      }
      // R1-PO10: any other RMI error is returned unconverted, a positive value (bug in the series)
      if (r !== RMI_SUCCESS) return r;
      // R1-PO13: the VMM page is copied aside, then delegated and becomes the realm page
      const tmp = host.page.slice();
      if (rmm.granuleDelegate(host.frame) !== RMI_SUCCESS) fail('ENXIO', 'delegation of the destination failed (R1-PO12)');
      if (rmm.dataCreate(rd!, host.frame, a, tmp, host.page) !== RMI_SUCCESS) {
        rmm.granuleUndelegate(host.frame);
        fail('ENXIO', 'RMI_DATA_CREATE failed (R1-PO12)');
      }
    }
    return 0;
  }

  /**
   * POPULATE_REALM (v2..v10): copy -> state -> align/flags -> wrap -> size 0 ->
   * 2 MB chunks, each with its own memslot lookup (V10-PO*). The source is the
   * memslot's shared VMA, copied into the guest_memfd page (V10-PO11).
   */
  private populateGmem(ctx: IoctlCtx, vm: Vm, realm: MuxRealm | undefined, ptr: bigint): number {
    const b = new StructReader(ctx.read(ptr, this.p.sizes.populateArgs ?? 32, 'populate args (V10-PO1)'));
    // V10-PO2: the state comes before the alignment
    if (realm?.state !== 'new') {
      fail(this.k.bug('populate-eperm-as-einval') ? 'EINVAL' : this.rules.errno.populate, 'POPULATE outside NEW (V10-PO2)');
    }
    const base = b.u64(0);
    const size = b.u64(8);
    const flags = b.u32(16);
    const measure = this.p.populateFlags?.MEASURE ?? 1;
    // V10-PO6: reserved[] is not checked (bug populate-reserved-checked checks it)
    if (this.k.bug('populate-reserved-checked') && (b.u32(20) | b.u32(24) | b.u32(28)) !== 0) fail('EINVAL', 'reserved words (bug)');
    // V10-PO3: one combined check
    if (base % BigInt(PAGE_SIZE) || size % BigInt(PAGE_SIZE) || flags & ~measure) fail('EINVAL', 'unaligned, or a flag other than MEASURE (V10-PO3)');
    if (base + size > MASK64) fail('EINVAL', 'base + size wraps (V10-PO4)');
    if (size === 0n) return 0; // V10-PO5: no memslot lookup
    const rd = realm.rd!;
    const rmm = this.k.rmm;
    const end = base + size;
    for (let chunk = base; chunk < end; chunk += POPULATE_CHUNK) {
      const chunkEnd = chunk + POPULATE_CHUNK < end ? chunk + POPULATE_CHUNK : end;
      // V10-PO7: per chunk: no memslot -EFAULT, leaving it -EINVAL, no guest_memfd -EPERM; earlier chunks stay populated
      const slot = vm.findSlot(chunk);
      if (!slot) fail('EFAULT', 'no memslot at the chunk start (V10-PO7)');
      if (chunkEnd > slot.gpa + slot.size) fail('EINVAL', 'chunk leaves its memslot (V10-PO7)');
      if (!slot.gmem) {
        if (this.k.bug('populate-no-gmem-check')) continue;
        fail(this.rules.populateNoGmem ?? 'EPERM', 'memslot without guest_memfd (V10-PO7)');
      }
      for (let ipa = chunk; ipa < chunkEnd; ipa += BigInt(PAGE_SIZE)) {
        // V10-PO8: the source is the shared alias (VMA) of the same memslot
        const src = vm.mm.hostPage(slot.uaddr + (ipa - slot.gpa), false);
        if ('why' in src) fail('EFAULT', 'no VMA at the shared alias (V10-PO8)');
        const dst = gmemPage(slot, ipa)!;
        // V10-PO9: a page populated before is delegated already: the delegation fails first
        if (rmm.granuleDelegate(dst.frame) !== RMI_SUCCESS) fail('ENXIO', 'delegation of the guest_memfd page failed (V10-PO9)');
        // V10-PO10: MEASURE passes straight down as the RMI flag
        if (rmm.dataCreate(rd, dst.frame, Number(ipa), src.page, dst.page, (flags & measure) !== 0) !== RMI_SUCCESS) {
          rmm.granuleUndelegate(dst.frame);
          fail('ENXIO', 'RMI_DATA_CREATE failed (V10-PO9)');
        }
      }
    }
    return 0;
  }

  /** ACTIVATE_REALM (R1-AC*, V10-AC*). */
  private activate(realm: MuxRealm | undefined): number {
    const state = realm?.state ?? 'none';
    if (state !== 'new') {
      if (this.k.bug('activate-skips-state-check') && state === 'active') return 0;
      fail(this.rules.errno.activate, 'ACTIVATE outside NEW (R1-AC1)');
    }
    // R1-AC4: no check for RECs or populated memory
    if (this.k.rmm.realmActivate(realm!.rd!) !== RMI_SUCCESS) fail('ENXIO', 'RMI_REALM_ACTIVATE failed (R1-AC2)');
    realm!.state = 'active'; // R1-AC3
    return 0;
  }

  // ------------------------------------------------------------ vCPU

  finalize(_ctx: IoctlCtx, vcpu: Vcpu, what: number): number | undefined {
    if (what !== this.p.recFeature) return undefined;
    const realm = this.realmOf(vcpu.vm);
    // R1-V3, V10-V6: a normal VM, or no RMM (kvm_is_realm false)
    if (!realm) fail('EINVAL', 'FINALIZE(REC) on a normal VM (R1-V3)');
    if (this.rules.recNeedsFeatureBit && !vcpu.hasFeature(this.p.recFeature!)) fail('EINVAL', 'vCPU without the REC bit (V10-V6)');
    const early = this.k.bug('finalize-rec-before-create');
    if (realm.state !== 'new' && !(early && realm.state === 'none')) fail(this.rules.errno.rec, 'FINALIZE(REC) outside NEW (R1-V4, V10-V7)');
    // V10-V8: a second FINALIZE(REC) (RFC v1 has no guard, R1-V7)
    // v6 12/43 has no such guard: the RMM refuses the duplicate MPIDR below (v6RecChecks)
    if (this.gmem && !this.rules.v6RecChecks && this.recOf(vcpu) && !this.k.bug('finalize-rec-twice-allowed')) fail('EBUSY', 'REC already finalised (V10-V8)');
    if (!vcpu.hasFeature(KVM_ARM_VCPU_PSCI_0_2) && !this.k.bug('rec-skips-psci-check')) fail('EINVAL', 'vCPU without PSCI_0_2 (R1-V5, V10-V9)');
    // V10-V10: the VM has a PMU but this vCPU lacks PMU_V3
    if (this.gmem && !vcpu.hasFeature(KVM_ARM_VCPU_PMU_V3) && vcpu.vm.vcpus.some((v) => v.hasFeature(KVM_ARM_VCPU_PMU_V3))) fail('EINVAL', 'VM has a PMU, vCPU lacks PMU_V3 (V10-V10)');
    if (!realm.rd) {
      // bug finalize-rec-before-create: accepted with no RD to create a REC in
      vcpu.realm = new MuxRec(undefined, vcpu.cpu.clone());
      return 0;
    }
    const rmm = this.k.rmm;
    const frame = this.k.phys.alloc(1).baseFrame;
    if (rmm.granuleDelegate(frame) !== RMI_SUCCESS) fail('ENXIO', 'REC granule delegation (R1-V6)');
    // R1-V8: GPRs and PC are captured now; only vcpu_id 0 starts RUNNABLE
    const rec = rmm.recCreate(realm.rd, frame, { mpidr: vcpu.mpidr, runnable: vcpu.id === 0 });
    if (typeof rec === 'number') {
      rmm.release(frame);
      // R1-V7: no guard against a second FINALIZE; the RMM refuses the duplicate MPIDR
      fail('ENXIO', 'RMI_REC_CREATE failed (R1-V6/V7)');
    }
    vcpu.realm = new MuxRec(rec, vcpu.cpu.clone());
    return 0;
  }

  isFinalized(vcpu: Vcpu): boolean | undefined {
    const realm = this.realmOf(vcpu.vm);
    if (!realm) return undefined;
    const rec = this.recOf(vcpu);
    // R1-V10: a realm vCPU is finalised only as a REC of an ACTIVE realm
    if (this.k.bug('run-before-activate')) return rec !== undefined;
    // V10-V13: and, from v6, only with the REC bit (V10-V4: -EPERM forever without it)
    if (this.rules.recNeedsFeatureBit && !vcpu.hasFeature(this.p.recFeature!)) return false;
    return rec?.rec !== undefined && realm.state === 'active';
  }

  enter(vcpu: Vcpu): { cpu: CpuState; bus: GuestBus } | undefined {
    const realm = this.realmOf(vcpu.vm);
    if (!realm) return undefined;
    const rec = this.recOf(vcpu);
    // R1-V12: kvm_rec_enter checks ACTIVE again
    if (realm.state !== 'active' || !rec?.rec || !realm.rd) fail('EINVAL', 'REC entry outside ACTIVE (R1-V12)');
    // A REC that is not RUNNABLE (vcpu_id != 0 before a CPU_ON): RMI_REC_ENTER refuses it.
    // The spec does not say what KVM returns; the emulator answers -ENXIO like other RMI errors.
    if (!rec.rec.runnable) fail('ENXIO', 'REC not runnable');
    return { cpu: rec.cpu, bus: new RealmBus(this.k, vcpu.vm, realm.rd) };
  }

  systemOff(vm: Vm): void {
    const rd = this.realmOf(vm)?.rd;
    if (rd) rd.state = 'system_off';
  }

  cpuOn(vcpu: Vcpu): { cpu: CpuState; on: boolean; wake(): void } | undefined {
    const rec = this.recOf(vcpu)?.rec;
    const m = this.recOf(vcpu);
    if (!rec || !m) return undefined;
    return {
      cpu: m.cpu,
      on: rec.runnable,
      wake: () => {
        rec.runnable = true;
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

/**
 * A realm's view of its IPA space. The protected half goes through the RMM's
 * RTT: populated pages are the delegated data granules; RAM that was never
 * populated is faulted in as a zeroed data granule (the host delegates the
 * memslot page, RMI_DATA_CREATE_UNKNOWN); RIPAS EMPTY is an abort the RMM
 * injects (not modelled). The unprotected half is shared memory or MMIO, like
 * a normal VM; the MMIO exit reports the IPA with its top bit (UNCONFIRMED).
 */
export class RealmBus implements GuestBus {
  private fetchCache: { pg: bigint; page: Uint8Array } | undefined;
  constructor(
    private readonly k: Kernel,
    private readonly vm: Vm,
    private readonly rd: Rd,
  ) {}

  private resolve = (ipa: bigint, write: boolean): { page: Uint8Array; off: number } | BusFault => {
    if (ipa >= this.vm.physSize) return { kind: 'abort', what: `access beyond the IPA size at 0x${ipa.toString(16)}` };
    const off = Number(ipa & 0xfffn);
    const a = Number(ipa);
    if (a < this.rd.protectedLimit) {
      const pg = Math.floor(a / PAGE_SIZE);
      const frame = this.rd.data.get(pg);
      if (frame !== undefined) return { page: this.k.phys.page(frame)!, off };
      if (!this.rd.isRam(pg)) return { kind: 'abort', what: `RIPAS EMPTY at 0x${ipa.toString(16)}: the RMM injects an SEA` };
      const slot = this.vm.findSlot(ipa);
      if (!slot) return { kind: 'errno', errno: ERRNO.EFAULT };
      // v2+: private RAM is the memslot's guest_memfd; RFC v1: the memslot's own page
      const host = slot.gmem ? gmemPage(slot, ipa) : this.vm.mm.frameOf(slot.uaddr + (ipa - slot.gpa));
      if (!host) return { kind: 'errno', errno: ERRNO.EFAULT };
      const rmm = this.k.rmm;
      if (rmm.granuleDelegate(host.frame) !== RMI_SUCCESS) return { kind: 'errno', errno: ERRNO.ENXIO };
      if (rmm.dataCreateUnknown(this.rd, host.frame, pg * PAGE_SIZE, host.page) !== RMI_SUCCESS) {
        rmm.granuleUndelegate(host.frame);
        return { kind: 'errno', errno: ERRNO.ENXIO };
      }
      return { page: host.page, off };
    }
    const s = this.vm.findSlot(ipa);
    if (!s || (write && s.flags & 2)) return { kind: 'mmio' };
    const r = this.vm.mm.hostPage(s.uaddr + (ipa - s.gpa), write);
    if ('why' in r) return { kind: 'errno', errno: ERRNO.EFAULT };
    return r;
  };

  fetch(ipa: bigint): number | BusFault {
    const pg = ipa >> 12n;
    if (this.fetchCache?.pg !== pg) {
      // instructions come only from protected memory; the unprotected half is not executable for a realm
      if (Number(ipa) >= this.rd.protectedLimit) return { kind: 'abort', what: 'instruction fetch from the unprotected half' };
      const r = this.resolve(ipa & ~0xfffn, false);
      if ('kind' in r) return r;
      this.fetchCache = { pg, page: r.page };
    }
    const o = Number(ipa & 0xfffn);
    const p = this.fetchCache.page;
    return (p[o]! | (p[o + 1]! << 8) | (p[o + 2]! << 16) | (p[o + 3]! << 24)) >>> 0;
  }

  load(ipa: bigint, size: number): bigint | BusFault {
    return busLoad(this.resolve, ipa, size);
  }

  store(ipa: bigint, size: number, value: bigint): BusFault | undefined {
    return busStore(this.resolve, ipa, size, value);
  }
}
