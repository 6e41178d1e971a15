// The emulated kernel: generic KVM for arm64 as Debian's 6.1 / upstream 6.2
// answers it (docs/spec/absent.md#answers),
// with hooks where a realm module (realm-module.ts) changes a path.
//
// Every ioctl decodes the real request number and reads the real struct
// bytes from the calling process's address space, in the order the kernel
// does, so a copy that faults gives -EFAULT at the same step. This file holds
// the kernel, the host it runs on and the file base class; each fd kind and
// each ioctl family lives in the file named after it (dev-kvm, vm, memslots,
// guest_memfd, vgic, vcpu, one-reg, run, psci, stage2).
import { EMULATED_CAP, FLAG_BITS } from '../uapi/kvm.ts';
import { ERRNO } from '../uapi/errno.ts';
import type { AbiProfile } from '../profiles/types.ts';
import type { BugName } from './bugs.ts';
import { AddressSpace, PAGE_SIZE, PhysMem, type PhysRange } from './memory.ts';
import type { RealmModule } from './realm-module.ts';
import { Rmm, type RmmSettings } from './rmm.ts';

export interface HostSettings {
  /** kvm_ipa_limit (KVM_CAP_ARM_VM_IPA_SIZE). */
  ipaLimit: number;
  /** Online CPUs (KVM_CAP_NR_VCPUS). */
  nrCpus: number;
  sve: boolean;
  pmu: boolean;
  ptrauth: boolean;
  el1_32bit: boolean;
  /** What PSCI_VERSION returns: KVM_ARM_PSCI_LATEST, 1.1 since 5.18. */
  psciVersion: number;
  /** Guest instructions per KVM_RUN before it counts as hung (a timeout). */
  maxInsnsPerRun: number;
  /** The largest SVE vector length in quadwords (every VQ up to it is available). */
  sveMaxVq: number;
}

export const DEFAULT_HOST: HostSettings = {
  ipaLimit: 48,
  nrCpus: 2,
  sve: true,
  pmu: true,
  ptrauth: true,
  el1_32bit: false,
  psciVersion: 0x10001,
  maxInsnsPerRun: 1_000_000,
  sveMaxVq: 16,
};

export const KVM_MAX_VCPUS = 512; // KVM_MAX_VCPU_IDS on arm64; also the GICv3 limit
export const KVM_USER_MEM_SLOTS = 32767;
export const KVM_MEM_READONLY = 1 << FLAG_BITS.KVM_MEM_READONLY;
/** KVM_GET_VCPU_MMAP_SIZE on arm64: the kvm_run page plus the coalesced-MMIO ring page. */
export const VCPU_MMAP_SIZE = 2 * PAGE_SIZE;
export const KVM_CAP_HALT_POLL = EMULATED_CAP.KVM_CAP_HALT_POLL;
export const KVM_CAP_ARM_NISV_TO_USER = EMULATED_CAP.KVM_CAP_ARM_NISV_TO_USER;
export const KVM_CAP_ARM_SYSTEM_SUSPEND = EMULATED_CAP.KVM_CAP_ARM_SYSTEM_SUSPEND;

/** What an ioctl handler needs: the caller's memory and its argument. */
export interface IoctlCtx {
  readonly kernel: Kernel;
  readonly mm: AddressSpace;
  readonly req: number;
  /** The third ioctl argument as the kernel sees it (an integer or a user address). */
  readonly arg: bigint;
  read(addr: bigint, len: number, why?: string): Uint8Array;
  write(addr: bigint, bytes: Uint8Array, why?: string): void;
  /** anon_inode_getfd: the new fd number in the calling process. */
  installFd(file: KFile): number;
  /** fget: the file behind an fd of the calling process. */
  fileOf(fd: number): KFile | undefined;
}

export interface KernelOptions {
  abi: AbiProfile;
  rmm: RmmSettings;
  host: HostSettings;
  bugs: ReadonlySet<BugName>;
  realm: (k: Kernel) => RealmModule | undefined;
}

export class Kernel {
  readonly phys = new PhysMem();
  readonly rmm: Rmm;
  readonly abi: AbiProfile;
  readonly host: HostSettings;
  readonly bugs: ReadonlySet<BugName>;
  readonly realm: RealmModule | undefined;
  /** Set once the kernel oopsed: every later request fails with it. */
  oops: string | undefined;

  constructor(o: KernelOptions) {
    this.abi = o.abi;
    this.host = o.host;
    this.bugs = o.bugs;
    this.rmm = new Rmm(o.rmm);
    this.realm = o.realm(this);
  }

  bug(name: BugName): boolean {
    return this.bugs.has(name);
  }

  /** RFC v1 static key kvm_rme_is_available (R1-CE1): RMM found and usable. */
  get rmeAvailable(): boolean {
    return this.rmm.settings.present;
  }

  /**
   * The base kernel keeps one vCPU feature set per VM (KVM_ARCH_FLAG_VCPU_FEATURES_CONFIGURED,
   * upstream 6.7): v2 (6.9-rc1 base) and later; RFC v1 (6.2) and Debian's 6.1 do not.
   */
  get perVmVcpuFeatures(): boolean {
    return this.abi.generation !== 'absent' && this.abi.name !== 'rfc-v1';
  }

  /** The base kernel has guest_memfd, REGION2 and memory attributes (v2 on: 6.9+). */
  get hasGuestMemfd(): boolean {
    return this.abi.privateMemory === 'guest_memfd';
  }

  newAddressSpace(): AddressSpace {
    return new AddressSpace(this.phys, (f) => this.rmm.isDelegated(f));
  }
}

export abstract class KFile {
  abstract readonly kind: 'system' | 'vm' | 'vcpu' | 'device' | 'gmem';
  abstract ioctl(ctx: IoctlCtx): number;
  /** The fd is closed (last reference in this model: fds are not duplicated). */
  release(): void {
    // nothing to free by default: a file with resources overrides it
  }
  /** mmap of this fd: the backing pages, or an errno. */
  mmapBacking(_offset: number, _len: number): { mem: PhysRange; memPage: number; valid: number } | number {
    return ERRNO.ENODEV;
  }
}
