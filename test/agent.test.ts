// The C agent on the host architecture: the wire format, deadlines, and the
// harness-side AgentLink that restarts it (on the test build, which lets
// /dev/null, FIFOs and userfaultfd stand in for KVM); then the call policy of
// the real build: what it refuses, and faults answered instead of dying.
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import t from 'tap';
import { AgentLink, buildAgent, localAgentLink } from '../harness/core/targets/agent-session.ts';

const bin = await buildAgent('host', 'test');
const policyBin = await buildAgent('host');
const tmp = mkdtempSync(join(tmpdir(), 'kvm-cca-agent-test-'));
t.teardown(() => rmSync(tmp, { recursive: true, force: true }));

const O_RDWR = 2;
const ENOTTY = 25;
const TCGETS = 0x5401;
const PROT_RW = 3;
const MAP_PRIVATE_ANON = 0x22;

/** Is a pid still a live process (not a zombie)? */
function alive(pid: number | undefined): boolean {
  if (pid === undefined) return false;
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  return !/^\S+ \(.*\) Z/.test(safeRead(`/proc/${pid}/stat`));
}
function safeRead(p: string): string {
  try {
    return readFileSync(p, 'utf8');
  } catch {
    return '';
  }
}

/** Raw lines in, raw lines out: for malformed requests the harness never sends. */
async function raw(lines: string[], agent = bin): Promise<{ out: Record<string, unknown>[]; code: number | undefined }> {
  const r = await execa(agent, [], { input: lines.join('\n') + '\n', reject: false });
  return {
    out: r.stdout
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as Record<string, unknown>),
    code: r.exitCode,
  };
}

t.test('open, ioctl errors, buffer out, close', async (t) => {
  const link = localAgentLink(bin);
  t.teardown(() => link.stop());
  const s = await link.session();
  const info = await s.call({ op: 'info' });
  t.equal(info.ret, 0);
  t.match(info.info, { sysname: 'Linux', euid: process.geteuid?.(), executor: /^kvm-cca-agent / });
  const o = await s.call({ op: 'open', path: '/dev/null', flags: O_RDWR, as: 'null' });
  t.ok(o.ret >= 0, 'open returns an fd');
  t.equal(o.errno, 0);
  t.type(o.us, 'number');
  // TCGETS on /dev/null: not a tty; the buffer still comes back unchanged.
  const hex = 'ab'.repeat(60);
  const r = await s.call({ op: 'ioctl', fd: 'null', req: TCGETS, arg: { buf: { hex } } });
  t.same([r.ret, r.errno, r.out], [-1, ENOTTY, hex]);
  const i = await s.call({ op: 'ioctl', fd: 'null', req: TCGETS, arg: { int: 0 } });
  t.same([i.ret, i.errno, i.out], [-1, ENOTTY, undefined]);
  const c = await s.call({ op: 'close', fd: 'null' });
  t.equal(c.ret, 0);
  const again = await s.call({ op: 'close', fd: 'null' });
  t.match(again.error, /^bad-request: unknown handle null/);
  const missing = await s.call({ op: 'open', path: join(tmp, 'nope'), flags: 0, as: 'x' });
  t.same([missing.ret, missing.errno], [-1, 2]);
  await s.close();
});

t.test('mmap, poke, peek, munmap, reset', async (t) => {
  const link = localAgentLink(bin);
  t.teardown(() => link.stop());
  const s = await link.session();
  t.equal((await s.call({ op: 'mmap', as: 'm', len: 8192, prot: PROT_RW, flags: MAP_PRIVATE_ANON })).ret, 0);
  t.equal((await s.call({ op: 'poke', mem: 'm', offset: 4094, hex: '01020304' })).ret, 0);
  t.equal((await s.call({ op: 'peek', mem: 'm', offset: 4092, len: 8 })).out, '0000010203040000');
  t.match((await s.call({ op: 'peek', mem: 'm', offset: 8190, len: 4 })).error, /^bad-request: range .* past mapping m/);
  t.match((await s.call({ op: 'poke', mem: 'm', offset: 8192, hex: '00' })).error, /^bad-request/);
  const bad = await s.call({ op: 'mmap', as: 'm2', len: 4096, prot: PROT_RW, flags: 0x20 });
  t.match(bad.error, /^bad-request: refused: mmap flags 0x20: exactly one of MAP_SHARED and MAP_PRIVATE/, 'mmap without MAP_PRIVATE/SHARED is refused');
  // A rebound name shadows the old mapping; reset unmaps both.
  t.equal((await s.call({ op: 'mmap', as: 'm', len: 4096, prot: PROT_RW, flags: MAP_PRIVATE_ANON })).ret, 0);
  t.equal((await s.call({ op: 'peek', mem: 'm', offset: 0, len: 2 })).out, '0000');
  t.equal((await s.call({ op: 'munmap', mem: 'm' })).ret, 0);
  t.match((await s.call({ op: 'peek', mem: 'm', offset: 0, len: 1 })).error, /unknown mapping/);
  await s.close();
  const s2 = await link.session();
  t.match((await s2.call({ op: 'peek', mem: 'm', offset: 0, len: 1 })).error, /unknown mapping/, 'a new session starts empty');
});

