// Struct encoders for the realm uAPI, driven by the revision's description
// (the profile's `uapi`: uapi/realm.ts structs, revisions/*.ts numbers).
import type { U64 } from '../uapi/bytes.ts';
import { decode, encode, layout, offsetOf } from '../uapi/layout.ts';
import { REALM_STRUCTS, RPV_SIZE as RPV_BYTES } from '../uapi/realm.ts';
import type { AbiProfile, SubcommandNumbers } from './types.ts';

export type ConfigItem =
  | { item: 'RPV'; rpv: Uint8Array }
  | { item: 'HASH_ALGO'; algo: number }
  | { item: 'SVE'; sveVq: number }
  | { item: 'DBG'; numBrps: number; numWrps: number }
  | { item: 'PMU'; numPmuCntrs: number }
  /** An arbitrary cfg number with a zero payload (unknown-item checks). */
  | { item: 'RAW'; cfg: number };

export const RPV_SIZE = RPV_BYTES;

function need<T>(v: T | undefined, what: string, p: AbiProfile): T {
  if (v === undefined) throw new Error(`${p.name} has no ${what}`);
  return v;
}

/**
 * struct kvm_cap_arm_rme_config_item (RFC v1-v6) / arm_rme_config (v7-v10):
 * u32 cfg, then a 256-byte union (RPV bytes, hash_algo, sve_vq,
 * num_brps/num_wrps, num_pmu_cntrs).
 */
export function encodeConfigItem(p: AbiProfile, c: ConfigItem): Uint8Array {
  const config = need(p.uapi?.config, 'CONFIG_REALM item struct', p);
  const s = config.struct;
  if (c.item === 'RAW') return encode(s, { cfg: c.cfg });
  const cfg = need(config.items[c.item], `config item ${c.item}`, p);
  switch (c.item) {
    case 'RPV':
      if (c.rpv.length !== RPV_SIZE) throw new RangeError(`RPV is ${RPV_SIZE} bytes`);
      return encode(s, { cfg, rpv: c.rpv });
    case 'HASH_ALGO':
      return encode(s, { cfg, hash_algo: c.algo });
    case 'SVE':
      return encode(s, { cfg, sve_vq: c.sveVq });
    case 'DBG':
      return encode(s, { cfg, num_brps: c.numBrps, num_wrps: c.numWrps });
    case 'PMU':
      return encode(s, { cfg, num_pmu_cntrs: c.numPmuCntrs });
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

/** Writes `words` as u32 values from the struct's reserved member on (the reserved words a check probes). */
function reservedWords(bytes: Uint8Array, off: number, words: readonly number[], max: number): Uint8Array {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  words.slice(0, max).forEach((r, i) => view.setUint32(off + 4 * i, r >>> 0, true));
  return bytes;
}

const reservedOf = (s: Parameters<typeof layout>[0]): { off: number; words: number } | undefined => {
  const f = layout(s).fields.find((x) => x.role === 'reserved');
  return f ? { off: f.off, words: (f.size * (f.count ?? 1)) / 4 } : undefined;
};

/**
 * Populate args: RFC v1 {u64 base, u64 size} (16 B); v2-v10
 * {u64 base, u64 size, u32 flags, u32 reserved[3]} (32 B).
 */
export function encodePopulateArgs(p: AbiProfile, a: RangeArgs): Uint8Array {
  const s = need(p.uapi?.populate, 'POPULATE_REALM args', p);
  const hasFlags = layout(s).fields.some((f) => f.name === 'flags');
  if (!hasFlags && a.flags !== undefined && a.flags !== 0) throw new Error(`${p.name} populate args have no flags field`);
  const bytes = encode(s, { base: a.base, size: a.size, ...(hasFlags ? { flags: a.flags ?? 0 } : {}) });
  const r = reservedOf(s);
  return r ? reservedWords(bytes, r.off, a.reserved ?? [], r.words) : bytes;
}

/**
 * Init-IPA / init-RIPAS args: RFC v1 {u64 base, u64 size} (16 B); v2-v6 add
 * u32 reserved[4], v7-v10 u64 reserved[2] (both 32 B; a check's reserved
 * words are written as u32 values in both).
 */
export function encodeInitIpaArgs(p: AbiProfile, a: RangeArgs): Uint8Array {
  const s = need(p.uapi?.initIpa, 'INIT_IPA args', p);
  const bytes = encode(s, { base: a.base, size: a.size });
  const r = reservedOf(s);
  return r ? reservedWords(bytes, r.off, a.reserved ?? [], r.words) : bytes;
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

/** struct kvm_arm_rmi_populate: base, size, source_uaddr, flags, reserved (uapi/realm.ts). */
export function encodeRmiPopulate(p: AbiProfile, a: RmiPopulateArgs): Uint8Array {
  const d = need(p.uapi?.rmiPopulate, 'KVM_ARM_RMI_POPULATE struct', p);
  if (d.arg.kind !== 'struct') throw new Error(`${p.name}: ${d.name} takes no struct`);
  return encode(d.arg.struct, { base: a.base, size: a.size, source_uaddr: a.sourceUaddr ?? 0, flags: a.flags ?? 0, reserved: a.reserved ?? 0 });
}

export function decodeRmiPopulate(b: Uint8Array): RmiPopulateFields {
  const f = decode(REALM_STRUCTS.rmiPopulate, b);
  return { base: f.base as bigint, size: f.size as bigint, sourceUaddr: f.source_uaddr as bigint, flags: f.flags as number, reserved: f.reserved as number };
}

export interface PsciCompleteArgs {
  targetMpidr: U64;
  psciStatus: number;
  padding?: readonly number[];
}

/** struct kvm_arm_rmm_psci_complete / kvm_arm_rmi_psci_complete: target_mpidr, psci_status, padding[3] (uapi/realm.ts). */
export function encodePsciComplete(p: AbiProfile, a: PsciCompleteArgs): Uint8Array {
  const d = need(p.uapi?.psciComplete, 'PSCI complete struct', p);
  if (d.arg.kind !== 'struct') throw new Error(`${p.name}: ${d.name} takes no struct`);
  const s = d.arg.struct;
  return reservedWords(encode(s, { target_mpidr: a.targetMpidr, psci_status: a.psciStatus }), offsetOf(s, 'padding'), a.padding ?? [], 3);
}

/** PSCI return codes a VMM passes back (PSCI 1.x). */
export const PSCI_RET = { SUCCESS: 0, NOT_SUPPORTED: -1, INVALID_PARAMS: -2, DENIED: -3, ALREADY_ON: -4 } as const;
