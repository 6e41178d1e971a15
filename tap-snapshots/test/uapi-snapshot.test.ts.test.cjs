/* IMPORTANT
 * This snapshot file is auto-generated, but designed for humans.
 * It should be checked into source control and tracked carefully.
 * Re-generate by setting TAP_SNAPSHOT=1 and running tests.
 * Make sure to inspect the output below.  Do not ignore changes!
 */
'use strict'
exports[`test/uapi-snapshot.test.ts > TAP > absent: realm uAPI > absent 1`] = `
Object {
  "cap": "KVM_CAP_ARM_RME = 300",
  "config": null,
  "era": "absent",
  "initIpa": null,
  "ioctls": Array [],
  "maxVcpuFeatures": 7,
  "measure": null,
  "populate": null,
  "recFeature": null,
  "staleCaps": null,
  "subcmd": null,
  "vmType": Object {
    "fieldMask": "0xf00",
    "realm": "0x100",
  },
}
`

exports[`test/uapi-snapshot.test.ts > TAP > generic KVM uAPI > capabilities and vCPU features 1`] = `
Object {
  "CAP": Object {
    "KVM_CAP_ARM_EL1_32BIT": 93,
    "KVM_CAP_ARM_PMU_V3": 126,
    "KVM_CAP_ARM_PSCI": 87,
    "KVM_CAP_ARM_PSCI_0_2": 102,
    "KVM_CAP_ARM_PTRAUTH_ADDRESS": 171,
    "KVM_CAP_ARM_PTRAUTH_GENERIC": 172,
    "KVM_CAP_ARM_SVE": 170,
    "KVM_CAP_ARM_VM_IPA_SIZE": 165,
    "KVM_CAP_GUEST_MEMFD": 234,
    "KVM_CAP_IRQCHIP": 0,
    "KVM_CAP_MAX_VCPUS": 66,
    "KVM_CAP_MEMORY_ATTRIBUTES": 233,
    "KVM_CAP_NR_VCPUS": 9,
    "KVM_CAP_USER_MEMORY": 3,
    "KVM_CAP_USER_MEMORY2": 231,
  },
  "VCPU_FEATURES": Object {
    "KVM_ARM_VCPU_EL1_32BIT": 1,
    "KVM_ARM_VCPU_PMU_V3": 3,
    "KVM_ARM_VCPU_POWER_OFF": 0,
    "KVM_ARM_VCPU_PSCI_0_2": 2,
    "KVM_ARM_VCPU_SVE": 4,
  },
}
`

exports[`test/uapi-snapshot.test.ts > TAP > generic KVM uAPI > ioctls 1`] = `
Array [
  "KVM_GET_API_VERSION = 0xae00 (_IOC none, type 0xae, nr 0x0, size 0; none; on system)",
  "KVM_CREATE_VM = 0xae01 (_IOC none, type 0xae, nr 0x1, size 0; int; on system, returns vm)",
  "KVM_CHECK_EXTENSION = 0xae03 (_IOC none, type 0xae, nr 0x3, size 0; int; on system)",
  "KVM_GET_VCPU_MMAP_SIZE = 0xae04 (_IOC none, type 0xae, nr 0x4, size 0; none; on system)",
  "KVM_CREATE_VCPU = 0xae41 (_IOC none, type 0xae, nr 0x41, size 0; int; on vm, returns vcpu)",
  "KVM_SET_USER_MEMORY_REGION = 0x4020ae46 (_IOC w, type 0xae, nr 0x46, size 32; struct kvm_userspace_memory_region; on vm)",
  "KVM_SET_USER_MEMORY_REGION2 = 0x40a0ae49 (_IOC w, type 0xae, nr 0x49, size 160; struct kvm_userspace_memory_region2; on vm)",
  "KVM_RUN = 0xae80 (_IOC none, type 0xae, nr 0x80, size 0; none; on vcpu)",
  "KVM_ENABLE_CAP = 0x4068aea3 (_IOC w, type 0xae, nr 0xa3, size 104; struct kvm_enable_cap; on vm)",
  "KVM_GET_ONE_REG = 0x4010aeab (_IOC w, type 0xae, nr 0xab, size 16; struct kvm_one_reg; on vcpu)",
  "KVM_SET_ONE_REG = 0x4010aeac (_IOC w, type 0xae, nr 0xac, size 16; struct kvm_one_reg; on vcpu)",
  "KVM_ARM_VCPU_INIT = 0x4020aeae (_IOC w, type 0xae, nr 0xae, size 32; struct kvm_vcpu_init; on vcpu)",
  "KVM_ARM_PREFERRED_TARGET = 0x8020aeaf (_IOC r, type 0xae, nr 0xaf, size 32; struct kvm_vcpu_init; on vm)",
  "KVM_ARM_VCPU_FINALIZE = 0x4004aec2 (_IOC w, type 0xae, nr 0xc2, size 4; int-ptr; on vcpu)",
  "KVM_SET_MEMORY_ATTRIBUTES = 0x4020aed2 (_IOC w, type 0xae, nr 0xd2, size 32; struct kvm_memory_attributes; on vm)",
  "KVM_CREATE_GUEST_MEMFD = 0xc040aed4 (_IOC rw, type 0xae, nr 0xd4, size 64; struct kvm_create_guest_memfd; on vm, returns gmem)",
  "KVM_CREATE_DEVICE = 0xc00caee0 (_IOC rw, type 0xae, nr 0xe0, size 12; struct kvm_create_device; on vm, returns device)",
  "KVM_SET_DEVICE_ATTR = 0x4018aee1 (_IOC w, type 0xae, nr 0xe1, size 24; struct kvm_device_attr; on device)",
]
`

