// The RME era's ENABLE_CAP sub-commands (KVM_CAP_ARM_RME / KVM_CAP_ARM_RME_*):
// CONFIG_REALM, CREATE_RD, INIT_IPA (RFC v1) / INIT_RIPAS (v2..v10),
// POPULATE (RFC v1: the memslot's own page; v2..v10: guest_memfd, 2 MB
// chunks) and ACTIVATE, each in the order the posted code checks.
import { REALM_STRUCTS, RPV_SIZE } from '../uapi/realm.ts';
import { offsetOf, sizeOf, view } from '../uapi/layout.ts';
import { StructReader } from '../uapi/bytes.ts';
import type { ErrnoName } from '../uapi/errno.ts';
import type { AbiProfile } from '../profiles/types.ts';
import { KVM_ARM_VCPU_SVE } from '../uapi/kvm-uapi.ts';
import { MASK64 } from './aarch64.ts';
import { fail, KernelOops } from './errors.ts';
import { gmemPage } from './guest_memfd.ts';
import type { IoctlCtx, Kernel } from './kernel.ts';
import { PAGE_SIZE } from './memory.ts';
import { pgdGranules } from './realm-common.ts';
import type { MuxRealm } from './realm-rme.ts';
import {
  FEAT0,
  RMI_ERROR_INPUT,
  RMI_ERROR_RTT,
  RMI_SUCCESS,
  RMM_RTT_MAX_LEVEL,
  rmiCode,
  rmiIndex,
  rmiStatus,
  rttLevelSize,
  type Rd,
  type RmiStatus,
} from './rmm.ts';
import { initRipasWholeBlocks } from './ripas-run.ts';
import type { RmeRules } from './rules.ts';
import { vmDebugCounts } from './vcpu.ts';
import type { Vm } from './vm.ts';

/** What a sub-command needs of the RME-era module. */
export interface RmeEnv {
  readonly k: Kernel;
  readonly p: AbiProfile;
  readonly rules: RmeRules;
}

const isGmem = (e: RmeEnv): boolean => e.rules.era === 'gmem';

/** 2 MB: the most v10 populates per memslot lookup (V10-PO7). */
const POPULATE_CHUNK = 0x200000n;

function stage2StartLevel(ipaBits: number): number {
  // stage2_pgtable_levels(ipa) = ARM64_HW_PGTABLE_LEVELS(ipa - 4), 4K pages
  const levels = Math.floor((ipaBits - 4 - 4) / 9);
  return 4 - levels;
}

/** find_map_level: the largest block aligned at `start` that fits before `end`, never above start level + 1. */
function findMapLevel(start: number, end: number, startLevel: number): number {
  let level = RMM_RTT_MAX_LEVEL;
  while (level > startLevel + 1) {
    const size = rttLevelSize(level - 1);
    if (start % size !== 0 || start + size > end) break;
    level--;
  }
  return level;
}

/**
 * realm_create_rtt_levels (RFC v1; v10 17/43): the RTTs from below the level
 * the walk reached down to `level`, one at a time, each in a freshly
 * delegated granule (RMI_RTT_CREATE). False when one cannot be made.
 */
function createRttLevels(e: RmeEnv, rd: Rd, ipa: number, reached: number, level: number): boolean {
  const rmm = e.k.rmm;
  for (let l = reached + 1; l <= level; l++) {
    const frame = e.k.phys.alloc(1).baseFrame;
    if (rmm.granuleDelegate(frame) !== RMI_SUCCESS) return false;
    if (rmm.rttCreate(rd, frame, ipa - (ipa % rttLevelSize(l - 1)), l) !== RMI_SUCCESS) {
      rmm.release(frame);
      return false;
    }
  }
  return true;
}

/** u64 -> number, saturating: anything past 2^53 is past every IPA space anyway. */
const num = (v: bigint): number => (v > BigInt(Number.MAX_SAFE_INTEGER) ? Number.MAX_SAFE_INTEGER : Number(v));

