// Shared set-up for the RME era (RFC v1 .. v10, the realm uAPI as
// KVM_ENABLE_CAP sub-commands): bring a realm to a given state by the valid
// order (conditions.md R1-V9), so a check can then do the one call it is about.
import type { CheckContext } from '../../harness/core/engine.ts';
import type { Mem, RunOutcome, Vcpu, Vm } from '../../harness/core/dsl/index.ts';
import { KVM_ARM_VCPU_PSCI_0_2 } from '../../uapi/kvm-uapi.ts';
import { ENTRY, PAGE, RAM_BASE, RAM_SIZE, REALM_IPA_BITS } from '../../fixtures/layout.ts';
import { systemOffSmc } from '../../fixtures/payloads.ts';

export interface RealmSetup {
  vm: Vm;
  ram: Mem;
  vcpu?: Vcpu;
}

export type RealmState = 'NONE' | 'NEW' | 'ACTIVE';

/** A realm VM with one RAM memslot, in state NONE (no RD yet). */
export async function realmWithRam(c: CheckContext, ipaBits = REALM_IPA_BITS): Promise<RealmSetup> {
  const vm = await c.realmVm(ipaBits);
  // v2+: guest RAM is guest_memfd-backed (POPULATE refuses other memslots)
  const ram = await vm.ramMemslot({ slot: 0, gpa: RAM_BASE, size: RAM_SIZE });
  return { vm, ram };
}

/** A vCPU initialised with PSCI 0.2 (a REC needs it: R1-V5) and its PC at the entry point. */
export async function initVcpu(c: CheckContext, vm: Vm, id = 0, features: number[] = defaultFeatures(c)): Promise<Vcpu> {
  const v = await vm.createVcpu(id);
  c.must(await v.init(features));
  c.must(await v.setPc(ENTRY));
  return v;
}

/** PSCI 0.2, plus the REC bit where FINALIZE(REC) needs it in VCPU_INIT (v6..v10). */
export function defaultFeatures(c: CheckContext): number[] {
  return c.abi.recInInit && c.abi.recFeature !== undefined ? [KVM_ARM_VCPU_PSCI_0_2, c.abi.recFeature] : [KVM_ARM_VCPU_PSCI_0_2];
}

/**
 * Does this revision create the realm after the vCPUs, as real VMMs do? From
 * v2 on CREATE has no created_vcpus check (V10-CR10) and needs them: the
 * realm's breakpoint/watchpoint counts come from the VM's ID registers, which
 * exist only after the first KVM_ARM_VCPU_INIT (v6 35/43,
 * lore:20241212155610.76522-36-steven.price@arm.com); kvmtool creates the realm
 * in its last init stage, after its vCPUs (kvmtool cca/v5..v8 arm/aarch64/realm.c).
 * RFC v1 refuses CREATE once a vCPU exists (R1-CR1), so CREATE comes first there.
 */
export function vcpuFirst(c: CheckContext): boolean {
  return c.abi.expect['create.after-vcpu']?.errno === 0;
}

/**
 * A realm with RAM, its RD, and vCPU 0 a REC at the entry point: vCPU 0
 * initialised before CREATE where the revision's VMMs do so (vcpuFirst), after
 * it on RFC v1, then FINALIZE(REC); `more` runs first, right after the RAM memslot.
 * The check then writes and populates its image.
 */
export async function realmWithRec(c: CheckContext, ipaBits = REALM_IPA_BITS, more?: (vm: Vm, ram: Mem) => Promise<void>): Promise<RealmSetup & { v: Vcpu }> {
  const { vm, ram } = await realmWithRam(c, ipaBits);
  // what the check adds before the vCPUs (another memslot)
  if (more) await more(vm, ram);
  const early = vcpuFirst(c) ? await initVcpu(c, vm) : undefined;
  c.must(await vm.createRd());
  const v = early ?? (await initVcpu(c, vm));
  c.must(await v.finalizeRec());
  return { vm, ram, v };
}

