// The check names changed when checks/ was organised by uAPI call (issue 12);
// docs/check-renames.tsv maps every old name to its new one. This script:
//
//   tsx scripts/check-renames.ts --verdicts BEFORE.ktap AFTER.ktap
//     maps BEFORE's names through the table and compares every revision's
//     result lines with AFTER's (ok / not ok, the name, the TODO/SKIP
//     directive and its reason), in name order: exit 0 when they are equal,
//     1 with every difference listed.
//   tsx scripts/check-renames.ts --baseline FILE
//     prints FILE (a --baseline file, text form) with the old names
//     replaced; an entry whose pattern the table cannot map is kept and named
//     on stderr.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const TABLE = fileURLToPath(new URL('../docs/check-renames.tsv', import.meta.url));

/** old name (area/check) -> new name. */
export function loadRenames(path = TABLE): Map<string, string> {
  const m = new Map<string, string>();
  for (const [i, line] of readFileSync(path, 'utf8').split('\n').entries()) {
    if (line === '' || line.startsWith('#') || line === 'old\tnew') continue;
    const [from, to, ...rest] = line.split('\t');
    if (!from || !to || rest.length) throw new Error(`${path}:${i + 1}: expected "old<TAB>new"`);
    if (m.has(from)) throw new Error(`${path}:${i + 1}: ${from} is mapped twice`);
    m.set(from, to);
  }
  return m;
}

/** "REV/area/check" with its old name mapped; a name the table does not know stays. */
export function rename(full: string, renames: ReadonlyMap<string, string>): string {
  const slash = full.indexOf('/');
  if (slash < 0) return full;
  const name = full.slice(slash + 1);
  return `${full.slice(0, slash + 1)}${renames.get(name) ?? name}`;
}

/** The result lines of a KTAP/TAP report: "REV/area/check" -> "ok" / "not ok" plus its directive. */
export function verdicts(ktap: string, renames?: ReadonlyMap<string, string>): Map<string, string> {
  const out = new Map<string, string>();
  for (const line of ktap.split('\n')) {
    const m = /^\s*(ok|not ok) \d+ - (\S+)(.*)$/.exec(line);
    if (!m?.[2]!.includes('/')) continue; // the per-revision summary lines name no check
    const name = renames ? rename(m[2]!, renames) : m[2]!;
    if (out.has(name)) throw new Error(`${name} appears twice`);
    out.set(name, `${String(m[1])}${m[3]!.replace(/ # time=\S+/, '')}`);
  }
  return out;
}

/** Every difference between the mapped BEFORE and AFTER, one line each. */
export function compareVerdicts(before: ReadonlyMap<string, string>, after: ReadonlyMap<string, string>): string[] {
  const diffs: string[] = [];
  for (const name of [...new Set([...before.keys(), ...after.keys()])].sort()) {
    const b = before.get(name);
    const a = after.get(name);
    if (b === undefined) diffs.push(`+ ${name}: only after (${String(a)})`);
    else if (a === undefined) diffs.push(`- ${name}: only before (${b})`);
    else if (a !== b) diffs.push(`~ ${name}: before "${b}", after "${a}"`);
  }
  return diffs;
}

/** A text-form baseline with its check patterns renamed; patterns the table cannot map are returned apart. */
export function renameBaseline(text: string, renames: ReadonlyMap<string, string>): { text: string; unmapped: string[] } {
  const unmapped: string[] = [];
  const lines = text.split('\n').map((line) => {
    const m = /^(\s*)(\S+)(.*)$/.exec(line);
    if (!m || m[2]!.startsWith('#')) return line;
    const pattern = m[2]!;
    const parts = pattern.split('/');
    // "area/check" or "REV/area/check"; old names may have had a third segment (mux/..., rmi/...)
    for (const cut of [0, 1]) {
      const name = parts.slice(cut).join('/');
      const to = renames.get(name);
      if (to) return `${String(m[1])}${[...parts.slice(0, cut), to].join('/')}${String(m[3])}`;
    }
    if ([...renames.keys()].some((k) => pattern.endsWith(k) || pattern.includes('*'))) unmapped.push(pattern);
    return line;
  });
  return { text: lines.join('\n'), unmapped };
}

function main(argv: string[]): number {
  const renames = loadRenames();
  if (argv[0] === '--verdicts' && argv.length === 3) {
    const before = verdicts(readFileSync(argv[1]!, 'utf8'), renames);
    const after = verdicts(readFileSync(argv[2]!, 'utf8'));
    const diffs = compareVerdicts(before, after);
    for (const d of diffs) console.log(d);
    const revs = new Set([...after.keys()].map((n) => n.split('/')[0]));
    console.log(
      `# ${before.size} checks before, ${after.size} after, over ${revs.size} revisions: ${diffs.length ? `${diffs.length} differences` : 'every verdict the same'}`,
    );
    return diffs.length ? 1 : 0;
  }
  if (argv[0] === '--baseline' && argv.length === 2) {
    const r = renameBaseline(readFileSync(argv[1]!, 'utf8'), renames);
    process.stdout.write(r.text);
    for (const u of r.unmapped) console.error(`check-renames: ${String(argv[1])}: "${u}" not mapped (a glob, or not an old name): check it by hand`);
    return 0;
  }
  console.error('usage: check-renames.ts --verdicts BEFORE.ktap AFTER.ktap | --baseline FILE');
  return 2;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) process.exitCode = main(process.argv.slice(2));
