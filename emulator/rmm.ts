// A small model of the Realm Management Monitor of the RFC v1 era (RMM
// 1.0-bet0), enough for the kernel paths that just forward to it. Where the
// spec tags a row RMM (the kernel maps whatever the RMM answers), the outcome
// here follows from the same cause: a granule in the wrong state, an IPA
// outside the protected space, a parameter the feature register does not
// advertise. The RMM's real behaviour was not verified (conditions.md §7);
// choices are noted where they are made.
//
// Everything is keyed by frame number ("physical address" >> 12) and by IPA.

import { rmmOf } from '../revisions/index.ts';
import { RMM_REL0 } from '../revisions/rme-era.ts';
import type { AbiName } from '../profiles/types.ts';

export const RMI_SUCCESS = 0;
export const RMI_ERROR_INPUT = 1;
export const RMI_ERROR_REALM = 2;
export const RMI_ERROR_REC = 3;
export const RMI_ERROR_RTT = 4;
export const RMI_ERROR_IN_USE = 5;

/** An RMI return: status in bits[7:0], index (e.g. the RTT level reached) in bits[15:8]. */
export type RmiStatus = number;
export const rmiStatus = (s: number, index = 0): RmiStatus => s | (index << 8);
export const rmiCode = (r: RmiStatus): number => r & 0xff;
export const rmiIndex = (r: RmiStatus): number => (r >> 8) & 0xff;

export const RMM_RTT_MAX_LEVEL = 3;
export const GRANULE = 4096;

export interface RmmSettings {
  /** Is an RMM found at boot (with 4K host pages and an accepted RMI version)? */
  present: boolean;
  /** RMI_FEATURES S2SZ: the largest IPA size a realm may have. */
  s2sz: number;
  sha256: boolean;
  sha512: boolean;
  /** SVE_EN and SVE_VL (raw RMI field: the largest sve_vq accepted). */
  sve: boolean;
  sveMaxVq: number;
  numBps: number;
  numWps: number;
  /**
   * RMI_REALM_CREATE refuses num_bps = 0 or num_wps = 0 (the values are
   * reserved): TF-RMM runtime/rmi/realm.c validate_realm_params() since the
   * August 2024 change, so in tf-rmm-v0.6.0 and later, and on the RMM 2.0 line.
   * Older TF-RMM releases only bound them by the feature register.
   */
  rejectZeroDebugCounts: boolean;
}

/** Emulator RMM choices a check, a replay or a recording may name (validated, enumerated). */
export const RMM_MODELS = ['era', 'accepts-zero-debug-counts'] as const;
export type RmmModel = (typeof RMM_MODELS)[number];
export const isRmmModel = (s: string): s is RmmModel => (RMM_MODELS as readonly string[]).includes(s);

/** What each revision's default RMM models: the RMM release a stack of that era ran, and its validation. */
export interface EraRmm {
  release: string;
  settings: Partial<RmmSettings>;
}

/**
 * The era defaults (emulator/README.md "Which RMM each era models"):
 * - RFC v1: RMM 1.0-bet0 (a TF-RMM of early 2023): no zero-count rule.
 * - v2..v5: RMM 1.0 EAC5 .. rel0 (TF-RMM v0.4.0 / v0.5.0 line, before the August 2024 change):
 *   counts bounded only by the feature register.
 * - v6..v12: RMM 1.0-rel0 as TF-RMM tf-rmm-v0.6.0 ships it (the release the real cca-host/v7 stack ran):
 *   zero counts refused.
 * Every era: RTT_INIT_RIPAS over a range already RAM succeeds (TF-RMM rtt.c leaves
 * an UNASSIGNED RAM entry as it is; R1-IP8, and observed on tf-rmm-v0.6.0).
 * - v13, v14: the RMM 2.0 line (TF-RMM topics/rmm-v2.0-poc*): zero counts refused as well.
 */
export function eraRmm(abi: AbiName): EraRmm {
  // each revision's row is in its file (revisions/*.ts); 'absent' has no RMM of its own
  const r = rmmOf(abi) ?? RMM_REL0;
  return { release: r.release, settings: { rejectZeroDebugCounts: r.rejectZeroDebugCounts } };
}

export const DEFAULT_RMM: RmmSettings = {
  present: true,
  s2sz: 48,
  sha256: true,
  sha512: true,
  sve: true,
  sveMaxVq: 15,
  numBps: 6,
  numWps: 4,
  rejectZeroDebugCounts: true,
};

