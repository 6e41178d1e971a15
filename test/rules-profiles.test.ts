// The emulator's per-revision rules (each revision file's `rules` row)
// against the profile's expectations, field by field. The tables below are
// total over the rule types: a new rule field fails `tsc` here until it says
// which expectation it decides (or why none can show it).
import t, { type Test } from 'tap';
import { PROFILES } from '../profiles/index.ts';
import type { AbiProfile, Expect, ExpectKey } from '../profiles/types.ts';
import { REVISIONS, revisionsOf, rmeRules, rmiRules, rmmOf } from '../revisions/index.ts';
import type { EraRmmRow, RmeRules, RmiRules } from '../revisions/rules.ts';

const errno = (p: AbiProfile, k: ExpectKey): Expect['errno'] | undefined => p.expect[k]?.errno;

/** For each field: the assertions tying it to the profile, or a string saying why no expectation shows it. */
type Cross<R> = { [F in keyof R]-?: ((r: R, p: AbiProfile, t: Test) => void) | string };

const RME: Cross<RmeRules> = {
  abi: (r, p, t) => t.equal(r.abi, p.name, 'abi'),
  rmmAbsentRealmType: (r, p, t) =>
    t.equal(r.rmmAbsentRealmType === 'normal-vm' ? 0 : r.rmmAbsentRealmType, errno(p, 'vm.realm-no-rmm'), 'realm type without an RMM'),
  realmIpaLimit: (r, p, t) =>
    r.realmIpaLimit === 'host'
      ? t.ok(!p.expect['vm.realm-ipa-beyond-rmm'] && p.expect['create.ipa-beyond-rmm'], 'host IPA limit: the RMM refuses at CREATE')
      : t.equal(errno(p, 'vm.realm-ipa-beyond-rmm'), 'EINVAL', 'RMM S2SZ limit at KVM_CREATE_VM'),
  dispatchChecksRealm: (r, p, t) =>
    t.equal(
      errno(p, 'cap.normal-vm-subcmd'),
      r.dispatchChecksRealm ? 'EINVAL' : r.errno.create === 'EEXIST' ? 'EBUSY' : undefined,
      'sub-command on a normal VM',
    ),
  createChecksVcpus: (r, p, t) => t.equal(errno(p, 'create.after-vcpu'), r.createChecksVcpus ? 'EBUSY' : 0, 'CREATE after a vCPU'),
  errno: (r, p, t) => {
    t.equal(r.errno.config, errno(p, 'config.after-create'), 'wrong-state config');
    t.equal(r.errno.create, errno(p, 'create.twice'), 'wrong-state create');
    t.equal(r.errno.init, errno(p, 'init.before-create'), 'wrong-state init');
    t.equal(r.errno.populate, errno(p, 'populate.before-create'), 'wrong-state populate');
    t.equal(r.errno.activate, errno(p, 'activate.before-create'), 'wrong-state activate');
    t.equal(r.errno.rec, errno(p, 'rec.before-create'), 'wrong-state REC');
  },
  normalVmConfigOops: (r, p, t) => t.equal(!!p.expect['config.normal-vm']?.crash, r.normalVmConfigOops, 'CONFIG on a normal VM oopses'),
  recNeedsFeatureBit: (r, p, t) => t.equal((errno(p, 'rec.no-rec-bit') ?? 0) !== 0, r.recNeedsFeatureBit, 'FINALIZE(REC) needs the REC bit'),
  era: (r, p, t) => t.equal(r.era === 'gmem', p.privateMemory === 'guest_memfd', 'guest_memfd era'),
  populateNoGmem: (r, p, t) => t.equal(r.populateNoGmem, errno(p, 'populate.no-guest-memfd'), 'populate into a memslot without guest_memfd'),
  initRttAtLevel: (r, p, t) => t.equal(r.initRttAtLevel ?? 'EINVAL', errno(p, 'init.over-populated'), 'INIT over a populated page'),
  plainSlotRefused: 'no profile key: run/protected-ram-plain-memslot-refused reads it (-EINVAL v7+)',
  noSlotSea: 'no profile key: run/protected-ram-outside-memslots reads it (-ENOSYS where false; an SEA, not modelled, where true)',
  v6RecChecks: (r, p, t) => {
    if (r.era !== 'gmem') return;
    t.equal(errno(p, 'psci.normal-vm'), r.v6RecChecks ? 'EINVAL' : 'EPERM', 'PSCI complete off a realm');
    t.equal(errno(p, 'rec.twice'), r.v6RecChecks ? 'ENXIO' : 'EBUSY', 'a second FINALIZE(REC)');
  },
};

