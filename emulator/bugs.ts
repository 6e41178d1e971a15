// Known bugs the emulator can switch on, one small switch each at the exact
// place in the kernel path. A bug models a kernel that gets one condition
// wrong, so the suite can show that its checks notice. Names are kebab-case
// and stable: they appear on the command line and in reports.
import type { AbiName, ExpectKey } from '../profiles/types.ts';
import { revisionsFrom } from '../revisions/index.ts';

/** Every revision of `n`'s era from `n` on: "every RMI-era revision from v13". */
const rmeFrom = (n: AbiName): AbiName[] => revisionsFrom(n, { sameEra: true });
const rmiFrom = rmeFrom;

export interface BugInfo {
  name: string;
  /** One line: what the buggy kernel does differently. */
  description: string;
  /** ABI revisions whose emulation has the switch. */
  revisions: readonly AbiName[];
  /** The condition row or mail the correct behaviour comes from. */
  source: string;
  /** The profile expectations whose outcome this bug changes. */
  breaks: readonly ExpectKey[];
  /**
   * 'afterwards': the call still returns what the profile expects; only what
   * follows shows the bug (the engine's afterwards probe, harness/core/afterwards.ts).
   * 'second-member': a rule applied to the first member of a set only; a
   * stimulus with one member cannot show it, the checks with two can.
   */
  shows?: 'afterwards' | 'second-member';
}

// no-guest_memfd switches start at v6: v2..v5 leave that errno UNCONFIRMED (todo), so a switch there could not be caught