/** RMI_FEATURES register 0 as the kernel reads it (field layout of RMM 1.0). */
export function featureRegister0(s: RmmSettings): bigint {
  let v = BigInt(s.s2sz & 0xff);
  if (s.sve) v |= 1n << 9n;
  v |= BigInt(s.sveMaxVq & 0xf) << 10n;
  v |= BigInt(s.numBps & 0xf) << 14n;
  v |= BigInt(s.numWps & 0xf) << 18n;
  if (s.sha256) v |= 1n << 28n;
  if (s.sha512) v |= 1n << 29n;
  return v;
}

export const FEAT0 = {
  s2sz: (r: bigint): number => Number(r & 0xffn),
  sveEn: (r: bigint): boolean => ((r >> 9n) & 1n) === 1n,
  sveVl: (r: bigint): number => Number((r >> 10n) & 0xfn),
  numBps: (r: bigint): number => Number((r >> 14n) & 0xfn),
  numWps: (r: bigint): number => Number((r >> 18n) & 0xfn),
  sha256: (r: bigint): boolean => ((r >> 28n) & 1n) === 1n,
  sha512: (r: bigint): boolean => ((r >> 29n) & 1n) === 1n,
};

export type GranuleState = 'undelegated' | 'delegated' | 'rd' | 'rec' | 'data' | 'rtt';

export interface RealmParams {
  s2sz: number;
  hashAlgo: number; // 0 SHA256, 1 SHA512
  sveVl: number;
  sve: boolean;
  rpv: Uint8Array;
  /** Breakpoints / watchpoints: the kernel copies ID_AA64DFR0_EL1.BRPs/WRPs of the VM (v6 35/43). */
  numBps: number;
  numWps: number;
}

export type RealmState = 'new' | 'active' | 'system_off';

/** The RMM's realm descriptor. */
export class Rd {
  state: RealmState = 'new';
  /** IPA pages whose RIPAS is RAM, as sorted disjoint [start, end) page ranges. */
  private ram: [number, number][] = [];
  /** Assigned protected pages: IPA page -> data frame. */
  readonly data = new Map<number, number>();
  readonly recs: Rec[] = [];
  /** The realm initial measurement: a running FNV-1a over what DATA_CREATE measured. */
  rim = 0x811c9dc5;
  /**
   * The RTT start level. The RMM takes it from the realm params and checks it
   * against S2SZ; the kernel always derives it from the IPA size
   * (stage2_pgtable_levels, 4K granules), so it is computed here the same way.
   */
  readonly rttStartLevel: number;
  /** The RTTs below the root, each as rttKey(level, IPA); the root (start level) exists from REALM_CREATE. */
  private readonly rtts = new Set<number>();
  /** The granules that became RTTs (given back at teardown). */
  readonly rttFrames: number[] = [];
  constructor(
    readonly frame: number,
    readonly params: RealmParams,
  ) {
    this.rttStartLevel = 4 - Math.floor((params.s2sz - 8) / 9);
  }

  /** Is there an RTT of `level` (its entries map levelSize(level)) covering `ipa`? */
  hasRtt(level: number, ipa: number): boolean {
    return level <= this.rttStartLevel || this.rtts.has(rttKey(level, ipa));
  }

  addRtt(level: number, ipa: number): void {
    this.rtts.add(rttKey(level, ipa));
  }

  /** The deepest level a walk for `ipa` reaches, at most `level` (TF-RMM s2tt_walk_lock_unlock's last level). */
  rttWalk(ipa: number, level: number): number {
    let l = this.rttStartLevel;
    while (l < level && this.hasRtt(l + 1, ipa)) l++;
    return l;
  }

  extendRim(ipa: number, content: Uint8Array | undefined): void {
    let h = this.rim;
    const mix = (byte: number): void => {
      h = Math.imul(h ^ byte, 0x01000193) >>> 0;
    };
    for (let i = 0; i < 8; i++) mix(Math.floor(ipa / 2 ** (8 * i)) & 0xff);
    mix(content ? 1 : 0);
    // the page's bytes without the closure: the same FNV-1a steps as mix (Math.imul reads h as 32 bits either way), twice as fast
    if (content) for (const b of content) h = Math.imul(h ^ b, 0x01000193);
    this.rim = h >>> 0;
  }

  get protectedLimit(): number {
    return 2 ** (this.params.s2sz - 1);
  }

  isRam(page: number): boolean {
    for (const [a, b] of this.ram) if (page >= a && page < b) return true;
    return false;
  }

