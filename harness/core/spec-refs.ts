// Where a source string points inside the repo. Profiles, bug switches,
// scenarios and checks cite their facts in a few forms: condition ids
// (R1-PO2, V10-CR11, V14-A5, G8, UP-arm), mail ids (lore:<msgid>), patch
// subjects ("[PATCH v13 16/48]"), git trees (owner/repo@commit) and sections
// of the notes the profiles were first written from ("abi-evolution.md §3.5",
// "conditions.md §6.6", a bare "§5"). Each maps to an anchor in docs/spec/;
// test/docs.test.ts proves every anchor exists.

/** One reference found in a source string. */
export interface SpecRef {
  /** The text as cited, e.g. "V10-CR11" or "abi-evolution.md §3.5". */
  ref: string;
  /** Repo-relative path with anchor, e.g. "docs/spec/rme-era.md#v10-cr11"; undefined when the form is known but not mapped. */
  doc: string | undefined;
  /** Offsets of the cited text in the source string. */
  start: number;
  end: number;
}

const SPEC = 'docs/spec';

/** The file that holds each era's condition ids. */
const ID_FILES: Record<string, string> = { R1: 'rfc-v1.md', V10: 'rme-era.md', V14: 'rmi-era.md' };

// Sections of the original notes (named by their file) -> the repo's own docs.
// The notes' numbering is kept only here, so old citations keep resolving.
const NOTES: Record<string, Record<string, string>> = {
  'conditions.md': {
    '': 'README.md#the-original-notes',
    '0': 'README.md#tags',
    '0.1': 'README.md#tags',
    '0.2': 'sources.md',
    '0.3': 'generic.md#g',
    '1': 'uapi.md#overview',
    '2': 'rfc-v1.md',
    '2.1': 'rfc-v1.md#states',
    '2.2': 'rfc-v1.md#r1-vm',
    '2.3': 'rfc-v1.md#r1-ce',
    '2.4': 'rfc-v1.md#r1-ec',
    '2.5': 'rfc-v1.md#r1-cf',
    '2.6': 'rfc-v1.md#r1-cr',
    '2.7': 'rfc-v1.md#r1-ip',
    '2.8': 'rfc-v1.md#r1-po',
    '2.9': 'rfc-v1.md#r1-ac',
    '2.10': 'rfc-v1.md#r1-v',
    '2.11': 'rfc-v1.md#rmi-errors',
    '3': 'rme-era.md#v10',
    '3.1': 'rme-era.md#states',
    '3.2': 'rme-era.md#v10-vm',
    '3.3': 'rme-era.md#v10-ce',
    '3.4': 'rme-era.md#v10-ec',
    '3.5': 'rme-era.md#v10-cf',
    '3.6': 'rme-era.md#v10-cr',
    '3.7': 'rme-era.md#v10-ir',
    '3.8': 'rme-era.md#v10-po',
    '3.9': 'rme-era.md#v10-ac',
    '3.10': 'rme-era.md#v10-v',
    '3.11': 'rme-era.md#v10-r',
    '3.12': 'rme-era.md#v10-ps',
    '3.13': 'rme-era.md#rmi-errors',
    '4': 'rmi-era.md#v14',
    '4.1': 'rmi-era.md#states',
    '4.2': 'rmi-era.md#v14-vm',
    '4.3': 'rmi-era.md#v14-ce',
    '4.4': 'rmi-era.md#v14-ec',
    '4.5': 'rmi-era.md#v14-po',
    '4.6': 'rmi-era.md#v14-a',
    '4.7': 'rmi-era.md#second-run',
    '4.8': 'rmi-era.md#v14-r',
    '4.9': 'rmi-era.md#v14-v',
    '4.10': 'rmi-era.md#rmi-errors',
    '5': 'precedence.md',
    '6': 'disputes.md#corrections',
    '6.1': 'disputes.md#rfc-no-rmm',
    '6.2': 'disputes.md#rfc-rec-bit',
    '6.3': 'disputes.md#rfc-dbg-pmu',
    '6.4': 'disputes.md#rfc-ipa-limit',
    '6.5': 'disputes.md#populate-state-errno',
    '6.6': 'disputes.md#init-ripas-errno',
    '6.7': 'disputes.md#rmi-populate-normal-vm',
    '6.8': 'disputes.md#hardened-populate',
    '6.9': 'disputes.md#v14-enable-cap',
    '6.10': 'disputes.md#vcpu-after-activation',
    '6.11': 'disputes.md#no-rmm-changelog',
    '6.12': 'disputes.md#rec-aux-count',
    '6.13': 'disputes.md#constants',
    '7': 'README.md#unconfirmed',
    '8': 'README.md#emulator-minimum',
  },
  'abi-evolution.md': {
    '': 'README.md#the-original-notes',
    '0': 'sources.md',
    '1': 'uapi.md#timeline',
    '2': 'uapi.md#numbers',
    '2a': 'uapi.md#numbers',
    '2b': 'uapi.md#structs',
    '3': 'uapi.md#timeline',
    '3.1': 'rfc-v1.md#behaviour',
    '3.2': 'rme-era.md#v2-v6',
    '3.3': 'rme-era.md#v7-v10',
    '3.4': 'rme-era.md#v11',
    '3.5': 'rmi-era.md#v12',
    '3.6': 'rmi-era.md#v13',
    '3.7': 'rmi-era.md#v14-changes',
    '4': 'bugs.md',
    '4.1': 'bugs.md#redesign',
    '4.2': 'bugs.md#number-drift',
    '4.3': 'bugs.md#ordering',
    '4.4': 'bugs.md#vcpu-after-activation',
    '4.5': 'bugs.md#dead-realms',
    '4.6': 'disputes.md#errno-disputes',
    '4.7': 'bugs.md#populate-gaps',
    '4.8': 'bugs.md#partial-progress',
    '4.9': 'bugs.md#max-features',
    '4.10': 'bugs.md#psci',
    '4.11': 'bugs.md#tooling',
    '4.12': 'bugs.md#build',
    '5': 'absent.md#upstream-status',
    '6': 'vmms.md',
    '6.1': 'vmms.md#kvmtool',
    '6.2': 'vmms.md#qemu',
    '6.3': 'vmms.md#cloud-hypervisor',
    '6.4': 'vmms.md#openvmm',
    '6.5': 'vmms.md#others',
    '7': 'uapi.md#generations',
  },
  'qemu-target-notes.md': { '': 'absent.md#answers' },
};