// userfaultfd: UFFDIO_REGISTER takes a pointer into a mapping, UFFDIO_COPY a
// pointer to source bytes; a peek of the destination proves both fix-ups.
t.test('buffer pointer fix-ups (userfaultfd)', { skip: !existsSync('/dev/userfaultfd') && 'no /dev/userfaultfd' }, async (t) => {
  const link = localAgentLink(bin);
  t.teardown(() => link.stop());
  const s = await link.session();
  const u64 = (n: number) => Buffer.from(BigInt(n).toString(16).padStart(16, '0'), 'hex').reverse().toString('hex');
  const dev = await s.call({ op: 'open', path: '/dev/userfaultfd', flags: O_RDWR, as: 'uffdev' });
  if (dev.ret < 0) {
    t.comment(`skipped: open /dev/userfaultfd: errno ${dev.errno}`);
    return;
  }
  const USERFAULTFD_IOC_NEW = 0xaa00;
  const uffd = await s.call({ op: 'ioctl', fd: 'uffdev', req: USERFAULTFD_IOC_NEW, arg: { int: 0 }, as: 'uffd' });
  t.ok(uffd.ret >= 0, 'new userfaultfd');
  const UFFDIO_API = 0xc018aa3f;
  const api = await s.call({ op: 'ioctl', fd: 'uffd', req: UFFDIO_API, arg: { buf: { hex: u64(0xaa) + u64(0) + u64(0) } } });
  t.equal(api.ret, 0);
  t.not(api.out?.slice(32), '0'.repeat(16), 'the kernel filled in the ioctls mask: out is the buffer after the call');
  t.equal((await s.call({ op: 'mmap', as: 'dst', len: 4096, prot: PROT_RW, flags: MAP_PRIVATE_ANON })).ret, 0);
  const UFFDIO_REGISTER = 0xc020aa00;
  const reg = await s.call({
    op: 'ioctl',
    fd: 'uffd',
    req: UFFDIO_REGISTER,
    arg: { buf: { hex: u64(0) + u64(4096) + u64(1) + u64(0), ptrs: [{ at: 0, to: { mem: 'dst', offset: 0 } }] } },
  });
  t.same([reg.ret, reg.errno], [0, 0], 'register the mapping by its fixed-up address');
  const UFFDIO_COPY = 0xc028aa03;
  const pattern = '5a'.repeat(8) + 'c3'.repeat(4088);
  const copy = await s.call({
    op: 'ioctl',
    fd: 'uffd',
    req: UFFDIO_COPY,
    arg: {
      buf: {
        hex: u64(0) + u64(0) + u64(4096) + u64(0) + u64(0),
        ptrs: [
          { at: 0, to: { mem: 'dst', offset: 0 } },
          { at: 8, to: { buf: { hex: pattern } } },
        ],
      },
    },
    peek: [{ mem: 'dst', offset: 0, len: 12 }],
  });
  t.same([copy.ret, copy.errno], [0, 0]);
  t.equal(copy.out?.slice(64, 80), u64(4096), 'copy field reports 4096 bytes');
  t.not(copy.out?.slice(16, 32), u64(0), 'the nested buffer address was written at offset 8');
  t.same(copy.peek, ['5a'.repeat(8) + 'c3'.repeat(4)], 'peek after the call sees the copied bytes');
});

