// The qemu target end to end: boot Debian's arm64 kernel, raw wire requests
// over the ssh path, then kill the agent, the ssh link and qemu mid-call and
// check each ends in an error result naming the fault, with no process left.
// Skipped when the host packages are missing, unless KVM_CCA_REQUIRE_QEMU=1.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import t from 'tap';
import { TargetSetupError, type Session } from '../harness/core/target.ts';
import type { WireResult } from '../uapi/wire.ts';
import { QemuTarget } from '../harness/core/targets/qemu.ts';
import { SshTarget } from '../harness/core/targets/ssh.ts';
import { alive, qemuSkip, startedQemu } from './lib/qemu-guest.ts';
import { childrenOf } from './lib/procs.ts';

const KVM_GET_API_VERSION = 0xae00;
const KVM_CREATE_VM = 0xae01;
const KVM_CHECK_EXTENSION = 0xae03;
const KVM_CREATE_VCPU = 0xae41;
const KVM_ARM_PREFERRED_TARGET = 0x8020aeaf;
const KVM_ARM_VCPU_INIT = 0x4020aeae;
const KVM_GET_ONE_REG = 0x4010aeab;
const KVM_SET_ONE_REG = 0x4010aeac;
const REG_X1 = 0x6030000000100002n; // KVM_REG_ARM64 | SIZE_U64 | ARM_CORE | regs[1]
const O_RDWR = 2;
const EINVAL = 22;

const u64 = (v: bigint) => {
  const b = Buffer.alloc(8);
  b.writeBigUInt64LE(v);
  return b.toString('hex');
};

/**
 * A vCPU spinning on `b .`, then its KVM_RUN (not awaited): a call that blocks
 * until its deadline or a fault, the only kind the agent's call policy leaves
 * (it opens nothing but /dev/kvm). `run` is wrapped so awaiting the set-up does not await it.
 */
async function spinning(s: Session, timeout_ms: number): Promise<{ run: Promise<WireResult> }> {
  await s.call({ op: 'open', path: '/dev/kvm', flags: O_RDWR, as: 'kvm' });
  await s.call({ op: 'ioctl', fd: 'kvm', req: KVM_CREATE_VM, arg: { int: 0 }, as: 'vm' });
  await s.call({ op: 'mmap', as: 'ram', len: 0x10000, prot: 3, flags: 0x22 });
  await s.call({ op: 'poke', mem: 'ram', offset: 0, hex: '00000014' });
  const region = '00000000' + '00000000' + u64(0x40000000n) + u64(0x10000n) + u64(0n);
  await s.call({ op: 'ioctl', fd: 'vm', req: 0x4020ae46, arg: { buf: { hex: region, ptrs: [{ at: 24, to: { mem: 'ram', offset: 0 } }] } } });
  await s.call({ op: 'ioctl', fd: 'vm', req: KVM_CREATE_VCPU, arg: { int: 0 }, as: 'vcpu0' });
  const pref = await s.call({ op: 'ioctl', fd: 'vm', req: KVM_ARM_PREFERRED_TARGET, arg: { buf: { hex: '00'.repeat(32) } } });
  await s.call({ op: 'ioctl', fd: 'vcpu0', req: KVM_ARM_VCPU_INIT, arg: { buf: { hex: pref.out ?? '' } } });
  await s.call({
    op: 'ioctl',
    fd: 'vcpu0',
    req: KVM_SET_ONE_REG,
    arg: { buf: { hex: u64(0x6030000000100040n) + u64(0n), ptrs: [{ at: 8, to: { buf: { hex: u64(0x40000000n) } } }] } },
  });
  return { run: s.call({ op: 'ioctl', fd: 'vcpu0', req: 0xae80, arg: { int: 0 }, timeout_ms }) };
}

// A cold cache downloads ~62 MB of .debs and builds the initramfs, and a loaded
// 2-core machine (two npm test copies, CPU hogs) boots slowly: give the file time.
t.setTimeout(1200000);

