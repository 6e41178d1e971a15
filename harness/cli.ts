// run.sh's entry point: parse options, pick the revision(s) and the target,
// run the checks, print TAP 14 on stdout and a summary on stderr.
// Exit codes follow kselftest: 0 all passed, 1 a check failed, 4 all skipped,
// 2 bad usage or a target that cannot be used.
import { writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { getProfile, PROFILES, ALL_REVISIONS } from './abi/index.ts';
import type { AbiProfile } from './abi/types.ts';
import { applicable, matchFilter, runChecks, skipReason, type CheckDef, type CheckOutcome, type EmulatorSettings } from './engine.ts';
import { junitXml } from './report/junit.ts';
import { causeLines, countLine } from './report/summary.ts';
import { tapHeader, tapLine } from './report/tap.ts';
import { DEFAULT_CALL_TIMEOUT_MS, TargetSetupError, type Target } from './target.ts';
import { createTarget, listEmulatorBugs, type TargetOptions } from './targets/index.ts';
import { CiHooks } from './ci.ts';
import { BaselineError } from './baseline.ts';
import { ScenarioError } from './steps.ts';
import { bootTimeoutMs, joinQemuArgs } from './qemu-options.ts';

const USAGE = `usage: ./run.sh [options] [FILTER...]
       ./run.sh replay TRACE.json [--target T] [--abi NAME] [--emulator-bug NAME | --no-emulator-bugs]
       ./run.sh repro TRACE.json > repro.c
       ./run.sh qemu-guest [qemu overrides]   boot the qemu guest, print its --target ssh://... options, keep it up until Ctrl-C
       ./run.sh build-initramfs FILE          write the guest initramfs (with /dev/console) for a kernel's CONFIG_INITRAMFS_SOURCE

Runs the Arm CCA realm uAPI conformance checks against a target and prints TAP 14.
FILTER selects checks by substring of their name, or by a glob with '*'.

  --target T             emulator (default) | ssh://user@host[:port] | qemu
  --abi NAME             ABI revision: ${[...PROFILES.keys()].join(', ')},
                         all (every revision, emulator only) or auto (detect a live kernel's revision);
                         default: all on the emulator, auto on a real target
  --matrix FILE          also write the conformance matrix (revisions x checks) to FILE (.html or .md; repeatable)
  --list                 print the checks that would run, run nothing
  --junit FILE           also write JUnit XML to FILE
  --trace DIR            write every check's calls as JSON to DIR (a failing check's trace
                         is always written, to DIR or a fresh temp dir; TAP shows 'trace: PATH')
  --baseline FILE        known failures with reasons (docs/ci.md): exit 0 if only those fail
  --emulator-bug NAME    switch on a known bug in the emulator (repeatable)
  --list-emulator-bugs   print the emulator's bug catalogue
  --allow-crash          run checks that oops the kernel on a real target
  --timeout MS           per-call deadline on the target (default ${DEFAULT_CALL_TIMEOUT_MS})
  --ssh-key FILE         identity for ssh targets
  --ssh-option OPT       extra ssh -o option (repeatable)
  --kernel/--initrd/--bios/--qemu FILE, --qemu-arg ARG   qemu target overrides
                         (checked before booting). --kernel also takes a kernel build
                         directory (its arch/arm64/boot/Image). --bios alone: the firmware
                         boots its own kernel (e.g. TF-A with the kernel as BL33), nothing
                         else is passed. --qemu-arg -M virt,... works (so does --qemu-arg=-M)
  --boot-timeout SEC     qemu target: seconds the guest has to come up (default 90)
  --console              qemu target: stream the guest console to stderr
                         (a failed boot always prints its last console lines)
  --install-deps         install the Debian packages the qemu/ssh targets need
  -h, --help             this text`;

class UsageError extends Error {}

function die(msg: string, code = 2): never {
  process.stderr.write(`run.sh: ${msg}\n`);
  process.exit(code);
}

function parse(argv: string[]) {
  try {
    return parseArgs({
      args: joinQemuArgs(argv),
      allowPositionals: true,
      strict: true,
      options: {
        target: { type: 'string', default: 'emulator' },
        abi: { type: 'string' },
        matrix: { type: 'string', multiple: true, default: [] },
        list: { type: 'boolean', default: false },
        junit: { type: 'string' },
        trace: { type: 'string' },
        baseline: { type: 'string' },
        'emulator-bug': { type: 'string', multiple: true, default: [] },
        'list-emulator-bugs': { type: 'boolean', default: false },
        'allow-crash': { type: 'boolean', default: false },
        timeout: { type: 'string' },
        'ssh-key': { type: 'string' },
        'ssh-option': { type: 'string', multiple: true, default: [] },
        kernel: { type: 'string' },
        initrd: { type: 'string' },
        bios: { type: 'string' },
        qemu: { type: 'string' },
        'qemu-arg': { type: 'string', multiple: true, default: [] },
        'boot-timeout': { type: 'string' },
        console: { type: 'boolean', default: false },
        'install-deps': { type: 'boolean', default: false },
        help: { type: 'boolean', short: 'h', default: false },
      },
    });
  } catch (e) {
    // node's messages are one line ("Unknown option '--foo'..."), except the one for a
    // value starting with '-', whose fix ("use '--qemu-arg=-XYZ'") is on its third line.
    throw new UsageError(e instanceof Error ? e.message.split('\n').join(' ') : String(e));
  }
}

export async function main(argv: string[]): Promise<number> {
  if (argv[0] === 'replay' || argv[0] === 'repro') return (await import('./trace-cli.ts')).traceCommand(argv[0], argv.slice(1));
  if (argv[0] === 'qemu-guest') return (await import('./qemu-guest.ts')).qemuGuestCommand(argv.slice(1));
  if (argv[0] === 'build-initramfs') return (await import('./initramfs.ts')).buildInitramfsCommand(argv.slice(1));
  let args: ReturnType<typeof parse>;
  try {
    args = parse(argv);
  } catch (e) {
    die(`${e instanceof Error ? e.message : String(e)} (see --help)`);
  }
  const o = args.values;
  let bootMs: number | undefined;
  try {
    bootMs = bootTimeoutMs(o['boot-timeout']);
  } catch (e) {
    die((e as Error).message);
  }
  if ((o['boot-timeout'] !== undefined || o.console) && o.target !== 'qemu') die(`${o.console ? '--console' : '--boot-timeout'} needs --target qemu`);
  if (o.help) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  if (o['list-emulator-bugs']) {
    for (const b of listEmulatorBugs()) process.stdout.write(`${b.name}\t${b.description}\t[${b.revisions.join(', ')}]\t${b.source}\n`);
    return 0;
  }

  // no --abi: every revision on the emulator, detection on a real kernel
  const abiName = o.abi ?? (o.target === 'emulator' ? 'all' : 'auto');
  const multi = abiName === 'all' || abiName === 'auto';
  if (!multi && !getProfile(abiName)) die(`unknown ABI revision '${abiName}' (known: ${[...PROFILES.keys()].join(', ')}, all, auto)`);
  if (abiName === 'all' && o.target !== 'emulator') die('--abi all runs every revision on the emulator; a real kernel implements one (use --abi auto or a name)');

  const known = new Set(listEmulatorBugs().map((b) => b.name));
  for (const b of o['emulator-bug']) if (!known.has(b)) die(`unknown emulator bug '${b}' (see --list-emulator-bugs)`);
  if (o['emulator-bug'].length && o.target !== 'emulator') die('--emulator-bug needs --target emulator');

  let callTimeoutMs = DEFAULT_CALL_TIMEOUT_MS;
  if (o.timeout !== undefined) {
    callTimeoutMs = Number(o.timeout);
    if (!Number.isInteger(callTimeoutMs) || callTimeoutMs <= 0) die(`--timeout takes a positive number of milliseconds, not '${o.timeout}'`);
  }

  // Loaded here, not imported at the top, so a malformed scenario file is one clear line (exit 2).
  let ALL_CHECKS: CheckDef[];
  try {
    ALL_CHECKS = (await import('../tests/index.ts')).ALL_CHECKS;
  } catch (e) {
    if (e instanceof ScenarioError) die(e.message);
    throw e;
  }
  const filters = args.positionals;
  if (multi || o.matrix.length) {
    const r = await runMultiFromCli({ abiName, o, filters, allChecks: ALL_CHECKS, callTimeoutMs, bootMs });
    return r;
  }
  const abi = getProfile(abiName) as AbiProfile;
  const checks = applicable(ALL_CHECKS, abi).filter((c) => matchFilter(c.name, filters));
  if (filters.length && checks.length === 0) die(`no check of ${abi.name} matches ${filters.map((f) => `'${f}'`).join(' ')} (see --list)`);

  const targetOpts: TargetOptions = {
    abi,
    bugs: o['emulator-bug'],
    sshOptions: o['ssh-option'],
    qemuArgs: o['qemu-arg'],
    ...(o['ssh-key'] ? { sshKey: o['ssh-key'] } : {}),
    ...(o.kernel ? { kernel: o.kernel } : {}),
    ...(o.initrd ? { initrd: o.initrd } : {}),
    ...(o.bios ? { bios: o.bios } : {}),
    ...(o.qemu ? { qemu: o.qemu } : {}),
    ...(bootMs !== undefined ? { bootTimeoutMs: bootMs } : {}),
    ...(o.console ? { console: true } : {}),
  };
  let target: Target;
  try {
    target = await createTarget(o.target, targetOpts);
  } catch (e) {
    die(e instanceof Error ? e.message : String(e));
  }

  if (o.list) {
    for (const c of checks) {
      const skip = skipReason(c, abi, target.kind, o['allow-crash']);
      const todo = c.expects.map((k) => abi.expect[k]?.unconfirmed).find((x) => x);
      process.stdout.write(`${abi.name}/${c.name}${skip ? `  # SKIP ${skip}` : todo ? `  # TODO ${todo}` : ''}\n`);
    }
    return 0;
  }

  let ci: CiHooks;
  try {
    ci = new CiHooks({ abi: abi.name, traceDir: o.trace, baselinePath: o.baseline, bugs: o['emulator-bug'] });
  } catch (e) {
    if (e instanceof BaselineError) die(e.message);
    throw e;
  }
  return runOnTarget({ abi, checks, target, targetOpts, allowCrash: o['allow-crash'], callTimeoutMs, junit: o.junit, targetSpec: o.target, ci });
}

interface RunPlan {
  abi: AbiProfile;
  checks: CheckDef[];
  target: Target;
  targetOpts: TargetOptions;
  targetSpec: string;
  allowCrash: boolean;
  callTimeoutMs: number;
  junit?: string | undefined;
  ci: CiHooks;
}

async function runOnTarget(p: RunPlan): Promise<number> {
  const stopAndExit = (sig: string): void => {
    void p.target.stop().finally(() => {
      process.stderr.write(`run.sh: interrupted by ${sig}; target stopped\n`);
      process.exit(130);
    });
  };
  process.on('SIGINT', () => stopAndExit('SIGINT'));
  process.on('SIGTERM', () => stopAndExit('SIGTERM'));

  const t0 = performance.now();
  try {
    const id = await p.target.start();
    p.ci.started(id);
    process.stdout.write(tapHeader(p.checks.length, `kvm-cca-conformance: ${p.abi.name} on ${p.targetSpec} (${id.info.release}, ${id.info.machine})`));
  } catch (e) {
    await p.target.stop().catch(() => undefined);
    if (e instanceof TargetSetupError) die(e.message);
    die(`target ${p.targetSpec} failed to start: ${e instanceof Error ? e.message : String(e)}`);
  }

  let outcomes: CheckOutcome[];
  try {
    outcomes = await runChecks(p.checks, {
      abi: p.abi,
      target: p.target,
      targetKind: p.target.kind,
      allowCrash: p.allowCrash,
      callTimeoutMs: p.callTimeoutMs,
      checkTimeoutMs: Math.max(30000, p.callTimeoutMs * 6),
      targetFor: (settings: EmulatorSettings) => createEmulatorWith(p, settings),
      onOutcome: (r, i) => process.stdout.write(tapLine(r, i + 1, p.ci.outcome(r, p.checks[i]))),
    });
  } finally {
    await p.target.stop().catch(() => undefined);
  }

  const count = (s: string): number => outcomes.filter((x) => x.status === s).length;
  const failed = count('fail') + count('blocked');
  const skipped = count('skip');
  const secs = ((performance.now() - t0) / 1000).toFixed(2);
  process.stderr.write(`# ${p.abi.name} on ${p.targetSpec}: ${countLine(outcomes)} in ${secs}s\n`);
  for (const l of causeLines(outcomes)) process.stderr.write(`${l}\n`);
  for (const l of p.ci.finish()) process.stderr.write(`${l}\n`);
  if (p.junit) writeFileSync(p.junit, junitXml(outcomes, p.targetSpec));
  if (failed) return 1;
  if (outcomes.length > 0 && skipped === outcomes.length) return 4;
  return 0;
}

/** --abi all / auto / --matrix: harness/multi.ts runs them; this maps the CLI options. */
async function runMultiFromCli(a: { abiName: string; o: ReturnType<typeof parse>['values']; filters: string[]; allChecks: CheckDef[]; callTimeoutMs: number; bootMs: number | undefined }): Promise<number> {
  const { o } = a;
  const { runMulti, detectOnTarget } = await import('./multi.ts');
  const targetOpts: TargetOptions = {
    abi: getProfile('rfc-v1') as AbiProfile,
    bugs: o['emulator-bug'],
    sshOptions: o['ssh-option'],
    qemuArgs: o['qemu-arg'],
    ...(o['ssh-key'] ? { sshKey: o['ssh-key'] } : {}),
    ...(o.kernel ? { kernel: o.kernel } : {}),
    ...(o.initrd ? { initrd: o.initrd } : {}),
    ...(o.bios ? { bios: o.bios } : {}),
    ...(o.qemu ? { qemu: o.qemu } : {}),
    ...(a.bootMs !== undefined ? { bootTimeoutMs: a.bootMs } : {}),
    ...(o.console ? { console: true } : {}),
  };
  try {
    let profiles: AbiProfile[];
    let started: Parameters<typeof runMulti>[0]['started'];
    if (a.abiName === 'auto') {
      if (o.list) die('--list needs a revision: --abi auto decides it only by probing the target');
      const d = await detectOnTarget(o.target, targetOpts, a.callTimeoutMs);
      if (d.code === 2) return 2;
      profiles = [d.abi];
      started = { target: d.target, id: d.id, detected: d.detected };
    } else {
      profiles = (a.abiName === 'all' ? ALL_REVISIONS : [a.abiName]).map((n) => getProfile(n) as AbiProfile);
    }
    if (o.list) {
      for (const p of profiles) for (const c of applicable(a.allChecks, p).filter((x) => matchFilter(x.name, a.filters))) process.stdout.write(`${p.name}/${c.name}\n`);
      return 0;
    }
    return await runMulti({
      profiles,
      allChecks: a.allChecks,
      filters: a.filters,
      targetSpec: o.target,
      targetOpts,
      allowCrash: o['allow-crash'],
      callTimeoutMs: a.callTimeoutMs,
      junit: o.junit,
      traceDir: o.trace,
      baselinePath: o.baseline,
      matrix: o.matrix,
      ...(started ? { started } : {}),
    });
  } catch (e) {
    if (e instanceof TargetSetupError || e instanceof BaselineError) die(e.message);
    throw e;
  }
}

function createEmulatorWith(p: RunPlan, settings: EmulatorSettings): Target {
  return createTargetSync('emulator', { ...p.targetOpts, emulatorSettings: settings });
}

import { createTargetSync } from './targets/index.ts';

const isMain = import.meta.url === `file://${process.argv[1]}` || process.argv[1]?.endsWith('harness/cli.ts');
if (isMain) {
  main(process.argv.slice(2)).then(
    (code) => {
      process.exitCode = code;
    },
    (e: unknown) => {
      process.stderr.write(`run.sh: internal error: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
      process.exitCode = 2;
    },
  );
}
