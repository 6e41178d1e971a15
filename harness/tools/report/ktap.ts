// KTAP version 1 (the kernel's Documentation/dev-tools/ktap.rst) on stdout:
// one subtest per revision, each with its own plan, indented two spaces;
// a check's diagnostics as `# ` lines before its result line (the kernel's
// convention), its YAML detail after it (TAP 14, which kernel parsers take as
// unknown lines). Verdicts are spelled so that kunit.py, node-tap's parser
// and this suite's own summary and exit code count the same:
//   pass                 ok N - REV/area/check
//   fail                 not ok N - REV/area/check
//   blocked              not ok N - ... # ERROR blocked by: <set-up call>
//   target timeout       not ok N - ... # TIMEOUT <fault>
//   target crash/lost    not ok N - ... # ERROR <fault>
//   skip                 ok N - ... # SKIP <reason>
//   baselined failure    ok N - ... # XFAIL baseline: <reason>   (kselftest's XFAIL: not a failure)
//   UNCONFIRMED (todo)   ok N - ... # XFAIL <reason> when it failed, # TODO <reason> when it passed
//                        (KTAP does not recognise TODO on a failure: parsers fall back to
//                        "not ok", which would count a result that does not count)
// A target that is gone ends the stream with `Bail out! <fault>`.
import { stringify } from 'tap-yaml';
import { lastCalls, type CheckOutcome } from '../../core/engine.ts';
import { withDocs } from '../../core/spec-refs.ts';

const IND = '  ';

/** Nest KTAP text one level (two spaces a level, ktap.rst "Nested tests"). */
export function nest(text: string): string {
  return text.replace(/^(?=.)/gm, IND);
}

/** A name or reason on a result line: a newline or control character there could forge KTAP lines; it is written as \\xNN. */
export const oneLine = (s: string): string => s.replace(/[\x00-\x1f\x7f-\x9f\u2028\u2029]/g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`);

export function failedAssertions(o: CheckOutcome): string[] {
  return o.assertions.filter((a) => !a.ok).map((a) => a.message);
}

export function ktapHeader(subtests: number, comment?: string): string {
  return `KTAP version 1\n${comment ? `# ${oneLine(comment)}\n` : ''}1..${subtests}\n`;
}

/** A whole run skipped before any check (kselftest's `1..0 # SKIP`). */
export function ktapSkipAll(reason: string): string {
  return `KTAP version 1\n1..0 # SKIP ${oneLine(reason)}\n`;
}

/** A revision's subtest header, nested one level. */
export function ktapSubtestHeader(abi: string, plan: number, comment?: string): string {
  return nest(`KTAP version 1\n# Subtest: ${oneLine(abi)}\n${comment ? `# ${oneLine(comment)}\n` : ''}1..${plan}\n`);
}

/** ok/not ok and the directive of one outcome (after a baseline was applied). */
export function verdict(o: CheckOutcome): { ok: boolean; directive?: string } {
  const failed = o.assertions.some((a) => !a.ok);
  const reason = oneLine(o.reason ?? '');
  switch (o.status) {
    case 'pass':
      return { ok: true };
    case 'skip':
      return { ok: true, directive: `SKIP ${reason}` };
    case 'todo':
      return { ok: true, directive: failed ? `XFAIL ${reason}` : `TODO ${reason}` };
    case 'blocked':
      return { ok: false, directive: `ERROR blocked by: ${oneLine(o.blockedBy ?? 'a set-up call')}` };
    default:
      if (o.targetFault) return { ok: false, directive: `${/timeout/i.test(o.targetFault) ? 'TIMEOUT' : 'ERROR'} ${oneLine(o.targetFault)}` };
      return { ok: false };
  }
}

/** One check: `# ` diagnostics, the result line, the YAML detail (unindented: the caller nests it). */
export function ktapLine(o: CheckOutcome, n: number, extra?: Record<string, string>): string {
  const v = verdict(o);
  const failed = o.assertions.some((a) => !a.ok);
  const title = oneLine(`${o.abi}/${o.name}`).replace(/#/g, '\\#');
  let out = '';
  if (failed && o.status !== 'todo') {
    if (o.status === 'blocked' && o.blockedBy) out += `# blocked by: ${oneLine(o.blockedBy)}\n`;
    for (const m of failedAssertions(o)) out += `# ${oneLine(m)}\n`;
    if (extra?.trace) out += `# trace: ${oneLine(extra.trace)}\n`;
  }
  out += `${v.ok ? 'ok' : 'not ok'} ${n} - ${title}${v.directive ? ` # ${v.directive.trimEnd()}` : ''}\n`;
  if (failed) {
    const diag: Record<string, unknown> = {
      ...(o.status === 'blocked' && o.blockedBy ? { blocked_by: o.blockedBy } : {}),
      failed: failedAssertions(o),
      // each source with the page of docs/spec/ that says it
      sources: o.sources.map(withDocs),
    };
    const disputes = o.assertions.filter((a) => a.dispute && !a.ok).map((a) => a.dispute);
    if (disputes.length) diag.disputes = disputes;
    if (o.targetFault) diag.target_fault = o.targetFault;
    // the reports themselves, as the kernel logged them
    if (o.splats?.length) diag.kernel_log = o.splats.flatMap((s) => s.lines);
    diag.last_calls = lastCalls(o);
    if (extra) Object.assign(diag, extra);
    out += yamlBlock(stringify(diag), '  ');
  }
  return out;
}

/** The revision's own result line, after its subtests: not ok when any of them counts as failed. */
export function ktapSubtestResult(abi: string, n: number, outcomes: readonly CheckOutcome[], summary?: string): string {
  const bad = outcomes.some((o) => !verdict(o).ok);
  const none = outcomes.length === 0;
  return `${summary ? `# ${oneLine(summary)}\n` : ''}${bad ? 'not ok' : 'ok'} ${n} - ${oneLine(abi)}${none ? ' # SKIP no check selected' : ''}\n`;
}

export function ktapBailOut(reason: string): string {
  return `Bail out! ${oneLine(reason)}\n`;
}

function yamlBlock(y: string, ind: string): string {
  return `${ind}---\n${y
    .trimEnd()
    .split('\n')
    .map((l) => `${ind}${l}`)
    .join('\n')}\n${ind}...\n`;
}