/** CONFIG_REALM: state -> copy -> switch on cfg (R1-CF*). */
export function config(e: RmeEnv, ctx: IoctlCtx, realm: MuxRealm | undefined, ptr: bigint): number {
  const state = realm?.state ?? 'none';
  const copyFirst = e.k.bug('config-copy-before-state');
  // R1-CF1: the state is checked before the user pointer is read
  if (!copyFirst && state !== 'none') fail(e.rules.errno.config, 'CONFIG after CREATE_RD (R1-CF1)');
  const cs = e.p.uapi?.config?.struct ?? REALM_STRUCTS.rmeConfigItem;
  const b = new StructReader(ctx.read(ptr, sizeOf(cs), 'config item (R1-CF2)'));
  if (copyFirst && state !== 'none') fail(e.rules.errno.config, 'CONFIG after CREATE_RD (bug: after the copy)');
  const items = e.p.configItems ?? {};
  const cfg = b.u32(offsetOf(cs, 'cfg'));
  const params = (): NonNullable<MuxRealm['params']> => {
    // R1-CF12: a normal VM has no params page; the write goes through NULL
    if (!realm?.params) throw new KernelOops('NULL dereference in kvm_rme_config_realm (R1-CF12)');
    return realm.params;
  };
  const f = e.k.rmm.features0;
  if (cfg === items.RPV) {
    params().rpv = b.slice(offsetOf(cs, 'rpv'), RPV_SIZE); // R1-CF3: copied verbatim
    return 0;
  }
  if (cfg === items.HASH_ALGO) {
    const algo = b.u32(offsetOf(cs, 'hash_algo'));
    const { SHA256, SHA512 } = e.p.hashAlgos ?? { SHA256: 0, SHA512: 1 };
    if (algo !== SHA256 && algo !== SHA512) fail('EINVAL', 'unknown hash algorithm (R1-CF4)');
    if ((algo === SHA256 && !FEAT0.sha256(f)) || (algo === SHA512 && !FEAT0.sha512(f))) fail('EINVAL', 'hash not in the RMM features (R1-CF5)');
    params().hashAlgo = algo === SHA512 ? 1 : 0;
    return 0;
  }
  if (cfg === items.SVE) {
    if (!FEAT0.sveEn(f)) fail('EINVAL', 'RMM has no SVE (R1-CF6)');
    const vq = b.u32(offsetOf(cs, 'sve_vq'));
    // R1-CF7: raw RMI SVE_VL encoding; 0 accepted
    if (vq > FEAT0.sveVl(f)) fail('EINVAL', 'sve_vq past the RMM SVE_VL (R1-CF7)');
    const pr = params();
    pr.sve = true;
    pr.sveVl = vq;
    return 0;
  }
  // R1-CF8, R1-CF9: DBG and PMU have no handler; R1-CF10: anything else
  if (cfg === items.DBG || cfg === items.PMU) fail('EINVAL', 'CONFIG item not implemented (R1-CF8/CF9)');
  if (e.k.bug('config-accepts-unknown-item')) return 0;
  fail('EINVAL', 'unknown CONFIG item (R1-CF10)');
}

