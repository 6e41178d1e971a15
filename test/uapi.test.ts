// The encoders' bytes for the generic and RFC v1 structs, against values
// computed by hand. The numbers themselves are pinned once, in
// test/uapi-snapshot.test.ts.
import t from 'tap';
import * as K from '../uapi/kvm-uapi.ts';
import { getProfile } from '../profiles/index.ts';
const rfcV1 = getProfile('rfc-v1')!;
import { encodeConfigItem, encodeInitIpaArgs, encodePopulateArgs, realmVmType } from '../profiles/encode.ts';
import { toHex } from '../uapi/wire.ts';

t.test('generic struct layouts', async (t) => {
  t.equal(
    toHex(K.encodeMemoryRegion({ slot: 1, flags: 2, gpa: 0x80000000, size: 0x200000, uaddr: 0x1122334455 })),
    '01000000' + '02000000' + '0000008000000000' + '0000200000000000' + '5544332211000000',
    'kvm_userspace_memory_region: u32 slot, u32 flags, u64 gpa, u64 size, u64 uaddr',
  );
  const cap = K.encodeEnableCap(300, [3, 0x1000], 0);
  t.equal(cap.length, 104, 'kvm_enable_cap is 104 bytes');
  t.equal(toHex(cap.slice(0, 24)), '2c010000' + '00000000' + '0300000000000000' + '0010000000000000', 'cap, flags, args[0], args[1]');
  t.equal(toHex(K.encodeVcpuInit(5, [2, 7, 33])), '05000000' + '84000000' + '02000000' + '0'.repeat(40), 'features[0] bits 2 and 7, features[1] bit 1');
  t.equal(K.CORE_REG_PC, 0x6030000000100040n, 'PC one-reg id');
  t.equal(K.coreRegX(0), 0x6030000000100000n, 'X0 one-reg id');
  t.equal(K.coreRegX(30), 0x603000000010003cn, 'X30 one-reg id');
});

t.test('RFC v1 realm structs', async (t) => {
  t.equal(realmVmType(rfcV1, 40), 0x128, 'realm type 0x100 | IPA 40');
  const rpv = Uint8Array.from({ length: 64 }, (_, i) => i);
  const item = encodeConfigItem(rfcV1, { item: 'RPV', rpv });
  t.equal(item.length, 260, 'config item is u32 cfg + 256-byte union');
  t.equal(toHex(item.slice(0, 8)), '00000000' + '00010203', 'cfg 0 then the RPV bytes');
  t.equal(toHex(encodeConfigItem(rfcV1, { item: 'HASH_ALGO', algo: 1 }).slice(0, 8)), '01000000' + '01000000', 'HASH_ALGO = SHA512');
  t.equal(toHex(encodeConfigItem(rfcV1, { item: 'SVE', sveVq: 4 }).slice(0, 8)), '02000000' + '04000000', 'SVE sve_vq');
  t.equal(toHex(encodeConfigItem(rfcV1, { item: 'DBG', numBrps: 2, numWrps: 3 }).slice(0, 12)), '03000000' + '02000000' + '03000000', 'DBG brps, wrps');
  t.equal(toHex(encodeConfigItem(rfcV1, { item: 'PMU', numPmuCntrs: 6 }).slice(0, 8)), '04000000' + '06000000', 'PMU counters');
  t.equal(toHex(encodePopulateArgs(rfcV1, { base: 0x80000000, size: 0x1000 })), '0000008000000000' + '0010000000000000', 'populate args: 16 bytes, no flags');
  t.equal(encodeInitIpaArgs(rfcV1, { base: 0, size: 0 }).length, 16, 'init-IPA args: 16 bytes');
  t.throws(() => encodePopulateArgs(rfcV1, { base: 0, size: 0, flags: 1 }), 'RFC v1 populate has no flags field');
});

t.test('every RFC v1 expectation names its source', async (t) => {
  for (const [k, e] of Object.entries(rfcV1.expect)) t.ok(e.source.length > 3, `${k}: ${e.source}`);
});

t.test('describeVmType prints the high bits unsigned (KVM_CREATE_VM takes an unsigned long)', async (t) => {
  const { describeVmType } = await import('../harness/core/dsl/index.ts');
  const { PROFILES } = await import('../profiles/index.ts');
  const v14 = PROFILES.get('v14');
  const v10 = PROFILES.get('v10');
  if (!v14 || !v10) throw new Error('profiles v10/v14 missing');
  t.equal(describeVmType(v14, 0x40000000 | 40), 'REALM | IPA 40');
  t.equal(describeVmType(v10, 0x40000000 | 40), '0x40000000 | IPA 40');
  t.equal(describeVmType(v10, (0xc0000000 | 40) >> 0), '0xc0000000 | IPA 40', 'bit 31 set, passed as a signed int');
  t.equal(describeVmType(v10, 0x80000000), '0x80000000 | IPA default');
  t.equal(describeVmType(v10, 0x100 | 33), 'REALM | IPA 33');
});
