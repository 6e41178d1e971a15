// The RMI generation (v12..v14): what replaced the ENABLE_CAP sub-commands.
// Populate progress and validation, populate around the first KVM_RUN, the
// implicit activation and its failures (dead realms stay dead; v12 kills the
// realm before its irqchip check), the
// removed uAPI, the VM type bits, SVE frozen once the RD exists, and the
// failure-ordering pairs of conditions.md §5 (v14 column).
import type { CheckContext, CheckDef } from '../harness/engine.ts';
import type { ExpectKey } from '../harness/abi/types.ts';
import * as K from '../harness/kvm-uapi.ts';
import { PSCI_COMPLETE_0XD2, PSCI_COMPLETE_0XD6 } from '../harness/abi/v10.ts';
import { ENTRY, PAGE, RAM2_BASE, RAM_BASE, RAM_SIZE, REALM_IPA_BITS } from '../fixtures/layout.ts';
import { MEASURE, RMI, populateAt, populateLoop, rmiRealm } from './rmi-realm.ts';

const MID = RAM_BASE + 0x100000;
const SYSOFF = (c: CheckContext, r: { exit?: K.RunExit }, src: string): boolean =>
  c.ok(r.exit?.reason === 'SYSTEM_EVENT' && 'type' in r.exit && r.exit.type === K.KVM_SYSTEM_EVENT_SHUTDOWN, `KVM_RUN exits with SYSTEM_EVENT(SHUTDOWN), got ${r.exit?.reason ?? 'none'}`, src);

function check(name: string, area: CheckDef['area'], description: string, expects: ExpectKey[], run: (c: CheckContext) => Promise<void>, extra: Partial<CheckDef> = {}): CheckDef {
  return { name: `rmi/${name}`, area, description, expects, generations: RMI, ...extra, run };
}

/** One populate on a fresh realm (RAM at RAM_BASE, source = its shared mapping), judged by `key`. */
function populateCheck(name: string, key: ExpectKey, description: string, args: { base: number; size: number; flags?: number; reserved?: number; sourceUaddr?: number }): CheckDef {
  return check(name, 'populate', description, [key], async (c) => {
    const r = await rmiRealm(c);
    const res =
      args.sourceUaddr !== undefined
        ? await r.vm.rmiPopulate({ base: args.base, size: args.size, flags: args.flags ?? MEASURE, sourceUaddr: args.sourceUaddr })
        : await populateAt(r, args.base, args.size, args.flags ?? MEASURE, args.reserved !== undefined ? { reserved: args.reserved } : {});
    c.expect(res, key);
  });
}

/** A realm whose first run fails in activation (vCPU 1 lacks PSCI_0_2), leaving it DEAD (V14-A9). */
async function deadRealm(c: CheckContext) {
  // vCPU 1 is created but never initialised, so it has no PSCI_0_2 and its REC cannot be made;
  // initialising it without PSCI_0_2 is no longer possible (one feature set per VM since 6.7)
  const r = await rmiRealm(c);
  c.must(await populateAt(r, ENTRY, PAGE));
  await r.vm.createVcpu(1);
  c.must(await r.vm.createVgicV3());
  c.expect(await r.vcpu!.run(), 'rmi.first-run-rec-fails');
  return r;
}

