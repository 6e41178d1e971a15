// Runs that span revisions or decide the revision themselves:
//   --abi all    every revision (not 'absent') on the emulator, one after another, one TAP stream
//   --abi auto   probe a live kernel (harness/detect.ts), say what was decided and why, then run it
//   --matrix F   after the run, the conformance matrix (HTML or Markdown by extension)
import { writeFileSync } from 'node:fs';
import type { AbiProfile } from './abi/types.ts';
import { getProfile } from './abi/index.ts';
import { absent } from './abi/absent.ts';
import { applicable, matchFilter, runChecks, type CheckDef, type CheckOutcome, type EmulatorSettings } from './engine.ts';
import { junitXml } from './report/junit.ts';
import { matrixHtml, matrixMarkdown } from './report/matrix.ts';
import { tapHeader, tapLine } from './report/tap.ts';
import { TargetSetupError, type Target, type TargetIdentity } from './target.ts';
import { createTarget, createTargetSync, listEmulatorBugs, type TargetOptions } from './targets/index.ts';
import { CiHooks } from './ci.ts';
import { detectAbi, formatDetection } from './detect.ts';

export interface MultiPlan {
  profiles: readonly AbiProfile[];
  allChecks: readonly CheckDef[];
  filters: readonly string[];
  targetSpec: string;
  targetOpts: TargetOptions;
  allowCrash: boolean;
  callTimeoutMs: number;
  junit?: string | undefined;
  traceDir?: string | undefined;
  baselinePath?: string | undefined;
  matrix: readonly string[];
  /** A target already started (by --abi auto) for the first profile. */
  started?: { target: Target; id: TargetIdentity; detected: string };
}

const out = (s: string): boolean => process.stdout.write(s);
const err = (s: string): boolean => process.stderr.write(s);

/** Bugs the emulator of this revision has a switch for (a bug names its revisions). */
function bugsFor(p: AbiProfile, bugs: readonly string[]): string[] {
  const known = new Map(listEmulatorBugs().map((b) => [b.name, b.revisions as readonly string[]]));
  return bugs.filter((b) => known.get(b)?.includes(p.name));
}

