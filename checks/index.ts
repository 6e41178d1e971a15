// Every check of the suite, by uAPI call or concern: checks/<area>.ts holds
// the checks named "<area>/...", for every revision they apply to.
import type { CheckDef } from '../harness/core/engine.ts';
import { applicable } from '../harness/core/engine.ts';
import { PROFILES } from '../profiles/index.ts';
import { checks as generic } from './generic.ts';
import { checks as absent } from './absent.ts';
import { checks as probing } from './probing.ts';
import { checks as createVm } from './create-vm.ts';
import { checks as enableCap } from './enable-cap.ts';
import { checks as config } from './config.ts';
import { checks as vcpuInit } from './vcpu-init.ts';
import { checks as createRealm } from './create-realm.ts';
import { checks as initRipas } from './init-ripas.ts';
import { checks as populate } from './populate.ts';
import { checks as finalizeRec } from './finalize-rec.ts';
import { checks as activate } from './activate.ts';
import { checks as run } from './run.ts';
import { checks as psciComplete } from './psci-complete.ts';
import { checks as ordering } from './ordering.ts';
import { checks as lifecycle } from './lifecycle.ts';
import { checks as scenarios } from './scenarios.ts';

/** The checks written from the StrykerJS triage (bench/stryker-triage.md), for its "before" column. */
export const STRYKER_TRIAGE_CHECKS: readonly string[] = [
  'probing/caps-hidden-every-member',
  'populate/stops-at-memslot-end-before-the-next',
  'populate/every-page-reaches-the-guest',
  'vcpu-init/realm-core-regs-every-member',
  'populate/page-count-sign-boundary',
  'populate/source-fault-after-progress',
  'run/unpopulated-ram-is-ram-every-memslot',
  'run/unpopulated-ram-keeps-stores',
  'run/shared-alias-is-the-memslot',
  // realm-rme / realm-rme-cap triage
  'vcpu-init/rec-bit-el1-32bit-aarch32-host',
  'vcpu-init/realm-reg-limit-is-set-on-realm-only',
  'vcpu-init/nested-virt-bit-not-the-rec-bit',
  'probing/guest-debug-hidden-only-on-realm',
  'probing/realm-sve-from-rmm',
  'enable-cap/no-rmm',
  'enable-cap/other-cap-unaffected',
  'config/sha256-without-rmm-sha512',
  'populate/wrap-outside-memslots',
  'populate/whole-memslot',
  'init-ripas/beyond-ipa-to-2-64-minus-1',
  'psci-complete/old-number-normal-vm',
  // realm-rmi, realm-rmi-populate (second triage)
  'run/second-vcpu-cpu-on',
  'create-realm/sve-vls-differ',
  'create-realm/no-sve-on-rmm-without-sve',
  'enable-cap/off-allowlist-cap',
  'psci-complete/removed-on-normal-vm',
  'probing/cap-sve-rmm-with-sve',
  'probing/cap-sve-rmm-without-sve',
  'vcpu-init/normal-vm-core-regs',
  'probing/cap-pmu-v3-v12',
  'populate/old-request-number',
  // realm-rme-cap config/create/populate (third triage)
  'populate/source-unmapped',
  'populate/source-read-only',
  'populate/gmem-unprotected-half',
  // realm-rme-cap RTT walk (third triage)
  'init-ripas/unaligned-base-spans-block',
  'init-ripas/block-end-one-page-short',
  'init-ripas/block-end-one-page-past',
  'init-ripas/unaligned-base-block-end',
  'init-ripas/over-populated-block',
  'init-ripas/over-populated-block-ipa-32',
  // realm-common (third triage)
  'vcpu-init/realm-pmcr-passes-filter',
  'run/second-cpu-on-already-on',
  'run/shared-alias-of-private-page-faults',
  'run/shared-alias-without-user-memory-faults',
  'run/shared-alias-of-gpa-0',
  'run/shared-alias-store-to-read-only-memslot',
  'run/protected-ram-without-user-memory-faults',
  'run/protected-ram-outside-memslots',
  'run/protected-alias-of-delegated-page',
  'run/protected-ram-plain-memslot-refused',
  // realm-common: guest exceptions (an SEA taken at the guest's vectors)
  'run/ripas-empty-load-takes-sea',
  'run/protected-ram-outside-memslots-takes-sea',
  'run/ripas-empty-fetch-takes-sea',
  'run/unprotected-fetch-takes-sea',
];

const BY_AREA: CheckDef[] = [
  ...generic,
  ...absent,
  ...probing,
  ...createVm,
  ...enableCap,
  ...config,
  ...vcpuInit,
  ...createRealm,
  ...initRipas,
  ...populate,
  ...finalizeRec,
  ...activate,
  ...run,
  ...psciComplete,
  ...ordering,
  ...lifecycle,
  ...scenarios,
];

// The triage's checks run last in every revision: scripts/stryker-suite.ts tells the mutants
// only they kill by the first failure (the suite before the triage is everything before them).
const TRIAGE = new Set(STRYKER_TRIAGE_CHECKS);
export const ALL_CHECKS: CheckDef[] = [...BY_AREA.filter((c) => !TRIAGE.has(c.name)), ...BY_AREA.filter((c) => TRIAGE.has(c.name))];

// A name may stand for one check per era (populate/bad-pointer is POPULATE_REALM
// in the RME era and KVM_ARM_RMI_POPULATE in the RMI era), but within a revision it is unique,
// and it starts with its area.
for (const c of ALL_CHECKS) {
  if (!c.name.startsWith(`${c.area}/`)) throw new Error(`check ${c.name} is not named after its area ${c.area}`);
}
for (const p of PROFILES.values()) {
  const seen = new Set<string>();
  for (const c of applicable(ALL_CHECKS, p)) {
    if (seen.has(c.name)) throw new Error(`duplicate check name ${c.name} in ${p.name}`);
    seen.add(c.name);
  }
}