  setRam(start: number, end: number): void {
    // a range at or after the last start (an INIT_RIPAS walk, block after block): it extends the last range or follows it
    const tail = this.ram[this.ram.length - 1];
    if (!tail || start >= tail[0]) {
      if (tail && start <= tail[1]) tail[1] = Math.max(tail[1], end);
      else this.ram.push([start, end]);
      return;
    }
    const all = [...this.ram, [start, end] as [number, number]].sort((x, y) => x[0] - y[0]);
    const out: [number, number][] = [];
    for (const r of all) {
      const last = out[out.length - 1];
      if (last && r[0] <= last[1]) last[1] = Math.max(last[1], r[1]);
      else out.push([r[0], r[1]]);
    }
    this.ram = out;
  }

  anyAssigned(startPage: number, endPage: number): boolean {
    if (endPage - startPage < this.data.size) {
      for (let p = startPage; p < endPage; p++) if (this.data.has(p)) return true;
      return false;
    }
    for (const p of this.data.keys()) if (p >= startPage && p < endPage) return true;
    return false;
  }
}

export interface RecParams {
  mpidr: bigint;
  runnable: boolean;
}

export class Rec {
  constructor(
    readonly frame: number,
    readonly rd: Rd,
    readonly mpidr: bigint,
    public runnable: boolean,
  ) {}
}

const levelSize = (level: number): number => GRANULE * 2 ** (9 * (RMM_RTT_MAX_LEVEL - level));
/** An RTT of `level` is named by its level and the index of the parent entry it hangs from. */
const rttKey = (level: number, ipa: number): number => level + 4 * Math.floor(ipa / levelSize(level - 1));

export class Rmm {
  private readonly granules = new Map<number, GranuleState>();
  readonly features0: bigint;
  /** Bug hook: skip the IPA-range check of RTT_INIT_RIPAS (bug init-ipa-accepts-past-ipa). */
  skipInitRipasRangeCheck = false;
  /** num_bps / num_wps of 0 are reserved values (TF-RMM validate_realm_params). */
  rejectZeroDebugCounts: boolean;

  constructor(readonly settings: RmmSettings) {
    this.features0 = featureRegister0(settings);
    this.rejectZeroDebugCounts = settings.rejectZeroDebugCounts;
  }

  granuleState(frame: number): GranuleState {
    return this.granules.get(frame) ?? 'undelegated';
  }

  isDelegated(frame: number): boolean {
    return this.granules.has(frame);
  }

  granuleDelegate(frame: number): RmiStatus {
    if (this.granuleState(frame) !== 'undelegated') return rmiStatus(RMI_ERROR_INPUT);
    this.granules.set(frame, 'delegated');
    return RMI_SUCCESS;
  }

  granuleUndelegate(frame: number): RmiStatus {
    if (this.granuleState(frame) !== 'delegated') return rmiStatus(RMI_ERROR_INPUT);
    this.granules.delete(frame);
    return RMI_SUCCESS;
  }

  /**
   * RMI_REALM_CREATE: validates the params against the feature register
   * (R1-CR7; TF-RMM runtime/rmi/realm.c validate_realm_params): S2SZ in
   * [32, S2SZ], breakpoint and watchpoint counts (0 reserved where the RMM
   * says so, never above NUM_BPS/NUM_WPS), SVE only if SVE_EN and sve_vl <=
   * SVE_VL, hash SHA-256 or SHA-512. Not modelled because the kernel always
   * derives them consistently: LPA2, PMU counters (the host PMCR_EL0.N), the
   * RTT start level and root count (from VTCR), VMID collisions.
   */
  realmCreate(rdFrame: number, p: RealmParams): Rd | RmiStatus {
    if (this.granuleState(rdFrame) !== 'delegated') return rmiStatus(RMI_ERROR_INPUT);
    const f = this.features0;
    if (p.s2sz > FEAT0.s2sz(f) || p.s2sz < 32) return rmiStatus(RMI_ERROR_INPUT);
    if (this.rejectZeroDebugCounts && (p.numBps === 0 || p.numWps === 0)) return rmiStatus(RMI_ERROR_INPUT);
    if (p.numBps > FEAT0.numBps(f) || p.numWps > FEAT0.numWps(f)) return rmiStatus(RMI_ERROR_INPUT);
    if ((p.hashAlgo === 0 && !FEAT0.sha256(f)) || (p.hashAlgo === 1 && !FEAT0.sha512(f)) || p.hashAlgo > 1) return rmiStatus(RMI_ERROR_INPUT);
    if (p.sve && (!FEAT0.sveEn(f) || p.sveVl > FEAT0.sveVl(f))) return rmiStatus(RMI_ERROR_INPUT);
    this.granules.set(rdFrame, 'rd');
    return new Rd(rdFrame, p);
  }

