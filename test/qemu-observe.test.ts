// On the qemu target's Debian guest (a real kernel): the harness's kernel-log
// read (the agent's kmsg op), a WARN written into the guest's /dev/kmsg while
// one check runs failing that check and only that one, the console without
// `quiet`, and the firmware boots: --bios AAVMF (Debian's EDK2) with --kernel,
// and --bios alone with the kernel on a FAT disk that EDK2's shell boots
// (startup.nsh), as a TF-A with its BL33 kernel would be booted: no -kernel.
// Skipped when the host packages are missing, unless KVM_CCA_REQUIRE_QEMU=1.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import t from 'tap';
import { getProfile } from '../profiles/index.ts';
import { applicable, runChecks, type CheckDef } from '../harness/core/engine.ts';
import { ktapLine } from '../harness/tools/report/ktap.ts';
import { defaultCacheDir } from '../harness/core/targets/qemu.ts';
import { ALL_CHECKS } from '../checks/index.ts';
import { qemuSkip, startedQemu } from './lib/qemu-guest.ts';

// Three boots under TCG on a shared 2-core machine, two of them through UEFI.
t.setTimeout(1500000);
const skip = qemuSkip(t);
const ROOT = new URL('../', import.meta.url).pathname;
const RUN = join(ROOT, 'run.sh');
const AAVMF = '/usr/share/AAVMF/AAVMF_CODE.fd';
const WARN = 'WARNING: CPU: 0 PID: 1 at arch/arm64/kvm/rme.c:4242 kvm_cca_injected_warn+0x10/0x20';

