// Option helpers shared by ./run.sh and its sub-commands for the ssh and qemu targets.
import type { ParseArgsConfig } from 'node:util';

/** `--qemu-arg -M` as `--qemu-arg=-M`: node's parser takes no value starting with '-' after a space. */
export function joinQemuArgs(argv: readonly string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--') {
      out.push(...argv.slice(i));
      break;
    }
    if (a === '--qemu-arg' && i + 1 < argv.length) out.push(`--qemu-arg=${argv[++i]!}`);
    else out.push(a);
  }
  return out;
}

/** --boot-timeout SEC as ms; throws the one-line message for a bad value. */
export function bootTimeoutMs(v: string | undefined): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!/^\d+(\.\d+)?$/.test(v.trim()) || !(n > 0) || n > 86400) throw new Error(`--boot-timeout takes a number of seconds (0 < SEC <= 86400), not '${v}'`);
  return Math.round(n * 1000);
}

/**
 * The options that pick and boot a real target (ssh:// or qemu), the same in
 * ./run.sh, ./run.sh explore, ./run.sh replay and ./run.sh qemu-guest.
 */
export const TARGET_OPTIONS = {
  'ssh-key': { type: 'string' },
  'ssh-option': { type: 'string', multiple: true, default: [] },
  kernel: { type: 'string' },
  initrd: { type: 'string' },
  bios: { type: 'string' },
  qemu: { type: 'string' },
  'qemu-arg': { type: 'string', multiple: true, default: [] },
  'boot-timeout': { type: 'string' },
  console: { type: 'boolean', default: false },
} satisfies NonNullable<ParseArgsConfig['options']>;

/** The parsed values of TARGET_OPTIONS. */
export interface TargetOptionValues {
  'ssh-key'?: string | undefined;
  'ssh-option': string[];
  kernel?: string | undefined;
  initrd?: string | undefined;
  bios?: string | undefined;
  qemu?: string | undefined;
  'qemu-arg': string[];
  'boot-timeout'?: string | undefined;
  console: boolean;
}

/** What TargetOptions (harness/core/targets) takes from them. */
export interface RealTargetOptions {
  sshOptions: readonly string[];
  qemuArgs: readonly string[];
  sshKey?: string;
  kernel?: string;
  initrd?: string;
  bios?: string;
  qemu?: string;
  bootTimeoutMs?: number;
  console?: boolean;
}

/**
 * The target options as TargetOptions, or the one line that says what is wrong
 * (an option the target cannot use, a bad --boot-timeout): thrown as an Error.
 */
export function realTargetOptions(o: TargetOptionValues, target: string): RealTargetOptions {
  const qemu = target === 'qemu';
  const ssh = target.startsWith('ssh://');
  for (const k of ['kernel', 'initrd', 'bios', 'qemu'] as const) if (o[k] !== undefined && !qemu) throw new Error(`--${k} needs --target qemu`);
  if (o['qemu-arg'].length && !qemu) throw new Error('--qemu-arg needs --target qemu');
  if ((o['boot-timeout'] !== undefined || o.console) && !qemu) throw new Error(`${o.console ? '--console' : '--boot-timeout'} needs --target qemu`);
  if ((o['ssh-key'] !== undefined || o['ssh-option'].length) && !qemu && !ssh)
    throw new Error(`--ssh-key and --ssh-option need an ssh:// or qemu target, not ${target}`);
  const boot = bootTimeoutMs(o['boot-timeout']);
  return {
    sshOptions: o['ssh-option'],
    qemuArgs: o['qemu-arg'],
    ...(o['ssh-key'] ? { sshKey: o['ssh-key'] } : {}),
    ...(o.kernel ? { kernel: o.kernel } : {}),
    ...(o.initrd ? { initrd: o.initrd } : {}),
    ...(o.bios ? { bios: o.bios } : {}),
    ...(o.qemu ? { qemu: o.qemu } : {}),
    ...(boot !== undefined ? { bootTimeoutMs: boot } : {}),
    ...(o.console ? { console: true } : {}),
  };
}
