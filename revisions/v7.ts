// v7 (13 Feb 2025): CREATE_REALM / INIT_RIPAS_REALM renames, arm_rme_* structs,
// REC = 8, PSCI complete at 0xd2, realm without RMM -EPERM. The revision
// recorded on a real stack (fixtures/real-kernel/cca-host-v7).
import { audit, derive } from '../profiles/derive.ts';
import type { ExpectKey } from '../profiles/types.ts';
import { REALM_STRUCTS, psciCompleteIoctl, type RevisionUapi } from '../uapi/realm.ts';
import {
  EARLY_ERRNO,
  NO_GMEM_DISPUTE,
  NO_RMM_DISPUTE,
  RIPAS_DISPUTE,
  RMM_REL0,
  V7_POPULATE,
  V7_RIPAS,
  gmemRules,
  partialPopulateRows,
  populateEinval,
} from './rme-era.ts';
import { withUapi, type Revision } from './types.ts';
import { uapi as v8uapi, v8Behaviour } from './v8.ts';
export const uapi: RevisionUapi = {
  ...v8uapi,
  cap: { name: 'KVM_CAP_ARM_RME', nr: 300, source: 'lore:20250213161426.102987-8-steven.price@arm.com' },
  recFeature: { bit: 8, c: 'KVM_ARM_VCPU_REC' },
  maxVcpuFeatures: 9,
  psciComplete: psciCompleteIoctl(
    'KVM_ARM_VCPU_RMM_PSCI_COMPLETE',
    0xd2,
    REALM_STRUCTS.rmmPsciComplete,
    'abi-evolution.md §2a (0xd2 "FIXME", moved in v8: lore:yq5aldu8wu3q.fsf@kernel.org)',
  ),
};

const v7Derived = derive(
  v8Behaviour,
  {
    name: 'v7',
    title: 'v7, 2025-02-13: CREATE_REALM / INIT_RIPAS_REALM renames, arm_rme_* structs, realm without RMM -EPERM',
    source: 'lore:20250213161426.102987-8-steven.price@arm.com',
    expect: {
      'vm.realm-no-rmm': { errno: 'EPERM', source: 'abi-evolution.md §3.3 (v7 changelog: "report -EPERM")', dispute: NO_RMM_DISPUTE },
      'populate.before-create': populateEinval('conditions.md §6.5 ("-EINVAL holds for v6/v7")'),
      'populate.after-activate': populateEinval('conditions.md §6.5'),
      'populate.state-beats-alignment': { errno: 'EINVAL', source: 'conditions.md §6.5 (state -EINVAL, checked before alignment as in v6 and v10)' },
      'populate.zero-size-before-create': populateEinval('conditions.md §6.5 (state before the size-0 shortcut, as v10 §5)'),
      // settled on the cca-host/v7 stack: both -EINVAL (fixtures/real-kernel/cca-host-v7)
      'init.before-create': {
        errno: 'EINVAL',
        source: 'recorded on the cca-host/v7 stack (fixtures/real-kernel/cca-host-v7: misordering/init-ipa-in-none); conditions.md §6.6',
        dispute: RIPAS_DISPUTE,
      },
      'init.after-activate': {
        errno: 'EINVAL',
        source: 'recorded on the cca-host/v7 stack (fixtures/real-kernel/cca-host-v7: misordering/init-ipa-in-active); conditions.md §6.6',
        dispute: RIPAS_DISPUTE,
      },
      'populate.no-guest-memfd': { errno: 'EINVAL', source: `${V7_POPULATE}: a memslot that cannot be private gives -EINVAL`, dispute: NO_GMEM_DISPUTE },
      'populate.unprotected-half': {
        errno: 'EINVAL',
        source: `${V7_POPULATE}: the suite places a plain (non-guest_memfd) memslot there, which v7 refuses with -EINVAL before the RMM`,
      },
      ...partialPopulateRows(V7_POPULATE),
      'vcpu.init-past-max': { errno: 'ENOENT', source: 'G8 (bit 9 = KVM_VCPU_MAX_FEATURES, 9 since v6)' },
      'psci.old-number': null,
      // v7's own code (not v10's): an RTT error at the mapping level WARNs and returns -ENXIO; the cca-host/v7 stack answers so
      'init.over-populated': {
        errno: 'ENXIO',
        source: `${V7_RIPAS}: realm_init_ipa_state treats an RTT error at the mapping level as unexpected (WARN, -ENXIO); seen on the cca-host/v7 stack (fixtures/real-kernel/cca-host-v7)`,
      },
      'init.over-populated-block': {
        errno: 'ENXIO',
        source: `${V7_RIPAS}: realm_init_ipa_state treats an RTT error at or below the block level as unexpected (WARN, -ENXIO)`,
      },
      'init.over-ram': {
        errno: 0,
        source:
          'TF-RMM tf-rmm-v0.6.0 (runtime/rmi/rtt.c) accepts RTT_INIT_RIPAS over RAM; recorded on the cca-host/v7 stack (fixtures/real-kernel/cca-host-v7)',
      },
      'create.before-vcpu-init': {
        errno: 'ENXIO',
        source:
          "v7 36/45 (lore:20250213161426.102987-37-steven.price@arm.com): num_bps/num_wps from the VM's ID_AA64DFR0_EL1, 0 before the first vCPU init; TF-RMM tf-rmm-v0.6.0 refuses 0; recorded on the cca-host/v7 stack (68 checks failed from it)",
      },
    },
  },
  'conditions.md has no v7 row; v7 -> v8 changed numbers only (abi-evolution.md §2a)',
);