export const checks: CheckDef[] = [
  // ---- probing: VM types, CAPs, the removed multiplexed uAPI
  check('probing/realm-and-protected', 'probing', 'KVM_CREATE_VM(REALM | PROTECTED | IPA 40) is refused', ['vm.realm-and-protected'], async (c) => {
    const k = await c.kvm();
    c.expect((await k.__createVm(c.abi.vmTypeRealm + (c.abi.vmTypeProtected ?? 0) + REALM_IPA_BITS)).r, 'vm.realm-and-protected');
  }),
  check('probing/old-realm-type', 'probing', 'KVM_CREATE_VM with the RFC..v13 realm type 0x100 on a v14 kernel', ['vm.old-realm-type'], async (c) => {
    const k = await c.kvm();
    c.expect((await k.__createVm(0x100 + REALM_IPA_BITS)).r, 'vm.old-realm-type');
  }),
  check('probing/old-enable-cap-fails-cleanly', 'probing', 'a v10 VMM: ENABLE_CAP(old realm CAP, CREATE) on each stale CAP number fails, and the realm still populates afterwards', ['rmi.old-enable-cap', 'rmi.populate-ok'], async (c) => {
    const r = await rmiRealm(c);
    for (const cap of c.abi.staleCaps ?? [244]) c.expect(await r.vm.enableCap(cap, [1, 0]), 'rmi.old-enable-cap', `stale CAP ${cap}`);
    // never half-work: nothing was created by the refused calls, the RMI path still works
    c.expect(await populateAt(r, ENTRY, PAGE), 'rmi.populate-ok', 'the refused calls left no state behind');
  }),
  check('probing/enable-cap-rmi', 'probing', 'ENABLE_CAP(KVM_CAP_ARM_RMI) on a realm VM: the CAP is query-only', ['rmi.enable-cap-rmi'], async (c) => {
    const vm = await c.realmVm(REALM_IPA_BITS);
    c.expect(await vm.enableCap(c.abi.cap.nr, [0, 0]), 'rmi.enable-cap-rmi');
  }),
  check('probing/cap-allowlisted', 'probing', 'CHECK_EXTENSION(ARM_PSCI_0_2) on a realm VM is answered', ['rmi.cap-allowlisted'], async (c) => {
    const vm = await c.realmVm(REALM_IPA_BITS);
    c.expect(await vm.checkExtension(K.CAP.KVM_CAP_ARM_PSCI_0_2), 'rmi.cap-allowlisted');
  }),
  check('probing/cap-not-allowlisted', 'probing', 'CHECK_EXTENSION(ARM_EL1_32BIT) on a realm VM reads 0 (allowlist)', ['rmi.cap-not-allowlisted'], async (c) => {
    const vm = await c.realmVm(REALM_IPA_BITS);
    c.expect(await vm.checkExtension(K.CAP.KVM_CAP_ARM_EL1_32BIT), 'rmi.cap-not-allowlisted');
  }),

  // ---- populate: success, progress, measured vs unmeasured, positive then negative
  check('populate/one-page-then-again', 'populate', 'POPULATE one measured page, then the same page again is refused', ['rmi.populate-ok', 'rmi.populate-twice'], async (c) => {
    const r = await rmiRealm(c);
    const res = await populateAt(r, MID, PAGE);
    c.expect(res, 'rmi.populate-ok');
    if (c.abi.rmiPopulate?.inOut) {
      c.equal(res.after?.size, 0n, 'struct size after a one-page populate', 'V14-PO15');
      c.equal(res.after?.base, BigInt(MID + PAGE), 'struct base advanced by one page', 'V14-PO15');
    }
    c.expect(await populateAt(r, MID, PAGE), 'rmi.populate-twice');
  }),
  check('populate/measured-and-unmeasured', 'populate', 'measured and unmeasured POPULATE both populate (each page then refuses a second populate); the RIM difference needs an attestation read and is not visible from the host uAPI', ['rmi.populate-ok', 'rmi.populate-unmeasured', 'rmi.populate-twice'], async (c) => {
    const r = await rmiRealm(c);
    c.expect(await populateAt(r, MID, PAGE, MEASURE), 'rmi.populate-ok');
    c.expect(await populateAt(r, MID + PAGE, PAGE, 0), 'rmi.populate-unmeasured');
    c.expect(await populateAt(r, MID, PAGE, 0), 'rmi.populate-twice', 'a measured page cannot be re-populated unmeasured');
    c.expect(await populateAt(r, MID + PAGE, PAGE, MEASURE), 'rmi.populate-twice', 'an unmeasured page cannot be re-populated measured');
  }),
  check('populate/progress-loop', 'populate', 'POPULATE 64 KiB looped like QEMU/OpenVMM: every call makes progress, base/size/source_uaddr move together, ends at size 0', ['rmi.populate-progress'], async (c) => {
    const r = await rmiRealm(c);
    let srcAbs: bigint | undefined;
    if (c.abi.rmiPopulate?.inOut) {
      // size 0 returns the struct unchanged (V14-PO5): learn the absolute source address
      const z = await populateAt(r, MID, 0);
      c.expect(z, 'rmi.populate-progress', 'size 0 at a guest_memfd memslot');
      srcAbs = z.after?.sourceUaddr;
    }
    const l = await populateLoop(c, r, MID, 16 * PAGE, MEASURE, srcAbs !== undefined ? { srcAbs } : {});
    for (const call of l.calls) c.expect(call, 'rmi.populate-progress');
    c.ok(!l.error, `populate loop: ${l.calls.length} call(s), ${l.done} of ${16 * PAGE} bytes${l.error ? `: ${l.error}` : ''}`, 'abi-evolution.md §4.8');
  }),
  check('populate/past-memslot-end', 'populate', 'POPULATE two pages where the memslot ends after the first: clipped, the remainder shown', ['rmi.populate-past-memslot-end'], async (c) => {
    const r = await rmiRealm(c);
    const res = await populateAt(r, RAM_BASE + RAM_SIZE - PAGE, 2 * PAGE);
    c.expect(res, 'rmi.populate-past-memslot-end');
    if (c.abi.rmiPopulate?.inOut) c.equal(res.after?.size, BigInt(PAGE), 'one page left in the struct', 'V14-PO12');
  }),
  check('populate/error-after-progress', 'populate', 'POPULATE two pages whose second is already populated: the first call reports one page, the next fails on the bad page', ['rmi.populate-error-after-progress', 'rmi.populate-ok', 'rmi.populate-twice'], async (c) => {
    const r = await rmiRealm(c);
    c.expect(await populateAt(r, MID + PAGE, PAGE), 'rmi.populate-ok');
    const res = await populateAt(r, MID, 2 * PAGE);
    c.expect(res, 'rmi.populate-error-after-progress');
    if (c.abi.rmiPopulate?.inOut) c.equal(res.after?.size, BigInt(PAGE), 'one page done, one left', 'V14-PO15');
    c.expect(await populateAt(r, MID + PAGE, PAGE), 'rmi.populate-twice', 'the next call fails on the bad page');
  }),
  populateCheck('populate/reserved', 'rmi.populate-reserved', 'POPULATE with reserved = 1', { base: MID, size: PAGE, reserved: 1 }),
  populateCheck('populate/unknown-flag', 'rmi.populate-unknown-flag', 'POPULATE with flags bit 1', { base: MID, size: PAGE, flags: 2 }),
  populateCheck('populate/high-flag', 'rmi.populate-unknown-flag', 'POPULATE with flags bit 31 and MEASURE', { base: MID, size: PAGE, flags: 0x80000001 }),
  populateCheck('populate/unaligned-base', 'rmi.populate-unaligned-base', 'POPULATE with base 16 bytes past a page', { base: MID + 0x10, size: PAGE }),
  populateCheck('populate/unaligned-size', 'rmi.populate-unaligned-size', 'POPULATE with size 0x800', { base: MID, size: 0x800 }),
  populateCheck('populate/zero-size', 'rmi.populate-zero-size', 'POPULATE of size 0 at the RAM memslot (creates the RD)', { base: MID, size: 0 }),
  populateCheck('populate/zero-size-no-memslot', 'rmi.populate-zero-size-no-memslot', 'POPULATE of size 0 where no memslot is', { base: 0x40000000, size: 0 }),
  populateCheck('populate/no-memslot', 'rmi.populate-no-memslot', 'POPULATE where no memslot covers base', { base: 0x40000000, size: PAGE }),
  populateCheck('populate/source-fault', 'rmi.populate-source-fault', 'POPULATE whose source_uaddr is page-aligned but unmapped', { base: MID, size: PAGE, sourceUaddr: 0x1000 }),
  populateCheck('populate/source-zero', 'rmi.populate-source-zero', 'POPULATE with source_uaddr = 0', { base: MID, size: PAGE, sourceUaddr: 0 }),
  check('populate/unaligned-source', 'populate', 'POPULATE with source_uaddr 16 bytes past a page', ['rmi.populate-unaligned-source'], async (c) => {
    const r = await rmiRealm(c);
    c.expect(await r.vm.rmiPopulate({ base: MID, size: PAGE, flags: MEASURE, source: { mem: r.ram, offset: MID - RAM_BASE + 0x10 } }), 'rmi.populate-unaligned-source');
  }),
  check('populate/not-guest-memfd', 'populate', 'POPULATE into a plain (non-guest_memfd) memslot', ['rmi.populate-not-gmem'], async (c) => {
    const r = await rmiRealm(c);
    await r.vm.memslot({ slot: 1, gpa: RAM2_BASE, size: RAM_SIZE });
    c.expect(await r.vm.rmiPopulate({ base: RAM2_BASE, size: PAGE, flags: MEASURE, source: { mem: r.ram, offset: 0 } }), 'rmi.populate-not-gmem');
  }),
  check('populate/not-private', 'populate', 'POPULATE into guest_memfd whose range was never marked PRIVATE', ['rmi.populate-not-private'], async (c) => {
    const r = await rmiRealm(c, { private: false });
    c.expect(await populateAt(r, MID, PAGE), 'rmi.populate-not-private');
  }),
  check('populate/bad-pointer', 'populate', 'POPULATE whose struct pointer faults', ['rmi.populate-bad-pointer'], async (c) => {
    const r = await rmiRealm(c);
    c.expect(await r.vm.rmiPopulate({ base: MID, size: PAGE }, { badPointer: true }), 'rmi.populate-bad-pointer');
  }),
  check('populate/normal-vm', 'populate', 'POPULATE with well-formed arguments on a normal VM without memslots: refused as not a realm', ['rmi.populate-normal-vm'], async (c) => {
    // V14-PO1 comes before anything else, so no memslot is needed; a real
    // kernel may refuse guest_memfd PRIVATE memory on a normal VM anyway
    const vm = await c.normalVm();
    const mem = await vm.kvm.mmapAnon(PAGE);
    c.expect(await vm.rmiPopulate({ base: MID, size: PAGE, flags: MEASURE, source: { mem: mem, offset: 0 } }), 'rmi.populate-normal-vm');
  }),

  // ---- ordering pairs (§5, v14 column)
  check('ordering/populate-normal-vm-beats-fault', 'ordering', 'POPULATE on a normal VM with a faulting pointer: the VM check comes first', ['rmi.populate-normal-vm-bad-pointer'], async (c) => {
    const vm = await c.normalVm();
    c.expect(await vm.rmiPopulate({ base: MID, size: PAGE }, { badPointer: true }), 'rmi.populate-normal-vm-bad-pointer');
  }),
  check('ordering/populate-invalid-beats-state', 'ordering', 'after the first run, POPULATE with reserved != 0: the argument check precedes the state (EINVAL, not EBUSY)', ['rmi.run-ok', 'rmi.populate-invalid-after-run', 'rmi.populate-after-run'], async (c) => {
    const r = await rmiRealm(c, { vgic: true });
    c.must(await populateAt(r, ENTRY, PAGE));
    c.expect(await r.vcpu!.run(), 'rmi.run-ok');
    c.expect(await populateAt(r, MID, PAGE, MEASURE, { reserved: 1 }), 'rmi.populate-invalid-after-run');
    c.expect(await populateAt(r, MID, PAGE), 'rmi.populate-after-run', 'the same call with valid arguments');
  }),
  check('ordering/run-uninit-beats-irqchip', 'ordering', 'first KVM_RUN of an uninitialised vCPU without an irqchip: -ENOEXEC comes first', ['rmi.run-uninit-no-irqchip'], async (c) => {
    const r = await rmiRealm(c, { vcpu: false });
    const vcpu = await r.vm.createVcpu(0);
    c.expect(await vcpu.run(), 'rmi.run-uninit-no-irqchip');
  }),
  check('ordering/rd-unfinalised-sve', 'ordering', 'POPULATE (RD creation) while vCPU 0 has SVE not finalised fails; after FINALIZE(SVE) the same call works', ['sve.rd-unfinalised', 'rmi.populate-ok'], async (c) => {
    const r = await rmiRealm(c, { features: [K.KVM_ARM_VCPU_PSCI_0_2, K.KVM_ARM_VCPU_SVE] });
    c.expect(await populateAt(r, ENTRY, PAGE), 'sve.rd-unfinalised');
    c.must(await r.vcpu!.finalize(K.KVM_ARM_VCPU_SVE));
    c.expect(await populateAt(r, ENTRY, PAGE), 'rmi.populate-ok', 'positive after the cause is fixed');
  }, { needs: ['sve'] }),

  // ---- the first KVM_RUN: activation, and what follows it
  check('run/first-run-then-populate', 'run', 'populate, vGIC, first KVM_RUN to SYSTEM_OFF; then POPULATE is refused and no vCPU can be added', ['rmi.run-ok', 'rmi.populate-after-run', 'rmi.vcpu-after-run'], async (c) => {
    const r = await rmiRealm(c, { vgic: true });
    const l = await populateLoop(c, r, ENTRY, PAGE);
    c.ok(!l.error, `entry page populated${l.error ? `: ${l.error}` : ''}`, 'V14-PO19');
    const res = await r.vcpu!.run();
    c.expect(res, 'rmi.run-ok');
    SYSOFF(c, res, 'V14-A12');
    c.expect(await populateAt(r, MID, PAGE), 'rmi.populate-after-run');
    c.expect((await r.vm.__createVcpu(1)).r, 'rmi.vcpu-after-run');
  }),
  check('run/no-irqchip', 'run', 'first KVM_RUN of a populated realm without an in-kernel irqchip is refused', ['rmi.first-run-no-irqchip'], async (c) => {
    const r = await rmiRealm(c);
    c.must(await populateAt(r, ENTRY, PAGE));
    c.expect(await r.vcpu!.run(), 'rmi.first-run-no-irqchip');
  }),
  check('run/no-irqchip-then-fixed', 'run', 'after a first KVM_RUN refused for want of an irqchip, the vGIC is added and the vCPU run again: v13+ activate the realm, v12 left it DEAD', ['rmi.first-run-no-irqchip', 'rmi.run-after-irqchip-added'], async (c) => {
    const r = await rmiRealm(c);
    c.must(await populateAt(r, ENTRY, PAGE));
    c.expect(await r.vcpu!.run(), 'rmi.first-run-no-irqchip', 'the precondition: the first run failed');
    c.must(await r.vm.createVgicV3());
    const res = await r.vcpu!.run();
    c.expect(res, 'rmi.run-after-irqchip-added');
    // where the run is promised to succeed, it must reach the guest's SYSTEM_OFF
    if (c.expectation('rmi.run-after-irqchip-added').errno === 0) SYSOFF(c, res, '§4.7 row 1');
  }),
  check('run/populate-after-no-irqchip', 'run', 'POPULATE after a first KVM_RUN refused for want of an irqchip: v13+ left the realm NEW, v12 left it DEAD', ['rmi.first-run-no-irqchip', 'rmi.populate-after-no-irqchip-run'], async (c) => {
    const r = await rmiRealm(c);
    c.must(await populateAt(r, ENTRY, PAGE));
    c.expect(await r.vcpu!.run(), 'rmi.first-run-no-irqchip', 'the precondition: the first run failed');
    c.expect(await populateAt(r, MID, PAGE), 'rmi.populate-after-no-irqchip-run');
  }),
  check('run/dead-realm-stays-dead', 'run', 'activation fails (vCPU 1 was never initialised: no PSCI_0_2): the realm is DEAD, a second KVM_RUN must not revive it', ['rmi.first-run-rec-fails', 'rmi.second-run-after-failed-run'], async (c) => {
    const r = await deadRealm(c);
    c.expect(await r.vcpu!.run(), 'rmi.second-run-after-failed-run');
    c.expect(await r.vcpu!.run(), 'rmi.second-run-after-failed-run', 'and every later run');
  }),
  check('run/populate-after-failed-run', 'run', 'POPULATE after activation failed: the dead realm refuses it', ['rmi.first-run-rec-fails', 'rmi.populate-after-failed-run'], async (c) => {
    const r = await deadRealm(c);
    c.expect(await populateAt(r, MID, PAGE), 'rmi.populate-after-failed-run');
  }),

  // ---- vCPU: the removed REC feature, AArch32, SVE frozen once the RD exists
  check('populate/before-vcpu-init', 'populate', 'KVM_ARM_RMI_POPULATE before any vCPU is initialised: the RD it creates gets 0 breakpoints/watchpoints, which the RMM refuses', ['rmi.populate-before-vcpu-init'], async (c) => {
    const r = await rmiRealm(c, { vcpu: false });
    c.expect(await populateAt(r, ENTRY, PAGE), 'rmi.populate-before-vcpu-init');
  }, { emulatorOnly: "depends on the target's RMM (0 breakpoints/watchpoints refused since TF-RMM v0.6.0), which the suite cannot ask", emulatorSettings: { rmmZeroDebugCounts: 'reject' } }),
  check('vcpu/second-vcpu-other-features', 'vcpu', 'KVM_ARM_VCPU_INIT of vCPU 1 with other features than vCPU 0 (none after PSCI_0_2)', ['vcpu.init-differs-from-first'], async (c) => {
    const r = await rmiRealm(c);
    const vcpu = await r.vm.createVcpu(1);
    c.expect(await vcpu.init([]), 'vcpu.init-differs-from-first');
  }),
  check('vcpu/init-old-rec-bit', 'vcpu', 'KVM_ARM_VCPU_INIT with PSCI_0_2 and bit 9 (the removed REC bit)', ['rmi.init-old-rec-bit'], async (c) => {
    const r = await rmiRealm(c, { vcpu: false });
    const vcpu = await r.vm.createVcpu(0);
    c.expect(await vcpu.init([K.KVM_ARM_VCPU_PSCI_0_2, 9]), 'rmi.init-old-rec-bit');
  }),
  check('vcpu/finalize-old-rec', 'vcpu', 'KVM_ARM_VCPU_FINALIZE(9): no REC feature is left', ['rmi.finalize-old-rec'], async (c) => {
    const r = await rmiRealm(c);
    c.expect(await r.vcpu!.finalize(9), 'rmi.finalize-old-rec');
  }),
  check('vcpu/el1-32bit', 'vcpu', 'KVM_ARM_VCPU_INIT with EL1_32BIT on a realm VM', ['rmi.el1-32bit'], async (c) => {
    const r = await rmiRealm(c, { vcpu: false });
    const vcpu = await r.vm.createVcpu(0);
    c.expect(await vcpu.init([K.KVM_ARM_VCPU_PSCI_0_2, K.KVM_ARM_VCPU_EL1_32BIT]), 'rmi.el1-32bit');
  }),
  check('vcpu/sve-vls-before-and-after-rd', 'vcpu', 'SVE_VLS is writable before the RD exists; once the first POPULATE made the RD, a new vCPU cannot set it', ['sve.vls-before-rd', 'sve.vls-after-rd'], async (c) => {
    const r = await rmiRealm(c, { vcpu: false });
    const v0 = await r.vm.createVcpu(0);
    c.must(await v0.init([K.KVM_ARM_VCPU_PSCI_0_2, K.KVM_ARM_VCPU_SVE]));
    c.expect(await v0.setSveVls([1]), 'sve.vls-before-rd');
    c.must(await v0.finalize(K.KVM_ARM_VCPU_SVE));
    c.must(await populateAt(r, ENTRY, PAGE));
    const v1 = await r.vm.createVcpu(1);
    c.must(await v1.init([K.KVM_ARM_VCPU_PSCI_0_2, K.KVM_ARM_VCPU_SVE]));
    c.expect(await v1.setSveVls([1]), 'sve.vls-after-rd');
  }, { needs: ['sve'] }),

  // ---- PSCI complete: v12/v13 only, removed in v14
  check('psci/normal-vm', 'vcpu', 'PSCI complete ioctl on a normal-VM vCPU', ['psci.normal-vm'], async (c) => {
    const vm = await c.normalVm();
    const vcpu = await vm.createVcpu(0);
    c.must(await vcpu.init([K.KVM_ARM_VCPU_PSCI_0_2]));
    c.expect(await vcpu.psciComplete({ targetMpidr: 0, psciStatus: 0 }), 'psci.normal-vm');
  }),
  check('psci/unknown-target', 'vcpu', 'PSCI complete ioctl naming an MPIDR no vCPU has', ['psci.unknown-target'], async (c) => {
    const r = await rmiRealm(c);
    c.expect(await r.vcpu!.psciComplete({ targetMpidr: 0xff00, psciStatus: 0 }), 'psci.unknown-target');
  }),
  check('psci/bad-pointer', 'vcpu', 'PSCI complete ioctl whose struct pointer faults', ['psci.bad-pointer'], async (c) => {
    const r = await rmiRealm(c);
    c.expect(await r.vcpu!.psciComplete({ targetMpidr: 0, psciStatus: 0 }, { badPointer: true }), 'psci.bad-pointer');
  }),
  check('psci/old-number', 'vcpu', 'the v2..v7 PSCI complete number 0x4018AED2 is not this revision\'s ioctl', ['psci.old-number'], async (c) => {
    const r = await rmiRealm(c);
    c.expect(await r.vcpu!.psciComplete({ targetMpidr: 0, psciStatus: 0 }, { req: PSCI_COMPLETE_0XD2 }), 'psci.old-number');
  }),
  check('psci/removed', 'vcpu', 'v14: the v12/v13 PSCI complete request 0x4018AED6 no longer exists', ['rmi.psci-complete-removed'], async (c) => {
    const r = await rmiRealm(c);
    c.expect(await r.vcpu!.psciComplete({ targetMpidr: 0, psciStatus: 0 }, { req: PSCI_COMPLETE_0XD6 }), 'rmi.psci-complete-removed');
  }),
];
