// The repo carries its own facts: the generated per-revision pages match the
// profiles, every source a profile, bug switch, scenario, launch order or
// check cites resolves to an anchor in docs/spec/, every relative link in the
// Markdown resolves inside the clone, and nothing points at the shared notes
// outside the repo.
import t from 'tap';
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, normalize, relative, resolve } from 'node:path';
import { PROFILES } from '../profiles/index.ts';
import type { Expect } from '../profiles/types.ts';
import { conditionIds, docPaths, linkify, specRefs, withDocs } from '../harness/core/spec-refs.ts';
import { BUGS } from '../emulator/bugs.ts';
import { REPO, inheritedFrom, renderAll, statusOf } from '../scripts/gen-conditions.ts';
import { ktapLine } from '../harness/tools/report/ktap.ts';
import type { CheckOutcome } from '../harness/core/engine.ts';

const read = (p: string): string => readFileSync(join(REPO, p), 'utf8');

/** GitHub's heading anchors: lower case, punctuation dropped, spaces as '-', repeats numbered. */
function anchorsOf(path: string): Set<string> {
  const text = read(path);
  const out = new Set<string>();
  for (const m of text.matchAll(/<a\s+(?:id|name)="([^"]+)"/g)) out.add(m[1]!);
  const seen = new Map<string, number>();
  for (const m of text.matchAll(/^#{1,6}\s+(.+)$/gm)) {
    const base = m[1]!
      .trim()
      .toLowerCase()
      .replace(/<[^>]+>/g, '')
      .replace(/[^\p{L}\p{N} _-]/gu, '')
      .replace(/ /g, '-');
    const n = seen.get(base) ?? 0;
    seen.set(base, n + 1);
    out.add(n ? `${base}-${n}` : base);
  }
  return out;
}

const anchorCache = new Map<string, Set<string>>();
/** Why a repo-relative "path#anchor" does not resolve, or undefined when it does. */
function unresolved(target: string): string | undefined {
  const [path, anchor] = target.split('#') as [string, string | undefined];
  const abs = resolve(REPO, path);
  if (relative(REPO, abs).startsWith('..')) return `${target} leaves the repo`;
  if (!existsSync(abs)) return `${path} does not exist`;
  if (!anchor || !path.endsWith('.md') || statSync(abs).isDirectory()) return undefined;
  let a = anchorCache.get(path);
  if (!a) anchorCache.set(path, (a = anchorsOf(path)));
  return a.has(anchor) ? undefined : `${path} has no anchor #${anchor}`;
}

/** Every source string the suite can print, with where it comes from. */
function citedSources(): { where: string; source: string; required: boolean }[] {
  const out: { where: string; source: string; required: boolean }[] = [];
  for (const p of PROFILES.values()) {
    out.push({ where: `${p.name} profile source`, source: p.source, required: true });
    out.push({ where: `${p.name} cap`, source: p.cap.source, required: true });
    if (p.psciComplete) out.push({ where: `${p.name} psciComplete`, source: p.psciComplete.source, required: true });
    if (p.rmiPopulate) out.push({ where: `${p.name} rmiPopulate`, source: p.rmiPopulate.source, required: true });
    for (const [k, e] of Object.entries<Expect>(p.expect)) {
      out.push({ where: `${p.name} ${k}`, source: e.source, required: true });
      if (e.dispute) out.push({ where: `${p.name} ${k} dispute`, source: e.dispute, required: false });
      if (e.unconfirmed) out.push({ where: `${p.name} ${k} unconfirmed`, source: e.unconfirmed, required: false });
    }
  }
  for (const b of BUGS) out.push({ where: `bug ${b.name}`, source: b.source, required: true });
  for (const dir of ['fixtures/launch-orders', 'fixtures/scenarios']) {
    for (const f of readdirSync(join(REPO, dir)).filter((f) => f.endsWith('.json'))) {
      const j = JSON.parse(read(`${dir}/${f}`)) as { source?: unknown };
      if (typeof j.source === 'string') out.push({ where: `${dir}/${f}`, source: j.source, required: true });
    }
  }
  // string literals in the checks that cite something (their ok()/equal() sources and messages)
  const checkFiles = ['checks', 'checks/setup'].flatMap((d) =>
    readdirSync(join(REPO, d))
      .filter((f) => f.endsWith('.ts'))
      .map((f) => `${d}/${f}`),
  );
  for (const f of checkFiles) {
    for (const m of read(f).matchAll(/'((?:[^'\\\n]|\\.)*)'|`((?:[^`\\$]|\\.)*)`/g)) {
      const s = m[1] ?? m[2] ?? '';
      if (specRefs(s).length) out.push({ where: f, source: s, required: false });
    }
  }
  return out;
}

