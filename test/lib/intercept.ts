// An emulator target whose answers a test rewrites: the stand-in for a kernel
// that differs from the emulator in one way (a refusal, a success value).
import { getProfile } from '../../profiles/index.ts';
import type { Call, Session, Target } from '../../harness/core/target.ts';
import { createTargetSync } from '../../harness/core/targets/index.ts';
import type { WireResult } from '../../uapi/wire.ts';

/** `answer` sees each call and what the emulator would answer (`call` runs it); it returns the answer to give. */
export function interceptedEmulator(abiName: string, answer: (req: Call, call: () => Promise<WireResult>) => Promise<WireResult>): Target {
  const inner = createTargetSync('emulator', { abi: getProfile(abiName)!, bugs: [] });
  return {
    kind: 'emulator',
    start: () => inner.start(),
    stop: () => inner.stop(),
    async session(): Promise<Session> {
      const s = await inner.session();
      return { close: () => s.close(), call: (req: Call) => answer(req, () => s.call(req)) };
    },
  };
}
