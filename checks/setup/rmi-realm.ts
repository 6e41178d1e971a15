// Shared set-up for the RMI era (v12..v14): a realm VM with private
// guest_memfd RAM, vCPUs, the vGIC, and KVM_ARM_RMI_POPULATE driven the way
// the VMMs drive it (loop until size is 0; no progress is an error: QEMU
// NVIDIA 0d79ce9 and OpenVMM, abi-evolution.md §6.2/§6.4).
import type { CheckContext } from '../../harness/core/engine.ts';
import type { Mem, Vcpu, Vm } from '../../harness/core/dsl/index.ts';
import type { CallResult } from '../../harness/core/calls.ts';
import { succeeded } from '../../harness/core/calls.ts';
import { KVM_ARM_VCPU_PSCI_0_2, KVM_SYSTEM_EVENT_SHUTDOWN, type RunExit } from '../../uapi/kvm-uapi.ts';
import { ENTRY, PAGE, RAM_BASE, RAM_SIZE, REALM_IPA_BITS } from '../../fixtures/layout.ts';
import { systemOffSmc } from '../../fixtures/payloads.ts';

export const MEASURE = 1;

export interface RmiRealm {
  vm: Vm;
  /** The shared mapping of the RAM memslot, used as the populate source (same offsets as the IPA). */
  ram: Mem;
  vcpu?: Vcpu;
}

/** Realm VM + private RAM at RAM_BASE; the guest image (SYSTEM_OFF) is written to the source at ENTRY. */
export async function rmiRealm(c: CheckContext, opts: { vcpu?: boolean; features?: number[]; vgic?: boolean; private?: boolean } = {}): Promise<RmiRealm> {
  const vm = await c.realmVm(REALM_IPA_BITS);
  const { mem: ram } = await vm.privateMemslot({ slot: 0, gpa: RAM_BASE, size: RAM_SIZE }, { private: opts.private !== false });
  c.must(await ram.poke(ENTRY - RAM_BASE, systemOffSmc()));
  let vcpu: Vcpu | undefined;
  if (opts.vcpu !== false) {
    vcpu = await vm.createVcpu(0);
    c.must(await vcpu.init(opts.features ?? [KVM_ARM_VCPU_PSCI_0_2]));
    c.must(await vcpu.setPc(ENTRY));
  }
  if (opts.vgic) c.must(await vm.createVgicV3());
  return { vm, ram, ...(vcpu ? { vcpu } : {}) };
}

/** One populate of [gpa, gpa+size) with the source at the same offset of the shared mapping. */
export function populateAt(r: RmiRealm, gpa: number, size: number, flags = MEASURE, extra: { reserved?: number } = {}): ReturnType<Vm['rmiPopulate']> {
  // Outside RAM (no-memslot checks) the source is the start of the mapping: any valid address will do.
  const offset = gpa >= RAM_BASE && gpa - RAM_BASE < RAM_SIZE ? gpa - RAM_BASE : 0;
  return r.vm.rmiPopulate({ base: gpa, size, flags, ...extra, source: { mem: r.ram, offset } });
}

export interface LoopResult {
  calls: CallResult[];
  done: number;
  /** Why the loop stopped early, if it did. */
  error?: string;
}

/**
 * Populate until size is 0. v12: the return value is the bytes done and the
 * caller advances; v13+: the kernel advances base/size/source_uaddr in the
 * struct, which must move together. Every call must make progress.
 */
export async function populateLoop(
  c: CheckContext,
  r: RmiRealm,
  gpa: number,
  size: number,
  flags = MEASURE,
  opts: { maxCalls?: number; srcAbs?: bigint } = {},
): Promise<LoopResult> {
  const inOut = c.abi.rmiPopulate?.inOut === true;
  const calls: CallResult[] = [];
  let base = gpa;
  let left = size;
  // v13+: the kernel's source_uaddr, to check it moves with base. The next call
  // names the same place as mapping + offset (not the absolute address), so the
  // trace replays in another process, where the mapping lands elsewhere.
  let src: bigint | undefined = opts.srcAbs;
  while (left > 0 && calls.length < (opts.maxCalls ?? 64)) {
    const res = await populateAt(r, base, left, flags);
    calls.push(res);
    const fail = (why: string): LoopResult => ({ calls, done: size - left, error: why });
    if (!succeeded(res)) return fail(`${res.label} failed`);
    let step: number;
    if (inOut) {
      const a = res.after;
      if (!a) return fail('no struct came back');
      step = Number(a.base) - base;
      if (Number(a.size) !== left - step) return fail(`base advanced by ${step} but size by ${left - Number(a.size)}`);
      if (src !== undefined && a.sourceUaddr - src !== BigInt(step)) return fail(`base advanced by ${step} but source_uaddr by ${a.sourceUaddr - src}`);
      src = a.sourceUaddr;
    } else step = res.ret;
    if (step <= 0) return fail(`${res.label} made no progress`);
    if (step % PAGE !== 0) return fail(`progress ${step} is not whole pages`);
    base += step;
    left -= step;
  }
  return left === 0 ? { calls, done: size } : { calls, done: size - left, error: `still ${left} bytes after ${calls.length} calls` };
}

/** The guest powered off: KVM_RUN exited with SYSTEM_EVENT(SHUTDOWN). */
export const SYSOFF = (c: CheckContext, r: { exit?: RunExit }, src: string): boolean =>
  c.ok(
    r.exit?.reason === 'SYSTEM_EVENT' && 'type' in r.exit && r.exit.type === KVM_SYSTEM_EVENT_SHUTDOWN,
    `KVM_RUN exits with SYSTEM_EVENT(SHUTDOWN), got ${r.exit?.reason ?? 'none'}`,
    src,
  );

/**
 * The first page of RAM populated with `code` (already poked there), then
 * vCPU 0's first KVM_RUN: it must succeed and end in SYSTEM_OFF (`src` says
 * what another ending would mean).
 */
export async function runPopulatedToSystemOff(c: CheckContext, r: RmiRealm, src: string): Promise<void> {
  c.must(await populateAt(r, RAM_BASE, PAGE));
  const res = await r.vcpu!.run();
  c.expect(res, 'rmi.run-ok');
  SYSOFF(c, res, src);
}
