// The scenario DSL: kernel objects (the KVM system fd, a VM, a vCPU, a
// mapping) whose methods issue exactly one uAPI call each. Raw calls return
// the result and scenarios judge it; a call that makes an object asserts
// (`createVcpu()` fails the set-up, so the check is blocked) and has a raw
// twin (`__createVcpu()`), as the KVM selftests' vm_ioctl/__vm_ioctl.
export { safeNumber } from '../../../uapi/bytes.ts';
export { BAD_USER_POINTER, capName } from './common.ts';
export { Kvm, describeVmType } from './kvm.ts';
export { Mem } from './mem.ts';
export { SetupFailure, setupFailure } from './setup.ts';
export { KVM_REG_ARM64_SVE_VLS, Vcpu, type RunOutcome } from './vcpu.ts';
export { Vm, type MemslotSpec } from './vm.ts';
