// Shared scenario steps for the multiplexed realm uAPI (RFC v1 .. v10): bring a
// realm to a given state by the valid order (conditions.md R1-V9), so a check
// can then do the one call it is about.
import type { CheckContext } from '../harness/engine.ts';
import type { Mem, Vcpu, Vm } from '../harness/dsl.ts';
import { KVM_ARM_VCPU_PSCI_0_2 } from '../harness/kvm-uapi.ts';
import { ENTRY, PAGE, RAM_BASE, RAM_SIZE, REALM_IPA_BITS } from '../fixtures/layout.ts';
import { systemOffSmc } from '../fixtures/payloads.ts';

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
  const { mem } = c.must(await vm.ramMemslot({ slot: 0, gpa: RAM_BASE, size: RAM_SIZE }));
  return { vm, ram: mem as Mem };
}

/** A vCPU initialised with PSCI 0.2 (a REC needs it: R1-V5) and its PC at the entry point. */
export async function initVcpu(c: CheckContext, vm: Vm, id = 0, features: number[] = defaultFeatures(c)): Promise<Vcpu> {
  const { vcpu } = c.must(await vm.createVcpu(id));
  const v = vcpu as Vcpu;
  c.must(await v.init(features));
  c.must(await v.setPc(ENTRY));
  return v;
}

/** PSCI 0.2, plus the REC bit where FINALIZE(REC) needs it in VCPU_INIT (v6..v10). */
export function defaultFeatures(c: CheckContext): number[] {
  return c.abi.recInInit && c.abi.recFeature !== undefined ? [KVM_ARM_VCPU_PSCI_0_2, c.abi.recFeature] : [KVM_ARM_VCPU_PSCI_0_2];
}

/**
 * Bring a realm to `state` by the valid RFC-era order: CREATE, vCPU 0 with a
 * REC, guest code populated at the entry point, ACTIVATE.
 */
export async function realmIn(c: CheckContext, state: RealmState, opts: { rec?: boolean; irqchip?: boolean } = {}): Promise<RealmSetup> {
  const r = await realmWithRam(c);
  if (state === 'NONE') return r;
  c.must(await r.vm.createRd());
  c.must(await r.ram.poke(ENTRY - RAM_BASE, systemOffSmc()));
  let vcpu: Vcpu | undefined;
  if (opts.rec !== false) {
    vcpu = await initVcpu(c, r.vm);
    c.must(await vcpu.finalizeRec());
  }
  c.must(await r.vm.populate({ base: ENTRY, size: PAGE, ...measure(c) }));
  // v2+ (V10-V14): the first run needs an in-kernel irqchip; made before ACTIVATE so the REC can run
  if (state === 'ACTIVE' && (opts.irqchip ?? c.abi.firstRunNeedsIrqchip === true)) c.must(await r.vm.createVgicV3());
  if (state === 'ACTIVE') c.must(await r.vm.activate());
  return { ...r, ...(vcpu ? { vcpu } : {}) };
}

/** POPULATE flags: MEASURE where the revision has a flags field (v2+), none in RFC v1. */
export function measure(c: CheckContext): { flags?: number } {
  return (c.abi.sizes.populateArgs ?? 0) >= 32 ? { flags: 1 } : {};
}
