// Traces and scenarios from outside cannot do harm (issue 11, item 1):
// - every trace the suite itself writes, on every revision, passes the call
//   policy (harness/core/policy.ts): no false refusal;
// - a hostile trace (an open of /etc/passwd, a shared mapping of that file, a
//   poke into it, C-injecting labels, status, seq, error and identity fields)
//   is refused by replay before anything runs (one line, exit 2), and its
//   reproducer compiles with gcc -Wall -Werror with none of the injected code
//   outside comments and strings, and none of the refused calls in it;
// - the policy refuses each forbidden request class on its own.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import t from 'tap';
import { getProfile, ALL_REVISIONS } from '../profiles/index.ts';
import { CallPolicy, refusedCall } from '../harness/core/policy.ts';
import { parseTrace, type TraceFile } from '../harness/tools/trace.ts';
import * as K from '../uapi/kvm-uapi.ts';
import type { Call } from '../harness/core/target.ts';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const RUN = `${ROOT}run.sh`;
t.setTimeout(240000);

const dir = mkdtempSync(join(tmpdir(), 'kvm-cca-hostile-'));
t.teardown(() => rmSync(dir, { recursive: true, force: true }));

/** Every trace the suite writes: all revisions, and absent. */
function suiteTraces(): string {
  const d = join(dir, 'suite');
  for (const abi of ['all', 'absent']) {
    const r = spawnSync(RUN, ['--abi', abi, '--trace', d], { cwd: ROOT, encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`run.sh --abi ${abi} exited ${String(r.status)}: ${r.stderr.slice(-400)}`);
  }
  return d;
}

let traces = '';
t.test('every trace the suite writes passes the call policy', async (t) => {
  traces = suiteTraces();
  const files = readdirSync(traces);
  const abis = new Set<string>();
  const refused: string[] = [];
  for (const f of files) {
    const tr = parseTrace(readFileSync(join(traces, f), 'utf8'), f);
    abis.add(tr.abi);
    const why = refusedCall(tr, getProfile(tr.abi)!);
    if (why) refused.push(`${f}: ${why}`);
  }
  t.ok(files.length > 1000, `${files.length} traces`);
  t.same([...abis].sort(), [...ALL_REVISIONS, 'absent'].sort(), 'every revision');
  t.same(refused.slice(0, 5), [], 'no false refusal');
});

const MARK = 'INJECTED';
const inject = (n: string): string => `x */ int ${MARK}_${n} = 1; /* \n#include "/etc/shadow"\n" ); ${MARK}_${n}_s(); ("\u0000???/`;

function hostile(): TraceFile {
  const name = readdirSync(traces).find((f) => f.startsWith('v8__run_')) ?? readdirSync(traces).find((f) => f.startsWith('v8__'));
  const base = JSON.parse(readFileSync(join(traces, name!), 'utf8')) as TraceFile & Record<string, unknown>;
  const evil: { label: string; request: Record<string, unknown>; result: Record<string, unknown>; seq?: unknown }[] = [
    { label: inject('open'), request: { op: 'open', path: '/etc/passwd', flags: 0, as: 'pw' }, result: { ret: 3, errno: 0 } },
    {
      label: 'map the file shared',
      request: { op: 'mmap', as: 'pwmap', len: 4096, prot: 3, flags: K.MAP_SHARED, fd: 'pw', offset: 0 },
      result: { ret: 0, errno: 0 },
    },
    { label: 'overwrite it', request: { op: 'poke', mem: 'pwmap', offset: 0, hex: '726f6f74' }, result: { ret: 0, errno: 0 } },
    { label: 'handle with odd name', request: { op: 'open', path: '/dev/kvm', flags: K.O_RDWR, as: 'a-b' }, result: { ret: 4, errno: 0 } },
  ];
  const calls = [
    ...evil.map((c, i) => ({ seq: `${i + 1}, 0, 0, 0, 0); ${MARK}_seq(); report(1`, request_name: c.request.op, ms: 0, ...c })),
    ...base.calls.map((c, i) => ({ ...c, label: i === 0 ? inject('label') : c.label, result: i === 1 ? { ...c.result, error: inject('error') } : c.result })),
  ];
  return {
    ...base,
    check: inject('check'),
    description: inject('desc'),
    status: inject('status') as never,
    assertions: [{ ok: false, message: inject('assert') }],
    target: { ...base.target, spec: inject('spec'), release: inject('release'), machine: 'aarch64\n#error' },
    calls: calls as never,
  };
}

/** The text of a C file outside comments, string and character literals. */
function codeOnly(c: string): string {
  let out = '';
  for (let i = 0; i < c.length; i++) {
    if (c.startsWith('/*', i)) {
      const e = c.indexOf('*/', i + 2);
      i = e < 0 ? c.length : e + 1;
      out += ' ';
    } else if (c.startsWith('//', i)) {
      const e = c.indexOf('\n', i);
      i = e < 0 ? c.length : e - 1;
    } else if (c[i] === '"' || c[i] === "'") {
      const q = c[i];
      for (i++; i < c.length && c[i] !== q; i++) if (c[i] === '\\') i++;
      out += '""';
    } else out += c[i]!;
  }
  return out;
}

t.test('a hostile trace: replay refuses it before anything runs, repro renders it harmless', async (t) => {
  const tr = hostile();
  const file = join(dir, 'hostile.json');
  writeFileSync(file, JSON.stringify(tr));
  parseTrace(readFileSync(file, 'utf8'), file); // well-formed: only the policy stops it

  const r = spawnSync(RUN, ['replay', file], { cwd: ROOT, encoding: 'utf8' });
  t.equal(r.status, 2, 'replay exits 2');
  t.equal(r.stdout, '', 'nothing replayed');
  const lines = r.stderr.split('\n').filter(Boolean);
  t.equal(lines.length, 1, `one line: ${r.stderr}`);
  t.match(lines[0], /call 1 \(.*\): refused: open of "\/etc\/passwd": only \/dev\/kvm may be opened/);
  t.notMatch(r.stderr, /\n.*\n/, 'the label cannot add lines');

  const out = join(dir, 'hostile.c');
  const rr = spawnSync(RUN, ['repro', file, '-o', out], { cwd: ROOT, encoding: 'utf8' });
  t.equal(rr.status, 0, `repro writes C (${rr.stderr})`);
  const c = readFileSync(out, 'utf8');
  t.notMatch(codeOnly(c), new RegExp(MARK), 'no injected code outside comments and strings');
  t.notMatch(c, /open\("\/etc|\u0000|\?\?\//, 'no open of the refused path, no raw NUL, no trigraph');
  t.notMatch(c, /^#include "/m, 'no injected preprocessor line');
  t.notMatch(c, /MAP_SHARED, h_pw/, 'the shared file mapping is not in the program');
  t.match(c, /NOT EXECUTED \(outside the suite's call policy\): call 1: open of/);
  t.match(c, /call 4: bad handle name "a-b"/, 'a handle name that is no identifier is refused');
  const gcc = spawnSync('sh', ['-c', 'command -v gcc']).status === 0;
  if (!gcc) {
    t.comment('no gcc: compile step skipped');
    return;
  }
  const cc = spawnSync('gcc', ['-Wall', '-Werror', '-o', `${out}.out`, out], { encoding: 'utf8' });
  t.equal(cc.status, 0, `gcc -Wall -Werror compiles it${cc.stderr ? `\n${cc.stderr}` : ''}`);
  const nm = spawnSync('nm', [`${out}.out`], { encoding: 'utf8' });
  t.notMatch(nm.stdout, new RegExp(MARK), 'no injected symbol in the binary');
});

t.test('the policy refuses each forbidden class on its own', async (t) => {
  const abi = getProfile('v8')!;
  const start: Call[] = [
    { op: 'open', path: '/dev/kvm', flags: K.O_RDWR | K.O_CLOEXEC, as: 'kvm' },
    { op: 'ioctl', fd: 'kvm', req: K.KVM_CREATE_VM, arg: { int: 0 }, as: 'vm' },
    { op: 'ioctl', fd: 'vm', req: K.KVM_CREATE_VCPU, arg: { int: 0 }, as: 'vcpu' },
    { op: 'mmap', as: 'mem', len: 4096, prot: K.PROT_READ | K.PROT_WRITE, flags: K.MAP_PRIVATE | K.MAP_ANONYMOUS },
    { op: 'mmap', as: 'ro', len: 4096, prot: K.PROT_READ, flags: K.MAP_PRIVATE | K.MAP_ANONYMOUS },
  ];
  const cases: [string, Call, RegExp][] = [
    ['open of another path', { op: 'open', path: '/etc/passwd', flags: 0, as: 'x' }, /only \/dev\/kvm/],
    ['open /dev/kvm with O_CREAT|O_TRUNC', { op: 'open', path: '/dev/kvm', flags: 0o1102, as: 'x' }, /open flags/],
    ['shared mapping of /dev/kvm', { op: 'mmap', as: 'x', len: 4096, prot: 3, flags: K.MAP_SHARED, fd: 'kvm' }, /only an fd the uAPI handed out/],
    ['executable mapping', { op: 'mmap', as: 'x', len: 4096, prot: 7, flags: K.MAP_PRIVATE | K.MAP_ANONYMOUS }, /no exec/],
    ['MAP_FIXED', { op: 'mmap', as: 'x', len: 4096, prot: 3, flags: K.MAP_PRIVATE | K.MAP_ANONYMOUS | 0x10 }, /MAP_FIXED/],
    ['huge mapping', { op: 'mmap', as: 'x', len: 2 ** 40, prot: 3, flags: K.MAP_PRIVATE | K.MAP_ANONYMOUS }, /at most/],
    ['poke past a mapping', { op: 'poke', mem: 'mem', offset: 4095, hex: '0000' }, /past mapping/],
    ['poke into a read-only mapping', { op: 'poke', mem: 'ro', offset: 0, hex: '00' }, /not writable/],
    ['peek of an unknown mapping', { op: 'peek', mem: 'nope', offset: 0, len: 1 }, /unknown mapping/],
    ['an ioctl of no revision', { op: 'ioctl', fd: 'vm', req: 0x5401, arg: { int: 0 } }, /not a request of v8/],
    ['a pointer ioctl with an address', { op: 'ioctl', fd: 'vcpu', req: K.KVM_GET_ONE_REG, arg: { int: 0x7fff0000 } }, /takes a pointer/],
    ['binding an fd from an ioctl that returns none', { op: 'ioctl', fd: 'vm', req: K.KVM_CHECK_EXTENSION, arg: { int: 1 }, as: 'x' }, /returns no fd/],
    [
      'as_fd_at outside KVM_CREATE_DEVICE',
      { op: 'ioctl', fd: 'vm', req: K.KVM_ENABLE_CAP, arg: { buf: { hex: '00'.repeat(104) } }, as: 'x', as_fd_at: 0 },
      /as_fd_at/,
    ],
    ['a deadline past 2^31 ms', { op: 'info', timeout_ms: 2 ** 31 }, /timeout_ms/],
    ['an unknown op', { op: 'exec' } as unknown as Call, /not allowed/],
  ];
  for (const [what, call, why] of cases) {
    const p = new CallPolicy(abi);
    for (const s of start) t.equal(p.admit(s), undefined, `set-up call ${s.op} admitted`);
    t.match(p.admit(call) ?? 'admitted', why, what);
  }
});