/** A msgid or tree reference as an anchor: lower case, runs of other characters as one '-'. */
export const slug = (s: string): string =>
  s
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-|-$/g, '');

/** The anchor sources.md carries for a lore message id. */
export const mailAnchor = (msgid: string): string => `mail-${slug(msgid)}`;

// One pass over the string; the alternation order decides overlaps.
const TOKEN = new RegExp(
  [
    String.raw`lore:(?<msgid>[^\s,;()"'\]]+[^\s,;()"'\].])`,
    String.raw`\[(?:RFC )?PATCH (?<prev>v\d+) (?<pnum>\d+)\/\d+\]`,
    String.raw`(?<tree>[A-Za-z0-9_.-]+\/[A-Za-z0-9_.-]+)@(?<commit>[0-9a-f]{7,40})\b`,
    // a file of the repo itself: "docs/spec/errata.md#v7-init-over-ram", "fixtures/…"
    String.raw`(?<path>\b(?:docs|fixtures|emulator|harness|tests)\/[A-Za-z0-9_.\/-]*[A-Za-z0-9_-](?:#[A-Za-z0-9_-]+)?)`,
    String.raw`(?<stack>\bcca-host[-\/]v7\b|\breal(?: v7)?[- ]stacks?\b)`,
    String.raw`(?<note>conditions|abi-evolution|qemu-target-notes)\.md`,
    String.raw`§(?<sec>\d+(?:\.\d+|[a-z])?)`,
    String.raw`\b(?<era>R1|V10|V14)-(?<kind>[A-Z]+)?(?<num>\d+)?(?:\.\.(?:(?:R1|V10|V14)-)?(?<kind2>[A-Z]+)?(?<num2>\d+))?\b`,
    String.raw`\bG(?<g>[1-9]\d?)\b`,
    String.raw`\bUP(?:-(?<up>[a-z]+))?\b`,
  ].join('|'),
  'g',
);

