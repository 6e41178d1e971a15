// node's parseArgs errors, said in the suite's own words: one line that names
// the option and what to do, with no unbalanced quotes (node's "unknown
// option" text ends inside a quote) and no hint about `--` positionals that
// this CLI has no use for.
import { closest } from './closest.ts';

export function optionError(e: unknown, known: readonly string[]): string {
  const msg = e instanceof Error ? e.message : String(e);
  const code = (e as { code?: string }).code;
  const opt = /'(-{1,2}[^' <]+)/.exec(msg)?.[1] ?? '';
  if (code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION') {
    const near = closest(opt.replace(/^-+/, ''), known);
    return `unknown option ${opt}${near ? ` (did you mean --${near}?)` : ''}`;
  }
  if (code === 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE') {
    if (msg.includes('does not take an argument')) return `${opt} takes no value`;
    if (msg.includes('argument is ambiguous')) return `${opt} needs a value; a value starting with '-' is written ${opt}=-VALUE`;
    if (msg.includes('argument missing')) return `${opt} needs a value`;
  }
  if (code === 'ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL') return `unexpected argument ${opt || msg.replace(/^.*'([^']*)'.*$/, '$1')}`;
  return msg.split('\n')[0]?.replace(/'/g, '') ?? msg;
}
