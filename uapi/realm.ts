// The realm uAPI of the CCA host series, as data: the structs each era
// passes and the shape of one revision's uAPI delta (its CAP, VM type bits,
// ENABLE_CAP sub-commands, CONFIG items, structs, own ioctls and C names).
// The struct families are defined once here; each file under revisions/
// picks the ones its posting defines (abi-evolution.md §2a, §2b).
import { KVMIO } from './kvm.ts';
import type { FieldDesc, IoctlDesc, StructDesc, UnionDesc } from './layout.ts';

const u32 = (name: string, count?: number): FieldDesc => ({ name, type: 'u32', ...(count ? { count } : {}) });
const u64 = (name: string, key?: string): FieldDesc => ({ name, type: 'u64', ...(key ? { key } : {}) });
const reserved = (name: string, type: 'u32' | 'u64', count?: number): FieldDesc => ({ name, type, role: 'reserved', ...(count ? { count } : {}) });

/**
 * KVM_CREATE_VM type of a realm from RFC v1 to v13: the type field bits[11:8]
 * = 1 beside the IPA size in bits[7:0] (abi-evolution.md §2a).
 */
export const RME_VM_TYPE = { realm: 1 << 8, fieldMask: 0xf << 8 } as const;

/** RPV bytes in CONFIG_REALM (every RME-era revision). */
export const RPV_SIZE = 64;

/** The CONFIG_REALM payload: a 256-byte union after u32 cfg, one variant per item. */
const CONFIG_UNION: UnionDesc = {
  name: 'data',
  type: 'union',
  size: 256,
  align: 4,
  variants: {
    RPV: [{ name: 'rpv', type: 'u8', count: RPV_SIZE }],
    HASH_ALGO: [u32('hash_algo')],
    SVE: [u32('sve_vq')],
    DBG: [u32('num_brps'), u32('num_wrps')],
    PMU: [u32('num_pmu_cntrs')],
  },
};

export const REALM_STRUCTS = {
  /** RFC v1 .. v6 (lore:20230127112932.38045-6-steven.price@arm.com). */
  rmeConfigItem: { c: 'kvm_cap_arm_rme_config_item', fields: [u32('cfg'), CONFIG_UNION] },
  /** v7 .. v10 (lore:20250213161426.102987-8-steven.price@arm.com). */
  armRmeConfig: { c: 'arm_rme_config', fields: [u32('cfg'), CONFIG_UNION] },
  /** RFC v1: {u64 base, u64 size}. */
  rfcPopulate: { c: 'kvm_cap_arm_rme_populate_realm_args', fields: [u64('populate_ipa_base', 'base'), u64('populate_ipa_size', 'size')] },
  rfcInitIpa: { c: 'kvm_cap_arm_rme_init_ipa_args', fields: [u64('init_ipa_base', 'base'), u64('init_ipa_size', 'size')] },
  /** v2 .. v6: flags and reserved words ("[PATCH v6 07/43] arm64: RME: Define the user ABI"). */
  rmePopulate: {
    c: 'kvm_cap_arm_rme_populate_realm_args',
    fields: [u64('populate_ipa_base', 'base'), u64('populate_ipa_size', 'size'), u32('flags'), reserved('reserved', 'u32', 3)],
  },
  rmeInitIpa: { c: 'kvm_cap_arm_rme_init_ipa_args', fields: [u64('init_ipa_base', 'base'), u64('init_ipa_size', 'size'), reserved('reserved', 'u32', 4)] },
  /** v7 .. v10: arm_rme_* names, init-RIPAS reserved words as u64. */
  armRmePopulate: { c: 'arm_rme_populate_realm', fields: [u64('base'), u64('size'), u32('flags'), reserved('reserved', 'u32', 3)] },
  armRmeInitRipas: { c: 'arm_rme_init_ripas', fields: [u64('base'), u64('size'), reserved('reserved', 'u64', 2)] },
  /** PSCI complete, v2 .. v10 (RMM spelling). */
  rmmPsciComplete: { c: 'kvm_arm_rmm_psci_complete', fields: [u64('target_mpidr'), u32('psci_status'), reserved('padding', 'u32', 3)] },
  /** PSCI complete, v12 .. v13 (RMI spelling). */
  rmiPsciComplete: { c: 'kvm_arm_rmi_psci_complete', fields: [u64('target_mpidr'), u32('psci_status'), reserved('padding', 'u32', 3)] },
  /** KVM_ARM_RMI_POPULATE's struct (v12+): source_uaddr is a user pointer. */
  rmiPopulate: {
    c: 'kvm_arm_rmi_populate',
    fields: [u64('base'), u64('size'), { name: 'source_uaddr', type: 'ptr' }, u32('flags'), reserved('reserved', 'u32')],
  },
} as const satisfies Record<string, StructDesc>;