t.test('docs/conditions/ is what `npm run docs` generates from the profiles', async (t) => {
  const files = renderAll();
  for (const [path, text] of files) {
    const now = existsSync(join(REPO, path)) ? read(path) : undefined;
    t.ok(now === text, `${path} is up to date`, now === text ? {} : { fix: 'run `npm run docs` (scripts/gen-conditions.ts) and commit docs/conditions/' });
  }
  const extra = readdirSync(join(REPO, 'docs/conditions')).filter((f) => !files.has(`docs/conditions/${f}`));
  t.same(extra, [], 'no page of a profile that no longer exists (run `npm run docs`)');
  // every expectation of every revision is on its page with its status
  const missing: string[] = [];
  for (const p of PROFILES.values()) {
    const page = files.get(`docs/conditions/${p.name}.md`) ?? '';
    for (const [k, e] of Object.entries<Expect>(p.expect)) {
      const row = page.split('\n').find((l) => l.includes(`\`${k}\``)) ?? '';
      const st = statusOf(e);
      if (!row.includes(st === 'confirmed' ? 'confirmed' : st === 'inherited' ? `inherited from ${String(inheritedFrom(e))}` : 'UNCONFIRMED'))
        missing.push(`${p.name} ${k} (${st})`);
    }
  }
  t.same(missing, [], "every expectation is on its revision's page with its status");
  t.end();
});

t.test('every cited source resolves to an anchor in docs/', async (t) => {
  const bad: string[] = [];
  const ids = new Set<string>();
  let refs = 0;
  for (const { where, source, required } of citedSources()) {
    const found = specRefs(source);
    if (required && found.length === 0) bad.push(`${where}: "${source}" cites nothing docs/ can resolve`);
    for (const r of found) {
      refs++;
      const why = r.doc ? unresolved(r.doc) : `no page maps ${r.ref}`;
      if (why) bad.push(`${where}: ${r.ref}: ${why} (add it to docs/spec/ or harness/core/spec-refs.ts)`);
    }
    for (const id of conditionIds(source)) ids.add(id);
  }
  t.same(bad, [], `${refs} references, ${ids.size} distinct condition ids`);
  t.end();
});

