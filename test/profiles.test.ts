// ABI profiles v2..v14: the realm encoders' bytes, every expectation
// sourced, inheritance visible in the sources, disputes and UNCONFIRMED facts
// carried as data. The numbers are pinned once, in test/uapi-snapshot.test.ts.
import t from 'tap';
import { ALL_REVISIONS, PROFILES, getProfile } from '../profiles/index.ts';
import { EXPECT_KEYS } from '../profiles/keys.ts';
import type { AbiProfile, ExpectKey } from '../profiles/types.ts';
import { decodeRmiPopulate, encodeInitIpaArgs, encodePopulateArgs, encodePsciComplete, encodeRmiPopulate } from '../profiles/encode.ts';
import { audit, derive, isInherited } from '../profiles/derive.ts';
import { ERRNO } from '../uapi/errno.ts';
import { applicable } from '../harness/core/engine.ts';
import { ALL_CHECKS } from '../checks/index.ts';

const P = (n: string): AbiProfile => {
  const p = getProfile(n);
  if (!p) throw new Error(`no profile ${n}`);
  return p;
};
const hexb = (b: Uint8Array): string => Buffer.from(b).toString('hex');

t.test('v5 did not raise KVM_VCPU_MAX_FEATURES, so its REC is not set at VCPU_INIT', async (t) => {
  t.equal(P('v5').recInInit, false);
});

t.test('struct layouts', async (t) => {
  const v6 = P('v6');
  // populate args: u64 base, u64 size, u32 flags, u32 reserved[3] = 32 B
  t.equal(
    hexb(encodePopulateArgs(v6, { base: 0x80000000, size: 0x1000, flags: 1, reserved: [2, 3, 4] })),
    '0000008000000000' + '0010000000000000' + '01000000' + '02000000' + '03000000' + '04000000',
  );
  // init args: u64 base, u64 size, u32 reserved[4] (v2-v6) = u64 reserved[2] (v7-v10) when zero
  t.equal(encodeInitIpaArgs(v6, { base: 0, size: 0 }).length, 32);
  t.equal(encodeInitIpaArgs(P('v10'), { base: 1, size: 2 }).length, 32);
  // PSCI complete: u64 target_mpidr, u32 psci_status, u32 padding[3] = 24 B
  t.equal(
    hexb(encodePsciComplete(P('v10'), { targetMpidr: 0x100, psciStatus: -3 >>> 0, padding: [1] })),
    '0001000000000000' + 'fdffffff' + '01000000' + '00000000' + '00000000',
  );
  // kvm_arm_rmi_populate: u64 base, size, source_uaddr; u32 flags, reserved = 32 B
  const b = encodeRmiPopulate(P('v14'), { base: 0x80000000, size: 0x2000, sourceUaddr: 0x7f0000001000n, flags: 1, reserved: 5 });
  t.equal(hexb(b), '0000008000000000' + '0020000000000000' + '00100000007f0000' + '01000000' + '05000000');
  t.same(decodeRmiPopulate(b), { base: 0x80000000n, size: 0x2000n, sourceUaddr: 0x7f0000001000n, flags: 1, reserved: 5 });
  t.throws(() => encodeRmiPopulate(P('v10'), { base: 0, size: 0 }), /no KVM_ARM_RMI_POPULATE/);
});

t.test('every expectation names its source; errnos are known; disputes and UNCONFIRMED are prose', async (t) => {
  for (const [name, p] of PROFILES) {
    for (const [k, e] of Object.entries(p.expect)) {
      t.ok(k in EXPECT_KEYS, `${name} ${k} is a known key`);
      t.ok(e.source.length >= 4, `${name} ${k} has a source`);
      t.ok(e.errno === 0 || e.errno in ERRNO, `${name} ${k} errno ${e.errno}`);
      if (e.dispute !== undefined) t.ok(e.dispute.length > 10, `${name} ${k} dispute is described`);
      if (e.unconfirmed !== undefined) t.ok(e.unconfirmed.length > 10, `${name} ${k} says why it is UNCONFIRMED`);
    }
  }
});

t.test('inheritance: what a revision did not read itself says where it comes from', async (t) => {
  t.match(P('v9').expect['populate.before-create']?.source, /V10-PO2 — as v10: /);
  // v6's own posting was read (v2..v5 inherit from it)
  t.match(P('v3').expect['create.ok']?.source, / — as v6: /);
  t.notOk(isInherited(P('v10').expect['populate.before-create']!), 'v10 is read in code');
  t.notOk(isInherited(P('v14').expect['rmi.populate-after-run']!), 'v14 is read in code');
  // v13's own posting was read for populate's checks; what rests on guest_memfd alone is still v14's
  t.notOk(isInherited(P('v13').expect['rmi.populate-after-run']!), 'v13 populate state checks read in its posting');
  t.match(P('v13').expect['rmi.populate-twice']?.source, / — as v14: /);
});