t.test('as_fd_at binds an fd the call wrote into its struct', async (t) => {
  const link = localAgentLink(bin);
  t.teardown(() => link.stop());
  const s = await link.session();
  const n = await s.call({ op: 'open', path: '/dev/null', flags: O_RDWR, as: 'n' });
  // FIONBIO reads an int and returns 0: the int we pass is the fd, so the agent binds it again.
  const FIONBIO = 0x5421;
  const le32 = Buffer.alloc(4);
  le32.writeUInt32LE(n.ret);
  const r = await s.call({ op: 'ioctl', fd: 'n', req: FIONBIO, arg: { buf: { hex: le32.toString('hex') } }, as: 'alias', as_fd_at: 0 });
  t.same([r.ret, r.errno], [0, 0]);
  t.equal((await s.call({ op: 'close', fd: 'alias' })).ret, 0, 'alias names the same fd');
  const again = await s.call({ op: 'close', fd: 'n' });
  t.same([again.ret, again.errno], [-1, 9], 'so n is now EBADF');
  await s.call({ op: 'open', path: '/dev/null', flags: O_RDWR, as: 'n' });
  const bad = await s.call({ op: 'ioctl', fd: 'n', req: FIONBIO, arg: { int: 0 }, as: 'x', as_fd_at: 0 });
  t.match(bad.error, /^bad-request: as_fd_at needs/);
});

t.test("fds slots carry a handle's fd into a struct (guest_memfd in REGION2)", async (t) => {
  const link = localAgentLink(bin);
  t.teardown(() => link.stop());
  const s = await link.session();
  const n = await s.call({ op: 'open', path: '/dev/null', flags: O_RDWR, as: 'n' });
  // ENOTTY from /dev/null, but the buffer the kernel saw comes back as `out`.
  const r = await s.call({ op: 'ioctl', fd: 'n', req: 0xae03, arg: { buf: { hex: '00'.repeat(8), fds: [{ at: 4, fd: 'n' }] } } });
  const le32 = Buffer.alloc(4);
  le32.writeUInt32LE(n.ret);
  t.equal(r.out, '00000000' + le32.toString('hex'), 'the u32 at offset 4 is the fd of handle n');
  const bad = await s.call({ op: 'ioctl', fd: 'n', req: 0xae03, arg: { buf: { hex: '00'.repeat(8), fds: [{ at: 6, fd: 'n' }] } } });
  t.match(bad.error, /^bad-request: fds.at 6 is past the buffer/);
});

t.test('bad requests keep the agent running', async (t) => {
  const { out, code } = await raw([
    'not json',
    '{"id":2,"op":"frobnicate"}',
    '{"id":3,"op":"open","path":"/dev/null","flags":-1,"as":"n"}',
    '{"id":4,"op":"ioctl","fd":"nope","req":1,"arg":{"int":0}}',
    '{"id":5,"op":"poke","mem":"m","offset":0,"hex":"0g"}',
    '{"id":6,"op":"ioctl","fd":"n","req":1,"arg":{"buf":{"hex":"00","ptrs":[{"at":0,"to":{"buf":{"hex":""}}}]}}}',
    '{"id":7,"op":"open","path":"/dev/null","flags":0,"as":"n"}',
    '{"id":8,"op":"ioctl","fd":"n","req":1,"arg":{"buf":{"hex":"00","ptrs":[{"at":0,"to":{"buf":{"hex":""}}}]}}}',
    '{"id":9,"op":"ioctl","fd":"n","req":4294967296,"arg":{"int":0}}',
    '{"id":10,"op":"ioctl","fd":"n","req":1,"arg":{"what":0}}',
    '{"id":11,"op":"info"} trailing',
    '',
    '{"id":12,"op":"reset"}',
  ]);
  t.equal(code, 0, 'exits 0 on EOF');
  t.same(
    out.map((o) => o.id),
    [0, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12],
    'one result per non-empty line, ids echoed',
  );
  for (const o of out) {
    if (o.id === 7 || o.id === 12) t.ok(Number(o.ret) >= 0 && o.errno === 0, `request ${String(o.id)} runs`);
    else t.match(o.error, /^bad-request: /, `request ${String(o.id)}: ${String(o.error)}`);
  }
  t.match(out[3]?.error, /unknown handle nope/);
  t.match(out[7]?.error, /past the buffer/);
});

t.test('deadline: the agent reports a timeout and exits 3', async (t) => {
  const fifo = join(tmp, 'fifo');
  await execa('mkfifo', [fifo]);
  // Opening a FIFO for reading blocks until a writer comes: deterministic, not an ioctl, but the same SIGALRM path.
  const t0 = Date.now();
  const { out, code } = await raw([
    JSON.stringify({ id: 1, op: 'open', path: fifo, flags: 0, as: 'f', timeout_ms: 150 }),
    JSON.stringify({ id: 2, op: 'info' }),
  ]);
  t.equal(code, 3);
  t.same(
    out.map((o) => [o.id, o.error]),
    [[1, 'timeout']],
    'nothing after the timeout',
  );
  t.comment(`150 ms deadline reported after ${Date.now() - t0} ms`); // a figure, not a threshold: bench/ measures

  const link = localAgentLink(bin);
  t.teardown(() => link.stop());
  const s = await link.session();
  const pid = link.pid;
  const r = await s.call({ op: 'open', path: fifo, flags: 0, as: 'f', timeout_ms: 100 });
  t.equal(r.error, 'timeout');
  t.notOk(alive(pid), 'the timed-out agent is gone');
  t.match((await s.call({ op: 'info' })).error, /^target-lost: session ended by a timeout/);
  const s2 = await link.session();
  t.not(link.pid, pid, 'the next session restarted the agent');
  t.equal((await s2.call({ op: 'info' })).ret, 0);
});