exports[`test/uapi-snapshot.test.ts > TAP > generic KVM uAPI > ONE_REG ids 1`] = `
Object {
  "CORE_REG_PC": "0x6030000000100040",
  "CORE_REG_PSTATE": "0x6030000000100042",
  "CORE_REG_SP": "0x603000000010003e",
  "KVM_REG_ARCH_MASK": "0xff00000000000000",
  "KVM_REG_ARM_COPROC_MASK": "0xfff0000",
  "KVM_REG_ARM_CORE": "0x100000",
  "KVM_REG_ARM64": "0x6000000000000000",
  "KVM_REG_ARM64_SVE": "0x150000",
  "KVM_REG_ARM64_SVE_VLS": "0x606000000015ffff",
  "KVM_REG_SIZE_SHIFT": "0x34",
  "KVM_REG_SIZE_U512": "0x60000000000000",
  "KVM_REG_SIZE_U64": "0x30000000000000",
  "KVM_REGS": Object {
    "pc": 256,
    "pstate": 264,
    "size": 864,
    "sp": 248,
    "x0": 0,
  },
  "SVE_VLS_INDEX": "0xffff",
  "X0": "0x6030000000100000",
}
`

exports[`test/uapi-snapshot.test.ts > TAP > generic KVM uAPI > structs 1`] = `
Array [
  "struct kvm_userspace_memory_region (32 B): slot@0:u32, flags@4:u32, guest_phys_addr@8:u64, memory_size@16:u64, userspace_addr@24:ptr",
  "struct kvm_userspace_memory_region2 (160 B): slot@0:u32, flags@4:u32, guest_phys_addr@8:u64, memory_size@16:u64, userspace_addr@24:ptr, guest_memfd_offset@32:u64, guest_memfd@40:fd, pad1@44:u32(pad), pad2@48:u64[14](pad)",
  "struct kvm_enable_cap (104 B): cap@0:u32, flags@4:u32, args@8:u64[4], pad@40:u8[64](pad)",
  "struct kvm_vcpu_init (32 B): target@0:u32, features@4:u32[7]",
  "struct kvm_one_reg (16 B): id@0:u64, addr@8:ptr",
  "struct kvm_create_device (12 B): type@0:u32, fd@4:fd, flags@8:u32",
  "struct kvm_device_attr (24 B): flags@0:u32, group@4:u32, attr@8:u64, addr@16:ptr",
  "struct kvm_create_guest_memfd (64 B): size@0:u64, flags@8:u64, reserved@16:u64[6](reserved)",
  "struct kvm_memory_attributes (32 B): address@0:u64, size@8:u64, attributes@16:u64, flags@24:u64",
]
`

exports[`test/uapi-snapshot.test.ts > TAP > rfc-v1: realm uAPI > rfc-v1 1`] = `
Object {
  "cap": "KVM_CAP_ARM_RME = 300",
  "config": Object {
    "hash": Array [
      "KVM_CAP_ARM_RME_MEASUREMENT_ALGO_SHA256 = 0",
      "KVM_CAP_ARM_RME_MEASUREMENT_ALGO_SHA512 = 1",
    ],
    "items": Array [
      "KVM_CAP_ARM_RME_CFG_RPV = 0",
      "KVM_CAP_ARM_RME_CFG_HASH_ALGO = 1",
      "KVM_CAP_ARM_RME_CFG_SVE = 2",
      "KVM_CAP_ARM_RME_CFG_DBG = 3",
      "KVM_CAP_ARM_RME_CFG_PMU = 4",
    ],
    "struct": "struct kvm_cap_arm_rme_config_item (260 B): cfg@0:u32, data.RPV.rpv@4:u8[64], data.HASH_ALGO.hash_algo@4:u32, data.SVE.sve_vq@4:u32, data.DBG.num_brps@4:u32, data.DBG.num_wrps@8:u32, data.PMU.num_pmu_cntrs@4:u32",
  },
  "era": "rme",
  "initIpa": "struct kvm_cap_arm_rme_init_ipa_args (16 B): init_ipa_base@0:u64, init_ipa_size@8:u64",
  "ioctls": Array [],
  "maxVcpuFeatures": 7,
  "measure": null,
  "populate": "struct kvm_cap_arm_rme_populate_realm_args (16 B): populate_ipa_base@0:u64, populate_ipa_size@8:u64",
  "recFeature": "KVM_ARM_VCPU_REC = 7",
  "staleCaps": null,
  "subcmd": Array [
    "KVM_CAP_ARM_RME_CONFIG_REALM = 0",
    "KVM_CAP_ARM_RME_CREATE_RD = 1",
    "KVM_CAP_ARM_RME_INIT_IPA_REALM = 2",
    "KVM_CAP_ARM_RME_POPULATE_REALM = 3",
    "KVM_CAP_ARM_RME_ACTIVATE_REALM = 4",
  ],
  "vmType": Object {
    "fieldMask": "0xf00",
    "realm": "0x100",
  },
}
`