/** CREATE_RD (R1-CR*). */
export function createRd(e: RmeEnv, vm: Vm, realm: MuxRealm | undefined): number {
  if (e.rules.createChecksVcpus && vm.createdVcpus > 0 && !e.k.bug('create-rd-ignores-vcpus')) {
    fail('EBUSY', 'vCPUs already created (R1-CR1)');
  }
  if (!realm) fail(e.rules.errno.create, 'not a realm VM (R1-CR2)');
  if (realm.state !== 'none') {
    if (e.k.bug('create-rd-twice')) return 0;
    fail(e.rules.errno.create, 'realm already created (R1-CR2, V10-CR1)');
  }
  // R1-CR4: RD already set or params missing (WARN): unreachable here
  if (realm.rd || !realm.params) fail('EEXIST', 'RD set or params missing (R1-CR4)');
  // V10-CR7: the SVE VL comes from the vCPUs that exist now: all finalised, all the same (no SVE = VL 0)
  if (isGmem(e)) {
    const vls = vm.vcpus.map((v) => (v.hasFeature(KVM_ARM_VCPU_SVE) ? (v.sveFinalized ? v.sveMaxVq : -1) : 0));
    if (vls.includes(-1)) fail('EINVAL', 'a vCPU has SVE but is not SVE-finalised (V10-CR7)');
    if (new Set(vls).size > 1) fail('EINVAL', 'vCPUs differ in SVE VL (V10-CR7)');
    const vq = vls[0] ?? 0;
    realm.params.sve = vq > 0;
    realm.params.sveVl = vq > 0 ? vq - 1 : 0; // RMI SVE_VL encoding: VQ - 1
  }
  const rmm = e.k.rmm;
  // R1-CR6: delegate the RD granule and the PGD granules
  const pgdPages = pgdGranules(vm.ipaBits);
  const frames = e.k.phys.alloc(1 + pgdPages);
  const delegated: number[] = [];
  for (let i = 0; i <= pgdPages; i++) {
    if (rmm.granuleDelegate(frames.baseFrame + i) !== RMI_SUCCESS) {
      delegated.forEach((f) => rmm.release(f));
      fail('ENXIO', 'granule delegation failed (R1-CR6)');
    }
    delegated.push(frames.baseFrame + i);
  }
  // R1-CR7: S2SZ comes from VTCR (the VM's IPA size), so an IPA the RMM refuses fails here (R1-VM6)
  const pr = realm.params;
  const rd = rmm.realmCreate(frames.baseFrame, {
    s2sz: vm.ipaBits,
    hashAlgo: pr.hashAlgo,
    sve: pr.sve,
    sveVl: pr.sveVl,
    rpv: pr.rpv,
    // RFC v1: CONFIG(DBG) has no handler (R1-CF8), so the params page's counts stay 0;
    // v6+ (35/43): from the VM's ID_AA64DFR0_EL1, which is 0 before the first vCPU init
    ...(isGmem(e) ? vmDebugCounts(vm) : { numBps: 0, numWps: 0 }),
  });
  if (typeof rd === 'number') {
    delegated.forEach((f) => rmm.release(f));
    fail('ENXIO', 'RMI_REALM_CREATE failed (R1-CR7)');
  }
  realm.rd = rd;
  realm.state = 'new'; // R1-CR9
  realm.params = undefined;
  return 0;
}

/** INIT_IPA_REALM: copy -> wrap -> state -> RMM loop (R1-IP*). */
export function initIpa(e: RmeEnv, ctx: IoctlCtx, vm: Vm, realm: MuxRealm | undefined, ptr: bigint): number {
  const s = e.p.uapi?.initIpa ?? REALM_STRUCTS.rfcInitIpa;
  const b = view(s, ctx.read(ptr, sizeOf(s), 'init IPA args (R1-IP1)'));
  const base = b.u64('base');
  const size = b.u64('size');
  const stateFirst = e.k.bug('init-ipa-state-before-wrap');
  const state = realm?.state ?? 'none';
  if (stateFirst && state !== 'new') fail(e.rules.errno.init, 'INIT_IPA outside NEW (bug: before the wrap check)');
  if (base + size > MASK64) fail('EINVAL', 'base + size wraps (R1-IP2)');
  if (state !== 'new' || !realm?.rd) fail(e.rules.errno.init, 'INIT_IPA outside NEW (R1-IP3)');
  if (size === 0n) return 0; // R1-IP4
  const rd = realm.rd;
  const startLevel = stage2StartLevel(vm.ipaBits);
  const end = num(base + size);
  let addr = num(base);
  const wholeBlocks = !e.k.bug('init-ripas-first-block-only');
  const makeRtts = (ipa: number, reached: number, level: number): boolean => createRttLevels(e, rd, ipa, reached, level);
  while (addr < end) {
    // whole blocks that all succeed, at once (only faster: emulator/ripas-run.ts)
    if (wholeBlocks && (addr = initRipasWholeBlocks(e.k.rmm, rd, addr, end, startLevel, makeRtts)) >= end) break;
    const level = findMapLevel(addr, end, startLevel);
    const blockEnd = Math.min(addr - (addr % PAGE_SIZE) + rttLevelSize(level), end);
    // R1-IP10: a failure part-way leaves earlier blocks RAM
    const err = initIpaBlock(e, rd, addr, blockEnd, level, startLevel);
    if (err) fail(err, 'RTT_INIT_RIPAS failed');
    addr = blockEnd;
    if (e.k.bug('init-ripas-first-block-only')) break;
  }
  return 0;
}