t.test('the resolver', async (t) => {
  t.same(docPaths('V10-CR11'), ['docs/spec/rme-era.md#v10-cr11']);
  t.equal(withDocs('V10-CR11'), 'V10-CR11 (docs/spec/rme-era.md#v10-cr11)');
  t.equal(withDocs('no reference here'), 'no reference here');
  t.same(
    specRefs('V10-PO7..PO10 (success path)').map((r) => r.ref),
    ['V10-PO7', 'V10-PO8', 'V10-PO9', 'V10-PO10'],
    'a range expands',
  );
  t.same(
    specRefs('abi-evolution.md §3.3, conditions.md §6.6; §5').map((r) => r.doc),
    ['docs/spec/rme-era.md#v7-v10', 'docs/spec/disputes.md#init-ripas-errno', 'docs/spec/precedence.md'],
    'a § belongs to the last notes file named; a bare § to conditions.md',
  );
  t.same(docPaths('lore:86pl5m89ub.wl-maz@kernel.org)'), ['docs/spec/sources.md#mail-86pl5m89ub-wl-maz-kernel-org'], 'a mail id, closing bracket dropped');
  t.same(docPaths('"[PATCH v13 16/48] arm64"'), ['docs/spec/sources.md#patch-v13-16']);
  t.same(docPaths('V14-26, G8, UP-arm, UP'), ['docs/spec/sources.md#patch-v14-26', 'docs/spec/generic.md#g8', 'docs/spec/generic.md#up-arm']);
  t.same(
    docPaths('real stack (cca-host-v7), docs/spec/errata.md#v7-init-over-ram'),
    ['docs/spec/errata.md#real-stack-v7', 'docs/spec/errata.md#v7-init-over-ram'],
    'the real stack; a path in the repo',
  );
  t.same(docPaths('measured on the real v7 stack'), ['docs/spec/errata.md#real-stack-v7']);
  t.same(docPaths('R1-IP order'), ['docs/spec/rfc-v1.md#r1-ip'], 'an entry point as a whole');
  t.equal(specRefs('conditions.md §9.9')[0]?.doc, undefined, 'an unknown section is reported, not guessed');
  t.equal(linkify('R1-PO2, see', 'docs/conditions'), '[R1-PO2](../spec/rfc-v1.md#r1-po2), see');
  const failed = {
    name: 'create-realm/in-new',
    abi: 'v10',
    area: 'create-realm',
    description: '',
    status: 'fail',
    assertions: [{ ok: false, message: 'CREATE_REALM = 0, expected -1 EEXIST (V10-CR1)', source: 'V10-CR1' }],
    sources: ['V10-CR1'],
    trace: [],
    ms: 0,
  } as unknown as CheckOutcome;
  t.match(ktapLine(failed, 1), /- V10-CR1 \(docs\/spec\/rme-era\.md#v10-cr1\)/, 'a failure prints the page next to its source');
  t.end();
});

t.test('every relative link in the Markdown resolves inside the clone', async (t) => {
  const tracked = execFileSync('git', ['ls-files', '--cached', '--others', '--exclude-standard', '*.md'], { cwd: REPO, encoding: 'utf8' })
    .split('\n')
    .filter(Boolean);
  const files = [...new Set([...tracked, 'CONTRIBUTING.md', ...[...renderAll().keys()]])].filter(
    (f) =>
      !f.startsWith('node_modules/') &&
      existsSync(join(REPO, f)) &&
      (f === 'README.md' || f === 'CONTRIBUTING.md' || f.startsWith('docs/') || f.endsWith('README.md')),
  );
  const bad: string[] = [];
  let n = 0;
  for (const f of files) {
    const text = read(f)
      .replace(/```[\s\S]*?```/g, '')
      .replace(/`[^`\n]*`/g, '');
    for (const m of text.matchAll(/\]\(([^)\s]+)\)/g)) {
      const href = m[1]!;
      if (/^[a-z]+:/i.test(href)) continue; // https:, mailto:
      n++;
      const target = href.startsWith('#')
        ? `${f}${href}`
        : `${normalize(join(dirname(f), href.split('#')[0]!))}${href.includes('#') ? `#${String(href.split('#')[1])}` : ''}`;
      const why = unresolved(target);
      if (why) bad.push(`${f}: ${href}: ${why}`);
    }
  }
  t.ok(files.includes('README.md') && files.includes('docs/spec/README.md'), 'README.md and docs/ are checked');
  t.same(bad, [], `${n} relative links in ${files.length} files`);
  t.end();
});

t.test('nothing tracked points at the shared notes outside the repo', async (t) => {
  const tracked = execFileSync('git', ['ls-files', '--cached', '--others', '--exclude-standard'], { cwd: REPO, encoding: 'utf8' }).split('\n').filter(Boolean);
  const bad: string[] = [];
  for (const f of tracked) {
    if (!existsSync(join(REPO, f)) || f === 'package-lock.json') continue;
    const lines = readFileSync(join(REPO, f), 'utf8').split('\n');
    lines.forEach((l, i) => {
      // a line may say that shared recordings were copied in; it may not point there
      if (/\.\.\/shared|\/work\/shared|\bshared\/(spec|real-stacks)\b/.test(l) && !/copied/i.test(l)) bad.push(`${f}:${i + 1}: ${l.trim()}`);
    });
  }
  t.same(bad, [], 'no path to the notes outside the repo');
  t.end();
});