exports[`test/uapi-snapshot.test.ts > TAP > v10: realm uAPI > v10 1`] = `
Object {
  "cap": "KVM_CAP_ARM_RME = 244 (upstream later: KVM_CAP_GUEST_MEMFD_MMAP)",
  "config": Object {
    "hash": Array [
      "ARM_RME_CONFIG_HASH_ALGO_SHA256 = 0",
      "ARM_RME_CONFIG_HASH_ALGO_SHA512 = 1",
    ],
    "items": Array [
      "ARM_RME_CONFIG_RPV = 0",
      "ARM_RME_CONFIG_HASH_ALGO = 1",
    ],
    "struct": "struct arm_rme_config (260 B): cfg@0:u32, data.RPV.rpv@4:u8[64], data.HASH_ALGO.hash_algo@4:u32, data.SVE.sve_vq@4:u32, data.DBG.num_brps@4:u32, data.DBG.num_wrps@8:u32, data.PMU.num_pmu_cntrs@4:u32",
  },
  "era": "rme",
  "initIpa": "struct arm_rme_init_ripas (32 B): base@0:u64, size@8:u64, reserved@16:u64[2](reserved)",
  "ioctls": Array [
    Array [
      "KVM_ARM_VCPU_RMM_PSCI_COMPLETE = 0x4018aed6 (_IOC w, type 0xae, nr 0xd6, size 24; struct kvm_arm_rmm_psci_complete; on vcpu)",
      "struct kvm_arm_rmm_psci_complete (24 B): target_mpidr@0:u64, psci_status@8:u32, padding@12:u32[3](reserved)",
    ],
  ],
  "maxVcpuFeatures": 10,
  "measure": "KVM_ARM_RME_POPULATE_FLAGS_MEASURE = 1 << 0",
  "populate": "struct arm_rme_populate_realm (32 B): base@0:u64, size@8:u64, flags@16:u32, reserved@20:u32[3](reserved)",
  "recFeature": "KVM_ARM_VCPU_REC = 9",
  "staleCaps": null,
  "subcmd": Array [
    "KVM_CAP_ARM_RME_CONFIG_REALM = 0",
    "KVM_CAP_ARM_RME_CREATE_REALM = 1",
    "KVM_CAP_ARM_RME_INIT_RIPAS_REALM = 2",
    "KVM_CAP_ARM_RME_POPULATE_REALM = 3",
    "KVM_CAP_ARM_RME_ACTIVATE_REALM = 4",
  ],
  "vmType": Object {
    "fieldMask": "0xf00",
    "realm": "0x100",
  },
}
`

exports[`test/uapi-snapshot.test.ts > TAP > v12: realm uAPI > v12 1`] = `
Object {
  "cap": "KVM_CAP_ARM_RMI = 247 (upstream later: KVM_CAP_S390_KEYOP)",
  "config": null,
  "era": "rmi",
  "initIpa": null,
  "ioctls": Array [
    Array [
      "KVM_ARM_VCPU_RMI_PSCI_COMPLETE = 0x4018aed6 (_IOC w, type 0xae, nr 0xd6, size 24; struct kvm_arm_rmi_psci_complete; on vcpu)",
      "struct kvm_arm_rmi_psci_complete (24 B): target_mpidr@0:u64, psci_status@8:u32, padding@12:u32[3](reserved)",
    ],
    Array [
      "KVM_ARM_RMI_POPULATE = 0x4020aed7 (_IOC w, type 0xae, nr 0xd7, size 32; struct kvm_arm_rmi_populate; on vm)",
      "struct kvm_arm_rmi_populate (32 B): base@0:u64, size@8:u64, source_uaddr@16:ptr, flags@24:u32, reserved@28:u32(reserved)",
    ],
  ],
  "maxVcpuFeatures": 10,
  "measure": "KVM_ARM_RMI_POPULATE_FLAGS_MEASURE = 1 << 0",
  "populate": null,
  "recFeature": null,
  "staleCaps": Array [
    300,
    240,
    243,
    244,
  ],
  "subcmd": null,
  "vmType": Object {
    "fieldMask": "0xf00",
    "realm": "0x100",
  },
}
`