/** INIT_RIPAS_REALM (v2..v10): copy -> wrap -> state -> size 0 -> RMM loop (V10-IR*). */
export function initRipas(e: RmeEnv, ctx: IoctlCtx, vm: Vm, realm: MuxRealm | undefined, ptr: bigint): number {
  // V10-IR5: reserved[] is read and ignored
  const s = e.p.uapi?.initIpa ?? REALM_STRUCTS.armRmeInitRipas;
  const b = view(s, ctx.read(ptr, sizeOf(s), 'init RIPAS args (V10-IR1)'));
  const base = b.u64('base');
  const size = b.u64('size');
  const stateFirst = e.k.bug('init-ipa-state-before-wrap');
  const state = realm?.state ?? 'none';
  if (stateFirst && state !== 'new') fail(e.rules.errno.init, 'INIT_RIPAS outside NEW (bug: before the wrap check)');
  if (base + size > MASK64) fail('EINVAL', 'base + size wraps (V10-IR2)');
  if (state !== 'new' || !realm?.rd) fail(e.k.bug('init-ripas-einval') ? 'EINVAL' : e.rules.errno.init, 'INIT_RIPAS outside NEW (V10-IR3)');
  if (size === 0n) return 0; // V10-IR4
  const rd = realm.rd;
  const rmm = e.k.rmm;
  const startLevel = stage2StartLevel(vm.ipaBits);
  const end = num(base + size);
  let addr = num(base);
  const wholeBlocks = !e.k.bug('init-ripas-first-block-only');
  const makeRtts = (ipa: number, reached: number, level: number): boolean => createRttLevels(e, rd, ipa, reached, level);
  // V10-IR10: no progress report; earlier ranges stay RAM
  while (addr < end) {
    // whole blocks that all succeed, at once (only faster: emulator/ripas-run.ts)
    if (wholeBlocks && (addr = initRipasWholeBlocks(rmm, rd, addr, end, startLevel, makeRtts)) >= end) break;
    const level = findMapLevel(addr, end, startLevel);
    const top = Math.min(addr - (addr % PAGE_SIZE) + rttLevelSize(level), end);
    let r = rmm.rttInitRipas(rd, addr, top, level, startLevel);
    // V10-IR9: an RTT missing above the mapping level: create it and retry
    if (rmiCode(r) === RMI_ERROR_RTT && rmiIndex(r) < level) {
      if (!createRttLevels(e, rd, addr, rmiIndex(r), level)) fail('ENXIO', 'RMI_RTT_CREATE failed (V10-IR9)');
      r = rmm.rttInitRipas(rd, addr, top, level, startLevel);
    }
    if (rmiCode(r) === RMI_ERROR_RTT && rmiIndex(r) >= level)
      fail(e.rules.initRttAtLevel ?? 'EINVAL', 'RTT error at or below the mapping level (V10-IR8; v7 16/45: -ENXIO)');
    if (r !== RMI_SUCCESS) fail('ENXIO', 'RMI_RTT_INIT_RIPAS failed (V10-IR6/IR7)');
    addr = top;
    if (e.k.bug('init-ripas-first-block-only')) break;
  }
  return 0;
}

