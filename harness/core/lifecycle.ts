// The harness's own life and the processes tied to it.
//
// Children that must not outlive the harness (qemu, the ssh master, agent ssh
// processes) run under `setpriv --pdeathsig SIGKILL`, so the kernel kills them
// when node dies, even by SIGKILL (a cancelled CI job). Each also carries
// KVM_CCA_OWNER=<pid>:<start time> in its environment: a later run kills the
// marked processes whose owner is gone (never another live run's).
//
// Ctrl-C / SIGTERM: one handler for the whole run. It stops every target,
// lets the run write what it finished, prints one line and exits 128+signal.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import type { Target } from './target.ts';

// ---- process lifetime ----

/** Field 22 of /proc/PID/stat (start time in clock ticks), or undefined. */
function startTime(pid: number | 'self'): string | undefined {
  try {
    const s = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return s.slice(s.lastIndexOf(')') + 2).split(' ')[19];
  } catch {
    return undefined;
  }
}

export const OWNER_ENV = 'KVM_CCA_OWNER';
/** This process's mark: pid and start time, so a reused pid is not taken for us. */
export const OWNER = `${process.pid}:${startTime('self') ?? '0'}`;

let setprivOk: boolean | undefined;
function hasSetpriv(): boolean {
  setprivOk ??= ['/usr/bin/setpriv', '/bin/setpriv'].some((p) => existsSync(p)) && spawnSync('setpriv', ['--pdeathsig', 'SIGKILL', 'true']).status === 0;
  return setprivOk;
}

/**
 * The command and environment that tie a child to this process: it is killed
 * when node dies, and marked as ours. Without setpriv only the mark is set.
 */
export function tied(file: string, args: readonly string[]): { file: string; args: string[]; env: Record<string, string> } {
  const env = { [OWNER_ENV]: OWNER };
  if (!hasSetpriv()) return { file, args: [...args], env };
  return { file: 'setpriv', args: ['--pdeathsig', 'SIGKILL', '--', file, ...args], env };
}

/** The owner mark in a process's environment, or undefined. */
export function ownerOf(pid: number | string): string | undefined {
  try {
    const env = readFileSync(`/proc/${pid}/environ`, 'utf8');
    return new RegExp(`(?:^|\\0)${OWNER_ENV}=(\\d+:\\d+)(?:\\0|$)`).exec(env)?.[1];
  } catch {
    return undefined;
  }
}

/** pids of processes marked with `owner` (exactly). */
export function markedBy(owner: string): number[] {
  return allPids().filter((p) => ownerOf(p) === owner);
}

function allPids(): number[] {
  return readdirSync('/proc')
    .filter((d) => /^\d+$/.test(d))
    .map(Number)
    .filter((p) => p !== process.pid);
}

function ownerAlive(owner: string): boolean {
  const [pid, start] = owner.split(':');
  return startTime(Number(pid)) === start;
}

/** Kill what dead runs left behind (their marked children); returns how many. */
export function reapLeftovers(): number {
  let n = 0;
  for (const p of allPids()) {
    const o = ownerOf(p);
    if (!o || o === OWNER || ownerAlive(o)) continue;
    try {
      process.kill(p, 'SIGKILL');
      n++;
    } catch {
      // gone already
    }
  }
  return n;
}

// ---- signals ----

const SIGNO: Record<string, number> = { SIGINT: 2, SIGTERM: 15, SIGHUP: 1 };
let interrupted: NodeJS.Signals | undefined;
const targets = new Set<Target>();
let finisher: ((sig: string) => string | undefined) | undefined;

export class Interrupted extends Error {
  override name = 'Interrupted';
}

export function isInterrupted(): boolean {
  return interrupted !== undefined;
}

/** A target to stop on a signal (stop() is idempotent, so stopped ones may stay). */
export function stopOnSignal<T extends Target>(t: T): T {
  targets.add(t);
  return t;
}

/** What the run writes when interrupted (partial reports); returns a note for the line, or an error text. */
export function onInterrupt(fn: ((sig: string) => string | undefined) | undefined): void {
  finisher = fn;
}

const STOP_WAIT_MS = 8000;

/**
 * Install the run's handlers (once). On the first SIGINT/SIGTERM: stop the
 * targets, write what finished, one line, exit 130/143. A second signal exits
 * at once.
 */
export function installSignalHandlers(prefix = 'run.sh'): void {
  if (installed) return;
  installed = true;
  for (const sig of ['SIGINT', 'SIGTERM'] as const) {
    process.on(sig, () => {
      const code = 128 + (SIGNO[sig] ?? 0);
      if (interrupted) process.exit(code);
      interrupted = sig;
      void (async () => {
        const stops = Promise.all([...targets].map((t) => t.stop().catch(() => undefined)));
        // ref'd on purpose: it keeps node up until the line is printed and the exit code set
        await Promise.race([stops, new Promise((r) => setTimeout(r, STOP_WAIT_MS))]);
        let note: string | undefined;
        try {
          note = finisher?.(sig);
        } catch (e) {
          note = e instanceof Error ? e.message.split('\n')[0] : String(e);
        }
        process.stdout.write(`Bail out! interrupted by ${sig}\n`);
        process.stderr.write(`${prefix}: interrupted by ${sig}; target stopped${note ? `; ${note}` : ''}\n`);
        process.exit(code);
      })();
    });
  }
}
let installed = false;