exports[`test/uapi-snapshot.test.ts > TAP > v13: realm uAPI > v13 1`] = `
Object {
  "cap": "KVM_CAP_ARM_RMI = 248 (upstream later: KVM_CAP_S390_VSIE_ESAMODE)",
  "config": null,
  "era": "rmi",
  "initIpa": null,
  "ioctls": Array [
    Array [
      "KVM_ARM_VCPU_RMI_PSCI_COMPLETE = 0x4018aed6 (_IOC w, type 0xae, nr 0xd6, size 24; struct kvm_arm_rmi_psci_complete; on vcpu)",
      "struct kvm_arm_rmi_psci_complete (24 B): target_mpidr@0:u64, psci_status@8:u32, padding@12:u32[3](reserved)",
    ],
    Array [
      "KVM_ARM_RMI_POPULATE = 0xc020aed7 (_IOC rw, type 0xae, nr 0xd7, size 32; struct kvm_arm_rmi_populate; on vm)",
      "struct kvm_arm_rmi_populate (32 B): base@0:u64, size@8:u64, source_uaddr@16:ptr, flags@24:u32, reserved@28:u32(reserved)",
    ],
  ],
  "maxVcpuFeatures": 10,
  "measure": "KVM_ARM_RMI_POPULATE_FLAGS_MEASURE = 1 << 0",
  "populate": null,
  "recFeature": null,
  "staleCaps": Array [
    300,
    240,
    243,
    244,
    247,
  ],
  "subcmd": null,
  "vmType": Object {
    "fieldMask": "0xf00",
    "realm": "0x100",
  },
}
`

exports[`test/uapi-snapshot.test.ts > TAP > v14: realm uAPI > v14 1`] = `
Object {
  "cap": "KVM_CAP_ARM_RMI = 249",
  "config": null,
  "era": "rmi",
  "initIpa": null,
  "ioctls": Array [
    Array [
      "KVM_ARM_RMI_POPULATE = 0xc020aed7 (_IOC rw, type 0xae, nr 0xd7, size 32; struct kvm_arm_rmi_populate; on vm)",
      "struct kvm_arm_rmi_populate (32 B): base@0:u64, size@8:u64, source_uaddr@16:ptr, flags@24:u32, reserved@28:u32(reserved)",
    ],
  ],
  "maxVcpuFeatures": 9,
  "measure": "KVM_ARM_RMI_POPULATE_FLAGS_MEASURE = 1 << 0",
  "populate": null,
  "recFeature": null,
  "staleCaps": Array [
    300,
    240,
    243,
    244,
    247,
    248,
  ],
  "subcmd": null,
  "vmType": Object {
    "fieldMask": "0xc0000000",
    "protected": "0x80000000",
    "realm": "0x40000000",
  },
}
`

exports[`test/uapi-snapshot.test.ts > TAP > v2: realm uAPI > v2 1`] = `
Object {
  "cap": "KVM_CAP_ARM_RME = 300",
  "config": Object {
    "hash": Array [
      "KVM_CAP_ARM_RME_MEASUREMENT_ALGO_SHA256 = 0",
      "KVM_CAP_ARM_RME_MEASUREMENT_ALGO_SHA512 = 1",
    ],
    "items": Array [
      "KVM_CAP_ARM_RME_CFG_RPV = 0",
      "KVM_CAP_ARM_RME_CFG_HASH_ALGO = 1",
    ],
    "struct": "struct kvm_cap_arm_rme_config_item (260 B): cfg@0:u32, data.RPV.rpv@4:u8[64], data.HASH_ALGO.hash_algo@4:u32, data.SVE.sve_vq@4:u32, data.DBG.num_brps@4:u32, data.DBG.num_wrps@8:u32, data.PMU.num_pmu_cntrs@4:u32",
  },
  "era": "rme",
  "initIpa": "struct kvm_cap_arm_rme_init_ipa_args (32 B): init_ipa_base@0:u64, init_ipa_size@8:u64, reserved@16:u32[4](reserved)",
  "ioctls": Array [
    Array [
      "KVM_ARM_VCPU_RMM_PSCI_COMPLETE = 0x4018aed2 (_IOC w, type 0xae, nr 0xd2, size 24; struct kvm_arm_rmm_psci_complete; on vcpu)",
      "struct kvm_arm_rmm_psci_complete (24 B): target_mpidr@0:u64, psci_status@8:u32, padding@12:u32[3](reserved)",
    ],
  ],
  "maxVcpuFeatures": 9,
  "measure": "KVM_ARM_RME_POPULATE_FLAGS_MEASURE = 1 << 0",
  "populate": "struct kvm_cap_arm_rme_populate_realm_args (32 B): populate_ipa_base@0:u64, populate_ipa_size@8:u64, flags@16:u32, reserved@20:u32[3](reserved)",
  "recFeature": "KVM_ARM_VCPU_REC = 8",
  "staleCaps": null,
  "subcmd": Array [
    "KVM_CAP_ARM_RME_CONFIG_REALM = 0",
    "KVM_CAP_ARM_RME_CREATE_RD = 1",
    "KVM_CAP_ARM_RME_INIT_IPA_REALM = 2",
    "KVM_CAP_ARM_RME_POPULATE_REALM = 3",
    "KVM_CAP_ARM_RME_ACTIVATE_REALM = 4",
  ],
  "vmType": Object {
    "fieldMask": "0xf00",
    "realm": "0x100",
  },
}
`

