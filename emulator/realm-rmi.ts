// The RMI realm uAPI generation (v12 .. v14): a query-only KVM_CAP_ARM_RMI,
// no ENABLE_CAP sub-commands, guest_memfd memslots marked PRIVATE decide what
// is protected, one VM ioctl KVM_ARM_RMI_POPULATE (v12: _IOW returning bytes;
// v13+: _IOWR in/out returning 0), and the RD, the RECs and activation made
// implicitly: the RD at the first POPULATE or the first KVM_RUN, everything
// else at the first KVM_RUN of any vCPU (conditions.md §4, read in v14; v12
// and v13 differ where abi-evolution.md §3.5-§3.6 says). Numbers come from
// the profile; behaviour that changes between revisions is in RMI_RULES.
import { EMULATED_CAP } from '../uapi/kvm.ts';
import { REALM_STRUCTS } from '../uapi/realm.ts';
import { sizeOf, view } from '../uapi/layout.ts';
import type { AbiProfile } from '../profiles/types.ts';
import { CAP, KVM_ARM_VCPU_EL1_32BIT, KVM_ARM_VCPU_PSCI_0_2 } from '../uapi/kvm-uapi.ts';
import type { CpuState } from './aarch64.ts';
import { fail } from './errors.ts';
import type { IoctlCtx, Kernel } from './kernel.ts';
import { KVM_REG_ARM64_SVE_VLS } from './one-reg.ts';
import { RealmBus, realmRegSettable, recCpuOn } from './realm-common.ts';
import type { RealmModule, RealmVcpu, RealmVm, VmTypeDecoded } from './realm-module.ts';
import { createRd, ensureCreated, populate, type RmiEnv } from './realm-rmi-populate.ts';
import { FEAT0, RMI_SUCCESS, type Rd, type Rec } from './rmm.ts';
import { RMI_RULES, type RmiRules } from './rules.ts';
import type { Vcpu } from './vcpu.ts';
import type { Vm } from './vm.ts';

/** enum realm_state, compared numerically (V14 §4.1): DYING and DEAD are >= ACTIVE. */
const STATES = ['none', 'new', 'active', 'dying', 'dead'] as const;
type State = (typeof STATES)[number];
const atLeastActive = (s: State): boolean => STATES.indexOf(s) >= STATES.indexOf('active');

export class RmiRealmVm implements RealmVm {
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

// Capabilities (V14-CE2): the arch allowlist for realm VMs; generic ones are answered before it (V14-CE4)
const KVM_CAP_MSI_DEVID = EMULATED_CAP.KVM_CAP_MSI_DEVID;
const KVM_CAP_MAX_VCPU_ID = EMULATED_CAP.KVM_CAP_MAX_VCPU_ID;
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

export class RmiRealm implements RealmModule {
  readonly generation = 'rmi';
  private readonly rules: RmiRules;
  private readonly env: RmiEnv;

  constructor(
    private readonly k: Kernel,
    private readonly p: AbiProfile,
  ) {
    const rules = RMI_RULES[p.name];
    if (!rules || !p.rmiPopulate) throw new Error(`the emulator has no RMI-generation rules for ${p.name}`);
    this.rules = rules;
    this.env = { k, p, rules };
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

  enableCap(_ctx: IoctlCtx, vm: Vm, cap: number, args: readonly bigint[]): number | undefined {
    const realm = this.realmOf(vm);
    if (!realm) return undefined;
    // bug old-subcommands-half-work: a v10 VMM's ENABLE_CAP(old CAP, CREATE) makes the RD and succeeds
    if (this.k.bug('old-subcommands-half-work') && (this.p.staleCaps ?? []).includes(cap) && args[0] === 1n) {
      ensureCreated(this.env, vm, realm);
      return 0;
    }
    // V14-EC4/EC5/EC6: nothing on the allowlist is handled by the arm64 switch, and there are no sub-commands
    if (this.rules.enableCapAllowlist || cap === this.p.cap.nr) fail('EINVAL', 'ENABLE_CAP on a realm VM (V14-EC4..EC6)');
    return undefined;
  }

  // ------------------------------------------------------------ KVM_ARM_RMI_POPULATE

  vmIoctl(ctx: IoctlCtx, vm: Vm, req: number): number | undefined {
    if (req !== this.p.rmiPopulate!.req) return undefined;
    return populate(this.env, ctx, vm, this.realmOf(vm));
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
    // V14-V6: core x0..x30 and PC, ID_AA64DFR0_EL1, SVE_VLS (v12 37/46, v13 38/48: PMCR_EL0 too)
    if (!realmRegSettable(id, this.rules.pmcrSettable)) fail('EINVAL', 'register not settable on a realm vCPU (V14-V6)');
    // V14-V7: the VL is fixed once the RD exists
    if (id === KVM_REG_ARM64_SVE_VLS && realm.state !== 'none' && !this.k.bug('sve-vls-after-rd-allowed'))
      fail('EPERM', 'SVE_VLS after the RD exists (V14-V7)');
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
    if (pc?.req !== req) return undefined;
    // every vCPU of a realm is a REC (V14-V4); anything else -EPERM in v12 (abi-evolution.md §3.5), -ENXIO in v13
    if (!this.realmOf(vcpu.vm)) fail(this.rules.psciNotRealm, 'PSCI complete on a vCPU that is not a REC');
    const ps = this.p.uapi?.psciComplete?.arg.kind === 'struct' ? this.p.uapi.psciComplete.arg.struct : REALM_STRUCTS.rmiPsciComplete;
    const b = view(ps, ctx.read(ctx.arg, sizeOf(ps), 'struct kvm_arm_rmi_psci_complete'));
    if (!vcpu.vm.vcpuByMpidr(b.u64('target_mpidr'))) fail('EINVAL', 'target MPIDR not found (abi-evolution.md §3.5)');
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
    if (realm.state === 'none') createRd(this.env, vm, realm);
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
    if ((realm.state !== 'active' && !this.k.bug('dead-realm-revived')) || !rec || !realm.rd)
      fail('EINVAL', 'REC entry while the realm is not ACTIVE (V14-R1)');
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
    return recCpuOn(m.cpu, m.rec);
  }

  destroyVm(vm: Vm): void {
    const realm = this.realmOf(vm);
    if (!realm) return;
    if (realm.rd) this.k.rmm.destroyRealm(realm.rd);
    realm.state = 'dying';
  }
}