const RMI: Cross<RmiRules> = {
  abi: (r, p, t) => t.equal(r.abi, p.name, 'abi'),
  maxVcpuFeatures: (r, p, t) => t.equal(r.maxVcpuFeatures, p.maxVcpuFeatures, 'KVM_VCPU_MAX_FEATURES'),
  populateNotRealm: (r, p, t) => t.equal(r.populateNotRealm, errno(p, 'rmi.populate-normal-vm'), 'populate on a normal VM'),
  sourceAligned: (r, p, t) => t.equal(errno(p, 'rmi.populate-unaligned-source'), r.sourceAligned ? 'EINVAL' : undefined, 'unaligned source_uaddr'),
  deadBeforeIrqchip: (r, p, t) => t.equal(errno(p, 'rmi.run-after-irqchip-added') !== 0, r.deadBeforeIrqchip, 'DEAD before the irqchip check'),
  activeOrBeyond: (r, p, t) => t.equal(errno(p, 'rmi.second-run-after-failed-run'), r.activeOrBeyond ? 'EINVAL' : 'ENXIO', 'the run after a failed first run'),
  pmcrSettable: 'no profile key: vcpu-init/realm-pmcr-passes-filter reads it (-ENOENT past the filter, -EINVAL at it)',
  allowPmu: 'no check reads the realm CAP allowlist entry for PMU_V3 (rmi.cap-allowlisted probes PSCI_0_2)',
  enableCapAllowlist: 'no check enables an allowlisted CAP on a realm VM (rmi.enable-cap-rmi and rmi.old-enable-cap are refused in every RMI revision)',
  sourceZero: (r, p, t) => t.equal(r.sourceZero, errno(p, 'rmi.populate-source-zero'), 'populate with source_uaddr 0'),
  psciNotRealm: (r, p, t) => t.equal(r.psciNotRealm, errno(p, 'psci.normal-vm') ?? r.psciNotRealm, 'PSCI complete on a normal VM (v14 has none)'),
};

const RMM: Cross<EraRmmRow> = {
  release: (r, _p, t) => t.ok(r.release.includes('RMM'), 'names an RMM release'),
  rejectZeroDebugCounts: (r, p, t) => {
    const e = p.expect['create.before-vcpu-init'] ?? p.expect['rmi.populate-before-vcpu-init'];
    if (e) t.equal(e.errno === 'ENXIO', r.rejectZeroDebugCounts || !!e.unconfirmed, 'RD with zero debug counts');
  },
};

function cross<R extends object>(t: Test, table: Cross<R>, row: R, p: AbiProfile): void {
  for (const [field, check] of Object.entries<Cross<R>[keyof R]>(table)) {
    if (typeof check === 'string') t.comment(`${p.name}.${field}: ${check}`);
    else t.test(field, async (t) => check(row, p, t));
  }
}

for (const n of revisionsOf('rme')) t.test(`${n}: RME rules row`, async (t) => cross(t, RME, rmeRules(n)!, PROFILES.get(n)!));
for (const n of revisionsOf('rmi')) t.test(`${n}: RMI rules row`, async (t) => cross(t, RMI, rmiRules(n)!, PROFILES.get(n)!));
for (const n of [...revisionsOf('rme'), ...revisionsOf('rmi')]) t.test(`${n}: RMM row`, async (t) => cross(t, RMM, rmmOf(n)!, PROFILES.get(n)!));

t.test('every revision but absent has a rules row of its era', async (t) => {
  for (const r of Object.values(REVISIONS)) t.equal(r.era === 'absent' || 'rules' in r, true, r.name);
});