exports[`test/uapi-snapshot.test.ts > TAP > v3: realm uAPI > v3 1`] = `
Object {
  "cap": "KVM_CAP_ARM_RME = 300",
  "config": Object {
    "hash": Array [
      "KVM_CAP_ARM_RME_MEASUREMENT_ALGO_SHA256 = 0",
      "KVM_CAP_ARM_RME_MEASUREMENT_ALGO_SHA512 = 1",
    ],
    "items": Array [
      "KVM_CAP_ARM_RME_CFG_RPV = 0",
      "KVM_CAP_ARM_RME_CFG_HASH_ALGO = 1",
    ],
    "struct": "struct kvm_cap_arm_rme_config_item (260 B): cfg@0:u32, data.RPV.rpv@4:u8[64], data.HASH_ALGO.hash_algo@4:u32, data.SVE.sve_vq@4:u32, data.DBG.num_brps@4:u32, data.DBG.num_wrps@8:u32, data.PMU.num_pmu_cntrs@4:u32",
  },
  "era": "rme",
  "initIpa": "struct kvm_cap_arm_rme_init_ipa_args (32 B): init_ipa_base@0:u64, init_ipa_size@8:u64, reserved@16:u32[4](reserved)",
  "ioctls": Array [
    Array [
      "KVM_ARM_VCPU_RMM_PSCI_COMPLETE = 0x4018aed2 (_IOC w, type 0xae, nr 0xd2, size 24; struct kvm_arm_rmm_psci_complete; on vcpu)",
      "struct kvm_arm_rmm_psci_complete (24 B): target_mpidr@0:u64, psci_status@8:u32, padding@12:u32[3](reserved)",
    ],
  ],
  "maxVcpuFeatures": 9,
  "measure": "KVM_ARM_RME_POPULATE_FLAGS_MEASURE = 1 << 0",
  "populate": "struct kvm_cap_arm_rme_populate_realm_args (32 B): populate_ipa_base@0:u64, populate_ipa_size@8:u64, flags@16:u32, reserved@20:u32[3](reserved)",
  "recFeature": "KVM_ARM_VCPU_REC = 8",
  "staleCaps": null,
  "subcmd": Array [
    "KVM_CAP_ARM_RME_CONFIG_REALM = 0",
    "KVM_CAP_ARM_RME_CREATE_RD = 1",
    "KVM_CAP_ARM_RME_INIT_IPA_REALM = 2",
    "KVM_CAP_ARM_RME_POPULATE_REALM = 3",
    "KVM_CAP_ARM_RME_ACTIVATE_REALM = 4",
  ],
  "vmType": Object {
    "fieldMask": "0xf00",
    "realm": "0x100",
  },
}
`

