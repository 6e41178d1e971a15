// How an emulated kernel path ends other than by returning a value.
import { ERRNO, type ErrnoName } from '../uapi/errno.ts';

/** The syscall fails with -errno (the common case). */
export class KernelError extends Error {
  override name = 'KernelError';
  constructor(
    readonly errno: number,
    /** Which check fired: a condition id or a short reason, for debugging. */
    readonly why = '',
  ) {
    // an errno is an answer, not a fault: no stack to capture (exploration throws thousands a second)
    const limit = Error.stackTraceLimit;
    Error.stackTraceLimit = 0;
    super(why);
    Error.stackTraceLimit = limit;
  }
}

/** Throw -errno from a kernel path; `why` names the condition id (R1-PO2 ...). */
export function fail(e: ErrnoName, why = ''): never {
  throw new KernelError(ERRNO[e], why);
}

/** The emulated kernel oopsed: the target is dead from then on. */
export class KernelOops extends Error {
  override name = 'KernelOops';
}

/** The call never returns (a spinning guest, a vCPU that sleeps forever). */
export class CallHangs extends Error {
  override name = 'CallHangs';
}

/** The user process is killed by a signal (SIGBUS on a delegated page). */
export class ProcessKilled extends Error {
  override name = 'ProcessKilled';
  constructor(
    readonly signal: string,
    readonly why: string,
  ) {
    super(why);
  }
}

/** The request itself is malformed (unknown handle, range past a mapping). */
export class BadRequest extends Error {
  override name = 'BadRequest';
}
