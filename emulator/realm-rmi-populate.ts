// The RMI era's KVM_ARM_RMI_POPULATE (V14-PO*) and the implicit RD creation
// (realm_ensure_created) it shares with the activation at the first KVM_RUN.
import { REALM_STRUCTS } from '../uapi/realm.ts';
import { encode, sizeOf, view } from '../uapi/layout.ts';
import type { ErrnoName } from '../uapi/errno.ts';
import type { AbiProfile } from '../profiles/types.ts';
import { KVM_ARM_VCPU_SVE } from '../uapi/kvm-uapi.ts';
import { fail, KernelError } from './errors.ts';
import { gmemPage } from './guest_memfd.ts';
import type { IoctlCtx, Kernel } from './kernel.ts';
import { PAGE_SIZE } from './memory.ts';
import { pgdGranules } from './realm-common.ts';
import type { RmiRealmVm } from './realm-rmi.ts';
import { RMI_ERROR_RTT, RMI_SUCCESS, rmiCode, type Rd } from './rmm.ts';
import type { RmiRules } from './rules.ts';
import { vmDebugCounts } from './vcpu.ts';
import type { Vm } from './vm.ts';

/** What POPULATE and the RD creation need of the RMI-era module. */
export interface RmiEnv {
  readonly k: Kernel;
  readonly p: AbiProfile;
  readonly rules: RmiRules;
}

const MEASURE = 1;
const PAGE = BigInt(PAGE_SIZE);
const MASK64 = (1n << 64n) - 1n;
/** struct kvm_arm_rmi_populate {u64 base, size, source_uaddr; u32 flags, reserved} */

/**
 * realm_ensure_created (V14-PO6, V14-A7): NONE -> create the RD; DEAD ->
 * -ENXIO (V14-PO8); ACTIVE or DYING -> -EBUSY (V14-PO9).
 */
export function ensureCreated(e: RmiEnv, vm: Vm, realm: RmiRealmVm): void {
  if (realm.state === 'dead') fail('ENXIO', 'realm is DEAD (V14-PO8)');
  if (realm.state === 'active' || realm.state === 'dying') {
    if (e.k.bug('populate-after-run-allowed')) return;
    fail('EBUSY', 'realm already active (V14-PO9)');
  }
  if (realm.state === 'new') return;
  createRd(e, vm, realm);
}

export function createRd(e: RmiEnv, vm: Vm, realm: RmiRealmVm): void {
  // V14-V9: a VM with SVE needs every vCPU SVE-finalised with one VL
  let vq = 0;
  if (vm.vcpus.some((v) => v.hasFeature(KVM_ARM_VCPU_SVE))) {
    const vls = vm.vcpus.map((v) => (v.hasFeature(KVM_ARM_VCPU_SVE) && v.sveFinalized ? v.sveMaxVq : -1));
    if (vls.includes(-1) || new Set(vls).size > 1) fail('EINVAL', 'SVE not finalised or VLs differ at RD creation (V14-V9)');
    vq = vls[0]!;
  }
  const rmm = e.k.rmm;
  const n = 1 + pgdGranules(vm.ipaBits);
  const frames = e.k.phys.alloc(n);
  for (let i = 0; i < n; i++) {
    if (rmm.granuleDelegate(frames.baseFrame + i) !== RMI_SUCCESS) {
      for (let j = 0; j < i; j++) rmm.release(frames.baseFrame + j);
      fail('ENXIO', 'RD/PGD delegation failed (V14-PO6)');
    }
  }
  // RMM 2.0: no hash or RPV choice any more (abi-evolution.md §2b); SHA256
  const rd = rmm.realmCreate(frames.baseFrame, {
    s2sz: vm.ipaBits,
    hashAlgo: 0,
    sve: vq > 0,
    sveVl: vq > 0 ? vq - 1 : 0,
    rpv: new Uint8Array(64),
    ...vmDebugCounts(vm),
  });
  if (typeof rd === 'number') {
    for (let j = 0; j < n; j++) rmm.release(frames.baseFrame + j);
    fail('ENXIO', 'RMI_REALM_CREATE failed (V14-PO6)');
  }
  realm.rd = rd;
  realm.state = 'new';
}