exports[`test/uapi-snapshot.test.ts > TAP > v4: realm uAPI > v4 1`] = `
Object {
  "cap": "KVM_CAP_ARM_RME = 300",
  "config": Object {
    "hash": Array [
      "KVM_CAP_ARM_RME_MEASUREMENT_ALGO_SHA256 = 0",
      "KVM_CAP_ARM_RME_MEASUREMENT_ALGO_SHA512 = 1",
    ],
    "items": Array [
      "KVM_CAP_ARM_RME_CFG_RPV = 0",
      "KVM_CAP_ARM_RME_CFG_HASH_ALGO = 1",
    ],
    "struct": "struct kvm_cap_arm_rme_config_item (260 B): cfg@0:u32, data.RPV.rpv@4:u8[64], data.HASH_ALGO.hash_algo@4:u32, data.SVE.sve_vq@4:u32, data.DBG.num_brps@4:u32, data.DBG.num_wrps@8:u32, data.PMU.num_pmu_cntrs@4:u32",
  },
  "era": "rme",
  "initIpa": "struct kvm_cap_arm_rme_init_ipa_args (32 B): init_ipa_base@0:u64, init_ipa_size@8:u64, reserved@16:u32[4](reserved)",
  "ioctls": Array [
    Array [
      "KVM_ARM_VCPU_RMM_PSCI_COMPLETE = 0x4018aed2 (_IOC w, type 0xae, nr 0xd2, size 24; struct kvm_arm_rmm_psci_complete; on vcpu)",
      "struct kvm_arm_rmm_psci_complete (24 B): target_mpidr@0:u64, psci_status@8:u32, padding@12:u32[3](reserved)",
    ],
  ],
  "maxVcpuFeatures": 9,
  "measure": "KVM_ARM_RME_POPULATE_FLAGS_MEASURE = 1 << 0",
  "populate": "struct kvm_cap_arm_rme_populate_realm_args (32 B): populate_ipa_base@0:u64, populate_ipa_size@8:u64, flags@16:u32, reserved@20:u32[3](reserved)",
  "recFeature": "KVM_ARM_VCPU_REC = 8",
  "staleCaps": null,
  "subcmd": Array [
    "KVM_CAP_ARM_RME_CONFIG_REALM = 0",
    "KVM_CAP_ARM_RME_CREATE_RD = 1",
    "KVM_CAP_ARM_RME_INIT_IPA_REALM = 2",
    "KVM_CAP_ARM_RME_POPULATE_REALM = 3",
    "KVM_CAP_ARM_RME_ACTIVATE_REALM = 4",
  ],
  "vmType": Object {
    "fieldMask": "0xf00",
    "realm": "0x100",
  },
}
`

exports[`test/uapi-snapshot.test.ts > TAP > v5: realm uAPI > v5 1`] = `
Object {
  "cap": "KVM_CAP_ARM_RME = 300",
  "config": Object {
    "hash": Array [
      "KVM_CAP_ARM_RME_MEASUREMENT_ALGO_SHA256 = 0",
      "KVM_CAP_ARM_RME_MEASUREMENT_ALGO_SHA512 = 1",
    ],
    "items": Array [
      "KVM_CAP_ARM_RME_CFG_RPV = 0",
      "KVM_CAP_ARM_RME_CFG_HASH_ALGO = 1",
    ],
    "struct": "struct kvm_cap_arm_rme_config_item (260 B): cfg@0:u32, data.RPV.rpv@4:u8[64], data.HASH_ALGO.hash_algo@4:u32, data.SVE.sve_vq@4:u32, data.DBG.num_brps@4:u32, data.DBG.num_wrps@8:u32, data.PMU.num_pmu_cntrs@4:u32",
  },
  "era": "rme",
  "initIpa": "struct kvm_cap_arm_rme_init_ipa_args (32 B): init_ipa_base@0:u64, init_ipa_size@8:u64, reserved@16:u32[4](reserved)",
  "ioctls": Array [
    Array [
      "KVM_ARM_VCPU_RMM_PSCI_COMPLETE = 0x4018aed2 (_IOC w, type 0xae, nr 0xd2, size 24; struct kvm_arm_rmm_psci_complete; on vcpu)",
      "struct kvm_arm_rmm_psci_complete (24 B): target_mpidr@0:u64, psci_status@8:u32, padding@12:u32[3](reserved)",
    ],
  ],
  "maxVcpuFeatures": 7,
  "measure": "KVM_ARM_RME_POPULATE_FLAGS_MEASURE = 1 << 0",
  "populate": "struct kvm_cap_arm_rme_populate_realm_args (32 B): populate_ipa_base@0:u64, populate_ipa_size@8:u64, flags@16:u32, reserved@20:u32[3](reserved)",
  "recFeature": "KVM_ARM_VCPU_REC = 8",
  "staleCaps": null,
  "subcmd": Array [
    "KVM_CAP_ARM_RME_CONFIG_REALM = 0",
    "KVM_CAP_ARM_RME_CREATE_RD = 1",
    "KVM_CAP_ARM_RME_INIT_IPA_REALM = 2",
    "KVM_CAP_ARM_RME_POPULATE_REALM = 3",
    "KVM_CAP_ARM_RME_ACTIVATE_REALM = 4",
  ],
  "vmType": Object {
    "fieldMask": "0xf00",
    "realm": "0x100",
  },
}
`

