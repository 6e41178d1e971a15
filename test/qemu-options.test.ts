// The qemu target's options that need no guest: --qemu-arg VALUE with a
// leading '-', --boot-timeout, --console, --kernel DIR, and the initramfs
// that build-initramfs writes (/dev/console added to a newc archive).
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import t from 'tap';
import { bootTimeoutMs, joinQemuArgs } from '../harness/tools/qemu-options.ts';
import { newcBody, newcEntry, withConsole } from '../harness/tools/initramfs.ts';
import { kernelInDir } from '../harness/core/targets/boot-files.ts';
import { qemuSkip } from './lib/qemu-guest.ts';

t.setTimeout(400000);
const ROOT = new URL('../', import.meta.url).pathname;
const RUN = join(ROOT, 'run.sh');

t.test('--qemu-arg -M takes the next word', async (t) => {
  t.same(joinQemuArgs(['--qemu-arg', '-M', '--qemu-arg', 'virt,secure=on', '--abi', 'v7']), ['--qemu-arg=-M', '--qemu-arg=virt,secure=on', '--abi', 'v7']);
  t.same(joinQemuArgs(['--qemu-arg=-cpu', 'x']), ['--qemu-arg=-cpu', 'x']);
  t.same(joinQemuArgs(['--', '--qemu-arg', '-M']), ['--', '--qemu-arg', '-M']);
  const r = await execa(RUN, ['--target', 'qemu', '--abi', 'v7', '--qemu-arg', '-M', '--list', 'generic/api-version'], { cwd: ROOT, reject: false });
  t.equal(r.exitCode, 0, r.stderr);
});

t.test('--boot-timeout and --console: bad values are one line, exit 2', async (t) => {
  t.equal(bootTimeoutMs('600'), 600000);
  t.equal(bootTimeoutMs('1.5'), 1500);
  t.equal(bootTimeoutMs(undefined), undefined);
  for (const bad of ['0', '-1', 'abc', '', '1e3', '90000']) t.throws(() => bootTimeoutMs(bad), /--boot-timeout takes a number of seconds/);
  for (const [args, msg] of [
    [['--target', 'qemu', '--boot-timeout', 'soon'], /^run\.sh: --boot-timeout takes a number of seconds \(0 < SEC <= 86400\), not 'soon'$/],
    [['--boot-timeout', '60'], /^run\.sh: --boot-timeout needs --target qemu$/],
    [['--console'], /^run\.sh: --console needs --target qemu$/],
    [['qemu-guest', '--boot-timeout', 'x'], /^run\.sh qemu-guest: --boot-timeout takes/],
    [['build-initramfs'], /^run\.sh build-initramfs: needs exactly one argument/],
  ] as [string[], RegExp][]) {
    const r = await execa(RUN, args, { cwd: ROOT, reject: false });
    t.equal(r.exitCode, 2, args.join(' '));
    t.match(r.stderr, msg);
  }
});

t.test("--kernel DIR: the build tree's arch/arm64/boot/Image", async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'kvm-cca-kdir-'));
  t.throws(() => kernelInDir(dir), /--kernel \S+: a directory, but not an arm64 kernel build tree/);
  mkdirSync(join(dir, 'arch', 'arm64', 'boot'), { recursive: true });
  writeFileSync(join(dir, 'Makefile'), '');
  t.throws(() => kernelInDir(dir), /no arch\/arm64\/boot\/Image in it \(build the kernel/);
  writeFileSync(join(dir, 'arch', 'arm64', 'boot', 'Image'), 'not really');
  t.equal(kernelInDir(dir), join(dir, 'arch', 'arm64', 'boot', 'Image'));
  t.equal(kernelInDir('/nonexistent/Image'), '/nonexistent/Image', 'a file path is left to checkKernel');
  const r = await execa(RUN, ['--target', 'qemu', '--abi', 'absent', '--kernel', dir], { cwd: ROOT, reject: false, timeout: 120000 });
  t.equal(r.exitCode, 2);
  t.match(r.stderr, new RegExp(`--kernel ${dir}: .*arch/arm64/boot/Image.*a text file, not an arm64 kernel`));
});

t.test('build-initramfs: /dev/console is added to the archive once', async (t) => {
  const arch = Buffer.concat([newcEntry('.', 0o040755), newcEntry('init', 0o100755, Buffer.from('#!/bin/sh\n')), newcEntry('TRAILER!!!', 0)]);
  const out = withConsole(arch);
  t.equal(out.length % 512, 0, 'padded to 512 bytes');
  t.same(newcBody(out).names, ['.', 'init', 'dev', 'dev/console']);
  const con = out.indexOf('dev/console\0');
  const head = out.subarray(con - 110, con).toString('latin1');
  t.equal(head.slice(14, 22), '00002180', 'a character device, mode 0600');
  t.same([head.slice(78, 86), head.slice(86, 94)], ['00000005', '00000001'], 'rdev 5:1');
  t.same(newcBody(withConsole(out)).names, ['.', 'init', 'dev', 'dev/console'], 'idempotent');
  t.throws(() => newcBody(Buffer.from('not a cpio archive, long enough to have a header'.repeat(3))), /not a newc cpio archive/);
});

t.test('./run.sh build-initramfs FILE writes the guest initramfs with /dev/console', { skip: qemuSkip(t), timeout: 170000 }, async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'kvm-cca-initramfs-'));
  for (const name of ['initramfs.cpio', 'initramfs.cpio.gz']) {
    const file = join(dir, name);
    const r = await execa(RUN, ['build-initramfs', file], { cwd: ROOT, reject: false, timeout: 150000 });
    t.equal(r.exitCode, 0, r.stderr);
    t.match(r.stderr, new RegExp(`# build-initramfs: ${file} written .*CONFIG_INITRAMFS_SOURCE="${file}"`));
    const raw = readFileSync(file);
    const { names } = newcBody(name.endsWith('.gz') ? gunzipSync(raw) : raw);
    t.ok(names.includes('init') || names.includes('./init'), 'the /init');
    t.ok(names.includes('tmp/kvm-cca-agent') || names.includes('./tmp/kvm-cca-agent'), 'the agent');
    t.equal(names.filter((n) => n.replace(/^\.\//, '') === 'dev/console').length, 1, '/dev/console once');
  }
  const bad = await execa(RUN, ['build-initramfs', join(dir, 'no', 'such', 'dir', 'x.cpio')], { cwd: ROOT, reject: false, timeout: 150000 });
  t.equal(bad.exitCode, 2);
  t.match(bad.stderr, /^run\.sh build-initramfs: \S+x\.cpio: cannot write it \(ENOENT\)$/);
});

t.test('a failed boot prints the last console lines, then one error line', { skip: qemuSkip(t), timeout: 170000 }, async (t) => {
  const r = await execa(RUN, ['--target', 'qemu', '--abi', 'absent', '--qemu-arg', '-device', '--qemu-arg', 'no-such-device-kvm-cca'], {
    cwd: ROOT,
    reject: false,
    timeout: 150000,
  });
  t.equal(r.exitCode, 2);
  const lines = r.stderr.split('\n');
  t.match(r.stderr, /^# qemu: running qemu-system-aarch64 .* -device no-such-device-kvm-cca$/m, 'the value after --qemu-arg -device was taken as is');
  t.match(r.stderr, /^# qemu: console: .*no-such-device-kvm-cca/m, "qemu's own complaint is among the console lines");
  t.match(
    lines.filter((l) => l.startsWith('run.sh:')),
    [/^run\.sh: qemu exited with code 1 before the guest was ready/],
  );
});