export const BUGS = [
  {
    name: 'realm-no-rmi-eperm',
    description: 'KVM_CREATE_VM(realm) on a host without RMI returns the -EPERM the v12..v14 changelogs promise instead of the -EINVAL their code returns',
    revisions: rmiFrom('v12'),
    source: 'V14-VM2; abi-evolution.md §3.5, §4.6; conditions.md §6.11',
    breaks: ['vm.realm-no-rmm'],
  },
  {
    name: 'sve-vls-after-rd-allowed',
    description: "KVM_SET_ONE_REG(SVE_VLS) is accepted after the RD exists, so the vector lengths the RMM was given and the vCPU's differ",
    // audit (docs/inherited-audit.md): not v2, v3, v4, v5, whose reading checks are todo there
    revisions: revisionsFrom('v6'),
    source: 'V10-R2, V14-V7; abi-evolution.md §4.3 (SVE final before the RD)',
    breaks: ['sve.vls-after-rd'],
  },
  {
    name: 'vcpu-after-vgic-init-allowed',
    description: 'KVM_CREATE_VCPU succeeds after the vGIC is initialised (v12+: after the first KVM_RUN made the RECs), giving a vCPU that can never run',
    // audit (docs/inherited-audit.md): not v2, v3, v4, whose reading checks are todo there
    revisions: revisionsFrom('v5'),
    source: 'G9, V10-V17, V14-V5; abi-evolution.md §4.4; conditions.md §6.10',
    breaks: ['vcpu.create-after-vgic-init', 'rmi.vcpu-after-run'],
  },
  {
    name: 'init-ripas-einval',
    description: 'INIT_RIPAS_REALM in the wrong state returns the -EINVAL of an earlier posting instead of -EPERM',
    revisions: rmeFrom('v9'),
    source: "V10-IR3; conditions.md §6.6; abi-evolution.md §4.6 (Gavin Shan's review)",
    breaks: ['init.before-create', 'init.after-activate'],
  },
  {
    name: 'populate-skips-state-check',
    description:
      'POPULATE_REALM does not check the realm state, so the RMM decides: RTT_INIT_RIPAS fails and its raw positive status comes back (R1-PO10 path)',
    revisions: ['rfc-v1'],
    source: 'R1-PO2',
    breaks: ['populate.before-create', 'populate.after-activate', 'populate.normal-vm', 'populate.state-beats-alignment'],
  },
  {
    name: 'populate-ebusy-as-einval',
    description: 'POPULATE_REALM in the wrong state returns EINVAL (as Zhi Wang suggested and v6/v7 did) instead of EBUSY',
    revisions: ['rfc-v1'],
    source: 'R1-PO2; abi-evolution.md §3.1; conditions.md §6.5',
    breaks: ['populate.before-create', 'populate.after-activate', 'populate.normal-vm', 'populate.state-beats-alignment'],
  },
  {
    name: 'init-ipa-accepts-past-ipa',
    description: 'INIT_IPA_REALM past the IPA size succeeds: the RMM skips its range check on RTT_INIT_RIPAS',
    revisions: ['rfc-v1'],
    source: 'R1-IP6',
    breaks: ['init.beyond-ipa'],
  },
  {
    name: 'init-ipa-state-before-wrap',
    description: 'INIT_IPA_REALM checks the state before the wrap, so a wrapping range before CREATE_RD gives EBUSY, not EINVAL',
    revisions: ['rfc-v1', ...rmeFrom('v8')],
    source: 'R1-IP2, R1-IP3 (§5 order)',
    breaks: ['init.wrap-before-create'],
  },
  {
    name: 'config-accepts-unknown-item',
    description: 'CONFIG_REALM ignores an unknown cfg number and returns 0',
    // audit (docs/inherited-audit.md): not v2, v3, v4, whose reading checks are todo there
    revisions: ['rfc-v1', ...rmeFrom('v5')],
    source: 'R1-CF10',
    breaks: ['config.unknown-item'],
  },
  {
    name: 'config-copy-before-state',
    description: 'CONFIG_REALM copies the item before checking the state, so EFAULT wins over EBUSY after CREATE_RD',
    // v2..v4: the order of CONFIG's state check and copy was not read (todo there), so no check could catch it
    revisions: ['rfc-v1', ...rmeFrom('v5')],
    source: 'R1-CF1 (§5 order)',
    breaks: ['config.after-create-bad-pointer'],
  },
  {
    name: 'create-rd-twice',
    description: 'a second CREATE_RD succeeds (the NONE-state check is missing) and leaves the realm NEW',
    // audit (docs/inherited-audit.md): not v2, v3, v4, whose reading checks are todo there
    revisions: ['rfc-v1', ...rmeFrom('v5')],
    source: 'R1-CR2',
    breaks: ['create.twice'],
  },
  {
    name: 'create-rd-ignores-vcpus',
    description: 'CREATE_RD after a vCPU was created succeeds (no created_vcpus check)',
    revisions: ['rfc-v1'],
    source: 'R1-CR1',
    breaks: ['create.after-vcpu'],
  },
  {
    name: 'finalize-rec-before-create',
    description: 'KVM_ARM_VCPU_FINALIZE(REC) is accepted before CREATE_RD (no NEW-state check)',
    // audit (docs/inherited-audit.md): not v2, v3, v4, whose reading checks are todo there
    revisions: ['rfc-v1', ...rmeFrom('v5')],
    source: 'R1-V4',
    breaks: ['rec.before-create'],
  },
  {
    name: 'rec-skips-psci-check',
    description: 'KVM_ARM_VCPU_FINALIZE(REC) accepts a vCPU initialised without PSCI_0_2',
    revisions: ['rfc-v1', 'v5'],
    source: 'R1-V5',
    breaks: ['rec.no-psci'],
  },
  {
    name: 'vcpu-init-accepts-rec-bit',
    description: 'KVM_ARM_VCPU_INIT accepts the REC feature bit (KVM_VCPU_MAX_FEATURES raised to 8, as v6 later did)',
    revisions: ['rfc-v1', 'v5'],
    source: 'R1-V1; conditions.md §6.2',
    breaks: ['vcpu.init-rec-bit'],
  },
  {
    name: 'activate-skips-state-check',
    description: 'ACTIVATE_REALM does not check the state: a second ACTIVATE returns 0',
    // audit (docs/inherited-audit.md): not v2, v3, v4, v5, whose reading checks are todo there
    revisions: ['rfc-v1', ...rmeFrom('v6')],
    source: 'R1-AC1',
    breaks: ['activate.twice'],
  },
  {
    name: 'run-before-activate',
    description: 'KVM_RUN treats a REC as finalised before ACTIVATE; the REC entry then fails its own ACTIVE check with EINVAL',
    revisions: ['rfc-v1'],
    source: 'R1-V10, R1-V12',
    breaks: ['run.before-activate'],
  },
  // ---- v2 .. v10 (the guest_memfd era of the multiplexed uAPI)
  {
    name: 'realm-caps-not-hidden',
    description: 'CHECK_EXTENSION on a realm VM answers like a normal VM: SET_GUEST_DEBUG, READONLY_MEM, HW breakpoints read as available',
    // audit (docs/inherited-audit.md): not v2, v3, v4, whose reading checks are todo there
    revisions: rmeFrom('v5'),
    source: 'V10-CE2; abi-evolution.md §3.2 (v2 hides READONLY_MEM), §3.3',
    breaks: ['probe.realm-hides-guest-debug'],
  },
  {
    name: 'enable-cap-realm-check-missing',
    description:
      'KVM_ENABLE_CAP dispatch does not check kvm_is_realm (as RFC v1, R1-EC5): a sub-command on a normal VM reaches its handler (CONFIG oopses, CREATE -EEXIST)',
    // audit (docs/inherited-audit.md): not v2, v3, v4, whose reading checks are todo there
    revisions: rmeFrom('v5'),
    source: 'V10-EC4; review R1-06r',
    breaks: ['config.normal-vm', 'create.normal-vm', 'init.normal-vm', 'populate.normal-vm'],
  },
  {
    name: 'populate-eperm-as-einval',
    description: 'POPULATE_REALM in the wrong state returns -EINVAL (the v6/v7 errno) instead of -EPERM',
    // audit (docs/inherited-audit.md): not v8, whose reading checks are todo there
    revisions: rmeFrom('v9'),
    source: 'V10-PO2; conditions.md §6.5',
    breaks: ['populate.before-create', 'populate.after-activate', 'populate.state-beats-alignment', 'populate.zero-size-before-create'],
  },
  {
    name: 'populate-reserved-checked',
    description:
      'POPULATE_REALM rejects non-zero reserved words with -EINVAL, which the posted v2..v11 code never checks (a VMM passing stack garbage works on the real kernel)',
    // audit (docs/inherited-audit.md): not v2, v3, v4, v5, whose reading checks are todo there
    revisions: rmeFrom('v6'),
    source: 'V10-PO6; abi-evolution.md §3.2, §4.7',
    breaks: ['populate.reserved-ignored'],
  },
  {
    name: 'populate-no-gmem-check',
    description: 'POPULATE_REALM does not refuse a memslot without guest_memfd: it copies the shared page into nothing and returns 0',
    revisions: rmeFrom('v6'),
    source: 'V10-PO7; abi-evolution.md §3.2; v7 20/45 and v8 19/43 (profiles/v2-v9.ts)',
    breaks: ['populate.no-guest-memfd', 'populate.unprotected-half'],
  },
  {
    name: 'finalize-rec-twice-allowed',
    description: 'a second KVM_ARM_VCPU_FINALIZE(REC) is not refused with -EBUSY; it reaches RMI_REC_CREATE, which refuses the duplicate MPIDR (-ENXIO)',
    // audit (docs/inherited-audit.md): not v2, v3, v4, v5, v6, whose reading checks are todo there; v6 has no such check (v6 12/43, 23/43)
    revisions: rmeFrom('v7'),
    source: 'V10-V8',
    breaks: ['rec.twice'],
  },
  {
    name: 'run-without-irqchip',
    description: 'the first KVM_RUN of a realm without an in-kernel irqchip is not refused with -EOPNOTSUPP',
    // audit (docs/inherited-audit.md): not v2, v3, v4, whose reading checks are todo there
    revisions: rmeFrom('v5'),
    source: 'V10-V14',
    breaks: ['run.no-irqchip'],
  },
  {
    name: 'psci-complete-no-rec-check',
    description: 'the PSCI complete ioctl does not check that the calling vCPU is a REC: a normal VM vCPU gets -EINVAL (no pending request) instead of -EPERM',
    // audit (docs/inherited-audit.md): not v2, v3, v4, v5, v6, whose reading checks are todo there; v6 has no such check (v6 12/43, 23/43)
    revisions: rmeFrom('v7'),
    source: 'V10-PS1',
    breaks: ['psci.normal-vm', 'psci.no-rec-bit'],
  },
  {
    name: 'populate-memslot-end-checked-late',
    description:
      "POPULATE_REALM notices that the range leaves its memslot only at the first page past the end: it still refuses the call with -EINVAL, but the pages before it are populated (a refused call that changed something; only the engine's afterwards observation sees it)",
    revisions: ['rfc-v1', 'v6', 'v7', 'v8', 'v9', 'v10'],
    source: 'R1-PO6, V10-PO7 (the memslot end is checked before any page is touched)',
    breaks: ['populate.past-memslot-end'],
    shows: 'afterwards',
  },
  {
    name: 'populate-skips-last-page',
    description:
      'POPULATE_REALM of several pages returns 0 but leaves the last page unpopulated (the loop bound is one page short); only what follows the call shows it',
    revisions: ['rfc-v1', 'v6', 'v7', 'v8', 'v9', 'v10'],
    source: 'R1-PO8, V10-PO7..PO10 (every page of the range is populated before the call returns 0)',
    breaks: ['populate.ok'],
    shows: 'afterwards',
  },
  {
    name: 'populate-chunks-checked-first',
    description:
      'POPULATE_REALM checks the memslot of every 2 MB chunk before it populates the first, so a range whose last chunk leaves its memslot is refused with the same -EINVAL but leaves the earlier chunks unpopulated (too little done; only the afterwards probe sees it)',
    revisions: ['v6', 'v7', 'v8', 'v9', 'v10'],
    source: 'V10-PO7 (the chunks before the failing one are populated first and stay so; v6 19/43, v7 20/45, v8 19/43)',
    breaks: ['populate.error-in-last-chunk'],
    shows: 'afterwards',
  },
  {
    name: 'populate-pages-checked-first',
    description:
      'POPULATE_REALM checks every destination page for an earlier populate before it populates the first, so a range whose last page is populated already is refused with the same -ENXIO but leaves the pages before it unpopulated (too little done; only the afterwards probe sees it)',
    revisions: ['rfc-v1', 'v6', 'v7', 'v8', 'v9', 'v10'],
    source: 'R1-PO15, V10-PO12 (the pages before the failing one are populated first and stay so)',
    breaks: ['populate.error-at-last-page'],
    shows: 'afterwards',
  },
  // ---- issue 13 item 2: a rule applied to the first member of a set only
  {
    name: 'populate-memslot-of-first-chunk',
    description:
      'POPULATE_REALM looks up the memslot for the first 2 MB chunk only and holds every later chunk to it, so a range whose second chunk lies in the next guest_memfd memslot is refused with -EINVAL',
    // v7, v8: the value is inherited (todo) there, so the switch could not be caught
    revisions: ['v6', 'v9', 'v10'],
    source: 'V10-PO7 (each chunk looks up its own memslot)',
    breaks: ['populate.chunk-per-memslot'],
  },
  {
    name: 'init-ripas-first-block-only',
    description: 'INIT_IPA / INIT_RIPAS returns 0 after the first block of its range, so a populated page further on is never seen',
    revisions: ['rfc-v1', 'v6', 'v7', 'v8', 'v9', 'v10'],
    source: 'R1-IP6, R1-IP7, V10-IR7, V10-IR8 (every block of the range gets RTT_INIT_RIPAS)',
    breaks: ['init.over-populated', 'init.unprotected-half'],
    shows: 'second-member',
  },
  {
    name: 'run-rec-of-vcpu0',
    description:
      'KVM_RUN asks whether vCPU 0 is a REC instead of the running vCPU, so a second vCPU that was never finalised passes as finalised and is entered without a REC of its own (it never answers -EPERM)',
    revisions: ['rfc-v1', 'v6', 'v7', 'v8', 'v9', 'v10'],
    source: 'R1-V10, V10-V13 (a vCPU runs only as its own REC)',
    breaks: ['run.no-rec'],
    shows: 'second-member',
  },
  // ---- v12 .. v14 (the RMI generation)
  {
    name: 'rmi-populate-reserved-unchecked',
    description: 'KVM_ARM_RMI_POPULATE ignores a non-zero reserved word (the v2..v11 behaviour) instead of -EINVAL',
    revisions: rmiFrom('v12'),
    source: 'V14-PO3; abi-evolution.md §3.5, §4.7',
    breaks: ['rmi.populate-reserved', 'rmi.populate-invalid-after-run'],
  },
  {
    name: 'populate-no-progress',
    description:
      'KVM_ARM_RMI_POPULATE populates but reports no progress: v12 returns 0 bytes, v13+ leave base/size/source_uaddr unchanged, so a VMM loop never ends (QEMU and OpenVMM treat it as an error)',
    revisions: rmiFrom('v12'),
    source: 'V14-PO15; abi-evolution.md §4.8, §6.2, §6.4',
    breaks: ['rmi.populate-ok', 'rmi.populate-progress', 'rmi.populate-past-memslot-end', 'rmi.populate-error-after-progress'],
  },
  {
    name: 'populate-errors-after-progress-returned',
    description: 'KVM_ARM_RMI_POPULATE returns the error of a later page even after earlier pages were populated, so the caller cannot tell how far it got',
    // audit (docs/inherited-audit.md): not v12, v13, whose reading checks are todo there
    revisions: ['v14'],
    source: 'V14-PO15 (UP-gmem)',
    breaks: ['rmi.populate-error-after-progress'],
  },
  {
    name: 'populate-after-run-allowed',
    description: 'KVM_ARM_RMI_POPULATE after the first KVM_RUN is not refused with -EBUSY',
    revisions: rmiFrom('v12'),
    source: 'V14-PO9; abi-evolution.md §4.3',
    breaks: ['rmi.populate-after-run'],
  },
  {
    name: 'first-run-without-irqchip',
    description: 'the first KVM_RUN of a realm without an in-kernel irqchip activates it instead of failing with -EOPNOTSUPP',
    revisions: rmiFrom('v12'),
    source: 'V14-A5; abi-evolution.md §3.5; v12 11/46, v13 16/48',
    breaks: ['rmi.first-run-no-irqchip'],
  },
  {
    name: 'old-subcommands-half-work',
    description: "a v10 VMM's ENABLE_CAP(old realm CAP, CREATE) on a realm VM creates the RD and returns 0 instead of failing cleanly",
    revisions: rmiFrom('v12'),
    source: 'V14-EC6; abi-evolution.md §4.1',
    breaks: ['rmi.old-enable-cap'],
  },
  {
    name: 'populate-source-not-advanced',
    description:
      'KVM_ARM_RMI_POPULATE advances base and size but not source_uaddr, so the next call copies the first source page again (the kvmtool INITRD_ALIGN bug, kernel side)',
    revisions: rmiFrom('v13'),
    source: 'V14-PO15; abi-evolution.md §4.8, §4.11',
    breaks: ['rmi.populate-progress'],
  },
  {
    name: 'populate-source-unaligned-accepted',
    description: 'KVM_ARM_RMI_POPULATE accepts a source_uaddr that is not page-aligned (the v12 behaviour)',
    revisions: rmiFrom('v13'),
    source: 'V14-PO3; abi-evolution.md §3.6',
    breaks: ['rmi.populate-unaligned-source'],
  },
  {
    name: 'rmi-populate-normal-vm-eperm',
    description: "KVM_ARM_RMI_POPULATE on a non-realm VM returns v12's -EPERM instead of -ENXIO",
    revisions: rmiFrom('v13'),
    source: 'V14-PO1; conditions.md §6.7',
    breaks: ['rmi.populate-normal-vm', 'rmi.populate-normal-vm-bad-pointer'],
  },
  {
    name: 'dead-realm-revived',
    description:
      "after a failed activation the second KVM_RUN enters vCPU 0's REC although the realm is DEAD (kvm_rec_pre_enter does not check ACTIVE); the RMM refuses the never-activated realm and KVM reports a SHUTDOWN exit with 0",
    revisions: rmiFrom('v13'),
    source: 'conditions.md §4.7, V14-R1; abi-evolution.md §3.7, §4.5; v13 16/48',
    breaks: ['rmi.second-run-after-failed-run'],
  },
  {
    name: 'dead-before-irqchip-check',
    description:
      'activation sets the realm DEAD before the irqchip check (as v12 did), so a first run without an irqchip kills the realm and adding the vGIC cannot save it',
    revisions: rmiFrom('v13'),
    source: 'V14-A5, V14-A8; abi-evolution.md §3.5; v13 16/48 (check before the RD step)',
    breaks: ['rmi.run-after-irqchip-added', 'rmi.populate-after-no-irqchip-run'],
  },
  {
    name: 'dead-realm-reactivated',
    description:
      'the RD step lets a DEAD realm through, so the KVM_RUN after a failed first run re-enters activation (the "dead realms revived" worry): with the vGIC added it activates, with a REC left from the failed run it gets -EBUSY, instead of -ENXIO',
    revisions: ['v12'],
    source: 'v12 11/46 (== ACTIVE early return) and 22/46 (realm_ensure_created: DEAD -> -ENXIO); abi-evolution.md §4.5',
    breaks: ['rmi.run-after-irqchip-added', 'rmi.second-run-after-failed-run'],
  },
  {
    name: 'realm-and-protected-accepted',
    description: 'KVM_CREATE_VM(REALM | PROTECTED) is not refused: a realm VM is created',
    revisions: ['v14'],
    source: 'V14-VM1',
    breaks: ['vm.realm-and-protected'],
  },
  {
    name: 'rmm-accepts-zero-debug-counts',
    description:
      'RMI_REALM_CREATE accepts num_bps = 0 / num_wps = 0 (an RMM older than the August 2024 TF-RMM change), so a realm created before any KVM_ARM_VCPU_INIT comes up instead of failing with -ENXIO',
    revisions: revisionsFrom('v6'),
    source:
      'TF-RMM runtime/rmi/realm.c validate_realm_params (0 reserved); v6 35/43 lore:20241212155610.76522-36-steven.price@arm.com; the cca-host/v7 recordings (fixtures/real-kernel/cca-host-v7)',
    breaks: ['create.before-vcpu-init', 'rmi.populate-before-vcpu-init'],
  },
  {
    name: 'vcpu-features-differ-allowed',
    description: 'KVM_ARM_VCPU_INIT of a second vCPU with other features than the first is accepted (kernels before 6.7 kept no per-VM feature set)',
    revisions: revisionsFrom('v2'),
    source: 'upstream 6.7 (kvm->arch.vcpu_features, KVM_ARCH_FLAG_VCPU_FEATURES_CONFIGURED); the cca-host/v7 recording of mux/run/without-rec-bit',
    breaks: ['vcpu.init-differs-from-first'],
  },
  {
    name: 'vcpu-mixed-width-allowed',
    description: "KVM_ARM_VCPU_INIT of a vCPU of the other EL1 register width than the VM's first is accepted (the mixed-width check of 5.18 to 6.6 missing)",
    revisions: ['rfc-v1', 'absent'],
    source: 'G10 (kvm_set_vm_width, lore:20220314061959.3349716-3-reijiw@google.com); found on Debian 6.1 by ./run.sh explore --target qemu',
    breaks: ['vcpu.init-other-width'],
    shows: 'second-member',
  },
] as const satisfies readonly BugInfo[];

export type BugName = (typeof BUGS)[number]['name'];

const BY_NAME = new Map<string, BugInfo>(BUGS.map((b) => [b.name, b]));

export function bugInfo(name: string): BugInfo | undefined {
  return BY_NAME.get(name);
}

export function isBugName(name: string): name is BugName {
  return BY_NAME.has(name);
}

/** Validate a list of bug names for a revision; throws with the offending names. */
export function checkBugs(names: readonly string[], abi: AbiName): BugName[] {
  const unknown = names.filter((n) => !isBugName(n));
  if (unknown.length) throw new Error(`unknown emulator bug(s): ${unknown.join(', ')} (known: ${BUGS.map((b) => b.name).join(', ')})`);
  const wrongRev = names.filter((n) => !(bugInfo(n)!.revisions as readonly string[]).includes(abi));
  if (wrongRev.length) throw new Error(`emulator bug(s) ${wrongRev.join(', ')} do not apply to ${abi}`);
  return names as BugName[];
}