exports[`test/uapi-snapshot.test.ts > TAP > v6: realm uAPI > v6 1`] = `
Object {
  "cap": "KVM_CAP_ARM_RME = 300",
  "config": Object {
    "hash": Array [
      "KVM_CAP_ARM_RME_MEASUREMENT_ALGO_SHA256 = 0",
      "KVM_CAP_ARM_RME_MEASUREMENT_ALGO_SHA512 = 1",
    ],
    "items": Array [
      "KVM_CAP_ARM_RME_CFG_RPV = 0",
      "KVM_CAP_ARM_RME_CFG_HASH_ALGO = 1",
    ],
    "struct": "struct kvm_cap_arm_rme_config_item (260 B): cfg@0:u32, data.RPV.rpv@4:u8[64], data.HASH_ALGO.hash_algo@4:u32, data.SVE.sve_vq@4:u32, data.DBG.num_brps@4:u32, data.DBG.num_wrps@8:u32, data.PMU.num_pmu_cntrs@4:u32",
  },
  "era": "rme",
  "initIpa": "struct kvm_cap_arm_rme_init_ipa_args (32 B): init_ipa_base@0:u64, init_ipa_size@8:u64, reserved@16:u32[4](reserved)",
  "ioctls": Array [
    Array [
      "KVM_ARM_VCPU_RMM_PSCI_COMPLETE = 0x4018aed2 (_IOC w, type 0xae, nr 0xd2, size 24; struct kvm_arm_rmm_psci_complete; on vcpu)",
      "struct kvm_arm_rmm_psci_complete (24 B): target_mpidr@0:u64, psci_status@8:u32, padding@12:u32[3](reserved)",
    ],
  ],
  "maxVcpuFeatures": 9,
  "measure": "KVM_ARM_RME_POPULATE_FLAGS_MEASURE = 1 << 0",
  "populate": "struct kvm_cap_arm_rme_populate_realm_args (32 B): populate_ipa_base@0:u64, populate_ipa_size@8:u64, flags@16:u32, reserved@20:u32[3](reserved)",
  "recFeature": "KVM_ARM_VCPU_REC = 8",
  "staleCaps": null,
  "subcmd": Array [
    "KVM_CAP_ARM_RME_CONFIG_REALM = 0",
    "KVM_CAP_ARM_RME_CREATE_RD = 1",
    "KVM_CAP_ARM_RME_INIT_IPA_REALM = 2",
    "KVM_CAP_ARM_RME_POPULATE_REALM = 3",
    "KVM_CAP_ARM_RME_ACTIVATE_REALM = 4",
  ],
  "vmType": Object {
    "fieldMask": "0xf00",
    "realm": "0x100",
  },
}
`

exports[`test/uapi-snapshot.test.ts > TAP > v7: realm uAPI > v7 1`] = `
Object {
  "cap": "KVM_CAP_ARM_RME = 300",
  "config": Object {
    "hash": Array [
      "ARM_RME_CONFIG_MEASUREMENT_ALGO_SHA256 = 0",
      "ARM_RME_CONFIG_MEASUREMENT_ALGO_SHA512 = 1",
    ],
    "items": Array [
      "ARM_RME_CONFIG_RPV = 0",
      "ARM_RME_CONFIG_HASH_ALGO = 1",
    ],
    "struct": "struct arm_rme_config (260 B): cfg@0:u32, data.RPV.rpv@4:u8[64], data.HASH_ALGO.hash_algo@4:u32, data.SVE.sve_vq@4:u32, data.DBG.num_brps@4:u32, data.DBG.num_wrps@8:u32, data.PMU.num_pmu_cntrs@4:u32",
  },
  "era": "rme",
  "initIpa": "struct arm_rme_init_ripas (32 B): base@0:u64, size@8:u64, reserved@16:u64[2](reserved)",
  "ioctls": Array [
    Array [
      "KVM_ARM_VCPU_RMM_PSCI_COMPLETE = 0x4018aed2 (_IOC w, type 0xae, nr 0xd2, size 24; struct kvm_arm_rmm_psci_complete; on vcpu)",
      "struct kvm_arm_rmm_psci_complete (24 B): target_mpidr@0:u64, psci_status@8:u32, padding@12:u32[3](reserved)",
    ],
  ],
  "maxVcpuFeatures": 9,
  "measure": "KVM_ARM_RME_POPULATE_FLAGS_MEASURE = 1 << 0",
  "populate": "struct arm_rme_populate_realm (32 B): base@0:u64, size@8:u64, flags@16:u32, reserved@20:u32[3](reserved)",
  "recFeature": "KVM_ARM_VCPU_REC = 8",
  "staleCaps": null,
  "subcmd": Array [
    "KVM_CAP_ARM_RME_CONFIG_REALM = 0",
    "KVM_CAP_ARM_RME_CREATE_REALM = 1",
    "KVM_CAP_ARM_RME_INIT_RIPAS_REALM = 2",
    "KVM_CAP_ARM_RME_POPULATE_REALM = 3",
    "KVM_CAP_ARM_RME_ACTIVATE_REALM = 4",
  ],
  "vmType": Object {
    "fieldMask": "0xf00",
    "realm": "0x100",
  },
}
`