// ---- The inherited-value audit (docs/inherited-audit.md)

/**
 * The v7 expectations a check read and the real cca-host/v7 stack answered as
 * expected (fixtures/real-kernel/cca-host-v7: the relaxed run's passing checks,
 * the two expectations fixed from it, the pristine run's CREATE_REALM -ENXIO and
 * the relaxed run's second-vCPU -EINVAL). Measured, so confirmed for v7.
 */
export const V7_MEASURED: ReadonlySet<ExpectKey> = new Set<ExpectKey>([
  'activate.before-create',
  'activate.ok',
  'activate.twice',
  'cap.bad-struct-pointer',
  'cap.flags-before-subcmd',
  'cap.flags-nonzero',
  'cap.normal-vm-subcmd',
  'cap.unknown-subcmd',
  'config.after-create',
  'config.after-create-bad-pointer',
  'config.bad-pointer',
  'config.hash-sha256',
  'config.hash-unknown',
  'config.normal-vm',
  'config.removed-items',
  'config.rpv',
  'config.rpv-repeat',
  'config.unknown-item',
  'create.after-vcpu',
  'create.before-vcpu-init',
  'create.normal-vm',
  'create.ok',
  'create.twice',
  'init.after-activate',
  'init.bad-pointer',
  'init.before-create',
  'init.beyond-ipa',
  'init.fault-before-state',
  'init.no-memslot',
  'init.normal-vm',
  'init.ok',
  'init.over-populated',
  'init.over-ram',
  'init.reserved-ignored',
  'init.two-memslots',
  'init.unaligned-base',
  'init.unaligned-size',
  'init.unprotected-half',
  'init.wrap',
  'init.wrap-before-create',
  'init.zero-size',
  'populate.after-activate',
  'populate.bad-pointer',
  'populate.before-create',
  'populate.beyond-ipa',
  'populate.fault-before-state',
  'populate.measure',
  'populate.no-guest-memfd',
  'populate.no-memslot',
  'populate.normal-vm',
  'populate.ok',
  'populate.past-memslot-end',
  'populate.reserved-ignored',
  'populate.state-beats-alignment',
  'populate.twice',
  'populate.two-memslots',
  'populate.unaligned-base',
  'populate.unaligned-size',
  'populate.unknown-flag',
  'populate.unmeasured',
  'populate.unprotected-half',
  'populate.wrap',
  'populate.zero-size',
  'populate.zero-size-before-create',
  'populate.zero-size-no-memslot',
  'probe.cap-on-normal-vm',
  'probe.cap-on-realm-vm',
  'probe.cap-on-system-fd',
  'probe.realm-hides-guest-debug',
  'psci.bad-pointer',
  'psci.no-rec-bit',
  'psci.normal-vm',
  'psci.not-pending',
  'psci.unknown-target',
  'rec.after-activate-new-vcpu',
  'rec.bad-pointer',
  'rec.before-create',
  'rec.no-psci',
  'rec.no-psci-before-create',
  'rec.no-rec-bit',
  'rec.normal-vm',
  'rec.not-initialised',
  'rec.ok',
  'rec.twice',
  'rec.uninit-before-create',
  'run.before-activate',
  'run.no-irqchip',
  'run.no-rec',
  'run.not-initialised',
  'run.ok',
  'run.vcpu-after-activate',
  'sve.rd-unfinalised',
  'sve.vls-after-rd',
  'sve.vls-before-rd',
  'vcpu.create-after-activate',
  'vcpu.create-after-vgic-init',
  'vcpu.init-differs-from-first',
  'vcpu.init-past-max',
  'vcpu.init-psci',
  'vcpu.init-rec-bit',
  'vcpu.init-rec-el1-32bit',
  'vcpu.init-rec-normal-vm',
  'vm.realm-default-ipa',
  'vm.realm-ipa-40',
  'vm.realm-ipa-too-large',
  'vm.realm-ipa-too-small',
  'vm.type-stray-bits',
  'vm.type-unknown-value',
]);

const behaviour = audit(v7Derived, (k) => V7_MEASURED.has(k), "not measured on the cca-host/v7 stack and v7's own code for it was not read");

export const v7 = {
  name: 'v7',
  era: 'rme',
  uapi,
  profile: withUapi('v7', 'rme', uapi, behaviour),
  // v7: "report -EPERM" for a realm VM without RMM (abi-evolution.md §3.3); no-guest_memfd memslot still -EINVAL (v7 20/45)
  rules: gmemRules('v7', { rmmAbsent: 'EPERM', errno: EARLY_ERRNO, noGmem: 'EINVAL', v6RecChecks: false, plainSlotRefused: true }),
  rmm: RMM_REL0,
} satisfies Revision<'v7'>;
