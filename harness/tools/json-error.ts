// Where a JSON.parse failure is, as a line number and a one-line message, for
// the "FILE:LINE: problem" errors of scenario, trace and baseline files.
// V8 gives "at position N" for most errors, but for an unexpected token only a
// quoted excerpt of up to 10 characters either side, which we locate instead.

export interface JsonErrorAt {
  line?: number;
  /** One line, without V8's multi-line source excerpt. */
  message: string;
}

const lineAt = (text: string, pos: number): number => text.slice(0, pos).split('\n').length;

export function jsonErrorAt(text: string, e: unknown): JsonErrorAt {
  const msg = e instanceof Error ? e.message : String(e);
  const pos = /at position (\d+)/.exec(msg);
  if (pos) return { line: lineAt(text, Number(pos[1])), message: msg.replace(/ in JSON at position \d+.*$/s, '').replace(/\s+/g, ' ') };
  const lc = /\(line (\d+) column \d+\)/.exec(msg);
  if (lc) return { line: Number(lc[1]), message: msg.replace(/\s*\(line.*$/s, '') };
  const tok = /^(Unexpected token '([^']*)'), (\.\.\.)?"([\s\S]*?)"(\.\.\.)? is not valid JSON$/.exec(msg);
  if (tok) {
    const [, what, token, pre, excerpt, post] = tok as unknown as [string, string, string, string | undefined, string, string | undefined];
    const at = text.indexOf(excerpt);
    if (at < 0) return { message: what };
    const p = pre ? at + 10 : post ? at + excerpt.length - 10 : at + Math.max(0, excerpt.lastIndexOf(token));
    return { line: lineAt(text, p), message: what };
  }
  if (msg.includes('Unexpected end of JSON input')) return { line: lineAt(text, text.trimEnd().length), message: 'unexpected end of the file' };
  return { message: msg.split('\n')[0] ?? msg };
}
