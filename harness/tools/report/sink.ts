// Where a run's results go on stdout. Piped or redirected (CI, kunit.py,
// LAVA): raw KTAP. On a terminal: a condensed view, one live counter line per
// revision and a line for each check that failed, was blocked or hit a target
// fault, in colour unless NO_COLOR is set (https://no-color.org); `--ktap`
// asks for raw KTAP on a terminal too.
import type { CheckOutcome } from '../../core/engine.ts';
import { countLine } from './summary.ts';
import { failedAssertions, ktapBailOut, ktapHeader, ktapLine, ktapSkipAll, ktapSubtestHeader, ktapSubtestResult, nest, oneLine, verdict } from './ktap.ts';

export interface Sink {
  header(subtests: number, comment: string): void;
  subtestStart(abi: string, plan: number, comment?: string): void;
  result(o: CheckOutcome, n: number, extra?: Record<string, string>): void;
  subtestEnd(abi: string, n: number, outcomes: readonly CheckOutcome[]): void;
  bailOut(reason: string): void;
  skipAll(reason: string): void;
}

type Write = (s: string) => void;

export function ktapSink(write: Write): Sink {
  return {
    header: (k, c) => write(ktapHeader(k, c)),
    subtestStart: (abi, plan, c) => write(ktapSubtestHeader(abi, plan, c)),
    result: (o, n, extra) => write(nest(ktapLine(o, n, extra))),
    subtestEnd: (abi, n, os) => write(ktapSubtestResult(abi, n, os, `${abi}: ${countLine(os)}`)),
    bailOut: (r) => write(ktapBailOut(r)),
    skipAll: (r) => write(ktapSkipAll(r)),
  };
}

const PAINT = { red: '31', green: '32', yellow: '33', dim: '2', bold: '1' } as const;

export function terminalSink(write: Write, colour: boolean): Sink {
  const paint = (c: keyof typeof PAINT, s: string): string => (colour ? `\x1b[${PAINT[c]}m${s}\x1b[0m` : s);
  let abi = '';
  let plan = 0;
  let done = 0;
  let bad = 0;
  const counter = (): string => `\r\x1b[K${paint('bold', abi)} ${done}/${plan}${bad ? ` ${paint('red', `${bad} not ok`)}` : ''}`;
  return {
    header: (_k, c) => write(`${paint('bold', oneLine(c))}\n`),
    subtestStart: (a, p) => {
      abi = a;
      plan = p;
      done = 0;
      bad = 0;
      write(counter());
    },
    result: (o, _n, extra) => {
      done++;
      const v = verdict(o);
      if (!v.ok) {
        bad++;
        const what = o.status === 'blocked' ? paint('yellow', 'BLOCKED') : paint('red', o.targetFault ? 'ERROR' : 'FAIL');
        const first = o.status === 'blocked' ? `blocked by ${o.blockedBy ?? '?'}` : (failedAssertions(o)[0] ?? '');
        write(
          `\r\x1b[K  ${what} ${oneLine(`${o.abi}/${o.name}`)}\n      ${paint('dim', oneLine(first))}\n${extra?.trace ? `      ${paint('dim', `trace: ${oneLine(extra.trace)}`)}\n` : ''}`,
        );
      }
      write(counter());
    },
    subtestEnd: (a, _n, os) => {
      const failed = os.some((o) => !verdict(o).ok);
      write(`\r\x1b[K${paint('bold', a)} ${failed ? paint('red', '✗') : paint('green', '✓')} ${countLine(os)}\n`);
    },
    bailOut: (r) => write(`\r\x1b[K${paint('red', `Bail out! ${oneLine(r)}`)}\n`),
    skipAll: (r) => write(`${paint('yellow', `SKIP ${oneLine(r)}`)}\n`),
  };
}

/** KTAP unless stdout is a terminal and raw KTAP was not asked for. */
export function stdoutSink(forceKtap: boolean): Sink {
  const write: Write = (s) => void process.stdout.write(s);
  if (forceKtap || !process.stdout.isTTY) return ktapSink(write);
  return terminalSink(write, !process.env.NO_COLOR && process.env.TERM !== 'dumb');
}
