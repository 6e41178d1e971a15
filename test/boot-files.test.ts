// The qemu target's --kernel/--initrd/--bios checks (harness/core/targets/boot-files.ts)
// on synthetic files, and through ./run.sh: a file qemu would load as raw code
// (and then wait for the boot deadline) is one line and exit 2 before anything
// is built or booted. No qemu needed.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import t from 'tap';
import { checkBios, checkInitrd, checkKernel, type KernelCheckOptions } from '../harness/core/targets/boot-files.ts';

// Many ./run.sh starts: tap's 30 s default is too short on a shared 2-core machine.
t.setTimeout(300000);

const RUN = new URL('../run.sh', import.meta.url).pathname;
const dir = mkdtempSync(join(tmpdir(), 'kvm-cca-boot-files-'));
t.teardown(() => rmSync(dir, { recursive: true, force: true }));

function file(name: string, bytes: Buffer | string): string {
  const p = join(dir, name);
  writeFileSync(p, bytes);
  return p;
}

/** An arm64 Image header (Documentation/arch/arm64/booting.rst) followed by `size` bytes of noise. */
function arm64Image(size = 4096): Buffer {
  const b = Buffer.alloc(64 + size);
  b.write('MZ', 0, 'latin1'); // EFI stub: code0 is "MZ"
  b.writeBigUInt64LE(0n, 8); // text_offset
  b.writeBigUInt64LE(BigInt(b.length), 16); // image_size
  b.write('ARM\x64', 0x38, 'latin1');
  for (let i = 64; i < b.length; i++) b[i] = (i * 2654435761) >>> 24; // incompressible enough
  return b;
}

function elf(machine: number): Buffer {
  const b = Buffer.alloc(64);
  b.write('\x7fELF', 0, 'latin1');
  b[4] = 2; // 64-bit
  b[5] = 1; // little-endian
  b.writeUInt16LE(machine, 18);
  return b;
}

function uImage(arch: number): Buffer {
  const b = Buffer.alloc(128);
  b.writeUInt32BE(0x27051956, 0);
  b[29] = arch;
  return b;
}

function zboot(comp: string): Buffer {
  const b = Buffer.alloc(256);
  b.write('MZ', 0, 'latin1');
  b.write('zimg', 4, 'latin1');
  b.write(comp, 0x18, 'latin1');
  return b;
}

function bzImage(): Buffer {
  const b = Buffer.alloc(1024);
  b.write('MZ', 0, 'latin1');
  b.write('HdrS', 0x202, 'latin1');
  return b;
}

const direct: KernelCheckOptions = { firmware: false, qemuVersion: () => [7, 2] };

// Every ./run.sh case starts node and tsx: on a loaded 2-core machine the file takes over 30 s.
t.setTimeout(300000);

t.test('kernels qemu boots', async (t) => {
  t.equal(checkKernel(file('Image', arm64Image()), direct), 'arm64 Image');
  t.equal(checkKernel(file('Image.gz', gzipSync(arm64Image())), direct), 'gzip arm64 Image');
  // Only the first 64 KiB are read: the gzip stream is cut there and still gives the header.
  const big = gzipSync(arm64Image(4 << 20), { level: 1 });
  t.ok(big.length > 128 * 1024, `a gzip larger than what is read (${big.length} bytes)`);
  t.equal(checkKernel(file('big.gz', big), direct), 'gzip arm64 Image');
  t.equal(checkKernel(file('vmlinux', elf(183)), direct), 'aarch64 ELF');
  t.equal(checkKernel(file('uImage', uImage(22)), direct), 'arm64 uImage');
  const link = join(dir, 'Image-link');
  symlinkSync(join(dir, 'Image'), link);
  t.equal(checkKernel(link, direct), 'arm64 Image', 'a symlink to an Image');
});

t.test('EFI zboot images: through firmware, or gzip ones from qemu 8.0', async (t) => {
  const gz = file('vmlinuz.efi', zboot('gzip'));
  const zst = file('vmlinuz-zstd.efi', zboot('zstd'));
  t.equal(checkKernel(gz, { firmware: true, qemuVersion: () => undefined }), 'EFI zboot arm64 Image');
  t.equal(checkKernel(zst, { firmware: true, qemuVersion: () => undefined }), 'EFI zboot arm64 Image');
  t.equal(checkKernel(gz, { firmware: false, qemuVersion: () => [8, 0] }), 'EFI zboot arm64 Image');
  t.throws(() => checkKernel(gz, direct), {
    name: 'TargetSetupError',
    message: `--kernel ${gz}: an EFI zboot image (gzip-compressed); qemu 7.2 cannot unpack it (8.0 can): pass the uncompressed Image, or UEFI firmware with --bios`,
  });
  t.throws(() => checkKernel(zst, { firmware: false, qemuVersion: () => [10, 0] }), { message: /\(zstd-compressed\); qemu unpacks only gzip ones/ });
});

