// Target factory: the spelling a user gives to --target, mapped to a Target.
import type { AbiProfile } from '../../../profiles/types.ts';
import type { EmulatorSettings } from '../engine.ts';
import { TargetSetupError, type Target } from '../target.ts';
import { stopOnSignal } from '../lifecycle.ts';
import { EmulatorTarget, emulatorBugs, type BugInfo, type EmulatorTargetOptions, type RmmSettings } from './emulator.ts';

export interface TargetOptions {
  abi: AbiProfile;
  /** Emulator bug switches (names from --list-emulator-bugs). */
  bugs?: readonly string[];
  emulatorSettings?: EmulatorSettings;
  sshKey?: string;
  sshOptions?: readonly string[];
  kernel?: string;
  initrd?: string;
  bios?: string;
  qemu?: string;
  qemuArgs?: readonly string[];
  bootTimeoutMs?: number;
  console?: boolean;
}

export function listEmulatorBugs(): readonly BugInfo[] {
  return emulatorBugs();
}

/** A check's (or an exploration's) emulator settings as the emulator's own options. */
export function emulatorOptions(s: EmulatorSettings = {}): Pick<EmulatorTargetOptions, 'rmm' | 'host' | 'hostIpaLimit'> {
  const rmm: Partial<RmmSettings> = {
    ...(s.rmmPresent !== undefined ? { present: s.rmmPresent } : {}),
    ...(s.rmmSha512 !== undefined ? { sha512: s.rmmSha512 } : {}),
    ...(s.rmmSve !== undefined ? { sve: s.rmmSve } : {}),
    ...(s.rmmSveMaxVq !== undefined ? { sveMaxVq: s.rmmSveMaxVq } : {}),
    ...(s.rmmS2sz !== undefined ? { s2sz: s.rmmS2sz } : {}),
    ...(s.rmmZeroDebugCounts !== undefined ? { rejectZeroDebugCounts: s.rmmZeroDebugCounts === 'reject' } : {}),
  };
  const host = s.hostEl1_32bit !== undefined ? { host: { el1_32bit: s.hostEl1_32bit } } : {};
  // the host's IPA limit (KVM_CAP_ARM_VM_IPA_SIZE) a check may choose beside the RMM's S2SZ
  const ipa = s.hostIpaLimit !== undefined ? { hostIpaLimit: s.hostIpaLimit } : {};
  return { rmm, ...host, ...ipa };
}

/** The emulator needs no I/O to construct; checks with their own settings get one each. */
export function createTargetSync(spec: string, o: TargetOptions): Target {
  if (spec !== 'emulator') throw new TargetSetupError(`only the emulator can be made per check, not ${spec}`);
  return new EmulatorTarget({ abi: o.abi, bugs: o.bugs ?? [], ...emulatorOptions(o.emulatorSettings) });
}

/** A target for the run; a signal stops it (harness/core/lifecycle.ts). */
export async function createTarget(spec: string, o: TargetOptions): Promise<Target> {
  return stopOnSignal(await makeTarget(spec, o));
}

async function makeTarget(spec: string, o: TargetOptions): Promise<Target> {
  if (spec === 'emulator') return createTargetSync(spec, o);
  if (spec.startsWith('ssh://')) {
    const { SshTarget } = await import('./ssh.ts');
    return new SshTarget(spec, { ...(o.sshKey ? { sshKey: o.sshKey } : {}), sshOptions: o.sshOptions ?? [] });
  }
  if (spec === 'qemu') {
    const { QemuTarget } = await import('./qemu.ts');
    return new QemuTarget({
      ...(o.kernel ? { kernel: o.kernel } : {}),
      ...(o.initrd ? { initrd: o.initrd } : {}),
      ...(o.bios ? { bios: o.bios } : {}),
      ...(o.qemu ? { qemu: o.qemu } : {}),
      ...(o.sshKey ? { sshKey: o.sshKey } : {}),
      qemuArgs: o.qemuArgs ?? [],
      sshOptions: o.sshOptions ?? [],
      ...(o.bootTimeoutMs !== undefined ? { bootTimeoutMs: o.bootTimeoutMs } : {}),
      ...(o.console ? { console: true } : {}),
      log: (l) => process.stderr.write(`# qemu: ${l}\n`),
    });
  }
  throw new TargetSetupError(`unknown target '${spec}' (emulator, ssh://user@host[:port] or qemu)`);
}
