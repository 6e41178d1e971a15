// Processes a test started, found by the mark the harness puts in the
// environment of every child it ties to itself (KVM_CCA_OWNER=<pid>:<start>,
// harness/core/lifecycle.ts): never by name, so a parallel npm test is not seen.
import { readdirSync, readFileSync } from 'node:fs';

/** "pid comm" of live processes marked as children of harness process `pid`. */
export function childrenOf(pid: number | undefined): string[] {
  if (!pid) return [];
  const out: string[] = [];
  for (const p of readdirSync('/proc').filter((d) => /^\d+$/.test(d))) {
    try {
      if (
        readFileSync(`/proc/${p}/environ`, 'utf8')
          .split('\0')
          .some((e) => e.startsWith(`KVM_CCA_OWNER=${pid}:`))
      ) {
        const stat = readFileSync(`/proc/${p}/stat`, 'utf8');
        if (/^\S+ \(.*\) Z/.test(stat)) continue; // a zombie is dead, only not yet reaped
        out.push(`${p} ${readFileSync(`/proc/${p}/comm`, 'utf8').trim()}`);
      }
    } catch {
      // gone, or not ours to read
    }
  }
  return out;
}

/** Poll until `pid`'s marked children are gone or `ms` passed; returns what is left. */
export async function goneWithin(pid: number | undefined, ms: number): Promise<string[]> {
  const end = Date.now() + ms;
  let left = childrenOf(pid);
  while (left.length && Date.now() < end) {
    await new Promise((r) => setTimeout(r, 100));
    left = childrenOf(pid);
  }
  return left;
}