t.test('revision-specific errnos and disputes (abi-evolution.md §4.6, conditions.md §6)', async (t) => {
  const e = (n: string, k: ExpectKey) => P(n).expect[k];
  t.equal(e('v6', 'vm.realm-no-rmm')?.errno, 'EINVAL', 'v2..v6: realm without RMM -EINVAL');
  t.equal(e('v7', 'vm.realm-no-rmm')?.errno, 'EPERM', 'v7..v10: -EPERM');
  t.equal(e('v10', 'vm.realm-no-rmm')?.errno, 'EPERM');
  t.equal(e('v12', 'vm.realm-no-rmm')?.errno, 'EINVAL', 'v12+: -EINVAL again');
  for (const n of ['v6', 'v7', 'v10', 'v14']) t.ok(e(n, 'vm.realm-no-rmm')?.dispute, `${n} names the dispute`);
  t.equal(e('v6', 'populate.before-create')?.errno, 'EINVAL');
  t.equal(e('v7', 'populate.before-create')?.errno, 'EINVAL');
  t.equal(e('v8', 'populate.before-create')?.errno, 'EPERM');
  t.equal(e('v10', 'init.before-create')?.errno, 'EPERM');
  t.ok(e('v8', 'init.before-create')?.unconfirmed, 'v8/v9 switch UNCONFIRMED');
  t.notOk(e('v6', 'init.before-create')?.unconfirmed, 'v6 16/43 read: -EINVAL');
  t.ok(e('v5', 'init.before-create')?.unconfirmed, 'v5 not read');
  t.equal(e('v12', 'rmi.populate-normal-vm')?.errno, 'EPERM');
  t.equal(e('v13', 'rmi.populate-normal-vm')?.errno, 'ENXIO');
  t.ok(e('v12', 'rmi.populate-normal-vm')?.dispute?.includes('ENOSYS'));
  t.equal(e('v12', 'rmi.populate-ok')?.ret, 4096, 'v12 returns bytes');
  t.equal(e('v14', 'rmi.populate-ok')?.ret, 0, 'v14 returns 0');
  t.equal(e('v14', 'vm.realm-and-protected')?.errno, 'EINVAL');
  // the first KVM_RUN: v12 sets DEAD before its irqchip check and its RD step refuses DEAD; v13 has v14's order
  for (const n of ['v12', 'v13', 'v14']) t.equal(e(n, 'rmi.first-run-no-irqchip')?.errno, 'EOPNOTSUPP', `${n} no irqchip`);
  t.equal(e('v12', 'rmi.run-after-irqchip-added')?.errno, 'ENXIO', 'v12: the no-irqchip failure left the realm DEAD');
  t.equal(e('v12', 'rmi.second-run-after-failed-run')?.errno, 'ENXIO', 'v12: the RD step refuses a DEAD realm');
  for (const n of ['v13', 'v14']) {
    t.equal(e(n, 'rmi.run-after-irqchip-added')?.errno, 0, `${n}: retried once the vGIC exists`);
    t.equal(e(n, 'rmi.second-run-after-failed-run')?.errno, 'EINVAL', `${n}: >= ACTIVE, then the REC entry refuses`);
  }
  for (const n of ['v12', 'v13', 'v14']) {
    for (const k of ['rmi.first-run-no-irqchip', 'rmi.run-after-irqchip-added', 'rmi.second-run-after-failed-run'] as const)
      t.notOk(e(n, k)?.unconfirmed, `${n} ${k} read in the posted code`);
  }
  // POPULATE into a memslot without guest_memfd: -EINVAL v6/v7, -EPERM from v8; v2..v5 not pinned
  for (const n of ['v6', 'v7']) t.equal(e(n, 'populate.no-guest-memfd')?.errno, 'EINVAL', `${n} no guest_memfd -EINVAL`);
  for (const n of ['v8', 'v9', 'v10']) t.equal(e(n, 'populate.no-guest-memfd')?.errno, 'EPERM', `${n} no guest_memfd -EPERM`);
  for (const n of ['v6', 'v7', 'v8', 'v9', 'v10']) t.notOk(e(n, 'populate.no-guest-memfd')?.unconfirmed, `${n} pinned`);
  for (const n of ['v2', 'v3', 'v4', 'v5']) t.ok(e(n, 'populate.no-guest-memfd')?.unconfirmed, `${n} not pinned: UNCONFIRMED`);
  t.notOk(isInherited(P('v7').expect['populate.no-guest-memfd']!), 'v7 read in its own posting');
  t.notOk(isInherited(P('v8').expect['populate.no-guest-memfd']!), 'v8 read in its own posting');
  t.equal(e('v10', 'create.after-vcpu')?.errno, 0, 'no created_vcpus check since v2 (V10-CR10)');
});

t.test('every revision has checks, and the suite reaches 400 in all', async (t) => {
  let total = 0;
  for (const n of ALL_REVISIONS) {
    const k = applicable(ALL_CHECKS, P(n)).length;
    t.ok(k >= 40, `${n}: ${k} checks`);
    t.ok(
      applicable(ALL_CHECKS, P(n)).some((c) => c.name.startsWith('lifecycle/') && c.expects.length === 0),
      `${n} has a VMM launch order`,
    );
    total += k;
  }
  t.ok(total >= 400, `${total} checks across revisions`);
});

t.test('the inherited-value audit: a source naming the revision is a basis, "since <revision>" is not', async (t) => {
  const v8 = P('v8');
  const child = derive(
    v8,
    {
      name: 'v7',
      title: 'test',
      source: 'test',
      expect: {},
    },
    'test inheritance',
  );
  const key = 'populate.no-guest-memfd' as ExpectKey;
  const base = child.expect[key]!;
  const mark = (src: string): string | undefined => {
    const p = audit({ ...child, expect: { [key]: { ...base, source: `${src} — as v8: x`, unconfirmed: undefined } } }, () => false, 'not read').expect[key]
      ?.unconfirmed;
    return p;
  };
  t.equal(mark('read in v7 20/45'), undefined, 'a v7 reading is its basis');
  t.match(mark('v8 19/43 (changelog since v7: reworked)'), /not read/, 'a v8 changelog "since v7" is no basis for v7');
  t.match(mark('v8 19/43'), /not read/, 'a v8 source alone is no basis');
});
