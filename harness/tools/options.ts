// Checks parseArgs leaves to us: an option that takes one value given twice
// (parseArgs keeps the last one silently), and options that make no sense
// together. Each problem is one line for the CLI (exit 2).
import type { ParseArgsConfig } from 'node:util';

type Options = NonNullable<ParseArgsConfig['options']>;
interface OptionToken {
  kind: string;
  name?: string;
}

/** "--timeout given twice (...)" for the first single-value option repeated, else undefined. */
export function repeatedOption(tokens: readonly OptionToken[] | undefined, options: Options): string | undefined {
  const seen = new Set<string>();
  for (const t of tokens ?? []) {
    if (t.kind !== 'option' || !t.name) continue;
    if (options[t.name]?.multiple) continue;
    if (seen.has(t.name)) return `--${t.name} given twice: it takes one value`;
    seen.add(t.name);
  }
  return undefined;
}

/** Deadlines: whole milliseconds, 1 .. 2^31-1 (what setitimer and Node's timers take). */
export function parseTimeoutMs(text: string): number | undefined {
  if (!/^[1-9][0-9]{0,9}$/.test(text)) return undefined;
  const n = Number(text);
  return n <= 2 ** 31 - 1 ? n : undefined;
}
