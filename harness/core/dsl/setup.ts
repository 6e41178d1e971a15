// A set-up step that failed: the DSL's asserting calls (createVm, createVcpu,
// memslot, ...) throw it, as CheckContext.must does, and the engine reports
// the check as blocked by that call rather than failed.
import { describeOutcome, type CallResult } from '../calls.ts';

export class SetupFailure extends Error {
  override name = 'SetupFailure';
  /** The set-up call that failed with an answer of the kernel (not a dead target): the check is blocked by it. */
  constructor(
    message: string,
    readonly call?: string,
  ) {
    super(message);
  }
}

/** A set-up call that failed: the kernel answered, so the check is blocked, not failed; a dead target is a failure. */
export function setupFailure(r: CallResult): SetupFailure {
  const call = `${r.label} ${describeOutcome(r)}`;
  return new SetupFailure(`setup step failed: ${call}`, r.error === undefined ? call : undefined);
}

/** What a raw (`__`) call made, or the set-up failure of the call `r` that did not make it. */
export function made<T>(obj: T | undefined, r: CallResult): T {
  if (obj === undefined) throw setupFailure(r);
  return obj;
}

/** Did the call succeed (a non-negative return and no transport error)? */
export const done = (r: CallResult): boolean => r.ret >= 0 && !r.error;