  /** RMI_REC_CREATE. RMM 1.0 wants unique MPIDRs; a second REC for one MPIDR is refused (R1-V7, choice). */
  recCreate(rd: Rd, recFrame: number, p: RecParams): Rec | RmiStatus {
    if (this.granuleState(recFrame) !== 'delegated') return rmiStatus(RMI_ERROR_INPUT);
    if (rd.state !== 'new') return rmiStatus(RMI_ERROR_REALM);
    if (rd.recs.some((r) => r.mpidr === p.mpidr)) return rmiStatus(RMI_ERROR_INPUT);
    this.granules.set(recFrame, 'rec');
    const rec = new Rec(recFrame, rd, p.mpidr, p.runnable);
    rd.recs.push(rec);
    return rec;
  }

  /**
   * RMI_RTT_INIT_RIPAS over [base, top) as one block at `level`. Model:
   * - realm not NEW: RMI_ERROR_REALM;
   * - past the IPA size, base not aligned to the level, or top not
   *   granule-aligned or past the block: RMI_ERROR_INPUT (R1-IP5, R1-IP6);
   * - the unprotected half has no protected RTT to walk: RMI_ERROR_RTT at the
   *   start level (the kernel then fails to create tables there; TF-RMM
   *   answers RMI_ERROR_INPUT, which ends in the same -ENXIO);
   * - an RTT above `level` missing: RMI_ERROR_RTT at the level the walk
   *   reached (the kernel creates the missing levels and retries: R1-IP9,
   *   V10-IR9, R1-PO11);
   * - an assigned page inside: RMI_ERROR_RTT at `level` (the entry is a table,
   *   or at level 3 the page itself; R1-IP7).
   * Re-initialising RAM that is not assigned succeeds (R1-IP8; TF-RMM
   * tf-rmm-v0.6.0 does so, seen on the cca-host/v7 stack).
   */
  rttInitRipas(rd: Rd, base: number, top: number, level: number, startLevel: number): RmiStatus {
    if (rd.state !== 'new') return rmiStatus(RMI_ERROR_REALM);
    const size = levelSize(level);
    if (!this.skipInitRipasRangeCheck && top > 2 ** rd.params.s2sz) return rmiStatus(RMI_ERROR_INPUT);
    if (base % size !== 0 || top % GRANULE !== 0 || top <= base || top > base + size) return rmiStatus(RMI_ERROR_INPUT);
    if (!this.skipInitRipasRangeCheck && base >= rd.protectedLimit) return rmiStatus(RMI_ERROR_RTT, startLevel);
    const reached = rd.rttWalk(base, level);
    if (reached < level) return rmiStatus(RMI_ERROR_RTT, reached);
    if (rd.anyAssigned(base / GRANULE, top / GRANULE)) return rmiStatus(RMI_ERROR_RTT, level);
    rd.setRam(base / GRANULE, top / GRANULE);
    return RMI_SUCCESS;
  }

  /**
   * RMM 2.0 RMI_RTT_INIT_RIPAS over a whole range (v14 activation, V14-A10):
   * RAM for every granule; assigned ones are RAM already. Past the protected
   * half (or unaligned): RMI_ERROR_INPUT.
   */
  initRipasRange(rd: Rd, base: number, top: number): RmiStatus {
    if (rd.state !== 'new') return rmiStatus(RMI_ERROR_REALM);
    if (base % GRANULE !== 0 || top % GRANULE !== 0 || top > rd.protectedLimit) return rmiStatus(RMI_ERROR_INPUT);
    rd.setRam(base / GRANULE, top / GRANULE);
    return RMI_SUCCESS;
  }