const skip = qemuSkip(t);

t.test('qemu target', { skip, timeout: 900000 }, async (t) => {
  const q = new QemuTarget();
  let stopped = false;
  t.teardown(async () => {
    if (!stopped) await q.stop();
  });
  const t0 = Date.now();
  const id = await q.start();
  t.comment(`boot to readiness ${String(q.bootMs)} ms, start() ${Date.now() - t0} ms, console log ${String(q.logPath)}`);
  t.match(id, { kind: 'qemu', info: { machine: 'aarch64', euid: 0, kvm: true, executor: /^kvm-cca-agent / } });

  await t.test('raw wire requests on a real kernel', async (t) => {
    const s = await q.session();
    const info = await s.call({ op: 'info' });
    t.equal(info.info?.machine, 'aarch64');
    const kvm = await s.call({ op: 'open', path: '/dev/kvm', flags: O_RDWR, as: 'kvm' });
    t.ok(kvm.ret >= 0, 'open /dev/kvm');
    t.equal((await s.call({ op: 'ioctl', fd: 'kvm', req: KVM_GET_API_VERSION, arg: { int: 0 } })).ret, 12);
    const cap = await s.call({ op: 'ioctl', fd: 'kvm', req: KVM_CHECK_EXTENSION, arg: { int: 300 } });
    t.same([cap.ret, cap.errno], [0, 0], 'KVM_CHECK_EXTENSION(300) = 0: no CCA on this kernel');
    const realm = await s.call({ op: 'ioctl', fd: 'kvm', req: KVM_CREATE_VM, arg: { int: 0x100 } });
    t.same([realm.ret, realm.errno], [-1, EINVAL], 'KVM_CREATE_VM(0x100) is EINVAL');

    // Nested-buffer and mapping fix-ups through KVM itself: kvm_one_reg.addr points at the value.
    t.ok((await s.call({ op: 'ioctl', fd: 'kvm', req: KVM_CREATE_VM, arg: { int: 0 }, as: 'vm' })).ret >= 0);
    t.ok((await s.call({ op: 'ioctl', fd: 'vm', req: KVM_CREATE_VCPU, arg: { int: 0 }, as: 'vcpu0' })).ret >= 0);
    const pref = await s.call({ op: 'ioctl', fd: 'vm', req: KVM_ARM_PREFERRED_TARGET, arg: { buf: { hex: '00'.repeat(32) } } });
    t.equal(pref.ret, 0);
    const init = await s.call({ op: 'ioctl', fd: 'vcpu0', req: KVM_ARM_VCPU_INIT, arg: { buf: { hex: pref.out ?? '' } } });
    t.equal(init.ret, 0, 'KVM_ARM_VCPU_INIT with the preferred target');
    const set = await s.call({
      op: 'ioctl',
      fd: 'vcpu0',
      req: KVM_SET_ONE_REG,
      arg: { buf: { hex: u64(REG_X1) + u64(0n), ptrs: [{ at: 8, to: { buf: { hex: u64(0x1122334455667788n) } } }] } },
    });
    t.same([set.ret, set.errno], [0, 0], 'SET_ONE_REG reads X1 through a nested buffer');
    t.equal((await s.call({ op: 'mmap', as: 'val', len: 4096, prot: 3, flags: 0x22 })).ret, 0);
    const get = await s.call({
      op: 'ioctl',
      fd: 'vcpu0',
      req: KVM_GET_ONE_REG,
      arg: { buf: { hex: u64(REG_X1) + u64(0n), ptrs: [{ at: 8, to: { mem: 'val', offset: 16 } }] } },
      peek: [{ mem: 'val', offset: 16, len: 8 }],
    });
    t.same([get.ret, get.peek], [0, [u64(0x1122334455667788n)]], 'GET_ONE_REG writes X1 into the mapping');
    // KVM_CREATE_DEVICE returns 0 and writes the fd into its struct: as_fd_at binds it.
    const KVM_CREATE_DEVICE = 0xc00caee0;
    const dev = await s.call({ op: 'ioctl', fd: 'vm', req: KVM_CREATE_DEVICE, arg: { buf: { hex: '07000000' + '00'.repeat(8) } }, as: 'vgic', as_fd_at: 4 });
    t.same([dev.ret, dev.errno], [0, 0], 'KVM_CREATE_DEVICE(VGIC_V3)');
    t.equal((await s.call({ op: 'close', fd: 'vgic' })).ret, 0, 'the device fd was bound');
    await s.close();
  });

  await t.test('a KVM_RUN of guest code that spins ends at the deadline', async (t) => {
    const s = await q.session();
    await s.call({ op: 'open', path: '/dev/kvm', flags: O_RDWR, as: 'kvm' });
    await s.call({ op: 'ioctl', fd: 'kvm', req: KVM_CREATE_VM, arg: { int: 0 }, as: 'vm' });
    t.equal((await s.call({ op: 'mmap', as: 'ram', len: 0x10000, prot: 3, flags: 0x22 })).ret, 0);
    t.equal((await s.call({ op: 'poke', mem: 'ram', offset: 0, hex: '00000014' })).ret, 0, '`b .` at the base');
    const KVM_SET_USER_MEMORY_REGION = 0x4020ae46;
    const region = '00000000' + '00000000' + u64(0x40000000n) + u64(0x10000n) + u64(0n);
    const slot = await s.call({
      op: 'ioctl',
      fd: 'vm',
      req: KVM_SET_USER_MEMORY_REGION,
      arg: { buf: { hex: region, ptrs: [{ at: 24, to: { mem: 'ram', offset: 0 } }] } },
    });
    t.same([slot.ret, slot.errno], [0, 0], 'memslot backed by the mapping');
    await s.call({ op: 'ioctl', fd: 'vm', req: KVM_CREATE_VCPU, arg: { int: 0 }, as: 'vcpu0' });
    const pref = await s.call({ op: 'ioctl', fd: 'vm', req: KVM_ARM_PREFERRED_TARGET, arg: { buf: { hex: '00'.repeat(32) } } });
    await s.call({ op: 'ioctl', fd: 'vcpu0', req: KVM_ARM_VCPU_INIT, arg: { buf: { hex: pref.out ?? '' } } });
    const REG_PC = 0x6030000000100040n;
    const pc = await s.call({
      op: 'ioctl',
      fd: 'vcpu0',
      req: KVM_SET_ONE_REG,
      arg: { buf: { hex: u64(REG_PC) + u64(0n), ptrs: [{ at: 8, to: { buf: { hex: u64(0x40000000n) } } }] } },
    });
    t.equal(pc.ret, 0, 'PC at the loop');
    const t0 = Date.now();
    const run = await s.call({ op: 'ioctl', fd: 'vcpu0', req: 0xae80, arg: { int: 0 }, timeout_ms: 500 });
    t.equal(run.error, 'timeout', 'the agent reported its deadline');
    t.comment(`KVM_RUN deadline of 500 ms reported after ${Date.now() - t0} ms`);
    const s2 = await q.session();
    t.equal((await s2.call({ op: 'info' })).ret, 0, 'a fresh agent serves the next session');
  });

  await t.test('deadline over ssh: timeout, then a fresh agent', async (t) => {
    const s = await q.session();
    const r = await (await spinning(s, 300)).run;
    t.equal(r.error, 'timeout');
    const s2 = await q.session();
    t.equal((await s2.call({ op: 'info' })).ret, 0, 'next session works');
  });

  await t.test('killing the remote agent mid-call', async (t) => {
    const s = await q.session();
    const local = q.sshTarget?.agentPid;
    const pending = (await spinning(s, 3000)).run;
    await new Promise((r) => setTimeout(r, 300));
    await q.guestRun('kill -9 $(pidof kvm-cca-agent)');
    const r = await pending;
    t.match(r.error, /^target-crashed: remote agent killed by SIGKILL/, String(r.error));
    t.notOk(alive(local), 'its local ssh process is gone');
    const s2 = await q.session();
    t.equal((await s2.call({ op: 'info' })).ret, 0, 'next session restarts the agent');
  });

  await t.test('cutting the ssh link mid-call', async (t) => {
    const s = await q.session();
    const local = q.sshTarget?.agentPid;
    const master = q.sshTarget?.masterPid;
    t.ok(master, 'a master connection is up');
    const pending = (await spinning(s, 3000)).run;
    await new Promise((r) => setTimeout(r, 300));
    process.kill(master ?? 0, 'SIGKILL');
    const r = await pending;
    t.match(r.error, /^target-lost: ssh connection to root@127\.0\.0\.1:\d+ lost/, String(r.error));
    t.notOk(alive(local), 'the agent ssh process is gone');
    t.notOk(alive(master), 'the master is gone');
    const s2 = await q.session();
    t.equal((await s2.call({ op: 'info' })).ret, 0, 'next session reconnects');
    t.not(q.sshTarget?.masterPid, master, 'with a new master');
  });

  await t.test('setup errors are one line', async (t) => {
    const key = mkdtempSync(join(tmpdir(), 'kvm-cca-key-'));
    t.teardown(() => rmSync(key, { recursive: true, force: true }));
    await execa('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', join(key, 'k')]);
    const wrongKey = new SshTarget(`ssh://root@127.0.0.1:${String(q.port)}`, { sshKey: join(key, 'k'), insecureHostKey: true });
    await t.rejects(wrongKey.start(), { name: 'TargetSetupError', message: /authentication refused/ });
    await wrongKey.stop();
    const closed = new SshTarget('ssh://root@127.0.0.1:1', { insecureHostKey: true, connectTimeout: 3 });
    const e = await closed.start().catch((x: unknown) => x);
    t.ok(e instanceof TargetSetupError);
    t.match((e as Error).message, /^ssh root@127\.0\.0\.1:1: host unreachable \(.*refused.*\)$/);
    t.throws(() => new SshTarget('ssh://'), { name: 'TargetSetupError' });
  });

  await t.test('killing qemu mid-call', async (t) => {
    const s = await q.session();
    const qpid = q.qemuPid;
    const local = q.sshTarget?.agentPid;
    const master = q.sshTarget?.masterPid;
    const pending = (await spinning(s, 3000)).run;
    await new Promise((r) => setTimeout(r, 300));
    process.kill(qpid ?? 0, 'SIGKILL');
    const r = await pending;
    t.match(r.error, /^target-lost: qemu killed by SIGKILL \(console log: .*\.log\)/, String(r.error));
    const s2 = await q.session();
    t.match((await s2.call({ op: 'info' })).error, /^target-lost: qemu killed/, 'later sessions fail fast');
    await q.stop();
    stopped = true;
    for (const [name, pid] of [
      ['qemu', qpid],
      ['agent ssh', local],
      ['ssh master', master],
    ] as const)
      t.notOk(alive(pid), `${name} (pid ${String(pid)}) is gone`);
    t.same(
      childrenOf(process.pid).filter((p) => p.includes(' qemu-system')),
      [],
      'no qemu of this test left',
    );
  });
});

t.test('a guest kernel panic mid-call', { skip, timeout: 600000 }, async (t) => {
  const { q } = await startedQemu(t);
  const s = await q.session();
  const pending = (await spinning(s, 4000)).run;
  await new Promise((r) => setTimeout(r, 300));
  const qpid = q.qemuPid;
  // sysrq 'c' panics the guest; with panic=-1 and -no-reboot qemu then exits.
  await q.guestRun('echo c > /proc/sysrq-trigger').catch(() => undefined);
  const r = await pending;
  t.match(r.error, /^target-lost: guest Kernel panic - not syncing: .*; qemu exited with code 0 \(console log: /, String(r.error));
  await q.stop();
  t.notOk(alive(qpid), 'qemu is gone');
});