/** realm_init_ipa_state for one block. Returns an errno name, or undefined on success. */
function initIpaBlock(e: RmeEnv, rd: Rd, addr: number, top: number, level: number, startLevel: number): ErrnoName | undefined {
  const rmm = e.k.rmm;
  let r = rmm.rttInitRipas(rd, addr, top, level, startLevel);
  if (rmiCode(r) === RMI_ERROR_RTT && rmiIndex(r) < level) {
    // R1-IP9: missing RTT levels are created on the fly, then the call is retried
    if (!createRttLevels(e, rd, addr, rmiIndex(r), level)) return 'ENXIO';
    r = rmm.rttInitRipas(rd, addr, top, level, startLevel);
    if (rmiCode(r) === RMI_ERROR_RTT && rmiIndex(r) < level) return 'ENXIO';
  }
  if (r === RMI_SUCCESS) return undefined;
  if (rmiCode(r) === RMI_ERROR_RTT) {
    // R1-IP7: at level 3 the kernel WARNs and returns -EINVAL ...
    if (level === RMM_RTT_MAX_LEVEL) return 'EINVAL';
    // ... above it, it recurses one level down and ignores the result (R1-IP11): the call returns 0
    const step = rttLevelSize(level + 1);
    for (let a = addr; a < top; a += step) initIpaBlock(e, rd, a, Math.min(a + step, top), level + 1, startLevel);
    return undefined;
  }
  // R1-IP5, R1-IP6: any other RMM error: WARN and -ENXIO
  return 'ENXIO';
}

/** POPULATE_REALM: copy -> state -> alignment -> wrap -> memslot -> per page (R1-PO*). */
export function populate(e: RmeEnv, ctx: IoctlCtx, vm: Vm, realm: MuxRealm | undefined, ptr: bigint): number {
  const s = e.p.uapi?.populate ?? REALM_STRUCTS.rfcPopulate;
  const b = view(s, ctx.read(ptr, sizeOf(s), 'populate args (R1-PO1)'));
  const state = realm?.state ?? 'none';
  // R1-PO2: the state is checked before the alignment
  if (state !== 'new' && !e.k.bug('populate-skips-state-check')) {
    fail(e.k.bug('populate-ebusy-as-einval') ? 'EINVAL' : e.rules.errno.populate, 'POPULATE outside NEW (R1-PO2)');
  }
  const base = b.u64('base');
  const size = b.u64('size');
  if (base % BigInt(PAGE_SIZE) || size % BigInt(PAGE_SIZE)) fail('EINVAL', 'base or size not 4K-aligned (R1-PO3)');
  if (base + size > MASK64) fail('EINVAL', 'base + size wraps (R1-PO4)');
  const slot = vm.findSlot(base);
  if (!slot) fail('EFAULT', 'no memslot at base (R1-PO5)');
  const lateEnd = e.k.bug('populate-memslot-end-checked-late');
  if (!lateEnd && base + size > slot.gpa + slot.size) fail('EINVAL', 'range ends past the memslot (R1-PO6)');
  if (size === 0n) return 0; // R1-PO7
  const rmm = e.k.rmm;
  const rd = realm?.rd;
  const startLevel = stage2StartLevel(vm.ipaBits);
  // bug populate-pages-checked-first: every destination is checked before the first is populated (R1-PO15 broken: nothing done)
  if (e.k.bug('populate-pages-checked-first'))
    for (let ipa = base; ipa < base + size; ipa += BigInt(PAGE_SIZE))
      if (rmm.isDelegated(vm.mm.frameOf(slot.uaddr + (ipa - slot.gpa))?.frame ?? -1)) fail('ENXIO', 'a destination delegated already (bug)');
  // bug populate-skips-last-page: the loop bound is one page short (an off-by-one on the end)
  const stop = e.k.bug('populate-skips-last-page') && size > BigInt(PAGE_SIZE) ? base + size - BigInt(PAGE_SIZE) : base + size;
  for (let ipa = base; ipa < stop; ipa += BigInt(PAGE_SIZE)) {
    if (lateEnd && ipa >= slot.gpa + slot.size) fail('EINVAL', 'range ends past the memslot, noticed at the page (bug)');
    const host = vm.mm.frameOf(slot.uaddr + (ipa - slot.gpa));
    if (!host) fail('EFAULT', 'no VMA for the page (R1-PO9)');
    const a = Number(ipa);
    // R1-PO10: populate implies RIPAS RAM: RTT_INIT_RIPAS first
    let r: RmiStatus = rd ? rmm.rttInitRipas(rd, a, a + PAGE_SIZE, RMM_RTT_MAX_LEVEL, startLevel) : rmiStatus(RMI_ERROR_INPUT);
    if (rmiCode(r) === RMI_ERROR_RTT && rd) {
      // R1-PO11: create the missing levels and retry; a second failure is -ENXIO
      if (!createRttLevels(e, rd, a, rmiIndex(r), RMM_RTT_MAX_LEVEL)) fail('ENXIO', 'RTT creation failed (R1-PO11)');
      r = rmm.rttInitRipas(rd, a, a + PAGE_SIZE, RMM_RTT_MAX_LEVEL, startLevel);
      if (rmiCode(r) === RMI_ERROR_RTT) fail('ENXIO', 'RTT_INIT_RIPAS retry failed (R1-PO11)');
    }
    // R1-PO10: any other RMI error is returned unconverted, a positive value (bug in the series)
    if (r !== RMI_SUCCESS) return r;
    // R1-PO13: the VMM page is copied aside, then delegated and becomes the realm page
    const tmp = host.page.slice();
    if (rmm.granuleDelegate(host.frame) !== RMI_SUCCESS) fail('ENXIO', 'delegation of the destination failed (R1-PO12)');
    if (rmm.dataCreate(rd!, host.frame, a, tmp, host.page) !== RMI_SUCCESS) {
      rmm.granuleUndelegate(host.frame);
      fail('ENXIO', 'RMI_DATA_CREATE failed (R1-PO12)');
    }
  }
  return 0;
}