export async function runMulti(p: MultiPlan): Promise<number> {
  const plan = p.profiles.map((abi) => ({ abi, checks: applicable(p.allChecks, abi).filter((c) => matchFilter(c.name, p.filters)) }));
  const total = plan.reduce((n, x) => n + x.checks.length, 0);
  if (p.filters.length && total === 0) throw new TargetSetupError(`no check of ${p.profiles.map((x) => x.name).join(', ')} matches ${p.filters.map((f) => `'${f}'`).join(' ')}`);

  const t0 = performance.now();
  const outcomes: CheckOutcome[] = [];
  let n = 0;
  let headerDone = false;
  let current: Target | undefined;
  const stop = (sig: string): void => {
    void (current?.stop() ?? Promise.resolve()).finally(() => {
      err(`run.sh: interrupted by ${sig}; target stopped\n`);
      process.exit(130);
    });
  };
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('SIGTERM', () => stop('SIGTERM'));

  const ciLines: string[] = [];
  for (const [i, { abi, checks }] of plan.entries()) {
    const opts: TargetOptions = { ...p.targetOpts, abi, bugs: p.targetSpec === 'emulator' ? bugsFor(abi, p.targetOpts.bugs ?? []) : [] };
    const ci = new CiHooks({ abi: abi.name, traceDir: p.traceDir, baselinePath: p.baselinePath, bugs: opts.bugs ?? [] });
    let target: Target;
    let id: TargetIdentity;
    if (i === 0 && p.started) {
      ({ target, id } = p.started);
      ci.started(id, p.started.detected);
    } else {
      let made: Target | undefined;
      try {
        made = await createTarget(p.targetSpec, opts);
        id = await made.start();
        target = made;
      } catch (e) {
        await made?.stop().catch(() => undefined);
        if (e instanceof TargetSetupError || p.profiles.length === 1) throw e;
        // e.g. the emulator does not model this revision yet: its checks fail, the stream goes on
        const why = `target ${p.targetSpec} cannot run ${abi.name}: ${e instanceof Error ? e.message : String(e)}`;
        if (!headerDone) {
          out(tapHeader(total, `kvm-cca-conformance: ${p.profiles.length} revisions on ${p.targetSpec}`));
          headerDone = true;
        }
        out(`# ${abi.name}: ${checks.length} checks — ${why}\n`);
        for (const c of checks) {
          const o: CheckOutcome = { name: c.name, area: c.area, abi: abi.name, description: c.description, status: 'fail', assertions: [{ ok: false, message: why }], sources: [], trace: [], ms: 0 };
          outcomes.push(o);
          out(tapLine(o, ++n));
        }
        continue;
      }
      ci.started(id);
    }
    current = target;
    if (!headerDone) {
      const what = p.profiles.length === 1 ? abi.name : `${p.profiles.length} revisions (${p.profiles.map((x) => x.name).join(', ')})`;
      out(tapHeader(total, `kvm-cca-conformance: ${what} on ${p.targetSpec} (${id.info.release}, ${id.info.machine})`));
      headerDone = true;
    }
    if (p.profiles.length > 1) out(`# ${abi.name}: ${checks.length} checks — ${abi.title}\n`);
    try {
      const got = await runChecks(checks, {
        abi,
        target,
        targetKind: target.kind,
        allowCrash: p.allowCrash,
        callTimeoutMs: p.callTimeoutMs,
        checkTimeoutMs: Math.min(2 ** 31 - 1, Math.max(30000, p.callTimeoutMs * 6)),
        targetFor: (settings: EmulatorSettings) => createTargetSync('emulator', { ...opts, emulatorSettings: settings }),
        onOutcome: (r, j) => out(tapLine(r, ++n, ci.outcome(r, checks[j]))),
      });
      outcomes.push(...got);
    } finally {
      await target.stop().catch(() => undefined);
      current = undefined;
    }
    ciLines.push(...ci.finish());
  }

  const count = (s: string): number => outcomes.filter((x) => x.status === s).length;
  const secs = ((performance.now() - t0) / 1000).toFixed(2);
  if (p.profiles.length > 1) {
    for (const { abi } of plan) {
      const mine = outcomes.filter((o) => o.abi === abi.name);
      const c = (s: string): number => mine.filter((x) => x.status === s).length;
      err(`#   ${abi.name.padEnd(7)} ${String(mine.length).padStart(4)} checks, ${c('pass')} passed, ${c('fail')} failed, ${c('todo')} todo, ${c('skip')} skipped\n`);
    }
  }
  err(`# ${p.profiles.map((x) => x.name).join(',')} on ${p.targetSpec}: ${outcomes.length} checks, ${count('pass')} passed, ${count('fail')} failed, ${count('todo')} todo, ${count('skip')} skipped in ${secs}s\n`);
  for (const f of outcomes.filter((x) => x.status === 'fail')) err(`#   FAIL ${f.abi}/${f.name}\n`);
  for (const l of ciLines) err(`${l}\n`);
  if (p.junit) writeFileSync(p.junit, junitXml(outcomes, p.targetSpec));
  for (const file of p.matrix) {
    const input = { profiles: p.profiles, checks: p.allChecks, outcomes, title: `${p.targetSpec}, ${new Date().toISOString().slice(0, 10)}, ${outcomes.length} checks run` };
    writeFileSync(file, /\.md$/i.test(file) ? matrixMarkdown(input) : matrixHtml(input));
    err(`# matrix written to ${file}\n`);
  }
  if (count('fail')) return 1;
  if (outcomes.length > 0 && count('skip') === outcomes.length) return 4;
  return 0;
}

/**
 * --abi auto: start the target, probe it, print the decision and the
 * evidence on stderr; exit 2 when the evidence is ambiguous.
 */
export async function detectOnTarget(targetSpec: string, targetOpts: TargetOptions, callTimeoutMs: number): Promise<{ code: 2 } | { code: 0; abi: AbiProfile; target: Target; id: TargetIdentity; detected: string }> {
  if (targetSpec === 'emulator') throw new TargetSetupError('--abi auto probes a live kernel; the emulator emulates the revision --abi names (test/detect.test.ts runs detection against each)');
  const target = await createTarget(targetSpec, { ...targetOpts, abi: absent });
  let id: TargetIdentity;
  try {
    id = await target.start();
  } catch (e) {
    await target.stop().catch(() => undefined);
    throw e;
  }
  const session = await target.session();
  const d = await detectAbi(session, callTimeoutMs).finally(() => session.close().catch(() => undefined));
  err(`${formatDetection(d)}\n`);
  const abi = d.abi ? getProfile(d.abi) : undefined;
  if (d.ambiguous || !abi) {
    await target.stop().catch(() => undefined);
    return { code: 2 };
  }
  return { code: 0, abi, target, id, detected: d.reason };
}