/** kvm_arm_rmi_populate (V14-PO*), in its order. */
export function populate(e: RmiEnv, ctx: IoctlCtx, vm: Vm, realm: RmiRealmVm | undefined): number {
  // V14-PO1: not a realm VM, before the struct is read (-EPERM in v12, §6.7)
  if (!realm) fail(e.k.bug('rmi-populate-normal-vm-eperm') ? 'EPERM' : e.rules.populateNotRealm, 'POPULATE on a non-realm VM (V14-PO1)');
  const S = REALM_STRUCTS.rmiPopulate;
  const b = view(S, ctx.read(ctx.arg, sizeOf(S), `struct ${S.c} (V14-PO2)`));
  const base = b.u64('base');
  const size = b.u64('size');
  const src = b.u64('source_uaddr');
  const flags = b.u32('flags');
  const reserved = b.u32('reserved');
  // V14-PO3: one combined check, before any state check; V14-PO4: no wrap check
  const badReserved = reserved !== 0 && !e.k.bug('rmi-populate-reserved-unchecked');
  const badSource = e.rules.sourceAligned && src % PAGE !== 0n && !e.k.bug('populate-source-unaligned-accepted');
  if (badReserved || flags & ~MEASURE || base % PAGE || ((base + size) & MASK64) % PAGE || badSource) {
    fail('EINVAL', 'reserved, flags or alignment (V14-PO3)');
  }
  // V14-PO5..PO9: the RD is made even for size 0; DEAD -ENXIO, ACTIVE -EBUSY
  ensureCreated(e, vm, realm);
  const rd = realm.rd!;
  const done = gmemPopulate(e, ctx, vm, rd, base, size, src, (flags & MEASURE) !== 0);
  const step = e.k.bug('populate-no-progress') ? 0n : BigInt(done) * PAGE;
  if (!e.p.rmiPopulate!.inOut) return Number(step); // v12: the bytes populated
  // v13+: base/size/source_uaddr advance together (V14-PO15); the caller loops
  const srcStep = e.k.bug('populate-source-not-advanced') ? 0n : step;
  const out = encode(REALM_STRUCTS.rmiPopulate, { base: (base + step) & MASK64, size: size - step, source_uaddr: (src + srcStep) & MASK64, flags, reserved });
  // V14-PO18: a failing copy-out overrides everything, done work included
  ctx.write(ctx.arg, out, 'struct kvm_arm_rmi_populate copy-out (V14-PO18)');
  return 0;
}

/**
 * kvm_gmem_populate with the realm's post-populate callback (UP-gmem,
 * V14-PO10..PO16). Returns the pages done; an error on the first page
 * is thrown, an error after >= 1 page is swallowed (V14-PO15).
 */
function gmemPopulate(e: RmiEnv, ctx: IoctlCtx, vm: Vm, rd: Rd, base: bigint, size: bigint, src: bigint, measure: boolean): number {
  // V14-PO10: a negative page count; no memslot or not guest_memfd
  if (size >= 1n << 63n) fail('EINVAL', 'page count negative (V14-PO10)');
  const slot = vm.findSlot(base);
  if (!slot?.gmem) fail('EINVAL', 'no guest_memfd memslot at base (V14-PO10)');
  // V14-PO12: clipped to the memslot end
  const pages = Number(size / PAGE < (slot.gpa + slot.size - base) / PAGE ? size / PAGE : (slot.gpa + slot.size - base) / PAGE);
  const rmm = e.k.rmm;
  let i = 0;
  let err: number | ErrnoName | undefined;
  for (; i < pages; i++) {
    const ipa = base + BigInt(i) * PAGE;
    const gfn = Number(ipa / PAGE);
    // V14-PO11: the source page first (GUP of the caller's address), then the gfn must be PRIVATE
    let source: Uint8Array | undefined;
    if (src !== 0n) {
      try {
        source = ctx.read((src + BigInt(i) * PAGE) & MASK64, PAGE_SIZE, 'populate source (V14-PO11)');
      } catch (e) {
        if (!(e instanceof KernelError)) throw e;
        err = 'EFAULT';
        break;
      }
    }
    if (!vm.isPrivate(gfn, gfn + 1)) {
      err = 'EINVAL'; // V14-PO11
      break;
    }
    // V14-PO13: no source page: the v13/v14 callback refuses; v12 pinned address 0 itself and faulted
    if (!source) {
      err = e.rules.sourceZero;
      break;
    }
    const dst = gmemPage(slot, ipa)!;
    // V14-PO14: a page populated before is delegated: the delegation fails
    if (rmm.granuleDelegate(dst.frame) !== RMI_SUCCESS) {
      err = 'ENXIO';
      break;
    }
    // V14-PO19: RIPAS RAM implied; RMI_RTT_DATA_MAP_INIT
    const r = rmm.dataCreate(rd, dst.frame, Number(ipa), source, dst.page, measure);
    if (r !== RMI_SUCCESS) {
      rmm.granuleUndelegate(dst.frame);
      // V14-PO17: an RTT error at the last level is KVM_BUG_ON (not modelled: -ENXIO);
      // V14-PO16: any other status comes back raw and positive, read as a page count
      err = rmiCode(r) === RMI_ERROR_RTT ? 'ENXIO' : rmiCode(r);
      break;
    }
  }
  if (err !== undefined && (i === 0 || e.k.bug('populate-errors-after-progress-returned'))) {
    if (typeof err === 'number') return err; // V14-PO16: misreported progress
    fail(err, 'populate failed on the first page (V14-PO15)');
  }
  return i;
}