exports[`test/uapi-snapshot.test.ts > TAP > v8: realm uAPI > v8 1`] = `
Object {
  "cap": "KVM_CAP_ARM_RME = 240 (upstream later: KVM_CAP_ARM_EL2)",
  "config": Object {
    "hash": Array [
      "ARM_RME_CONFIG_MEASUREMENT_ALGO_SHA256 = 0",
      "ARM_RME_CONFIG_MEASUREMENT_ALGO_SHA512 = 1",
    ],
    "items": Array [
      "ARM_RME_CONFIG_RPV = 0",
      "ARM_RME_CONFIG_HASH_ALGO = 1",
    ],
    "struct": "struct arm_rme_config (260 B): cfg@0:u32, data.RPV.rpv@4:u8[64], data.HASH_ALGO.hash_algo@4:u32, data.SVE.sve_vq@4:u32, data.DBG.num_brps@4:u32, data.DBG.num_wrps@8:u32, data.PMU.num_pmu_cntrs@4:u32",
  },
  "era": "rme",
  "initIpa": "struct arm_rme_init_ripas (32 B): base@0:u64, size@8:u64, reserved@16:u64[2](reserved)",
  "ioctls": Array [
    Array [
      "KVM_ARM_VCPU_RMM_PSCI_COMPLETE = 0x4018aed6 (_IOC w, type 0xae, nr 0xd6, size 24; struct kvm_arm_rmm_psci_complete; on vcpu)",
      "struct kvm_arm_rmm_psci_complete (24 B): target_mpidr@0:u64, psci_status@8:u32, padding@12:u32[3](reserved)",
    ],
  ],
  "maxVcpuFeatures": 10,
  "measure": "KVM_ARM_RME_POPULATE_FLAGS_MEASURE = 1 << 0",
  "populate": "struct arm_rme_populate_realm (32 B): base@0:u64, size@8:u64, flags@16:u32, reserved@20:u32[3](reserved)",
  "recFeature": "KVM_ARM_VCPU_REC = 9",
  "staleCaps": null,
  "subcmd": Array [
    "KVM_CAP_ARM_RME_CONFIG_REALM = 0",
    "KVM_CAP_ARM_RME_CREATE_REALM = 1",
    "KVM_CAP_ARM_RME_INIT_RIPAS_REALM = 2",
    "KVM_CAP_ARM_RME_POPULATE_REALM = 3",
    "KVM_CAP_ARM_RME_ACTIVATE_REALM = 4",
  ],
  "vmType": Object {
    "fieldMask": "0xf00",
    "realm": "0x100",
  },
}
`

exports[`test/uapi-snapshot.test.ts > TAP > v9: realm uAPI > v9 1`] = `
Object {
  "cap": "KVM_CAP_ARM_RME = 243 (upstream later: KVM_CAP_ARM_CACHEABLE_PFNMAP_SUPPORTED)",
  "config": Object {
    "hash": Array [
      "ARM_RME_CONFIG_HASH_ALGO_SHA256 = 0",
      "ARM_RME_CONFIG_HASH_ALGO_SHA512 = 1",
    ],
    "items": Array [
      "ARM_RME_CONFIG_RPV = 0",
      "ARM_RME_CONFIG_HASH_ALGO = 1",
    ],
    "struct": "struct arm_rme_config (260 B): cfg@0:u32, data.RPV.rpv@4:u8[64], data.HASH_ALGO.hash_algo@4:u32, data.SVE.sve_vq@4:u32, data.DBG.num_brps@4:u32, data.DBG.num_wrps@8:u32, data.PMU.num_pmu_cntrs@4:u32",
  },
  "era": "rme",
  "initIpa": "struct arm_rme_init_ripas (32 B): base@0:u64, size@8:u64, reserved@16:u64[2](reserved)",
  "ioctls": Array [
    Array [
      "KVM_ARM_VCPU_RMM_PSCI_COMPLETE = 0x4018aed6 (_IOC w, type 0xae, nr 0xd6, size 24; struct kvm_arm_rmm_psci_complete; on vcpu)",
      "struct kvm_arm_rmm_psci_complete (24 B): target_mpidr@0:u64, psci_status@8:u32, padding@12:u32[3](reserved)",
    ],
  ],
  "maxVcpuFeatures": 10,
  "measure": "KVM_ARM_RME_POPULATE_FLAGS_MEASURE = 1 << 0",
  "populate": "struct arm_rme_populate_realm (32 B): base@0:u64, size@8:u64, flags@16:u32, reserved@20:u32[3](reserved)",
  "recFeature": "KVM_ARM_VCPU_REC = 9",
  "staleCaps": null,
  "subcmd": Array [
    "KVM_CAP_ARM_RME_CONFIG_REALM = 0",
    "KVM_CAP_ARM_RME_CREATE_REALM = 1",
    "KVM_CAP_ARM_RME_INIT_RIPAS_REALM = 2",
    "KVM_CAP_ARM_RME_POPULATE_REALM = 3",
    "KVM_CAP_ARM_RME_ACTIVATE_REALM = 4",
  ],
  "vmType": Object {
    "fieldMask": "0xf00",
    "realm": "0x100",
  },
}
`
