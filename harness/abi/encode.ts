// Struct encoders for the realm uAPI, driven by a profile's numbers and sizes.
import { StructReader, StructWriter, type U64 } from '../bytes.ts';
import type { AbiProfile, SubcommandNumbers } from './types.ts';

export type ConfigItem =
  | { item: 'RPV'; rpv: Uint8Array }
  | { item: 'HASH_ALGO'; algo: number }
  | { item: 'SVE'; sveVq: number }
  | { item: 'DBG'; numBrps: number; numWrps: number }
  | { item: 'PMU'; numPmuCntrs: number }
  /** An arbitrary cfg number with a zero payload (unknown-item checks). */
  | { item: 'RAW'; cfg: number };

export const RPV_SIZE = 64;

function need<T>(v: T | undefined, what: string, p: AbiProfile): T {
  if (v === undefined) throw new Error(`${p.name} has no ${what}`);
  return v;
}

/**
 * struct kvm_cap_arm_rme_config_item (RFC v1-v6) / arm_rme_config (v7-v10):
 * u32 cfg at 0, then a 256-byte union at 4 (RPV bytes, hash_algo, sve_vq,
 * num_brps/num_wrps, num_pmu_cntrs).
 */
export function encodeConfigItem(p: AbiProfile, c: ConfigItem): Uint8Array {
  const size = need(p.sizes.configItem, 'CONFIG_REALM item struct', p);
  const items = need(p.configItems, 'CONFIG_REALM items', p);
  const w = new StructWriter(size);
  if (c.item === 'RAW') return w.u32(0, c.cfg).bytes;
  w.u32(0, need(items[c.item], `config item ${c.item}`, p));
  switch (c.item) {
    case 'RPV':
      if (c.rpv.length !== RPV_SIZE) throw new RangeError(`RPV is ${RPV_SIZE} bytes`);
      return w.raw(4, c.rpv).bytes;
    case 'HASH_ALGO':
      return w.u32(4, c.algo).bytes;
    case 'SVE':
      return w.u32(4, c.sveVq).bytes;
    case 'DBG':
      return w.u32(4, c.numBrps).u32(8, c.numWrps).bytes;
    case 'PMU':
      return w.u32(4, c.numPmuCntrs).bytes;
  }
}

export interface RangeArgs {
  base: U64;
  size: U64;
  /** POPULATE only, from v2 on: bit 0 = MEASURE. */
  flags?: number;
  /** The reserved words, non-zero only in checks that probe them. */
  reserved?: readonly number[];
}

/**
 * Populate args: RFC v1 {u64 base, u64 size} (16 B); v2-v10
 * {u64 base, u64 size, u32 flags, u32 reserved[3]} (32 B).
 */
export function encodePopulateArgs(p: AbiProfile, a: RangeArgs): Uint8Array {
  const size = need(p.sizes.populateArgs, 'POPULATE_REALM args', p);
  const w = new StructWriter(size).u64(0, a.base).u64(8, a.size);
  if (size >= 32) {
    w.u32(16, a.flags ?? 0);
    (a.reserved ?? []).slice(0, 3).forEach((r, i) => w.u32(20 + 4 * i, r));
  } else if (a.flags !== undefined && a.flags !== 0) {
    throw new Error(`${p.name} populate args have no flags field`);
  }
  return w.bytes;
}

/**
 * Init-IPA / init-RIPAS args: RFC v1 {u64 base, u64 size} (16 B); v2-v6 add
 * u32 reserved[4], v7-v10 u64 reserved[2] (both 32 B, same bytes when zero).
 */
export function encodeInitIpaArgs(p: AbiProfile, a: RangeArgs): Uint8Array {
  const size = need(p.sizes.initIpaArgs, 'INIT_IPA args', p);
  const w = new StructWriter(size).u64(0, a.base).u64(8, a.size);
  if (size >= 32) (a.reserved ?? []).slice(0, 4).forEach((r, i) => w.u32(16 + 4 * i, r));
  return w.bytes;
}

export function subcmdNumber(p: AbiProfile, which: keyof SubcommandNumbers): number {
  return need(p.subcmd, 'ENABLE_CAP sub-commands', p)[which];
}

export function subcmdName(p: AbiProfile, nr: number): string {
  const s = p.subcmd;
  if (!s) return `sub-command ${nr}`;
  const key = (Object.keys(s) as (keyof SubcommandNumbers)[]).find((k) => s[k] === nr);
  return key ? (p.subcmdNames?.[key] ?? key) : `sub-command ${nr}`;
}

/** KVM_CREATE_VM type for a realm with `ipaBits` in the low byte (0 = default). */
export function realmVmType(p: AbiProfile, ipaBits = 0): number {
  return p.vmTypeRealm + ipaBits;
}

// ---- RMI era (v12+) and PSCI complete (v2..v13)

export interface RmiPopulateArgs {
  base: U64;
  size: U64;
  /** Raw source_uaddr when the check wants a specific (bad) address; otherwise patched by the DSL. */
  sourceUaddr?: U64;
  /** bit 0 = MEASURE */
  flags?: number;
  reserved?: number;
}

export interface RmiPopulateFields {
  base: bigint;
  size: bigint;
  sourceUaddr: bigint;
  flags: number;
  reserved: number;
}

/** struct kvm_arm_rmi_populate: u64 base @0, u64 size @8, u64 source_uaddr @16, u32 flags @24, u32 reserved @28 (32 B). */
export function encodeRmiPopulate(p: AbiProfile, a: RmiPopulateArgs): Uint8Array {
  const size = need(p.sizes.rmiPopulate, 'KVM_ARM_RMI_POPULATE struct', p);
  return new StructWriter(size)
    .u64(0, a.base)
    .u64(8, a.size)
    .u64(16, a.sourceUaddr ?? 0)
    .u32(24, a.flags ?? 0)
    .u32(28, a.reserved ?? 0).bytes;
}

export function decodeRmiPopulate(b: Uint8Array): RmiPopulateFields {
  const r = new StructReader(b);
  return { base: r.u64(0), size: r.u64(8), sourceUaddr: r.u64(16), flags: r.u32(24), reserved: r.u32(28) };
}

export interface PsciCompleteArgs {
  targetMpidr: U64;
  psciStatus: number;
  padding?: readonly number[];
}

/** struct kvm_arm_rmm_psci_complete / kvm_arm_rmi_psci_complete: u64 target_mpidr, u32 psci_status, u32 padding[3] (24 B). */
export function encodePsciComplete(p: AbiProfile, a: PsciCompleteArgs): Uint8Array {
  const size = need(p.sizes.psciComplete, 'PSCI complete struct', p);
  const w = new StructWriter(size).u64(0, a.targetMpidr).u32(8, a.psciStatus);
  (a.padding ?? []).slice(0, 3).forEach((x, i) => w.u32(12 + 4 * i, x));
  return w.bytes;
}

/** PSCI return codes a VMM passes back (PSCI 1.x). */
export const PSCI_RET = { SUCCESS: 0, NOT_SUPPORTED: -1, INVALID_PARAMS: -2, DENIED: -3, ALREADY_ON: -4 } as const;
