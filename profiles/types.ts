// An ABI profile: everything one revision of the CCA host series promises a
// VMM, as data. Checks never hard-code a number or an errno; they ask the
// profile, and a check whose expectations a profile lacks does not apply to it.
import type { ErrnoName } from '../uapi/errno.ts';

import { ABI_NAMES, type AbiName, type Era } from '../revisions/names.ts';
import type { RevisionUapi, SubcommandNumbers } from '../uapi/realm.ts';
export { ABI_NAMES, type AbiName, type SubcommandNumbers };

/**
 * What one call must return. `errno: 0` means success (ret >= 0; `ret` pins the
 * value where the revision promises one). `source` names where the value comes from in
 * docs/spec/ (a condition id, a mail id, ...; harness/core/spec-refs.ts resolves it).
 */
export interface Expect {
  errno: ErrnoName | 0;
  ret?: number;
  source: string;
  /** A recorded dispute about this value (the check's message names it). */
  dispute?: string;
  /** The fact is UNCONFIRMED in the spec: the check is a tap todo with this reason. */
  unconfirmed?: string;
  /** The posted code oopses the kernel here: run only on the emulator or with --allow-crash. */
  crash?: string;
}

/** The era, by the series' own names: 'rme' (rfc-v1..v10), 'rmi' (v12+). */
export type Generation = Era;

export interface AbiProfile {
  name: AbiName;
  /** One line: posting date and what changed. */
  title: string;
  /** The ABI patch or cover that defines it. */
  source: string;
  generation: Generation;
  /** Realm capability: name and number as the revision's header spells them. */
  cap: { name: string; nr: number; source: string };
  /** KVM_CREATE_VM type value for a realm, without IPA bits. */
  vmTypeRealm: number;
  /** Mask of the bits that select the VM type (for "unknown type value" checks). */
  vmTypeFieldMask: number;
  /** ENABLE_CAP sub-command numbers and their names in this revision (RME era). */
  subcmd?: SubcommandNumbers;
  subcmdNames?: Record<keyof SubcommandNumbers, string>;
  /** vCPU feature bit for a REC and the KVM_VCPU_MAX_FEATURES the revision leaves in place. */
  recFeature?: number;
  maxVcpuFeatures: number;
  /** Struct sizes in bytes. */
  sizes: { configItem?: number; populateArgs?: number; initIpaArgs?: number; psciComplete?: number; rmiPopulate?: number };
  /** CONFIG_REALM item numbers. */
  configItems?: Partial<Record<'RPV' | 'HASH_ALGO' | 'SVE' | 'DBG' | 'PMU', number>>;
  hashAlgos?: { SHA256: number; SHA512: number };
  // ---- From v2 on (all optional: RFC v1 and 'absent' leave them out)
  /** Private guest RAM lives in guest_memfd (v2+): realm RAM memslots are KVM_MEM_GUEST_MEMFD. */
  privateMemory?: 'guest_memfd';
  /** FINALIZE(REC) needs the REC bit in KVM_ARM_VCPU_INIT first (v6+; v2-v5 follow the RFC model). */
  recInInit?: boolean;
  /** The first KVM_RUN of a realm needs an in-kernel irqchip (-EOPNOTSUPP otherwise). */
  firstRunNeedsIrqchip?: boolean;
  /** POPULATE flag bits (v2+). */
  populateFlags?: { MEASURE: number };
  /** KVM_ARM_VCPU_{RMM,RMI}_PSCI_COMPLETE request number (v2..v13), with its name. */
  psciComplete?: { name: string; req: number; source: string };
  /** KVM_ARM_RMI_POPULATE (v12+): request, and whether the struct is in/out (v13+) or the call returns bytes (v12). */
  rmiPopulate?: { name: string; req: number; inOut: boolean; source: string };
  /** pKVM's KVM_VM_TYPE_ARM_PROTECTED, beside the realm type bit (v14). */
  vmTypeProtected?: number;
  /** The CAP numbers earlier revisions used, which this one no longer answers (old-uAPI checks). */
  staleCaps?: readonly number[];
  /** The revision's uAPI description (uapi/realm.ts): the structs the encoders lay out. */
  uapi?: RevisionUapi;
  /** Expected results, keyed by the condition (see profiles/keys.ts). */
  expect: Partial<Record<ExpectKey, Expect>>;
}

import type { ExpectKey } from './keys.ts';
export type { ExpectKey };