/** The launch's tail: the vGIC where the revision's first run needs it, ACTIVATE, then KVM_RUN of `v`. */
export async function activateAndRun(c: CheckContext, vm: Vm, v: Vcpu): Promise<RunOutcome> {
  if (c.abi.firstRunNeedsIrqchip === true) c.must(await vm.createVgicV3());
  c.must(await vm.activate());
  return v.run();
}

/**
 * Bring a realm to `state` by the valid order of the revision's VMMs: vCPU 0
 * initialised (v2+: before CONFIG/CREATE, RFC v1: after CREATE), CREATE, the
 * guest code populated at the entry point, FINALIZE(REC) unless `rec` is
 * false, the vGIC, ACTIVATE. `features` replaces vCPU 0's default features
 * (every later vCPU must repeat them: one feature set per VM since 6.7).
 * RFC v1 with `rec: false` and no `features` makes no vCPU at all.
 */
export async function realmIn(c: CheckContext, state: RealmState, opts: { rec?: boolean; irqchip?: boolean; features?: number[] } = {}): Promise<RealmSetup> {
  const r = await realmWithRam(c);
  const first = vcpuFirst(c);
  let vcpu: Vcpu | undefined;
  if (first) vcpu = await initVcpu(c, r.vm, 0, opts.features ?? defaultFeatures(c));
  if (state === 'NONE') return { ...r, ...(vcpu ? { vcpu } : {}) };
  c.must(await r.vm.createRd());
  c.must(await r.ram.poke(ENTRY - RAM_BASE, systemOffSmc()));
  if (!first && (opts.rec !== false || opts.features)) vcpu = await initVcpu(c, r.vm, 0, opts.features ?? defaultFeatures(c));
  if (opts.rec !== false) c.must(await vcpu!.finalizeRec());
  c.must(await r.vm.populate({ base: ENTRY, size: PAGE, ...measure(c) }));
  // v2+ (V10-V14): the first run needs an in-kernel irqchip; made before ACTIVATE so the REC can run
  if (state === 'ACTIVE' && (opts.irqchip ?? c.abi.firstRunNeedsIrqchip === true)) c.must(await r.vm.createVgicV3());
  if (state === 'ACTIVE') c.must(await r.vm.activate());
  return { ...r, ...(vcpu ? { vcpu } : {}) };
}

/** A realm VM ready for CREATE as a VMM has it: v2+ with vCPU 0 initialised first (vcpuFirst), RFC v1 bare. */
export async function realmVmForCreate(c: CheckContext, ipaBits = 0): Promise<{ vm: Vm; vcpu?: Vcpu }> {
  const vm = await c.realmVm(ipaBits);
  if (!vcpuFirst(c)) return { vm };
  return { vm, vcpu: await initVcpu(c, vm, 0) };
}

/** POPULATE flags: MEASURE where the revision has a flags field (v2+), none in RFC v1. */
export function measure(c: CheckContext): { flags?: number } {
  return (c.abi.sizes.populateArgs ?? 0) >= 32 ? { flags: 1 } : {};
}

/**
 * The states a table row of the RME era names: a normal VM, a bare realm VM
 * (no memslot, no vCPU), or a realm with RAM in NONE / NEW / ACTIVE (`-no-rec`:
 * no vCPU is made a REC, so none blocks a second CREATE in RFC v1).
 */
export type RmeState = 'normal-vm' | 'realm-vm' | 'none' | 'new' | 'active' | 'new-no-rec' | 'active-no-rec';

/** The VM (and vCPU 0, where the state has one) of a realm brought to `state`. */
export async function rmeIn(c: CheckContext, state: RmeState): Promise<{ vm: Vm; vcpu?: Vcpu }> {
  switch (state) {
    case 'normal-vm':
      return { vm: await c.normalVm() };
    case 'realm-vm':
      return { vm: await c.realmVm() };
    case 'none':
      return realmIn(c, 'NONE');
    case 'new':
      return realmIn(c, 'NEW');
    case 'active':
      return realmIn(c, 'ACTIVE');
    case 'new-no-rec':
      return realmIn(c, 'NEW', { rec: false });
    case 'active-no-rec':
      return realmIn(c, 'ACTIVE', { rec: false });
  }
}
