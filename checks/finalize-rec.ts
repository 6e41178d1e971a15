// KVM_ARM_VCPU_FINALIZE(REC): the vCPU's preconditions (initialised, PSCI
// 0.2, the REC bit where VCPU_INIT takes it), the realm's state, the feature
// pointer, twice; in the RMI era the REC feature is gone.
import * as K from '../uapi/kvm-uapi.ts';
import { getProfile } from '../profiles/index.ts';
import { defaultFeatures, initVcpu, realmIn } from './setup/rme-realm.ts';
import { rmiRealm } from './setup/rmi-realm.ts';
import { RME_AFTER_RFC, RME_ERA, RMI_ERA } from './eras.ts';
import { check } from './table.ts';

const RME = { generations: RME_ERA };
const RMI = { generations: RMI_ERA };
/** The REC feature bit of the last RME-era revision (v10's profile holds it). */
const oldRecFeature = (): number => getProfile('v10')!.recFeature!;

export const checks = [
  check('finalize-rec', 'ok', RME, 'FINALIZE(REC) after CREATE on an initialised PSCI 0.2 vCPU', ['rec.ok'], async (c) => {
    const { vcpu } = await realmIn(c, 'NEW', { rec: false, features: defaultFeatures(c) });
    c.expect(await vcpu!.finalizeRec(), 'rec.ok');
  }),
  check('finalize-rec', 'not-initialised', RME, 'FINALIZE(REC) on a vCPU that never had KVM_ARM_VCPU_INIT', ['rec.not-initialised'], async (c) => {
    const { vm } = await realmIn(c, 'NEW', { rec: false });
    const vcpu = await vm.createVcpu(1);
    c.expect(await vcpu.finalizeRec(), 'rec.not-initialised');
  }),
  check('finalize-rec', 'bad-pointer', RME, 'FINALIZE whose feature pointer faults', ['rec.bad-pointer'], async (c) => {
    const { vcpu } = await realmIn(c, 'NEW', { rec: false, features: defaultFeatures(c) });
    c.expect(await vcpu!.finalize(c.abi.recFeature ?? 0, true), 'rec.bad-pointer');
  }),
  check('finalize-rec', 'without-psci', RME, 'FINALIZE(REC) on a vCPU initialised without PSCI_0_2', ['rec.no-psci'], async (c) => {
    const { vcpu } = await realmIn(c, 'NEW', { rec: false, features: [] });
    c.expect(await vcpu!.finalizeRec(), 'rec.no-psci');
  }),
  check('finalize-rec', 'twice', RME, 'FINALIZE(REC) twice on one vCPU', ['rec.ok', 'rec.twice'], async (c) => {
    const { vcpu } = await realmIn(c, 'NEW', { rec: false, features: defaultFeatures(c) });
    c.expect(await vcpu!.finalizeRec(), 'rec.ok');
    c.expect(await vcpu!.finalizeRec(), 'rec.twice');
  }),
  check('finalize-rec', 'before-create', RME, 'FINALIZE(REC) before the RD exists', ['rec.before-create'], async (c) => {
    const vm = await c.realmVm();
    const v = await initVcpu(c, vm);
    c.expect(await v.finalizeRec(), 'rec.before-create');
  }),
  check('finalize-rec', 'after-activate', RME, 'FINALIZE(REC) of a vCPU created after ACTIVATE', ['rec.after-activate'], async (c) => {
    const { vm } = await realmIn(c, 'ACTIVE');
    const v = await initVcpu(c, vm, 1);
    c.expect(await v.finalizeRec(), 'rec.after-activate');
  }),
  check('finalize-rec', 'on-normal-vm', RME, 'FINALIZE(REC) on a vCPU of a normal VM', ['rec.normal-vm'], async (c) => {
    const vm = await c.normalVm();
    // PSCI only: a normal VM refuses the REC bit at INIT already (V10-V1)
    const v = await initVcpu(c, vm, 0, [K.KVM_ARM_VCPU_PSCI_0_2]);
    c.expect(await v.finalizeRec(), 'rec.normal-vm');
  }),
  check(
    'finalize-rec',
    'without-rec-bit',
    { ...RME, abis: RME_AFTER_RFC },
    'FINALIZE(REC) on a realm vCPU initialised without the REC bit',
    ['rec.no-rec-bit'],
    async (c) => {
      const { vcpu } = await realmIn(c, 'NEW', { rec: false, features: [K.KVM_ARM_VCPU_PSCI_0_2] });
      c.expect(await vcpu!.finalizeRec(), 'rec.no-rec-bit');
    },
  ),
  check('finalize-rec', 'old-rec-feature', RMI, 'KVM_ARM_VCPU_FINALIZE(9): no REC feature is left', ['rmi.finalize-old-rec'], async (c) => {
    const r = await rmiRealm(c);
    c.expect(await r.vcpu!.finalize(oldRecFeature()), 'rmi.finalize-old-rec');
  }),
];
