// Shared preamble of the tests that boot the qemu target's guest
// (test/qemu*.test.ts, test/ssh-guest.test.ts, test/repro-qemu.test.ts).
// Not a test itself: tap's include pattern is test/**/*.test.ts.
//
// Without the host packages those tests are skipped, naming
// scripts/install-deps.sh, unless KVM_CCA_REQUIRE_QEMU=1 (CI), which turns the
// skip into a failure.
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import type { Test } from 'tap';
import type { TargetIdentity } from '../../harness/core/target.ts';
import { QemuTarget, type QemuTargetOptions } from '../../harness/core/targets/qemu.ts';

const TOOLS = ['qemu-system-aarch64', 'aarch64-linux-gnu-gcc', 'cpio', 'ssh'];

/** The first missing host piece the qemu target needs, or undefined. */
export function qemuMissing(): string | undefined {
  const has = (c: string): boolean => spawnSync('sh', ['-c', 'command -v "$1"', 'sh', c]).status === 0;
  const tool = TOOLS.find((c) => !has(c));
  if (tool) return tool;
  const arches = spawnSync('dpkg', ['--print-foreign-architectures'], { encoding: 'utf8' });
  if (!/\barm64\b/.test(arches.stdout)) return 'dpkg arm64 architecture';
  return undefined;
}

export const qemuRequired = process.env.KVM_CCA_REQUIRE_QEMU === '1';

/**
 * The `skip` option for a test that boots the guest: false when it can run,
 * else the reason. When the guest is required (KVM_CCA_REQUIRE_QEMU=1) and a
 * piece is missing, it fails `t` once and returns false (the test then fails
 * at its boot too, naming what is missing).
 */
export function qemuSkip(t: Pick<Test, 'fail'>): string | false {
  const lacking = qemuMissing();
  if (!lacking) return false;
  if (qemuRequired) {
    t.fail(`qemu target required but ${lacking} is missing: run scripts/install-deps.sh`);
    return false;
  }
  return `${lacking} missing: run scripts/install-deps.sh`;
}

/** A QemuTarget started for this test (and its identity), stopped at the test's teardown. */
export async function startedQemu(t: Pick<Test, 'teardown'>, opts: QemuTargetOptions = {}): Promise<{ q: QemuTarget; id: TargetIdentity }> {
  const q = new QemuTarget(opts);
  t.teardown(() => q.stop());
  const id = await q.start();
  return { q, id };
}

/** The process exists and is not a zombie. */
export function alive(pid: number | undefined): boolean {
  if (pid === undefined) return false;
  try {
    process.kill(pid, 0);
    return !/^\S+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
}

/** The command lines of qemus forwarding 127.0.0.1:port (empty when none). */
export function qemuOnPort(port: number | string | undefined): string {
  return spawnSync('pgrep', ['-f', `hostfwd=tcp:127.0.0.1:${String(port)}-`], { encoding: 'utf8' }).stdout;
}
