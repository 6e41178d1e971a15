// A target executes call programs: the emulator in-process, or the C agent on
// a real kernel reached over SSH (directly or inside a QEMU guest).
import type { WireInfo, WireRequest, WireResult } from '../../uapi/wire.ts';

export type TargetKind = 'emulator' | 'ssh' | 'qemu';

/** Distributes WireRequest over its union members, dropping the id: the session numbers requests. */
export type Call = WireRequest extends infer R ? (R extends WireRequest ? Omit<R, 'id'> : never) : never;

/**
 * One process context on the target: handles opened in a session are closed
 * when it ends. Every check runs in a fresh session.
 */
export interface Session {
  /**
   * Execute one request. Never throws for a failing call: a kernel error is
   * `ret: -1, errno`, a dead target is `error: "target-..."`.
   */
  call(req: Call): Promise<WireResult>;
  /** Close every handle; the session cannot be used afterwards. */
  close(): Promise<void>;
}

export interface TargetIdentity {
  kind: TargetKind;
  /** The URL-ish spelling the user gave: "emulator", "ssh://root@host:22", "qemu". */
  spec: string;
  info: WireInfo;
}

export interface Target {
  readonly kind: TargetKind;
  /** Connect, check the host is usable (arm64, /dev/kvm, root) and learn its identity. */
  start(): Promise<TargetIdentity>;
  /** A fresh process context for one check. */
  session(): Promise<Session>;
  /** Tear down connections and processes; idempotent, also after a crash. */
  stop(): Promise<void>;
  /**
   * The harness's own read of the kernel log (a `kmsg` request, see wire.ts),
   * on targets that have one (ssh, qemu): between checks, never inside one.
   */
  kernelLog?(since?: number): Promise<WireResult>;
}

/** A problem the user must fix before anything can run (exit 2, one line). */
export class TargetSetupError extends Error {
  override name = 'TargetSetupError';
}

/**
 * The target works but has no KVM to test (no /dev/kvm): like the KVM
 * selftests, the run is skipped (exit 4, `1..0 # SKIP`), not a usage error.
 */
export class TargetWithoutKvm extends TargetSetupError {
  override name = 'TargetWithoutKvm';
}

/** Default per-request deadline; KVM_RUN of guest code that spins must end too. */
export const DEFAULT_CALL_TIMEOUT_MS = 5000;