  /**
   * RMI_RTT_CREATE of the RTT at `level` for `ipa` in granule `rttFrame`, as
   * TF-RMM runtime/rmi/rtt.c rtt_create validates it: level above the start
   * level and at most 3, `ipa` inside the IPA size and aligned to the parent
   * entry (RMI_ERROR_INPUT); the walk must reach the parent (else
   * RMI_ERROR_RTT at the level reached); the granule delegated
   * (RMI_ERROR_INPUT); the parent entry not a table already (RMI_ERROR_RTT at
   * the parent's level). The unprotected half is refused here (RMI_ERROR_INPUT,
   * a choice: the model keeps no unprotected RTTs, and INIT / POPULATE there
   * fail with -ENXIO either way). The bug hook skipInitRipasRangeCheck lifts
   * the range checks, as it does for RTT_INIT_RIPAS.
   */
  rttCreate(rd: Rd, rttFrame: number, ipa: number, level: number): RmiStatus {
    if (!this.skipInitRipasRangeCheck && (ipa >= rd.protectedLimit || ipa >= 2 ** rd.params.s2sz)) return rmiStatus(RMI_ERROR_INPUT);
    if (level <= rd.rttStartLevel || level > RMM_RTT_MAX_LEVEL || ipa % levelSize(level - 1) !== 0) return rmiStatus(RMI_ERROR_INPUT);
    const reached = rd.rttWalk(ipa, level - 1);
    if (reached < level - 1) return rmiStatus(RMI_ERROR_RTT, reached);
    if (this.granuleState(rttFrame) !== 'delegated') return rmiStatus(RMI_ERROR_INPUT);
    if (rd.hasRtt(level, ipa)) return rmiStatus(RMI_ERROR_RTT, level - 1);
    this.granules.set(rttFrame, 'rtt');
    rd.rttFrames.push(rttFrame);
    rd.addRtt(level, ipa);
    return RMI_SUCCESS;
  }

  /**
   * RMI_DATA_CREATE (RMM 1.0) / RMI_RTT_DATA_MAP_INIT (2.0): `dataFrame`
   * (delegated) becomes the protected page at `ipa`, with `src` copied in.
   * `measure` extends the RIM with the contents (RMI_MEASURE_CONTENT), else
   * only with the address: the RIM differs, which only attestation shows.
   * It does not walk the RTTs: the kernel's create-and-retry around it
   * (v2..v10, and RFC v1's RTT_INIT_RIPAS before it) always makes the levels
   * down to 3, so they are recorded here as made.
   */
  dataCreate(rd: Rd, dataFrame: number, ipa: number, src: Uint8Array, dst: Uint8Array, measure = true): RmiStatus {
    if (rd.state !== 'new') return rmiStatus(RMI_ERROR_REALM);
    if (this.granuleState(dataFrame) !== 'delegated') return rmiStatus(RMI_ERROR_INPUT);
    if (ipa % GRANULE !== 0 || ipa >= rd.protectedLimit) return rmiStatus(RMI_ERROR_INPUT);
    const page = ipa / GRANULE;
    if (rd.data.has(page)) return rmiStatus(RMI_ERROR_RTT, RMM_RTT_MAX_LEVEL);
    dst.set(src);
    this.granules.set(dataFrame, 'data');
    rd.data.set(page, dataFrame);
    for (let l = rd.rttStartLevel + 1; l <= RMM_RTT_MAX_LEVEL; l++) rd.addRtt(l, ipa);
    rd.setRam(page, page + 1);
    rd.extendRim(ipa, measure ? src : undefined);
    return RMI_SUCCESS;
  }

  /** A protected page faulted in at run time (RMI_DATA_CREATE_UNKNOWN on a delegated page): zeroed. */
  dataCreateUnknown(rd: Rd, dataFrame: number, ipa: number, dst: Uint8Array): RmiStatus {
    if (this.granuleState(dataFrame) !== 'delegated') return rmiStatus(RMI_ERROR_INPUT);
    if (ipa >= rd.protectedLimit) return rmiStatus(RMI_ERROR_INPUT);
    const page = ipa / GRANULE;
    if (rd.data.has(page)) return rmiStatus(RMI_ERROR_RTT, RMM_RTT_MAX_LEVEL);
    dst.fill(0);
    this.granules.set(dataFrame, 'data');
    rd.data.set(page, dataFrame);
    return RMI_SUCCESS;
  }

  realmActivate(rd: Rd): RmiStatus {
    if (rd.state !== 'new') return rmiStatus(RMI_ERROR_REALM);
    rd.state = 'active';
    return RMI_SUCCESS;
  }

  /** Realm teardown (kvm_destroy_realm): every granule of the realm goes back to the host. */
  destroyRealm(rd: Rd): void {
    for (const f of rd.data.values()) this.granules.delete(f);
    for (const r of rd.recs) this.granules.delete(r.frame);
    for (const f of rd.rttFrames) this.granules.delete(f);
    this.granules.delete(rd.frame);
    rd.data.clear();
  }

  /** Drop a granule that was delegated but never used (error paths, teardown). */
  release(frame: number): void {
    this.granules.delete(frame);
  }
}

export { levelSize as rttLevelSize };
