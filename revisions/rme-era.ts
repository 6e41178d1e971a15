// What the RME-era revisions v2..v9 share: the prose of disputes and audit
// notes several of them cite, the helpers their profiles use, and the
// emulator's rules for the guest_memfd era. Each revision's own facts are in
// its file.
import type { ErrnoName } from '../uapi/errno.ts';
import type { AbiProfile, Expect } from '../profiles/types.ts';
import type { AbiName } from './names.ts';
import type { ProfileBehaviour } from './types.ts';
import type { EraRmmRow, RmeRules } from './rules.ts';

export const RIPAS_SWITCH = 'INIT_RIPAS wrong-state errno: -EPERM from v9 (conditions.md §6.6); v8 may already have it ("v8 or v9", abi-evolution.md §3.3)';
export const RIPAS_DISPUTE = 'INIT_RIPAS -EINVAL vs -EPERM (Gavin Shan review; abi-evolution.md §4.6)';
export const STATE_DISPUTE = 'wrong-state errno: RFC -EBUSY, -EINVAL in v6/v7 (Zhi Wang), -EPERM from v8 (conditions.md §6.5)';
export const NO_RMM_DISPUTE = 'realm VM without an RMM: -EINVAL before v7, -EPERM v7..v10 (abi-evolution.md §3.3; conditions.md §6.1)';
// POPULATE into a memslot that cannot be private: the spec pins -EINVAL in v6
// (abi-evolution.md §3.2) and -EPERM in v9/v10 (V10-PO7, read in the v9
// posting); the posted v7 and v8 patches pin the switch at v8.
export const V7_POPULATE =
  'lore:20250213161426.102987-21-steven.price@arm.com ("[PATCH v7 20/45] arm64: RME: Allow populating initial contents", code quoted in Gavin Shan\'s review lore:8e852bc0-9a02-42d9-8d56-712c11508626@redhat.com)';
export const V8_POPULATE =
  'lore:20250416134208.383984-20-steven.price@arm.com ("[PATCH v8 19/43] arm64: RME: Allow populating initial contents"; changelog since v7: the error codes were reworked)';
export const NO_GMEM_DISPUTE =
  'memslot without guest_memfd: -EINVAL in v6 and v7; Gavin Shan asked for -EPERM in his v7 review and v8 adopted it (abi-evolution.md §3.2 has v6 only, conditions.md V10-PO7 has v9/v10 only)';

// INIT_RIPAS over a populated page: v7 16/45 returns -ENXIO (an RTT error at the mapping level is
// "unexpected"), v9/v10 -EINVAL (V10-IR8); v8's realm_init_ipa_state was not read
export const INIT_LEAF_V8 = "INIT_RIPAS over a populated page: -ENXIO in v7 (16/45), -EINVAL in v9/v10 (V10-IR8); v8's own code was not read";
export const V7_RIPAS = 'lore:20250213161426.102987-17-steven.price@arm.com ("[PATCH v7 16/45] arm64: RME: Allow VMM to set RIPAS")';

/** The parent's value for `keys`, kept but marked UNCONFIRMED with `why`. */
export const markUnconfirmed = (p: ProfileBehaviour, keys: readonly (keyof AbiProfile['expect'])[], why: string): AbiProfile['expect'] =>
  Object.fromEntries(keys.filter((k) => p.expect[k] !== undefined).map((k) => [k, { ...p.expect[k]!, unconfirmed: why }]));

export const ripasEperm = (note: string): Expect => ({ errno: 'EPERM', source: 'V10-IR3', unconfirmed: note, dispute: RIPAS_DISPUTE });
export const populateEinval = (src: string): Expect => ({ errno: 'EINVAL', source: src, dispute: STATE_DISPUTE });

/**
 * The two partial-populate rows, as read in a posting of v7 or later (`posting`:
 * its mail id): the chunk loop returns at the first failing chunk and the page
 * loop breaks at the first failing page, and nothing done before is undone.
 */
export const partialPopulateRows = (posting: string): Record<'populate.error-in-last-chunk' | 'populate.error-at-last-page', Expect> => ({
  'populate.error-in-last-chunk': { errno: 'EINVAL', source: `${posting}: a chunk leaving its memslot is -EINVAL; the chunks before it stay populated` },
  'populate.error-at-last-page': { errno: 'ENXIO', source: `${posting}: delegating a page delegated already is -ENXIO; the pages before it stay populated` },
});

export const EARLY_AUDIT = 'the posted v2..v6 code for it was not read, and no v2..v6 stack was recorded';

// v2..v5: the same memslot check is not pinned. The posted v5 populate patch
// has none; a later v5 patch (not read) brought the guest_memfd access.
export const NO_GMEM_V2_V5 =
  'a memslot without guest_memfd: the spec pins -EINVAL for v6 only (abi-evolution.md §3.2); the posted v5 populate patch (lore:20241004152804.72508-21-steven.price@arm.com) has no such check, and v7 20/45 says the guest_memfd access came from a later v5 patch, which was not read';