/** Every reference in a source string, in order, ranges expanded (V10-PO7..PO10 gives four). */
export function specRefs(source: string): SpecRef[] {
  const out: SpecRef[] = [];
  // A § cites the last notes file named before it; a bare § cites conditions.md.
  let noteFile = 'conditions.md';
  for (const m of source.matchAll(TOKEN)) {
    const g = m.groups ?? {};
    const start = m.index;
    const end = start + m[0].length;
    const at = (ref: string, doc: string | undefined): void => {
      out.push({ ref, doc: doc === undefined ? undefined : `${SPEC}/${doc}`, start, end });
    };
    if (g.msgid) at(m[0], `sources.md#${mailAnchor(g.msgid)}`);
    else if (g.prev) at(m[0], `sources.md#patch-${g.prev}-${g.pnum!}`);
    else if (g.tree) at(m[0], `sources.md#${slug(`${g.tree}@${(g.commit ?? '').slice(0, 12)}`)}`);
    else if (g.path) out.push({ ref: m[0], doc: g.path, start, end });
    else if (g.stack) at(m[0], 'errata.md#real-stack-v7');
    else if (g.note) {
      noteFile = `${g.note}.md`;
      // "abi-evolution.md §3.5": the section decides; a bare name points at the index.
      const next = /^\s*§/.exec(source.slice(end));
      if (!next) at(m[0], NOTES[noteFile]?.['']);
    } else if (g.sec) {
      const doc = NOTES[noteFile]?.[g.sec];
      out.push({ ref: `${noteFile} §${g.sec}`, doc: doc === undefined ? undefined : `${SPEC}/${doc}`, start, end });
    } else if (g.era) {
      const file = ID_FILES[g.era]!;
      if (!g.kind && g.num) {
        // V10-23, V14-26: patch NN of that revision's posting
        at(m[0], `sources.md#patch-${g.era === 'R1' ? 'rfc' : g.era.toLowerCase()}-${g.num.padStart(2, '0')}`);
      } else if (!g.kind) {
        at(m[0], file); // "R1-*": the era's page
      } else if (!g.num) {
        // "R1-IP order", "V10-IR (copy, ...)": the entry point as a whole
        at(m[0], `${file}#${slug(`${g.era}-${g.kind}`)}`);
      } else {
        const kind2 = g.kind2 ?? g.kind;
        const from = Number(g.num);
        const to = g.num2 !== undefined && kind2 === g.kind ? Number(g.num2) : from;
        for (let n = from; n <= Math.max(from, Math.min(to, from + 40)); n++) {
          const id = `${g.era}-${g.kind}${n}`;
          out.push({ ref: id, doc: `${SPEC}/${file}#${slug(id)}`, start, end });
        }
      }
    } else if (g.g) at(m[0], `generic.md#g${g.g}`);
    else at(m[0], `generic.md#${g.up ? `up-${g.up}` : 'up'}`);
  }
  return out;
}

/** The condition ids (R1-*, V10-*, V14-*, G*) a source string cites, ranges expanded. */
export function conditionIds(source: string): string[] {
  return specRefs(source)
    .map((r) => r.ref)
    .filter((r) => /^(?:(?:R1|V10|V14)-[A-Z]+\d+|G\d+)$/.test(r));
}

/** The distinct doc paths a source cites (at most `max`), for a failure's diagnostics. */
export function docPaths(source: string, max = 3): string[] {
  const seen: string[] = [];
  for (const r of specRefs(source)) if (r.doc && !seen.includes(r.doc)) seen.push(r.doc);
  return seen.slice(0, max);
}

/** "V10-CR11 (docs/spec/rme-era.md#v10-cr11)": a source with where to read it. */
export function withDocs(source: string): string {
  const docs = docPaths(source);
  return docs.length ? `${source} (${docs.join(', ')})` : source;
}

/**
 * The source as Markdown with every reference a link, for a page in
 * `fromDir` (repo-relative, e.g. "docs/conditions").
 */
export function linkify(source: string, fromDir: string): string {
  const refs = specRefs(source).filter((r) => r.doc);
  let out = '';
  let pos = 0;
  for (const r of refs) {
    if (r.start < pos) continue; // a range already linked
    out += source.slice(pos, r.start) + `[${source.slice(r.start, r.end)}](${relPath(fromDir, r.doc!)})`;
    pos = r.end;
  }
  return out + source.slice(pos);
}

function relPath(fromDir: string, target: string): string {
  const from = fromDir.split('/').filter(Boolean);
  const to = target.split('/');
  let i = 0;
  while (i < from.length && i < to.length - 1 && from[i] === to[i]) i++;
  return [...from.slice(i).map(() => '..'), ...to.slice(i)].join('/');
}
