// What the RMI-era revisions (v12..v14) share: the disputes and the posted
// activation patches several of them cite.
export const NO_RMM_DISPUTE =
  'realm VM without RMI: the code returns -EINVAL while the changelog still says -EPERM (abi-evolution.md §3.5; conditions.md §6.11)';
export const POPULATE_NORMAL_DISPUTE =
  'populate on a non-realm VM: -EPERM in v12, Marc Zyngier asked for -ENOSYS (Steven acked, lore:782ffcc2-1a72-46f0-a0c7-f1277fb84ced@arm.com), v13 chose -ENXIO (conditions.md §6.7)';

// The first KVM_RUN in the posted v12 and v13 code. v12 11/46 returns early only
// for state == ACTIVE, then makes the RD, sets DEAD and only then checks the
// irqchip; v12 22/46 has the RD step refuse a DEAD realm with -ENXIO. v13 16/48
// already checks the irqchip first and returns early for state >= ACTIVE.
export const V12_ACTIVATE = 'lore:20251217101125.91098-12-steven.price@arm.com ("[PATCH v12 11/46] arm64: RMI: Activate realm on first VCPU run")';
export const V12_RD = 'lore:20251217101125.91098-23-steven.price@arm.com ("[PATCH v12 22/46] arm64: RMI: Create the realm descriptor")';
export const V13_ACTIVATE = '"[PATCH v13 16/48] arm64: RMI: Activate realm on first VCPU run"';
export const V12_DEAD_RUN = `D: the failed first run left the realm DEAD (abi-evolution.md §3.5); v12 returns early only for == ACTIVE (${V12_ACTIVATE}), so the next run reaches realm_ensure_created, which refuses a DEAD realm with -ENXIO (${V12_RD}; abi-evolution.md §3.5 gives the same -ENXIO for populate on a DEAD realm)`;
export const V12_REVIVE_DISPUTE =
  'abi-evolution.md §4.5 reads the later >= ACTIVE test as a sign that v12 could revive a dead realm, and the v13 16/48 changelog says the same; in the posted v12 code the RD step refuses DEAD before any revival';
export const V13_ORDER_DISPUTE =
  'abi-evolution.md §3.5/§3.7 date the earlier irqchip check and the >= ACTIVE test to v14; the posted v13 16/48 already has both (its changelog lists the >= ACTIVE change as new since v12)';
