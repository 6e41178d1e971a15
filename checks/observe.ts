// Checks written from the StrykerJS survivors (bench/stryker-triage.md): the
// classes issue 13 names. A rule over a set is checked on every member, the
// offending one last; a refused call is followed by the call that proves it
// changed nothing; a success is followed by what makes its effect visible.
// Every expectation is the profile's; the names start with the suite's areas.
import type { CheckContext, CheckDef } from '../harness/core/engine.ts';
import type { ExpectKey } from '../profiles/types.ts';
import * as K from '../uapi/kvm-uapi.ts';
import { b as branch, assemble, ldr, movImm, systemOff } from '../fixtures/guest.ts';
import { PAGE, RAM2_BASE, RAM_BASE, RAM_SIZE, REALM_IPA_BITS } from '../fixtures/layout.ts';
import { MEASURE, populateAt, populateLoop, rmiRealm } from './setup/rmi-realm.ts';
import { RMI_ERA, RME_AFTER_RFC } from './eras.ts';
import { initVcpu } from './setup/rme-realm.ts';

const RMI = RMI_ERA;

const MID = RAM_BASE + 0x100000;
const SYSOFF = (c: CheckContext, r: { exit?: K.RunExit }, src: string): boolean =>
  c.ok(
    r.exit?.reason === 'SYSTEM_EVENT' && 'type' in r.exit && r.exit.type === K.KVM_SYSTEM_EVENT_SHUTDOWN,
    `KVM_RUN exits with SYSTEM_EVENT(SHUTDOWN), got ${r.exit?.reason ?? 'none'}`,
    src,
  );

function check(
  name: string,
  area: CheckDef['area'],
  description: string,
  expects: ExpectKey[],
  run: (c: CheckContext) => Promise<void>,
  extra: Partial<CheckDef> = {},
): CheckDef {
  return { name, area, description, expects, ...extra, run };
}

/**
 * arm64 CAPs a normal VM answers (the arch part of KVM_CHECK_EXTENSION) that
 * are not on the realm allowlist (V14-CE2): a realm VM must read 0 for each.
 * ARM_EL1_32BIT, the one the suite had, is last.
 */
const KVM_CAP_MP_STATE = 14;
const KVM_CAP_SET_GUEST_DEBUG = 23;
const KVM_CAP_ONE_REG = 70;
const KVM_CAP_ARM_NISV_TO_USER = 177;
const KVM_CAP_ARM_SYSTEM_SUSPEND = 220;
const HIDDEN_ARM64_CAPS: readonly [number, string][] = [
  [KVM_CAP_MP_STATE, 'KVM_CAP_MP_STATE'],
  [KVM_CAP_SET_GUEST_DEBUG, 'KVM_CAP_SET_GUEST_DEBUG'],
  [KVM_CAP_ONE_REG, 'KVM_CAP_ONE_REG'],
  [KVM_CAP_ARM_NISV_TO_USER, 'KVM_CAP_ARM_NISV_TO_USER'],
  [KVM_CAP_ARM_SYSTEM_SUSPEND, 'KVM_CAP_ARM_SYSTEM_SUSPEND'],
  [K.CAP.KVM_CAP_ARM_EL1_32BIT, 'KVM_CAP_ARM_EL1_32BIT'],
];
/** On the allowlist and answered 1 on arm64 (V14-CE2). */
const ALLOWED_CAPS: readonly [number, string][] = [
  [K.CAP.KVM_CAP_IRQCHIP, 'KVM_CAP_IRQCHIP'],
  [K.CAP.KVM_CAP_ARM_PSCI, 'KVM_CAP_ARM_PSCI'],
  [K.CAP.KVM_CAP_ARM_PSCI_0_2, 'KVM_CAP_ARM_PSCI_0_2'],
];