/**
 * POPULATE_REALM (v2..v10): copy -> state -> align/flags -> wrap -> size 0 ->
 * 2 MB chunks, each with its own memslot lookup (V10-PO*). The source is the
 * memslot's shared VMA, copied into the guest_memfd page (V10-PO11).
 */
export function populateGmem(e: RmeEnv, ctx: IoctlCtx, vm: Vm, realm: MuxRealm | undefined, ptr: bigint): number {
  const s = e.p.uapi?.populate ?? REALM_STRUCTS.armRmePopulate;
  const bytes = ctx.read(ptr, sizeOf(s), 'populate args (V10-PO1)');
  const b = view(s, bytes);
  const words = new StructReader(bytes);
  // V10-PO2: the state comes before the alignment
  if (realm?.state !== 'new') {
    fail(e.k.bug('populate-eperm-as-einval') ? 'EINVAL' : e.rules.errno.populate, 'POPULATE outside NEW (V10-PO2)');
  }
  const base = b.u64('base');
  const size = b.u64('size');
  const flags = b.u32('flags');
  const measure = e.p.populateFlags?.MEASURE ?? 1;
  // V10-PO6: reserved[] is not checked (bug populate-reserved-checked checks it)
  if (e.k.bug('populate-reserved-checked') && [0, 1, 2].some((i) => words.u32(b.at('reserved') + 4 * i) !== 0)) fail('EINVAL', 'reserved words (bug)');
  // V10-PO3: one combined check
  if (base % BigInt(PAGE_SIZE) || size % BigInt(PAGE_SIZE) || flags & ~measure) fail('EINVAL', 'unaligned, or a flag other than MEASURE (V10-PO3)');
  if (base + size > MASK64) fail('EINVAL', 'base + size wraps (V10-PO4)');
  if (size === 0n) return 0; // V10-PO5: no memslot lookup
  const rd = realm.rd!;
  const rmm = e.k.rmm;
  const end = base + size;
  let firstSlot: ReturnType<Vm['findSlot']>;
  // bug populate-chunks-checked-first: every chunk's memslot is checked before the first chunk is populated (V10-PO7 broken: nothing done)
  // (the loop header is spelled apart from the real chunk loop's below, so their mutants have their own names)
  if (e.k.bug('populate-chunks-checked-first'))
    for (let chunk = base; end > chunk; chunk += POPULATE_CHUNK) {
      const s = vm.findSlot(chunk);
      if (!s || (chunk + POPULATE_CHUNK < end ? chunk + POPULATE_CHUNK : end) > s.gpa + s.size)
        fail(s ? 'EINVAL' : 'EFAULT', 'a chunk leaves its memslot (bug)');
    }
  for (let chunk = base; chunk < end; chunk += POPULATE_CHUNK) {
    const chunkEnd = chunk + POPULATE_CHUNK < end ? chunk + POPULATE_CHUNK : end;
    // V10-PO7: per chunk: no memslot -EFAULT, leaving it -EINVAL, no guest_memfd -EPERM; earlier chunks stay populated
    // (bug populate-memslot-of-first-chunk: the first chunk's memslot for all)
    const slot = firstSlot && e.k.bug('populate-memslot-of-first-chunk') ? firstSlot : vm.findSlot(chunk);
    firstSlot ??= slot;
    if (!slot) fail('EFAULT', 'no memslot at the chunk start (V10-PO7)');
    const lateEnd = e.k.bug('populate-memslot-end-checked-late');
    if (!lateEnd && chunkEnd > slot.gpa + slot.size) fail('EINVAL', 'chunk leaves its memslot (V10-PO7)');
    if (!slot.gmem) {
      if (e.k.bug('populate-no-gmem-check')) continue;
      fail(e.rules.populateNoGmem ?? 'EPERM', 'memslot without guest_memfd (V10-PO7)');
    }
    // bug populate-pages-checked-first: every destination of the chunk is checked before the first is populated (V10-PO12 broken)
    if (e.k.bug('populate-pages-checked-first'))
      for (let ipa = chunk; ipa < chunkEnd; ipa += BigInt(PAGE_SIZE))
        if (rmm.isDelegated(gmemPage(slot, ipa)?.frame ?? -1)) fail('ENXIO', 'a destination delegated already (bug)');
    const stop = e.k.bug('populate-skips-last-page') && chunkEnd === end && size > BigInt(PAGE_SIZE) ? chunkEnd - BigInt(PAGE_SIZE) : chunkEnd;
    for (let ipa = chunk; ipa < stop; ipa += BigInt(PAGE_SIZE)) {
      if (lateEnd && ipa >= slot.gpa + slot.size) fail('EINVAL', 'chunk leaves its memslot, noticed at the page (bug)');
      // V10-PO8: the source is the shared alias (VMA) of the same memslot, faulted in for write (v9 19/43: FOLL_WRITE)
      const src = vm.mm.hostPage(slot.uaddr + (ipa - slot.gpa), true);
      if ('why' in src) fail('EFAULT', 'no VMA at the shared alias (V10-PO8)');
      const dst = gmemPage(slot, ipa)!;
      // V10-PO9: a page populated before is delegated already: the delegation fails first
      if (rmm.granuleDelegate(dst.frame) !== RMI_SUCCESS) fail('ENXIO', 'delegation of the guest_memfd page failed (V10-PO9)');
      // V10-PO10: MEASURE passes straight down as the RMI flag
      if (rmm.dataCreate(rd, dst.frame, Number(ipa), src.page, dst.page, (flags & measure) !== 0) !== RMI_SUCCESS) {
        rmm.granuleUndelegate(dst.frame);
        fail('ENXIO', 'RMI_DATA_CREATE failed (V10-PO9)');
      }
    }
  }
  return 0;
}

/** ACTIVATE_REALM (R1-AC*, V10-AC*). */
export function activate(e: RmeEnv, realm: MuxRealm | undefined): number {
  const state = realm?.state ?? 'none';
  if (state !== 'new') {
    if (e.k.bug('activate-skips-state-check') && state === 'active') return 0;
    fail(e.rules.errno.activate, 'ACTIVATE outside NEW (R1-AC1)');
  }
  // R1-AC4: no check for RECs or populated memory
  if (e.k.rmm.realmActivate(realm!.rd!) !== RMI_SUCCESS) fail('ENXIO', 'RMI_REALM_ACTIVATE failed (R1-AC2)');
  realm!.state = 'active'; // R1-AC3
  return 0;
}
