// The reference emulator: an emulated arm64 kernel with KVM and the realm
// uAPI of one ABI revision, driven only through wire requests. One Emulator is
// one booted kernel; each process() is a fresh user process on it.
//
// Crash policy: an emulated oops (R1-CF12) kills the kernel for the rest of
// the Emulator's life, as on hardware: every later request of every process
// fails with the same "target-crashed: ..." text. A new Emulator is a reboot.
import type { AbiProfile } from '../profiles/types.ts';
import { checkBugs, type BugName } from './bugs.ts';
import { DEFAULT_HOST, Kernel, type HostSettings } from './kernel.ts';
import { EmulatedProcess } from './process.ts';
import type { RealmModule } from './realm-module.ts';
import { MultiplexedRealm } from './realm-rme.ts';
import { RmiRealm } from './realm-rmi.ts';
import { DEFAULT_RMM, eraRmm, type RmmSettings } from './rmm.ts';

export interface EmulatorOptions {
  abi: AbiProfile;
  /** Names from emulator/bugs.ts, each valid for `abi`. */
  bugs?: readonly string[];
  rmm?: Partial<RmmSettings>;
  host?: Partial<HostSettings>;
  /** Shorthand for host.ipaLimit. */
  hostIpaLimit?: number;
}

function realmModule(p: AbiProfile): (k: Kernel) => RealmModule | undefined {
  switch (p.generation) {
    case 'rme':
      return (k) => new MultiplexedRealm(k, p);
    case 'absent':
      return () => undefined;
    case 'rmi':
      return (k) => new RmiRealm(k, p);
  }
}

export class Emulator {
  readonly kernel: Kernel;
  readonly bugs: readonly BugName[];

  constructor(readonly opts: EmulatorOptions) {
    this.bugs = checkBugs(opts.bugs ?? [], opts.abi.name);
    const host = { ...DEFAULT_HOST, ...opts.host, ...(opts.hostIpaLimit !== undefined ? { ipaLimit: opts.hostIpaLimit } : {}) };
    this.kernel = new Kernel({
      abi: opts.abi,
      // the revision's era RMM (emulator/README.md), then what the caller chose
      rmm: { ...DEFAULT_RMM, ...eraRmm(opts.abi.name).settings, ...opts.rmm },
      host,
      bugs: new Set(this.bugs),
      realm: realmModule(opts.abi),
    });
  }

  /** uname -r of the emulated kernel. */
  get release(): string {
    return `emulator-${this.opts.abi.name}${this.bugs.length ? '+bugs' : ''}`;
  }

  process(): EmulatedProcess {
    const rmm = this.kernel.rmm.settings;
    return new EmulatedProcess(this.kernel, {
      release: this.release,
      version: `#1 SMP kvm-cca-emulator abi=${this.opts.abi.name} rmm=${rmm.present ? `present,s2sz=${rmm.s2sz}` : 'absent'}${this.bugs.length ? ` bugs=${this.bugs.join(',')}` : ''}`,
    });
  }

  get crashed(): string | undefined {
    return this.kernel.oops;
  }
}

export { BUGS, bugInfo, type BugInfo, type BugName } from './bugs.ts';
export { DEFAULT_HOST, type HostSettings } from './kernel.ts';
export { DEFAULT_RMM, eraRmm, RMM_MODELS, isRmmModel, type RmmModel, type RmmSettings } from './rmm.ts';
export { EmulatedProcess } from './process.ts';