/** A realm ioctl of one revision, with the mail or section its number comes from. */
export interface RealmIoctl extends IoctlDesc {
  readonly source: string;
}

export const psciCompleteIoctl = (name: string, nr: number, struct: StructDesc, source: string): RealmIoctl => ({
  name,
  dir: 'w',
  type: KVMIO,
  nr,
  arg: { kind: 'struct', struct },
  on: 'vcpu',
  success: { kind: 'zero', source: 'docs/spec/uapi.md#success-values' },
  source,
});
/** KVM_ARM_RMI_POPULATE: _IOW returning bytes (v12), _IOWR in/out (v13+). */
export const rmiPopulateIoctl = (dir: 'w' | 'rw', source: string): RealmIoctl => ({
  name: 'KVM_ARM_RMI_POPULATE',
  dir,
  type: KVMIO,
  nr: 0xd7,
  arg: { kind: 'struct', struct: REALM_STRUCTS.rmiPopulate },
  on: 'vm',
  // v12 returns the bytes populated; v13 on report progress in the struct and return 0 (V14-PO15)
  success: dir === 'rw' ? { kind: 'zero', source: 'V14-PO15' } : { kind: 'bytes', source: 'docs/spec/uapi.md#success-values (v12)' },
  source,
});

export interface SubcommandNumbers {
  CONFIG_REALM: number;
  CREATE: number;
  INIT_IPA: number;
  POPULATE: number;
  ACTIVATE: number;
}

export type ConfigItemName = 'RPV' | 'HASH_ALGO' | 'SVE' | 'DBG' | 'PMU';

/** One revision's realm uAPI: every number and C name a VMM of that revision compiles against. */
export interface RevisionUapi {
  /** Realm capability, as the revision's header spells it; `upstream` names the CAP upstream later gave the number. */
  cap: { name: string; nr: number; source: string; upstream?: string };
  vmType: {
    /** KVM_CREATE_VM type value for a realm, without IPA bits. */
    realm: number;
    /** The bits that select the VM type (unknown-type checks). */
    fieldMask: number;
    /** pKVM's KVM_VM_TYPE_ARM_PROTECTED beside the realm bit (v14). */
    protected?: number;
  };
  /** KVM_VCPU_MAX_FEATURES the revision leaves in place. */
  maxVcpuFeatures: number;
  /** The REC vCPU feature bit (RME era) and its C name. */
  recFeature?: { bit: number; c: string };
  /** ENABLE_CAP sub-commands (RME era): numbers, names, the C prefix. */
  subcmd?: { numbers: SubcommandNumbers; names: Record<keyof SubcommandNumbers, string>; cPrefix: string };
  /** CONFIG_REALM (RME era): struct, item numbers, hash algorithms, their C prefixes. */
  config?: {
    struct: StructDesc;
    items: Partial<Record<ConfigItemName, number>>;
    hashAlgos: { SHA256: number; SHA512: number };
    itemPrefix: string;
    hashPrefix: string;
    rpvSizeC: string;
  };
  /** The sub-commands' range structs (RME era). */
  populate?: StructDesc;
  initIpa?: StructDesc;
  /** POPULATE flag MEASURE: its bit and C name (v2+). */
  measure?: { bit: number; c: string };
  /** The revision's own ioctls. */
  psciComplete?: RealmIoctl;
  rmiPopulate?: RealmIoctl;
  /** Any other ioctl the revision adds (named in traces, allowed by the call policy, defined in reproducers). */
  ioctls?: readonly RealmIoctl[];
  /** Where the C names come from (the ABI patch), for the reproducer's comment. */
  cSource?: string;
}
