// The RME era of the realm uAPI (RFC v1 .. v10; "multiplexed" in the code):
// KVM_ENABLE_CAP with a sub-command in args[0] and a user pointer in args[1]
// (realm-rme-cap.ts), FINALIZE(REC), and explicit CREATE / ACTIVATE. Numbers and struct sizes come from the ABI
// profile; behaviour that changes between revisions is an explicit switch in
// RmeRules. RFC v1 follows conditions.md §2; v2..v10 (the guest_memfd
// era: 32-byte args, MEASURE, 2 MB populate chunks, REC bit at VCPU_INIT,
// PSCI complete) follow §3, read in v10 (v9 for C* rows), with the switch
// points abi-evolution.md §2-§3 and conditions.md §6 give.
import { CAP, EMULATED_CAP, VCPU_FEATURES } from '../uapi/kvm.ts';
import { REALM_STRUCTS } from '../uapi/realm.ts';
import { sizeOf, view } from '../uapi/layout.ts';
import type { AbiProfile, SubcommandNumbers } from '../profiles/types.ts';
import { KVM_ARM_VCPU_EL1_32BIT, KVM_ARM_VCPU_PSCI_0_2 } from '../uapi/kvm-uapi.ts';
import type { CpuState, GuestBus } from './aarch64.ts';
import { fail } from './errors.ts';
import type { IoctlCtx, Kernel } from './kernel.ts';
import { KVM_REG_ARM64_SVE_VLS } from './one-reg.ts';
import { RealmBus, realmRegSettable, recCpuOn } from './realm-common.ts';
import type { RealmModule, RealmVcpu, RealmVm, VmTypeDecoded } from './realm-module.ts';
import { activate, config, createRd, initIpa, initRipas, populate, populateGmem, type RmeEnv } from './realm-rme-cap.ts';
import { FEAT0, RMI_SUCCESS, type Rd, type Rec } from './rmm.ts';
import { RME_RULES, type RmeRules } from './rules.ts';
import type { Vcpu } from './vcpu.ts';
import type { Vm } from './vm.ts';

/** CAPs a realm VM reads as 0 (V10-CE2). */
const KVM_CAP_SET_GUEST_DEBUG = EMULATED_CAP.KVM_CAP_SET_GUEST_DEBUG;
const KVM_CAP_READONLY_MEM = EMULATED_CAP.KVM_CAP_READONLY_MEM;
const KVM_CAP_GUEST_DEBUG_HW_BPS = EMULATED_CAP.KVM_CAP_GUEST_DEBUG_HW_BPS;
const KVM_CAP_GUEST_DEBUG_HW_WPS = EMULATED_CAP.KVM_CAP_GUEST_DEBUG_HW_WPS;
const KVM_CAP_STEAL_TIME = EMULATED_CAP.KVM_CAP_STEAL_TIME;
const KVM_CAP_COUNTER_OFFSET = EMULATED_CAP.KVM_CAP_COUNTER_OFFSET;
const KVM_CAP_ARM_SVE = CAP.KVM_CAP_ARM_SVE;
const KVM_ARM_VCPU_PMU_V3 = VCPU_FEATURES.KVM_ARM_VCPU_PMU_V3;

type State = 'none' | 'new' | 'active' | 'dying';

/** RFC v1 enum realm_state, plus the realm params page that lives until CREATE_RD. */
export class MuxRealm implements RealmVm {
  readonly generation = 'rme';
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
  readonly generation = 'rme';
  constructor(
    readonly rec: Rec | undefined,
    readonly cpu: CpuState,
  ) {}
}

export class MultiplexedRealm implements RealmModule {
  readonly generation = 'rme';
  private readonly sub: SubcommandNumbers;
  private readonly rules: RmeRules;
  private readonly env: RmeEnv;

  constructor(
    private readonly k: Kernel,
    private readonly p: AbiProfile,
  ) {
    const rules = RME_RULES[p.name];
    if (!rules || !p.subcmd) throw new Error(`the emulator has no RME-era rules for ${p.name}`);
    this.rules = rules;
    this.sub = p.subcmd;
    this.env = { k, p, rules };
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
    if (!realmRegSettable(id, true)) fail('EINVAL', 'register not settable on a realm vCPU (V10-R1)');
    // V10-R2: the realm's SVE VL was fixed at CREATE
    if (id === KVM_REG_ARM64_SVE_VLS && realm.state !== 'none' && !this.k.bug('sve-vls-after-rd-allowed')) fail('EPERM', 'SVE_VLS after CREATE_REALM (V10-R2)');
  }

  firstRun(vcpu: Vcpu): void {
    // V10-V14: after the vGIC/timer/PMU setup, before HAS_RAN_ONCE: retried every run
    if (this.gmem && this.realmOf(vcpu.vm) && !vcpu.vm.vgic && !this.k.bug('run-without-irqchip'))
      fail('EOPNOTSUPP', 'realm without an in-kernel irqchip (V10-V14)');
  }

  vmIoctl(): number | undefined {
    return undefined;
  }