t.test('kernel log on the Debian guest', { skip, timeout: 400000 }, async (t) => {
  const { q } = await startedQemu(t);
  const console = readFileSync(q.logPath!, 'utf8');
  t.match(console, /Booting Linux on physical CPU/, 'no `quiet`: the console has the info-level boot lines');

  const mark = await q.kernelLog();
  t.same([mark.ret, mark.errno, mark.kmsg], [0, 0, []], 'a mark returns no records');
  t.ok((mark.seq ?? -1) > 100, `the mark is the newest sequence number (${String(mark.seq)})`);
  t.equal((await q.guestRun('echo "kvm-cca kmsg probe" > /dev/kmsg')).exitCode, 0);
  const got = await q.kernelLog(mark.seq);
  // the guest's kernel may log on its own meanwhile (a network link coming up): every record
  // returned is newer than the mark, and the probe is among them exactly once
  const records = got.kmsg ?? [];
  const seqs = records.map((r) => Number(/^\d+,(\d+),/.exec(r)?.[1] ?? -1));
  t.ok(
    seqs.every((n) => n > (mark.seq ?? Infinity)),
    `only records after the mark (${String(mark.seq)}): ${seqs.join(', ')}`,
  );
  t.equal(records.filter((r) => /^\d+,\d+,\d+;kvm-cca kmsg probe$/.test(r)).length, 1, 'the record written after the mark, once');

  const abi = getProfile('absent')!;
  const [a, b, c] = applicable(ALL_CHECKS, abi).slice(0, 3) as [CheckDef, CheckDef, CheckDef];
  const warnDuring: CheckDef = {
    ...b,
    run: async (ctx) => {
      await b.run(ctx);
      const w = await q.guestRun(`echo '${WARN}' > /dev/kmsg`);
      if (w.exitCode !== 0) throw new Error(`writing /dev/kmsg failed: ${w.stderr}`);
    },
  };
  const outs = await runChecks([a, warnDuring, c], { abi, target: q, targetKind: 'qemu', allowCrash: false, callTimeoutMs: 10000, checkTimeoutMs: 60000 });
  t.same(
    outs.map((o) => o.status),
    ['pass', 'fail', 'pass'],
    'the check during which the WARN came fails; the next one does not',
  );
  const tap = ktapLine(outs[1]!, 2);
  t.comment(tap);
  t.match(tap, /^(# .*\n)*not ok 2 - absent\//m);
  t.match(tap, /the kernel logged a WARN report during the check/);
  t.match(tap, /kernel_log:\n {4}- "WARNING: CPU: 0 PID: 1 at arch\/arm64\/kvm\/rme\.c:4242/);
  t.equal(outs[1]?.splats?.[0]?.key, 'WARN arch/arm64/kvm/rme.c:4242 kvm_cca_injected_warn');
  t.equal(outs[2]?.kernelLog, undefined, 'the next check got no kernel log lines');
});

t.test(
  '--bios AAVMF with --kernel: EDK2 boots the Debian kernel',
  { skip: skip || (!existsSync(AAVMF) && 'qemu-efi-aarch64 not installed'), timeout: 600000 },
  async (t) => {
    const r = await execa(
      RUN,
      ['--target', 'qemu', '--bios', AAVMF, '--kernel', join(defaultCacheDir(), 'Image'), '--boot-timeout', '500', '--abi', 'absent', 'generic/api-version'],
      { cwd: ROOT, reject: false, timeout: 560000 },
    );
    t.comment(r.stderr.split('\n').slice(-4).join('\n'));
    t.equal(r.exitCode, 0, 'the check passed');
    t.match(r.stdout, /^ {2}ok 1 - absent\/generic\/api-version$/m);
  },
);

const noFat = spawnSync('sh', ['-c', 'command -v mkfs.fat && command -v mcopy']).status !== 0 && 'dosfstools/mtools not installed';
t.test(
  '--bios alone: the firmware finds the kernel itself; --qemu-arg -drive without =',
  { skip: skip || (!existsSync(AAVMF) && 'qemu-efi-aarch64 not installed') || noFat, timeout: 600000 },
  async (t) => {
    const dir = mkdtempSync(join(tmpdir(), 'kvm-cca-esp-'));
    const esp = join(dir, 'esp.img');
    const cache = defaultCacheDir();
    // The kernel (an EFI application: Debian's Image has the EFI stub) and the guest initramfs on a FAT disk;
    // EDK2 finds no boot option, starts its shell, which runs startup.nsh.
    writeFileSync(join(dir, 'startup.nsh'), 'fs0:\r\n\\Image.efi initrd=\\initrd.gz console=ttyAMA0 panic=-1\r\n');
    for (const [cmd, ...args] of [
      ['mkfs.fat', '-C', '-n', 'ESP', esp, '65536'],
      ['mcopy', '-i', esp, join(cache, 'Image'), '::/Image.efi'],
      ['mcopy', '-i', esp, join(cache, 'initramfs.cpio.gz'), '::/initrd.gz'],
      ['mcopy', '-i', esp, join(dir, 'startup.nsh'), '::/startup.nsh'],
    ] as string[][]) {
      const x = await execa(cmd!, args, { reject: false });
      t.equal(x.exitCode, 0, `${String(cmd)} ${x.stderr}`);
    }
    const r = await execa(
      RUN,
      [
        '--target',
        'qemu',
        '--bios',
        AAVMF,
        '--qemu-arg',
        '-drive',
        '--qemu-arg',
        `file=${esp},format=raw,if=virtio`,
        '--boot-timeout',
        '500',
        '--abi',
        'absent',
        'generic/api-version',
      ],
      {
        cwd: ROOT,
        reject: false,
        timeout: 560000,
      },
    );
    t.comment(r.stderr.split('\n').slice(-4).join('\n'));
    t.equal(r.exitCode, 0, 'the check passed');
    t.match(r.stdout, /^ {2}ok 1 - absent\/generic\/api-version$/m);
    const cmdline = /^# qemu: running (.*)$/m.exec(r.stderr)?.[1] ?? '';
    t.match(cmdline, /-bios \S+AAVMF_CODE\.fd/);
    t.notMatch(cmdline, /-kernel|-initrd|-append/, 'nothing but the firmware and the disk');
  },
);