t.test('a killed agent is target-crashed; the next session restarts it', async (t) => {
  const fifo = join(tmp, 'fifo2');
  await execa('mkfifo', [fifo]);
  const link = localAgentLink(bin);
  t.teardown(() => link.stop());
  const s = await link.session();
  const pid = link.pid;
  const pending = s.call({ op: 'open', path: fifo, flags: 0, as: 'f', timeout_ms: 20000 });
  setTimeout(() => process.kill(pid ?? 0, 'SIGKILL'), 100);
  const r = await pending;
  t.match(r.error, /^target-crashed: agent killed by SIGKILL/);
  t.notOk(alive(pid));
  const s2 = await link.session();
  t.equal((await s2.call({ op: 'info' })).ret, 0);
  await link.stop();
  t.equal(link.pid, undefined);
});

t.test('harness-side deadline and EOF with a fake agent', async (t) => {
  // A process that never answers: the harness gives up at timeout_ms + margin and kills it.
  const hung = new AgentLink({ spawn: () => ({ file: 'sleep', args: ['60'] }), marginMs: 100 });
  t.teardown(() => hung.stop());
  const t0 = Date.now();
  const r = await hung.request({ op: 'info', timeout_ms: 100 });
  t.equal(r.error, 'timeout', 'gave up (at deadline + margin)');
  t.comment(`gave up after ${Date.now() - t0} ms (deadline 100 + margin 100)`);
  t.equal(hung.pid, undefined, 'and killed it');

  const quits = new AgentLink({ spawn: () => ({ file: 'true', args: [] }) });
  const q = await quits.request({ op: 'info' });
  t.match(q.error, /^target-crashed: agent exited with code 0/);
  const garbage = new AgentLink({ spawn: () => ({ file: 'echo', args: ['hello'] }) });
  t.match((await garbage.request({ op: 'info' })).error, /^target-lost: protocol error/);
  const nobin = new AgentLink({ spawn: () => ({ file: join(tmp, 'no-such-agent'), args: [] }) });
  t.match((await nobin.request({ op: 'info' })).error, /^target-lost: .*ENOENT/);
  await hung.stop();
  t.equal((await hung.request({ op: 'info' })).error, 'target-lost: target stopped');
});

t.test('the real build refuses what the suite never asks for, before doing it', async (t) => {
  const lines = [
    { op: 'open', path: '/etc/passwd', flags: 0, as: 'pw' },
    { op: 'open', path: '/dev/kvm/../../etc/passwd', flags: 0, as: 'pw' },
    { op: 'open', path: '/dev/kvm', flags: O_RDWR | 0o1100, as: 'k' },
    { op: 'mmap', as: 'x', len: 4096, prot: 7, flags: MAP_PRIVATE_ANON },
    { op: 'mmap', as: 'x', len: 4096, prot: PROT_RW, flags: MAP_PRIVATE_ANON | 0x10 },
    { op: 'mmap', as: 'x', len: 2 ** 31, prot: PROT_RW, flags: MAP_PRIVATE_ANON },
    { op: 'mmap', as: 'x', len: 4096, prot: PROT_RW, flags: 0x01 },
    { op: 'info', timeout_ms: 2 ** 31 },
    { op: 'mmap', as: 'ro', len: 4096, prot: 1, flags: MAP_PRIVATE_ANON },
    { op: 'poke', mem: 'ro', offset: 0, hex: '00' },
    { op: 'mmap', as: 'none', len: 4096, prot: 0, flags: MAP_PRIVATE_ANON },
    { op: 'peek', mem: 'none', offset: 0, len: 1 },
    { op: 'peek', mem: 'ro', offset: 0, len: 2 },
  ].map((r, i) => JSON.stringify({ id: i + 1, ...r }));
  lines.push('{"id":14,"op":"info","timeout_ms":1e99}');
  const { out, code } = await raw(lines, policyBin);
  t.equal(code, 0, 'the agent ends normally at EOF');
  const err = (id: number): string => String(out.find((o) => o.id === id)?.error);
  t.match(err(1), /^bad-request: refused: only \/dev\/kvm may be opened/);
  t.match(err(2), /only \/dev\/kvm/);
  t.match(err(3), /open flags/);
  t.match(err(4), /prot 0x7/);
  t.match(err(5), /MAP_FIXED/);
  t.match(err(6), /at most/);
  t.match(err(7), /without an fd must be MAP_PRIVATE\|MAP_ANONYMOUS/);
  t.match(err(8), /timeout_ms must be below 2\^31/);
  t.match(err(10), /mapping ro is not writable/);
  t.match(err(12), /mapping none is not readable/);
  t.equal(out.find((o) => o.id === 13)?.out, '0000', 'a readable mapping reads');
  t.match(err(14), /timeout_ms must be an integer/);
});

