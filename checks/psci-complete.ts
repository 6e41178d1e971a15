// The VMM's PSCI completion ioctl (KVM_ARM_VCPU_{RMM,RMI}_PSCI_COMPLETE):
// RME era after the RFC (v2..v10) and RMI v12/v13; removed in v14.
import * as K from '../uapi/kvm-uapi.ts';
import type { PsciCompleteArgs } from '../profiles/encode.ts';
import type { CheckContext } from '../harness/core/engine.ts';
import type { CallResult } from '../harness/core/calls.ts';
import type { Vcpu } from '../harness/core/dsl/index.ts';
import { PSCI_COMPLETE_0XD2, PSCI_COMPLETE_0XD6 } from '../profiles/v10.ts';
import { initVcpu, realmIn } from './setup/rme-realm.ts';
import { rmiRealm } from './setup/rmi-realm.ts';
import { RME_AFTER_RFC, RME_ERA, RMI_ERA } from './eras.ts';
import { stimuli, type Row } from './table.ts';

const RME = { generations: RME_ERA, abis: RME_AFTER_RFC };
const RMI = { generations: RMI_ERA };

/** The vCPU the call is made on. */
type On = 'normal-vm' | 'normal-vm-no-pc' | 'rme-rec' | 'rme-not-a-rec' | 'rmi-vcpu';
interface Args {
  psci: PsciCompleteArgs;
  badPointer?: boolean;
  /** Another request number than the revision's (an old one, a removed one). */
  req?: number;
}

async function vcpuOn(c: CheckContext, on: On): Promise<Vcpu> {
  switch (on) {
    case 'normal-vm':
      return initVcpu(c, await c.normalVm(), 0, [K.KVM_ARM_VCPU_PSCI_0_2]);
    case 'normal-vm-no-pc': {
      const v = await (await c.normalVm()).createVcpu(0);
      c.must(await v.init([K.KVM_ARM_VCPU_PSCI_0_2]));
      return v;
    }
    case 'rme-rec':
      return (await realmIn(c, 'NEW')).vcpu!;
    case 'rme-not-a-rec':
      return (await realmIn(c, 'NEW', { rec: false, features: [K.KVM_ARM_VCPU_PSCI_0_2] })).vcpu!;
    case 'rmi-vcpu':
      return (await rmiRealm(c)).vcpu!;
  }
}

async function psciComplete(c: CheckContext, on: On, a: Args): Promise<CallResult> {
  const v = await vcpuOn(c, on);
  return v.psciComplete(a.psci, { ...(a.badPointer ? { badPointer: true } : {}), ...(a.req !== undefined ? { req: a.req } : {}) });
}

const ZERO: PsciCompleteArgs = { targetMpidr: 0, psciStatus: 0 };

const RME_ROWS: Row<On, Args>[] = [
  { name: 'on-normal-vm', description: 'PSCI complete ioctl on a normal-VM vCPU', state: 'normal-vm', args: { psci: ZERO }, expect: 'psci.normal-vm' },
  {
    name: 'not-a-rec',
    description: 'PSCI complete ioctl on a realm vCPU that is not a REC',
    state: 'rme-not-a-rec',
    args: { psci: ZERO },
    expect: 'psci.no-rec-bit',
  },
  {
    name: 'bad-pointer',
    description: 'PSCI complete ioctl on a REC whose struct pointer faults',
    state: 'rme-rec',
    args: { psci: ZERO, badPointer: true },
    expect: 'psci.bad-pointer',
  },
  {
    name: 'unknown-target',
    description: 'PSCI complete ioctl naming an MPIDR no vCPU has',
    state: 'rme-rec',
    args: { psci: { targetMpidr: 0xff00, psciStatus: 0 } },
    expect: 'psci.unknown-target',
  },
  // padding is not checked (V10-PS5), so the RMM answer decides
  {
    name: 'not-pending',
    description: 'PSCI complete ioctl for a REC with no PSCI request pending (the RMM refuses)',
    state: 'rme-rec',
    args: { psci: { targetMpidr: 0, psciStatus: 0, padding: [1, 2, 3] } },
    expect: 'psci.not-pending',
  },
  {
    name: 'old-number',
    description: 'the v2..v7 PSCI complete number 0x4018AED2 on a v8+ kernel',
    state: 'rme-rec',
    args: { psci: ZERO, req: PSCI_COMPLETE_0XD2 },
    expect: 'psci.old-number',
  },
  // the realm code takes only its own request number: on a normal VM the old one is the arm64 default too
  {
    name: 'old-number-normal-vm',
    description: 'the v2..v7 PSCI complete number 0x4018AED2 on a normal-VM vCPU of a v8+ kernel',
    state: 'normal-vm',
    args: { psci: ZERO, req: PSCI_COMPLETE_0XD2 },
    expect: 'psci.old-number',
  },
];

const RMI_ROWS: Row<On, Args>[] = [
  { name: 'on-normal-vm', description: 'PSCI complete ioctl on a normal-VM vCPU', state: 'normal-vm-no-pc', args: { psci: ZERO }, expect: 'psci.normal-vm' },
  {
    name: 'unknown-target',
    description: 'PSCI complete ioctl naming an MPIDR no vCPU has',
    state: 'rmi-vcpu',
    args: { psci: { targetMpidr: 0xff00, psciStatus: 0 } },
    expect: 'psci.unknown-target',
  },
  {
    name: 'bad-pointer',
    description: 'PSCI complete ioctl whose struct pointer faults',
    state: 'rmi-vcpu',
    args: { psci: ZERO, badPointer: true },
    expect: 'psci.bad-pointer',
  },
  {
    name: 'old-number',
    description: "the v2..v7 PSCI complete number 0x4018AED2 is not this revision's ioctl",
    state: 'rmi-vcpu',
    args: { psci: ZERO, req: PSCI_COMPLETE_0XD2 },
    expect: 'psci.old-number',
  },
  {
    name: 'removed',
    description: 'v14: the v12/v13 PSCI complete request 0x4018AED6 no longer exists',
    state: 'rmi-vcpu',
    args: { psci: ZERO, req: PSCI_COMPLETE_0XD6 },
    expect: 'rmi.psci-complete-removed',
  },
  // from the StrykerJS triage: the removed request on a vCPU of a normal VM reaches the same arch default
  {
    name: 'removed-on-normal-vm',
    description: 'v14: the removed v12/v13 PSCI complete request 0x4018AED6 on a normal-VM vCPU',
    state: 'normal-vm-no-pc',
    args: { psci: ZERO, req: PSCI_COMPLETE_0XD6 },
    expect: 'rmi.psci-complete-removed',
  },
];

export const checks = [...stimuli('psci-complete', RME, RME_ROWS, psciComplete), ...stimuli('psci-complete', RMI, RMI_ROWS, psciComplete)];
