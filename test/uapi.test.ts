// Pins every request number and struct layout against values computed by hand
// from the _IOC encoding: dir<<30 | size<<16 | 0xAE<<8 | nr (dir W=1, R=2, RW=3).
import t from 'tap';
import * as K from '../harness/kvm-uapi.ts';
import { decodeIoc } from '../harness/ioc.ts';
import { getProfile } from '../harness/abi/index.ts';
const rfcV1 = getProfile('rfc-v1')!;
import { encodeConfigItem, encodeInitIpaArgs, encodePopulateArgs, realmVmType } from '../harness/abi/encode.ts';
import { toHex } from '../harness/wire.ts';

t.test('generic KVM ioctl numbers', async (t) => {
  const pinned: [number, number, string][] = [
    [K.KVM_GET_API_VERSION, 0x0000ae00, '_IO(0xAE, 0x00)'],
    [K.KVM_CREATE_VM, 0x0000ae01, '_IO(0xAE, 0x01)'],
    [K.KVM_CHECK_EXTENSION, 0x0000ae03, '_IO(0xAE, 0x03)'],
    [K.KVM_GET_VCPU_MMAP_SIZE, 0x0000ae04, '_IO(0xAE, 0x04)'],
    [K.KVM_CREATE_VCPU, 0x0000ae41, '_IO(0xAE, 0x41)'],
    [K.KVM_SET_USER_MEMORY_REGION, 0x4020ae46, '_IOW(0xAE, 0x46, 32)'],
    [K.KVM_SET_USER_MEMORY_REGION2, 0x40a0ae49, '_IOW(0xAE, 0x49, 160)'],
    [K.KVM_RUN, 0x0000ae80, '_IO(0xAE, 0x80)'],
    [K.KVM_ENABLE_CAP, 0x4068aea3, '_IOW(0xAE, 0xa3, 104)'],
    [K.KVM_GET_ONE_REG, 0x4010aeab, '_IOW(0xAE, 0xab, 16)'],
    [K.KVM_SET_ONE_REG, 0x4010aeac, '_IOW(0xAE, 0xac, 16)'],
    [K.KVM_ARM_VCPU_INIT, 0x4020aeae, '_IOW(0xAE, 0xae, 32)'],
    [K.KVM_ARM_PREFERRED_TARGET, 0x8020aeaf, '_IOR(0xAE, 0xaf, 32)'],
    [K.KVM_ARM_VCPU_FINALIZE, 0x4004aec2, '_IOW(0xAE, 0xc2, int)'],
    [K.KVM_SET_MEMORY_ATTRIBUTES, 0x4020aed2, '_IOW(0xAE, 0xd2, 32)'],
    [K.KVM_CREATE_GUEST_MEMFD, 0xc040aed4, '_IOWR(0xAE, 0xd4, 64)'],
    [K.KVM_CREATE_DEVICE, 0xc00caee0, '_IOWR(0xAE, 0xe0, 12)'],
    [K.KVM_SET_DEVICE_ATTR, 0x4018aee1, '_IOW(0xAE, 0xe1, 24)'],
  ];
  for (const [got, want, what] of pinned) t.equal(got, want, `${what} = 0x${want.toString(16)}`);
  t.same(decodeIoc(0xc040aed4), { dir: 3, size: 64, type: 0xae, nr: 0xd4 });
});

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

t.test('RFC v1 realm numbers and structs', async (t) => {
  t.equal(rfcV1.cap.nr, 300, 'KVM_CAP_ARM_RME = 300');
  t.same(rfcV1.subcmd, { CONFIG_REALM: 0, CREATE: 1, INIT_IPA: 2, POPULATE: 3, ACTIVATE: 4 });
  t.equal(rfcV1.recFeature, 7, 'KVM_ARM_VCPU_REC = 7');
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
  for (const [k, e] of Object.entries(rfcV1.expect)) t.ok(e && e.source.length > 3, `${k}: ${e?.source}`);
});

t.test('describeVmType prints the high bits unsigned (KVM_CREATE_VM takes an unsigned long)', async (t) => {
  const { describeVmType } = await import('../harness/dsl.ts');
  const { PROFILES } = await import('../harness/abi/index.ts');
  const v14 = PROFILES.get('v14');
  const v10 = PROFILES.get('v10');
  if (!v14 || !v10) throw new Error('profiles v10/v14 missing');
  t.equal(describeVmType(v14, 0x40000000 | 40), 'REALM | IPA 40');
  t.equal(describeVmType(v10, 0x40000000 | 40), '0x40000000 | IPA 40');
  t.equal(describeVmType(v10, (0xc0000000 | 40) >> 0), '0xc0000000 | IPA 40', 'bit 31 set, passed as a signed int');
  t.equal(describeVmType(v10, 0x80000000), '0x80000000 | IPA default');
  t.equal(describeVmType(v10, 0x100 | 33), 'REALM | IPA 33');
});
