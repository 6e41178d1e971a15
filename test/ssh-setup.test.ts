// The ssh target's setup failures, each one line on stderr and exit 2 from
// ./run.sh, with no process or control directory left: unreachable host,
// refused key, untrusted host key, a host that is not arm64, one without
// /dev/kvm, a non-root login, and an agent that cannot start. The "remote
// host" is test/fixtures/fake-ssh/ssh, put first on PATH; it runs the
// target's probe locally and pretends per FAKE_SSH_*. Needs the arm64 agent
// (the target builds it before connecting): skipped without
// aarch64-linux-gnu-gcc unless KVM_CCA_REQUIRE_QEMU=1.
// Hermetic: the runs' TMPDIR is this test's own directory, and the processes
// looked for are the runs' own (by their KVM_CCA_OWNER mark).
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import t from 'tap';
import { qemuRequired } from './lib/qemu-guest.ts';
import { goneWithin } from './lib/procs.ts';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const FAKE = `${ROOT}test/fixtures/fake-ssh`;
const hasCross = spawnSync('sh', ['-c', 'command -v aarch64-linux-gnu-gcc']).status === 0;
if (!hasCross && qemuRequired) t.fail('aarch64-linux-gnu-gcc missing: run scripts/install-deps.sh');
const skip = hasCross || qemuRequired ? false : 'aarch64-linux-gnu-gcc missing: run scripts/install-deps.sh';

// Seven ./run.sh processes and the arm64 agent build on a shared 2-core machine.
t.setTimeout(180000);

const cases: { name: string; env: Record<string, string>; line: RegExp; code?: number }[] = [
  { name: 'connection refused', env: { FAKE_SSH_CONNECT: 'refused' }, line: /^run\.sh: ssh root@fakehost: host unreachable \(.*Connection refused\)$/ },
  {
    name: 'key refused',
    env: { FAKE_SSH_CONNECT: 'denied' },
    line: /^run\.sh: ssh root@fakehost: authentication refused \(.*Permission denied.*\); pass --ssh-key/,
  },
  {
    name: 'host key not trusted',
    env: { FAKE_SSH_CONNECT: 'hostkey' },
    line: /^run\.sh: ssh root@fakehost: host key not trusted .*StrictHostKeyChecking=accept-new$/,
  },
  { name: 'not arm64', env: { FAKE_SSH_MACHINE: 'x86_64' }, line: /^run\.sh: root@fakehost is x86_64, not aarch64: the suite needs an arm64 KVM host$/ },
  // No /dev/kvm: a skip (4) with `1..0 # SKIP`, as the KVM selftests do, not a usage error.
  { name: 'no /dev/kvm', env: { FAKE_SSH_KVM: '/nonexistent/kvm' }, line: /^run\.sh: root@fakehost has no \/dev\/kvm: boot a kernel with KVM/, code: 4 },
  { name: 'not root', env: { FAKE_SSH_UID: '1000' }, line: /^run\.sh: root@fakehost: logged in as uid 1000, the agent must run as root/ },
  // Everything passes and the arm64 agent is "run" on this machine: it cannot start.
  { name: 'agent cannot start', env: {}, line: /^run\.sh: the agent on root@fakehost did not start: target-crashed: remote agent exited with code 12[67]$/ },
];

const base = mkdtempSync(join(tmpdir(), 'kvm-cca-ssh-setup-'));
t.teardown(() => rmSync(base, { recursive: true, force: true }));
const TMP = join(base, 'tmp');
mkdirSync(TMP);
const controlDirs = (): string[] => readdirSync(TMP).filter((d) => d.startsWith('kvm-cca-ssh-'));

t.test('ssh target setup failures: one line, exit 2 (4 without /dev/kvm), nothing left', { skip, timeout: 600000 }, async (t) => {
  for (const c of cases) {
    const r = spawnSync(`${ROOT}run.sh`, ['--target', 'ssh://root@fakehost', '--abi', 'absent'], {
      cwd: ROOT,
      encoding: 'utf8',
      timeout: 300000,
      env: { ...process.env, TMPDIR: TMP, PATH: `${FAKE}:${process.env.PATH ?? ''}`, ...c.env },
    });
    const err = r.stderr.trim().split('\n');
    t.equal(r.status, c.code ?? 2, `${c.name}: exit ${c.code ?? 2}`);
    t.equal(err.length, 1, `${c.name}: one line on stderr (${err.join(' | ')})`);
    t.match(err[0] ?? '', c.line, `${c.name}: says what is wrong`);
    if (c.code === 4) t.match(r.stdout, /^KTAP version 1\n1\.\.0 # SKIP root@fakehost has no \/dev\/kvm/, `${c.name}: the whole run is a KTAP skip`);
    else t.equal(r.stdout, '', `${c.name}: no TAP before the target is up`);
    t.same(await goneWithin(r.pid, 5000), [], `${c.name}: no ssh (master or command) left running`);
  }
  t.same(controlDirs(), [], 'no control directory left in the temp dir');
});