  /** KVM_ARM_VCPU_RMM_PSCI_COMPLETE (V10-PS*). */
  vcpuIoctl(ctx: IoctlCtx, vcpu: Vcpu, req: number): number | undefined {
    const pc = this.p.psciComplete;
    if (pc?.req !== req) return undefined;
    // V10-PS1: only a REC (normal VM, realm vCPU without the REC bit, no RMM: -EPERM)
    // v6 23/43: only kvm_is_realm is checked (-EINVAL); a realm vCPU that is no REC goes on to the RMM, which refuses it
    if (this.rules.v6RecChecks) {
      if (!this.realmOf(vcpu.vm) && !this.k.bug('psci-complete-no-rec-check')) fail('EINVAL', 'PSCI complete on a VM that is not a realm (v6 23/43)');
    } else if (!this.isRec(vcpu) && !this.k.bug('psci-complete-no-rec-check')) fail('EPERM', 'PSCI complete on a vCPU that is not a REC (V10-PS1)');
    const ps = this.p.uapi?.psciComplete?.arg.kind === 'struct' ? this.p.uapi.psciComplete.arg.struct : REALM_STRUCTS.rmmPsciComplete;
    const b = view(ps, ctx.read(ctx.arg, sizeOf(ps), 'struct kvm_arm_rmm_psci_complete (V10-PS2)'));
    // V10-PS5: padding not checked; V10-PS6: status passed through
    const target = vcpu.vm.vcpuByMpidr(b.u64('target_mpidr'));
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
        return config(this.env, ctx, realm, ptr);
      case BigInt(this.sub.CREATE):
        return createRd(this.env, vm, realm);
      case BigInt(this.sub.INIT_IPA):
        return this.gmem ? initRipas(this.env, ctx, vm, realm, ptr) : initIpa(this.env, ctx, vm, realm, ptr);
      case BigInt(this.sub.POPULATE):
        return this.gmem ? populateGmem(this.env, ctx, vm, realm, ptr) : populate(this.env, ctx, vm, realm, ptr);
      case BigInt(this.sub.ACTIVATE):
        return activate(this.env, realm);
      default:
        fail('EINVAL', 'unknown sub-command (R1-EC6)');
    }
  }

  // ------------------------------------------------------------ vCPU

  finalize(_ctx: IoctlCtx, vcpu: Vcpu, what: number): number | undefined {
    if (what !== this.p.recFeature) return undefined;
    const realm = this.realmOf(vcpu.vm);
    // R1-V3, V10-V6: a normal VM, or no RMM (kvm_is_realm false)
    if (!realm) fail('EINVAL', 'FINALIZE(REC) on a normal VM (R1-V3)');
    if (this.rules.recNeedsFeatureBit && !vcpu.hasFeature(this.p.recFeature)) fail('EINVAL', 'vCPU without the REC bit (V10-V6)');
    const early = this.k.bug('finalize-rec-before-create');
    if (realm.state !== 'new' && !(early && realm.state === 'none')) fail(this.rules.errno.rec, 'FINALIZE(REC) outside NEW (R1-V4, V10-V7)');
    // V10-V8: a second FINALIZE(REC) (RFC v1 has no guard, R1-V7)
    // v6 12/43 has no such guard: the RMM refuses the duplicate MPIDR below (v6RecChecks)
    if (this.gmem && !this.rules.v6RecChecks && this.recOf(vcpu) && !this.k.bug('finalize-rec-twice-allowed')) fail('EBUSY', 'REC already finalised (V10-V8)');
    if (!vcpu.hasFeature(KVM_ARM_VCPU_PSCI_0_2) && !this.k.bug('rec-skips-psci-check')) fail('EINVAL', 'vCPU without PSCI_0_2 (R1-V5, V10-V9)');
    // V10-V10: the VM has a PMU but this vCPU lacks PMU_V3
    if (this.gmem && !vcpu.hasFeature(KVM_ARM_VCPU_PMU_V3) && vcpu.vm.vcpus.some((v) => v.hasFeature(KVM_ARM_VCPU_PMU_V3)))
      fail('EINVAL', 'VM has a PMU, vCPU lacks PMU_V3 (V10-V10)');
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
    // bug run-rec-of-vcpu0: the question is asked of vCPU 0, not of the running vCPU
    const first = this.k.bug('run-rec-of-vcpu0') ? vcpu.vm.vcpus.find((v) => v.id === 0) : undefined;
    const rec = this.recOf(first ?? vcpu);
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
    return { cpu: rec.cpu, bus: new RealmBus(this.k, vcpu.vm, realm.rd, this.rules.noSlotSea, this.rules.plainSlotRefused) };
  }

  systemOff(vm: Vm): void {
    const rd = this.realmOf(vm)?.rd;
    if (rd) rd.state = 'system_off';
  }

  cpuOn(vcpu: Vcpu): { cpu: CpuState; on: boolean; wake(): void } | undefined {
    const rec = this.recOf(vcpu)?.rec;
    const m = this.recOf(vcpu);
    if (!rec || !m) return undefined;
    return recCpuOn(m.cpu, rec);
  }

  destroyVm(vm: Vm): void {
    const realm = this.realmOf(vm);
    if (!realm) return;
    if (realm.rd) this.k.rmm.destroyRealm(realm.rd);
    realm.state = 'dying';
  }
}