export const checks: CheckDef[] = [
  check(
    'probing/caps-hidden-every-member',
    'probing',
    'CHECK_EXTENSION on a realm VM: every arm64 CAP off the allowlist that a normal VM has reads 0, every allowlisted one 1',
    ['rmi.cap-not-allowlisted', 'rmi.cap-allowlisted'],
    async (c) => {
      const normal = await c.normalVm(REALM_IPA_BITS);
      const realm = await c.realmVm(REALM_IPA_BITS);
      let judged = 0;
      for (const [cap, name] of HIDDEN_ARM64_CAPS) {
        // only a CAP the host has says anything: a 0 the normal VM also reads proves nothing
        const n = c.must(await normal.checkExtension(cap));
        if (n.ret === 0) continue;
        judged++;
        c.expect(await realm.checkExtension(cap), 'rmi.cap-not-allowlisted', `${name} (a normal VM reads ${n.ret})`);
      }
      c.ok(judged >= 2, `at least two hidden CAPs judged (${judged})`);
      for (const [cap, name] of ALLOWED_CAPS) c.expect(await realm.checkExtension(cap), 'rmi.cap-allowlisted', name);
    },
    { generations: RMI },
  ),
  check(
    'populate/stops-at-memslot-end-before-the-next',
    'populate',
    "POPULATE across two adjacent private guest_memfd memslots: the call stops exactly at the first one's end, the next call goes on in the second",
    ['rmi.populate-past-memslot-end', 'rmi.populate-ok'],
    async (c) => {
      const r = await rmiRealm(c);
      const { mem } = await r.vm.privateMemslot({ slot: 1, gpa: RAM2_BASE, size: RAM_SIZE });
      // one page before the end of slot 0, two into slot 1: the page count is clipped at slot 0's end (V14-PO12)
      // the source is three valid pages (the start of slot 0's mapping), so only the clip can stop the call
      const res = await r.vm.rmiPopulate({ base: RAM2_BASE - PAGE, size: 3 * PAGE, flags: MEASURE, source: { mem: r.ram, offset: 0 } });
      c.expect(res, 'rmi.populate-past-memslot-end');
      if (c.abi.rmiPopulate?.inOut) {
        c.equal(res.after?.base, BigInt(RAM2_BASE), 'base stops at the memslot end', 'V14-PO12');
        c.equal(res.after?.size, BigInt(2 * PAGE), 'two pages left', 'V14-PO12');
      }
      // the second memslot is untouched: its first page still populates, on its own source
      c.expect(
        await r.vm.rmiPopulate({ base: RAM2_BASE, size: PAGE, flags: MEASURE, source: { mem, offset: 0 } }),
        'rmi.populate-ok',
        'slot 1 page 0 after the clipped call',
      );
    },
    { generations: RMI },
  ),
  check(
    'populate/every-page-reaches-the-guest',
    'populate',
    'POPULATE three pages of guest code in one loop (page 0 branches to page 1, page 1 to page 2, page 2 powers off): every page holds its own source page',
    ['rmi.populate-progress', 'rmi.run-ok'],
    async (c) => {
      const r = await rmiRealm(c, { vgic: true });
      // the chain starts away from the start of the mapping, so a source taken from the wrong offset is other memory, not a fault
      for (const [i, code] of [assemble(branch(PAGE)), assemble(branch(PAGE)), assemble(systemOff('smc'))].entries())
        c.must(await r.ram.poke(MID - RAM_BASE + i * PAGE, code));
      const l = await populateLoop(c, r, MID, 3 * PAGE);
      for (const call of l.calls) c.expect(call, 'rmi.populate-progress');
      c.ok(!l.error, `populate loop: ${l.done} of ${3 * PAGE} bytes${l.error ? `: ${l.error}` : ''}`, 'abi-evolution.md §4.8');
      // nothing fails and no signal is pending, so the first call does every page (UP-gmem loops over the whole count; V14-PO15)
      c.equal(l.calls.length, 1, 'one call did all three pages', 'V14-PO15');
      c.must(await r.vcpu!.setPc(MID));
      const res = await r.vcpu!.run();
      c.expect(res, 'rmi.run-ok');
      SYSOFF(c, res, "V14-PO19 (populated pages are the guest's RAM), V14-A12");
    },
    { generations: RMI },
  ),
  check(
    'vcpu-init/realm-core-regs-every-member',
    'vcpu-init',
    'SET_ONE_REG on a realm vCPU, register by register: x0, x30 and PC are taken, SP and PSTATE (either side of PC) refused',
    ['vcpu.realm-reg-allowed', 'vcpu.realm-reg-refused'],
    async (c) => {
      // RMI era: any realm vCPU (V14-V6); RME era (v2+): a vCPU of a realm VM (V10-R1)
      const vcpu = c.abi.generation === 'rmi' ? (await rmiRealm(c)).vcpu! : await initVcpu(c, await c.realmVm(REALM_IPA_BITS));
      for (const [id, name] of [
        [K.coreRegX(0), 'X0'],
        [K.coreRegX(30), 'X30'],
        [K.CORE_REG_PC, 'PC'],
      ] as const) {
        c.expect(await vcpu.setReg(id, 0x80000000, name), 'vcpu.realm-reg-allowed', name);
      }
      // the core offsets around PC: SP (just below) and PSTATE (just above)
      for (const [id, name] of [
        [K.coreRegX(31), 'SP'],
        [K.CORE_REG_PC + 2n, 'PSTATE'],
      ] as const) {
        c.expect(await vcpu.setReg(id, 0x3c5, name), 'vcpu.realm-reg-refused', name);
      }
    },
    { abis: [...RME_AFTER_RFC, 'v12', 'v13', 'v14'] },
  ),
  check(
    'populate/page-count-sign-boundary',
    'populate',
    'POPULATE with size 2^63 - 4K (clipped to the memslot: one page) and 2^63 (a negative page count: refused, and the page is still unpopulated)',
    ['rmi.populate-past-memslot-end', 'rmi.populate-negative-count', 'rmi.populate-ok'],
    async (c) => {
      const r = await rmiRealm(c);
      const last = RAM_BASE + RAM_SIZE - PAGE;
      // one page below the sign bit: a positive count, clipped at the memslot end (V14-PO12)
      const below = await r.vm.rmiPopulate({ base: last, size: 2n ** 63n - BigInt(PAGE), flags: MEASURE, source: { mem: r.ram, offset: 0 } });
      c.expect(below, 'rmi.populate-past-memslot-end', 'size 2^63 - 4K');
      if (c.abi.rmiPopulate?.inOut) c.equal(below.after?.size, 2n ** 63n - 2n * BigInt(PAGE), 'one page done', 'V14-PO12');
      // exactly the sign bit, at a page nothing populated yet
      c.expect(
        await r.vm.rmiPopulate({ base: MID, size: 2n ** 63n, flags: MEASURE, source: { mem: r.ram, offset: 0 } }),
        'rmi.populate-negative-count',
        'size 2^63',
      );
      // the refused call populated nothing: the page at its base still populates
      c.expect(await populateAt(r, MID, PAGE), 'rmi.populate-ok', 'the page the refused call named');
    },
    { generations: RMI },
  ),
  check(
    'populate/source-fault-after-progress',
    'populate',
    'POPULATE two pages whose second source page is unmapped: the first page is done and reported, the fault dropped; the second page is still unpopulated',
    ['rmi.populate-error-after-progress', 'rmi.populate-ok'],
    async (c) => {
      const r = await rmiRealm(c);
      // the source's last page: the page after it is the mapping's guard, so the second copy faults
      const res = await r.vm.rmiPopulate({ base: MID, size: 2 * PAGE, flags: MEASURE, source: { mem: r.ram, offset: RAM_SIZE - PAGE } });
      c.expect(res, 'rmi.populate-error-after-progress', 'the second source page faults');
      if (c.abi.rmiPopulate?.inOut) c.equal(res.after?.size, BigInt(PAGE), 'one page done, one left', 'V14-PO15');
      // the refused page was not populated: it populates now from a good source
      c.expect(await populateAt(r, MID + PAGE, PAGE), 'rmi.populate-ok', 'the page whose source faulted');
    },
    { generations: RMI },
  ),
  check(
    'run/unpopulated-ram-is-ram-every-memslot',
    'run',
    'the first KVM_RUN makes every guest_memfd memslot RAM in full: the guest reads a never-populated page of the first memslot, then of the second, and powers off',
    ['rmi.run-ok'],
    async (c) => {
      const r = await rmiRealm(c, { vgic: true });
      await r.vm.privateMemslot({ slot: 1, gpa: RAM2_BASE, size: RAM_SIZE });
      // loads from RIPAS EMPTY memory would be an abort the RMM injects; RAM reads as zeroes
      const code = assemble(movImm(1, MID), ldr(2, 1, 0, 8), movImm(1, RAM2_BASE + RAM_SIZE - PAGE), ldr(2, 1, 0, 8), systemOff('smc'));
      c.must(await r.ram.poke(0, code));
      c.must(await populateAt(r, RAM_BASE, PAGE));
      const res = await r.vcpu!.run();
      c.expect(res, 'rmi.run-ok');
      SYSOFF(c, res, 'V14-A10 (RIPAS RAM over every guest_memfd memslot in full)');
    },
    { generations: RMI },
  ),
];