export const NO_GMEM_KEYS = ['populate.no-guest-memfd', 'populate.unprotected-half'] as const;

export const CONFIG_V2 =
  'lore:20240412084309.1733783-10-steven.price@arm.com ("[PATCH v2 09/43] arm64: RME: ioctls to create and configure realms"): CONFIG once the RD exists returns -EINVAL';
export const CONFIG_V3_V4 = 'CONFIG once the RD exists: -EINVAL in v2 (09/43), -EBUSY in v5/v6 (abi-evolution.md §3.2); v3 and v4 were not read';
export const REC_V2_V4 =
  "how v2..v4 accepted KVM_ARM_VCPU_REC (8) is UNCONFIRMED (abi-evolution.md §2a): no posted v2..v4 header raises KVM_VCPU_MAX_FEATURES to 9, and v6's changelog says only v6 really exposed the REC bit";
// Facts of the RMM or of later postings that v2..v5 inherit without their own code behind them
export const EARLY_RMM =
  "RTT_INIT_RIPAS over RAM succeeds on TF-RMM tf-rmm-v0.6.0 (the v7 stack); the RMM releases of v2..v5's time (EAC5 .. rel0) were not observed";
export const EARLY_BPS =
  "the realm's breakpoint counts come from the VM's ID registers from v6 35/43 on; where v2..v5 took them from was not read (and the RMMs of their time accept 0)";
export const EARLY_KEYS = (p: ProfileBehaviour): AbiProfile['expect'] => ({
  ...markUnconfirmed(p, ['init.over-ram'], EARLY_RMM),
  ...markUnconfirmed(p, ['create.before-vcpu-init'], EARLY_BPS),
});
export const REC_FINALIZE_ONLY =
  'with the REC bit refused by VCPU_INIT, a REC can only come from FINALIZE(REC) as in RFC v1 (conditions.md §6.2 draws the parallel); the v5 FINALIZE path was not read';

export const sameValue = (a: Expect | undefined, b: Expect | undefined): boolean => !!a && !!b && a.errno === b.errno && a.ret === b.ret;

// ---- the emulator's rules for v2..v10 (the guest_memfd era of RME)
export const GMEM_COMMON = {
  realmIpaLimit: 'rmm-s2sz', // V10-VM4
  dispatchChecksRealm: true, // V10-EC4; abi-evolution.md §3.2 (arm.c, v5/v6)
  createChecksVcpus: false, // V10-CR10
  normalVmConfigOops: false,
  recNeedsFeatureBit: true, // V10-V6
  era: 'gmem',
} as const;

/** v2..v7: the wrong-state errno of POPULATE and INIT is -EINVAL (conditions.md §6.5, §6.6). */
export const EARLY_ERRNO = { config: 'EBUSY', create: 'EEXIST', init: 'EINVAL', populate: 'EINVAL', activate: 'EINVAL', rec: 'ENOENT' } as const;
/** v8..v10: -EPERM for POPULATE (V10-PO2, §6.5) and INIT_RIPAS (V10-IR3, §6.6); ACTIVATE -EINVAL (V10-AC1). */
export const LATE_ERRNO = { config: 'EBUSY', create: 'EEXIST', init: 'EPERM', populate: 'EPERM', activate: 'EINVAL', rec: 'ENOENT' } as const;

export function gmemRules(
  abi: AbiName,
  o: {
    rmmAbsent: ErrnoName;
    errno: RmeRules['errno'];
    noGmem: ErrnoName;
    recBit?: boolean;
    initRttAtLevel?: ErrnoName;
    v6RecChecks: boolean;
    noSlotSea?: boolean;
    plainSlotRefused?: boolean;
  },
): RmeRules {
  return {
    ...GMEM_COMMON,
    abi,
    rmmAbsentRealmType: o.rmmAbsent,
    errno: o.errno,
    populateNoGmem: o.noGmem,
    recNeedsFeatureBit: o.recBit ?? true,
    initRttAtLevel: o.initRttAtLevel ?? 'ENXIO',
    v6RecChecks: o.v6RecChecks,
    noSlotSea: o.noSlotSea ?? true,
    plainSlotRefused: o.plainSlotRefused ?? false,
  };
}

// ---- the RMM each revision was posted against (emulator/rmm.ts eraRmm)
export const RMM_BET0: EraRmmRow = { release: 'RMM 1.0-bet0 (TF-RMM of early 2023)', rejectZeroDebugCounts: false };
export const RMM_EAC5: EraRmmRow = { release: 'RMM 1.0-eac5/rel0 (TF-RMM v0.4.0/v0.5.0 line)', rejectZeroDebugCounts: false };
export const RMM_REL0: EraRmmRow = { release: 'RMM 1.0-rel0 (tf-rmm-v0.6.0)', rejectZeroDebugCounts: true };
export const RMM_2_0: EraRmmRow = { release: 'RMM 2.0-bet (TF-RMM topics/rmm-v2.0-poc)', rejectZeroDebugCounts: true };
