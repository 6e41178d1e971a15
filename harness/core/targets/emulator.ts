// The in-process emulator as a Target. One EmulatorTarget is one booted
// emulated kernel; each session() is a fresh user process on it (what a
// `reset` agent is on a real kernel). Requests run synchronously.
//
// Crash policy: an emulated oops (e.g. R1-CF12) kills the kernel for the rest
// of this target's life, like a real oops: every later request of every
// session, and every new session, reports the same "target-crashed: ..." text.
// stop() then start() reboots it (a fresh kernel with the same settings).
import type { AbiProfile } from '../../../profiles/types.ts';
import { Emulator, type EmulatorOptions } from '../../../emulator/index.ts';
import { BUGS, type BugInfo } from '../../../emulator/bugs.ts';
import type { HostSettings } from '../../../emulator/kernel.ts';
import type { RmmSettings } from '../../../emulator/rmm.ts';
import type { Call, Session, Target, TargetIdentity } from '../target.ts';
import { checkRequest, WireError, type WireResult } from '../../../uapi/wire.ts';

// The one door from the harness into emulator/ (test/import-rule.test.ts):
// what other harness modules need of the emulator's vocabulary.
export type { BugInfo, HostSettings, RmmSettings };
export { isRmmModel, RMM_MODELS, type RmmModel } from '../../../emulator/rmm.ts';

export interface EmulatorTargetOptions {
  abi: AbiProfile;
  /** Bug switches from emulator/bugs.ts (see emulatorBugs()). */
  bugs?: readonly string[];
  rmm?: Partial<RmmSettings>;
  host?: Partial<HostSettings>;
  hostIpaLimit?: number;
}

export class EmulatorTarget implements Target {
  readonly kind = 'emulator';
  private emu: Emulator | undefined;
  private nextId = 1;

  constructor(private readonly opts: EmulatorTargetOptions) {
    // validate bug names and the revision now: a typo is a setup error, not a failing check
    this.emu = new Emulator(this.emuOptions());
  }

  private emuOptions(): EmulatorOptions {
    return { ...this.opts };
  }

  /** The emulator behind this target (tests and diagnostics). */
  get emulator(): Emulator {
    return (this.emu ??= new Emulator(this.emuOptions()));
  }

  async start(): Promise<TargetIdentity> {
    const s = await this.session();
    const r = await s.call({ op: 'info' });
    await s.close();
    if (!r.info) throw new Error(`emulator info failed: ${r.error ?? 'no info'}`);
    return { kind: 'emulator', spec: 'emulator', info: r.info };
  }

  session(): Promise<Session> {
    const proc = this.emulator.process();
    let closed = false;
    const session: Session = {
      call: (req: Call): Promise<WireResult> => {
        const id = this.nextId++;
        if (closed) return Promise.resolve({ id, ret: -1, errno: 0, error: 'bad-request: session is closed' });
        // The agent's checks, so a program the agent would refuse fails here too.
        try {
          return Promise.resolve(proc.handle(checkRequest({ ...req, id })));
        } catch (e) {
          if (e instanceof WireError) return Promise.resolve({ id, ret: -1, errno: 0, error: `bad-request: ${e.message}` });
          throw e;
        }
      },
      close: (): Promise<void> => {
        if (!closed) {
          closed = true;
          proc.exit();
        }
        return Promise.resolve();
      },
    };
    return Promise.resolve(session);
  }

  /** Forget the kernel; the next session boots a fresh one. */
  stop(): Promise<void> {
    this.emu = undefined;
    return Promise.resolve();
  }
}

/** The emulator's bug catalogue (name, description, revisions, source, what it breaks). */
export function emulatorBugs(): readonly BugInfo[] {
  return BUGS;
}
