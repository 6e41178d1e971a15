// The emulator's per-revision rules: what the posted code of a revision does
// differently beyond its numbers. Each revision file holds its row; the
// emulator reads them through revisions/index.ts (rulesOf).
import type { ErrnoName } from '../uapi/errno.ts';
import type { AbiName } from './names.ts';

/** What differs between revisions of the RME era, beyond the profile's numbers. */
export interface RmeRules {
  abi: AbiName;
  /** Realm type with no RMM: RFC v1 makes a normal VM (R1-VM4); v2..v6 -EINVAL; v7..v10 -EPERM. */
  rmmAbsentRealmType: 'normal-vm' | ErrnoName;
  /** IPA limit for a realm at CREATE_VM: RFC v1 the host limit (R1-VM5, dead code R1-06s); v10 S2SZ. */
  realmIpaLimit: 'host' | 'rmm-s2sz';
  /** ENABLE_CAP refuses a non-realm VM at dispatch (v10 EC4); RFC v1 does not (R1-EC5). */
  dispatchChecksRealm: boolean;
  /** CREATE refuses once vCPUs exist (R1-CR1); v10 has no such check. */
  createChecksVcpus: boolean;
  /** Wrong-state errnos. */
  errno: {
    config: ErrnoName;
    create: ErrnoName;
    init: ErrnoName;
    populate: ErrnoName;
    activate: ErrnoName;
    rec: ErrnoName;
  };
  /** CONFIG on a normal VM with the RMM present writes through NULL params (R1-CF12). */
  normalVmConfigOops: boolean;
  /** FINALIZE(REC) needs the REC feature bit at VCPU_INIT (v10 V6); RFC v1 never checks it. */
  recNeedsFeatureBit: boolean;
  /**
   * 'rfc': RFC v1 (16-byte args, the memslot's own page delegated, INIT_IPA
   * recursion). 'gmem': v2..v10 (32-byte args, MEASURE, guest_memfd
   * destination, 2 MB chunks, REC bit, PSCI complete, irqchip at first run).
   */
  era: 'rfc' | 'gmem';
  /** POPULATE into a memslot without guest_memfd: -EINVAL in v6 (abi-evolution.md §3.2) and v7 (v7 20/45), -EPERM from v8 (v8 19/43; V10-PO7). */
  populateNoGmem?: ErrnoName;
  /**
   * INIT_RIPAS: an RTT error at (or below) the mapping level, e.g. a populated page in the block:
   * v7's realm_init_ipa_state treats it as unexpected, WARNs and returns -ENXIO (v7 16/45,
   * lore:20250213161426.102987-17-steven.price@arm.com; seen on the cca-host/v7 stack);
   * v9/v10 return -EINVAL (V10-IR8). v8 and v2..v6 are not read (their profiles mark it).
   */
  initRttAtLevel?: ErrnoName;
  /**
   * v2..v6 (v6 12/43, 23/43; v2..v5 not read, assumed the same): PSCI complete checks only that
   * the VM is a realm (-EINVAL otherwise), VCPU_INIT does not refuse the REC bit on a normal VM,
   * and FINALIZE(REC) has no guard against a second call (the RMM refuses the duplicate MPIDR).
   * v7 moved to a REC check (-EPERM), refused the REC bit on normal VMs and added the -EBUSY guard.
   */
  v6RecChecks?: boolean;
  /**
   * A realm load from protected RAM outside every memslot: the RMM reports the abort without a
   * syndrome and KVM takes it for MMIO. v6+ inject an SEA into the realm there (v6 18/43,
   * lore:20241212155610.76522-19-steven.price@arm.com; kept to v10 18/43); RFC v1 (15/28) and
   * v2..v5 reach the generic io_mem_abort: -ENOSYS without KVM_CAP_ARM_NISV_TO_USER.
   */
  noSlotSea: boolean;
  /**
   * A realm fault on protected RAM backed by a memslot without guest_memfd (its user page mapped):
   * v7+ refuse it in user_mem_abort with -EINVAL, after the page lookup (v7 "Prevent Device mappings
   * for Realms": every page not from guest_memfd kept out of the protected half; v13 37/48 keeps it);
   * RFC v1..v6 map the user page itself as protected.
   */
  plainSlotRefused: boolean;
}

/** What differs between v12, v13 and v14 beyond the profile's numbers. */
export interface RmiRules {
  abi: AbiName;
  /** KVM_VCPU_MAX_FEATURES: v12 45/46 still raises it to 10 (abi-evolution.md §4.9), v14 has no such patch (V14-V2). */
  maxVcpuFeatures: number;
  /** POPULATE on a non-realm VM: -EPERM in v12, -ENXIO from v13 (V14-PO1, conditions.md §6.7). */
  populateNotRealm: ErrnoName;
  /** source_uaddr must be page-aligned (v13 on: abi-evolution.md §3.6; V14-PO3). */
  sourceAligned: boolean;
  /** The state is set DEAD before the irqchip check (v12 11/46, abi-evolution.md §3.5); v13 16/48 and v14 check the irqchip first (V14-A5). */
  deadBeforeIrqchip: boolean;
  /**
   * Activation returns early for state >= ACTIVE (v13 16/48, V14-A4); v12
   * compares == ACTIVE, so a DEAD realm goes on to the RD step, which refuses it.
   */
  activeOrBeyond: boolean;
  /** The realm CAP allowlist still has ARM_PMU_V3 (v12; v13 dropped it: abi-evolution.md §3.5). */
  allowPmu: boolean;
  /** SET_ONE_REG(PMCR_EL0) passes the realm register filter (v12 37/46, v13 38/48: "Enable PMU support with a realm guest"; V14-V6 dropped it). */
  pmcrSettable: boolean;
  /** ENABLE_CAP also enforces the allowlist on realm VMs (v14, abi-evolution.md §3.7; V14-EC4). */
  enableCapAllowlist: boolean;
  /** source_uaddr = 0: v12 pins the user page itself, so address 0 faults (-EFAULT); the callback that refuses a missing source (-EOPNOTSUPP, V14-PO13) starts in v13. */
  sourceZero: ErrnoName;
  /** PSCI complete on a vCPU of a normal VM: -EPERM in v12; v13 "change return code for non-realms" to -ENXIO. */
  psciNotRealm: ErrnoName;
}

/** The RMM release a revision was posted against, and what it validates (emulator/rmm.ts). */
export interface EraRmmRow {
  release: string;
  /** RMI_REALM_CREATE refuses num_bps/num_wps = 0 (TF-RMM since August 2024). */
  rejectZeroDebugCounts: boolean;
}
