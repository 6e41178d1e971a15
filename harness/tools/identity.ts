// Who ran what on which kernel: the identity a results file, a JUnit report
// and the matrix header carry, so a result can be tied to a kernel build
// (KernelCI/KCIDB records key on it). Remote facts are read once per run over
// the target's ssh link, by the shell the ssh target already uses; the agent
// itself runs no program.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { fileURLToPath } from 'node:url';
import type { TargetIdentity } from '../core/target.ts';

export interface KernelIdentity {
  sysname: string;
  release: string;
  version: string;
  machine: string;
  /** /proc/version, one line. */
  procVersion?: string;
  /** /proc/cmdline. */
  cmdline?: string;
  /** sha256 of the uncompressed /proc/config.gz, when the kernel has it. */
  configSha256?: string;
  /** `git describe` of a --kernel DIR build tree. */
  gitDescribe?: string;
}

export interface ToolIdentity {
  name: string;
  version: string;
  /** The checkout's commit, when run from a git clone. */
  commit?: string;
  /** The machine the harness ran on. */
  hostname: string;
}

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

let tool: ToolIdentity | undefined;
export function toolIdentity(): ToolIdentity {
  if (tool) return tool;
  const pkg = JSON.parse(readFileSync(`${ROOT}package.json`, 'utf8')) as { name: string; version: string };
  const commit = git(ROOT, ['rev-parse', 'HEAD']);
  tool = { name: pkg.name, version: pkg.version, ...(commit ? { commit } : {}), hostname: hostname() };
  return tool;
}

/** `git describe --always --dirty` of a kernel tree, when it is one. */
export function gitDescribe(dir: string): string | undefined {
  return git(dir, ['describe', '--always', '--dirty', '--tags']);
}

function git(dir: string, args: string[]): string | undefined {
  try {
    const out = execFileSync('git', ['-C', dir, ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'], timeout: 5000 }).trim();
    return out || undefined;
  } catch {
    return undefined;
  }
}

/** What a remote shell prints, one fact a line, in this order. */
export const REMOTE_IDENTITY_SCRIPT =
  'cat /proc/version 2>/dev/null | head -n 1; echo; cat /proc/cmdline 2>/dev/null | head -n 1; echo; ' +
  'if [ -r /proc/config.gz ]; then gzip -dc /proc/config.gz | sha256sum | cut -d" " -f1; else echo; fi';

/** Parse the output of REMOTE_IDENTITY_SCRIPT (blank lines separate the facts). */
export function parseRemoteIdentity(out: string): Pick<KernelIdentity, 'procVersion' | 'cmdline' | 'configSha256'> {
  const lines = out.split('\n');
  const pick = (i: number): string | undefined => (lines[i]?.trim() ? lines[i].trim() : undefined);
  const procVersion = pick(0);
  const cmdline = pick(2);
  const sum = pick(4);
  return {
    ...(procVersion ? { procVersion } : {}),
    ...(cmdline ? { cmdline } : {}),
    ...(sum && /^[0-9a-f]{64}$/.test(sum) ? { configSha256: sum } : {}),
  };
}

/** A target that can run a shell command on the kernel's machine (the ssh link). */
export interface RemoteShell {
  run(cmd: string, input?: Buffer, timeoutMs?: number): Promise<{ exitCode?: number | undefined; stdout?: unknown }>;
}

/** The kernel's identity: uname from the executor, the rest over the remote shell when there is one. */
export async function kernelIdentity(id: TargetIdentity, shell?: RemoteShell, kernelDir?: string): Promise<KernelIdentity> {
  const base: KernelIdentity = { sysname: id.info.sysname, release: id.info.release, version: id.info.version, machine: id.info.machine };
  let remote: ReturnType<typeof parseRemoteIdentity> = {};
  if (shell) {
    const r = await shell.run(REMOTE_IDENTITY_SCRIPT, undefined, 10000).catch(() => undefined);
    if (r?.exitCode === 0) remote = parseRemoteIdentity(typeof r.stdout === 'string' ? r.stdout : '');
  }
  const describe = kernelDir ? gitDescribe(kernelDir) : undefined;
  return { ...base, ...remote, ...(describe ? { gitDescribe: describe } : {}) };
}