t.test('files that are no arm64 kernel: one line each', async (t) => {
  const not = 'not an arm64 kernel (an Image, a gzip of one, or an aarch64 ELF)';
  const cases: [string, string][] = [
    [file('notes.txt', 'hello\n'), `a text file, ${not}`],
    [file('bzImage', bzImage()), `an x86 bzImage, ${not}`],
    [file('vmlinux-x86', elf(62)), `an ELF file for x86-64, ${not}`],
    [file('uImage-arm', uImage(2)), `a U-Boot uImage for architecture 2, ${not}`],
    [file('cpio.gz', gzipSync('070701' + '0'.repeat(200))), `gzip-compressed, but no arm64 Image header inside ("ARM\\x64" at 0x38), ${not}`],
    [file('bad.gz', Buffer.from([0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3, 0xff, 0xff, 0xff, 0xff])), `a damaged gzip file, ${not}`],
    [file('pe.efi', Buffer.concat([Buffer.from('MZ'), Buffer.alloc(200)])), `a PE/EFI file without an arm64 Image header, ${not}`],
    [file('random', Buffer.from(Array.from({ length: 300 }, (_, i) => (i * 7 + 200) & 0xff))), `no arm64 Image header ("ARM\\x64" at 0x38), ${not}`],
    [file('Image.xz', Buffer.from('fd377a585a000004', 'hex')), 'xz-compressed; qemu decompresses only gzip: decompress it and pass the Image'],
    [file('Image.zst', Buffer.from('28b52ffd0000', 'hex')), 'zstd-compressed; qemu decompresses only gzip: decompress it and pass the Image'],
    [file('empty', ''), 'empty file'],
    [join(dir, 'nope'), 'no such file'],
    ['/dev/null', 'a character device, not a regular file'],
    [dir, 'a directory, not a regular file'],
  ];
  for (const [path, why] of cases) {
    t.throws(() => checkKernel(path, direct), { name: 'TargetSetupError', message: `--kernel ${path}: ${why}` }, why);
  }
});

t.test('--initrd and --bios', async (t) => {
  t.equal(checkInitrd(file('i.cpio', '070701' + '0'.repeat(200))), 'cpio');
  t.equal(checkInitrd(file('i.cpio.gz', gzipSync('070701'))), 'gzip');
  t.equal(checkInitrd(file('i.cpio.zst', Buffer.from('28b52ffd0000', 'hex'))), 'zstd');
  const txt = join(dir, 'notes.txt');
  t.throws(() => checkInitrd(txt), { message: `--initrd ${txt}: not an initramfs (a cpio archive, plain or gzip/xz/zstd/lz4/bzip2/lzma/lzo-compressed)` });
  t.throws(() => checkInitrd('/dev/null'), { message: '--initrd /dev/null: a character device, not a regular file' });
  t.doesNotThrow(() => checkBios(file('flash.bin', Buffer.alloc(4096, 0x17))));
  t.throws(() => checkBios(join(dir, 'empty')), { message: `--bios ${join(dir, 'empty')}: empty file` });
  const sub = join(dir, 'sub');
  mkdirSync(sub);
  t.throws(() => checkBios(sub), { message: `--bios ${sub}: a directory, not a regular file` });
});

t.test('./run.sh --target qemu with a bad file: one line, exit 2, nothing built or booted', async (t) => {
  const txt = join(dir, 'notes.txt');
  const cases: [string[], string][] = [
    [['--kernel', '/dev/null'], 'run.sh: --kernel /dev/null: a character device, not a regular file\n'],
    [['--kernel', join(dir, 'nope')], `run.sh: --kernel ${join(dir, 'nope')}: no such file\n`],
    [['--kernel', txt], `run.sh: --kernel ${txt}: a text file, not an arm64 kernel (an Image, a gzip of one, or an aarch64 ELF)\n`],
    [
      ['--kernel', join(dir, 'bzImage')],
      `run.sh: --kernel ${join(dir, 'bzImage')}: an x86 bzImage, not an arm64 kernel (an Image, a gzip of one, or an aarch64 ELF)\n`,
    ],
    [
      ['--kernel', join(dir, 'Image'), '--initrd', txt],
      `run.sh: --initrd ${txt}: not an initramfs (a cpio archive, plain or gzip/xz/zstd/lz4/bzip2/lzma/lzo-compressed)\n`,
    ],
    [['--kernel', join(dir, 'Image'), '--initrd', join(dir, 'i.cpio'), '--bios', join(dir, 'empty')], `run.sh: --bios ${join(dir, 'empty')}: empty file\n`],
  ];
  for (const [args, line] of cases) {
    for (const abi of [[], ['--abi', 'absent']]) {
      // KVM_CCA_CACHE points at an empty dir: a boot attempt would start building the guest there.
      const cache = join(dir, 'cache');
      const r = spawnSync(RUN, ['--target', 'qemu', ...abi, ...args], { encoding: 'utf8', env: { ...process.env, KVM_CCA_CACHE: cache }, timeout: 120000 });
      t.equal(r.status, 2, `${args.join(' ')} ${abi.join(' ')}: exit 2`);
      t.equal(r.stderr, line, 'one line on stderr, nothing else (no "preparing the guest")');
      t.equal(r.stdout, '', 'no TAP');
    }
  }
  t.notOk(existsSync(join(dir, 'cache')), 'no cache dir was made: nothing was built');
});

t.test('./run.sh qemu-guest checks the files too', async (t) => {
  const r = spawnSync(RUN, ['qemu-guest', '--kernel', '/dev/null'], { encoding: 'utf8', timeout: 120000 });
  t.equal(r.status, 2);
  t.equal(r.stderr, 'run.sh: --kernel /dev/null: a character device, not a regular file\n');
  t.equal(r.stdout, '');
});

t.test('an option value starting with a dash: the fix is on the one line', async (t) => {
  // --qemu-arg takes the next word whatever it is (--qemu-arg -M); other options do not.
  for (const args of [
    ['--target', 'qemu', '--ssh-key', '-S'],
    ['qemu-guest', '--ssh-key', '-S'],
  ]) {
    const r = spawnSync(RUN, args, { encoding: 'utf8', timeout: 120000 });
    t.equal(r.status, 2);
    t.equal(r.stderr.split('\n').length, 2, 'one line');
    t.match(r.stderr, /^run\.sh( qemu-guest)?: --ssh-key needs a value; a value starting with '-' is written --ssh-key=-VALUE \(see --help\)\n$/);
  }
});