t.test(
  'real build on /dev/kvm: uAPI fds map, others do not; a peek past the file is an error, not a crash',
  { skip: !existsSync('/dev/kvm') && 'no /dev/kvm' },
  async (t) => {
    const KVM_CREATE_VM = 0xae01;
    const KVM_CREATE_VCPU = 0xae41;
    const KVM_RUN = 0xae80;
    const lines = [
      { op: 'open', path: '/dev/kvm', flags: O_RDWR | 0o2000000, as: 'kvm' },
      { op: 'ioctl', fd: 'kvm', req: 0xae00, arg: { int: 0 } },
      { op: 'ioctl', fd: 'kvm', req: TCGETS, arg: { int: 0 } },
      { op: 'mmap', as: 'k', len: 4096, prot: PROT_RW, flags: 0x01, fd: 'kvm' },
      { op: 'ioctl', fd: 'kvm', req: KVM_CREATE_VM, arg: { int: 0 }, as: 'vm' },
      { op: 'ioctl', fd: 'vm', req: 0xae03, arg: { int: 1 }, as: 'nofd' },
      { op: 'ioctl', fd: 'vm', req: KVM_CREATE_VCPU, arg: { int: 0 }, as: 'vcpu' },
      { op: 'mmap', as: 'run', len: 1 << 20, prot: PROT_RW, flags: 0x01, fd: 'vcpu' },
      { op: 'peek', mem: 'run', offset: 0, len: 4 },
      { op: 'peek', mem: 'run', offset: (1 << 20) - 4096, len: 4 },
      { op: 'poke', mem: 'run', offset: (1 << 20) - 4096, hex: '00' },
      { op: 'ioctl', fd: 'vcpu', req: KVM_RUN, arg: { int: 0 }, peek: [{ mem: 'run', offset: (1 << 20) - 8, len: 8 }], timeout_ms: 2000 },
      { op: 'ioctl', fd: 'vcpu', req: 0x4010aeac, arg: { int: 0x400000 } },
      { op: 'info' },
    ].map((r, i) => JSON.stringify({ id: i + 1, ...r }));
    const { out, code } = await raw(lines, policyBin);
    t.equal(code, 0, 'the agent survives and ends at EOF');
    const by = (id: number): Record<string, unknown> => out.find((o) => o.id === id) ?? {};
    if (Number(by(1).ret) < 0) {
      t.comment(`open /dev/kvm: errno ${String(by(1).errno)}`);
      return;
    }
    t.equal(by(2).ret, 12, 'KVM_GET_API_VERSION');
    t.match(by(3).error, /refused: ioctl 0x5401 is not a KVM request/);
    t.match(by(4).error, /refused: only a shared mapping of an fd an ioctl handed out/);
    t.match(by(6).error, /returns no fd to bind/);
    if (Number(by(5).ret) < 0 || Number(by(7).ret) < 0) {
      t.comment('no VM/vCPU on this host');
      return;
    }
    t.equal(by(8).ret, 0, 'kvm_run maps (1 MiB, more than the vCPU file has)');
    t.match(by(9).out, /^[0-9a-f]{8}$/);
    t.match(by(10).error, /^bad-request: peek of mapping run faulted \(SIGBUS\)/, 'peek past the end of the file');
    t.match(by(11).error, /^bad-request: poke of mapping run faulted \(SIGBUS\)/, 'poke past the end of the file');
    t.match(by(12).error, /peek of mapping run faulted \(SIGBUS\) after the call/, 'a peek after KVM_RUN past the file');
    t.match(by(13).error, /takes a pointer, not the integer 0x400000/);
    t.equal(by(14).ret, 0, 'still answering');
  },
);
