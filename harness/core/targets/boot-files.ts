// Checks of the qemu target's --kernel, --initrd and --bios before anything
// boots. qemu-system-aarch64 -kernel loads an ELF (aarch64), a U-Boot uImage,
// or a gzip file (which it gunzips), and anything else as raw code at the
// kernel load address (hw/arm/boot.c, load_aarch64_image): so /dev/null, a
// text file or an x86 bzImage "boot" and the guest just never prints a line.
// Each check reads at most the first 64 KiB and fails with one line.
import { closeSync, constants as fsc, existsSync, openSync, readSync, statSync, type Stats } from 'node:fs';
import { join } from 'node:path';
import { constants as zc, gunzipSync } from 'node:zlib';
import { TargetSetupError } from '../target.ts';

const HEAD = 64 * 1024;
const ARM64_MAGIC_AT = 0x38;
const EM_AARCH64 = 183;
const IH_ARCH_ARM64 = 22;

/** What the file is, as far as booting it goes. */
export type KernelKind = 'arm64 Image' | 'gzip arm64 Image' | 'aarch64 ELF' | 'arm64 uImage' | 'EFI zboot arm64 Image';

function typeOf(st: Stats): string {
  if (st.isDirectory()) return 'a directory';
  if (st.isCharacterDevice()) return 'a character device';
  if (st.isBlockDevice()) return 'a block device';
  if (st.isFIFO()) return 'a pipe';
  if (st.isSocket()) return 'a socket';
  return 'not a regular file';
}

/** A readable, non-empty regular file: its first bytes (up to 64 KiB). */
export function readHead(option: string, path: string): Buffer {
  let st: Stats;
  try {
    st = statSync(path);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new TargetSetupError(`${option} ${path}: ${code === 'ENOENT' ? 'no such file' : `cannot stat it (${code ?? (e as Error).message})`}`);
  }
  if (!st.isFile()) throw new TargetSetupError(`${option} ${path}: ${typeOf(st)}, not a regular file`);
  if (st.size === 0) throw new TargetSetupError(`${option} ${path}: empty file`);
  let fd: number;
  try {
    fd = openSync(path, fsc.O_RDONLY);
  } catch (e) {
    throw new TargetSetupError(`${option} ${path}: cannot read it (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
  }
  try {
    const b = Buffer.alloc(Math.min(HEAD, st.size));
    const n = readSync(fd, b, 0, b.length, 0);
    return b.subarray(0, n);
  } finally {
    closeSync(fd);
  }
}

const isArm64Image = (b: Buffer): boolean => b.length >= ARM64_MAGIC_AT + 4 && b.toString('latin1', ARM64_MAGIC_AT, ARM64_MAGIC_AT + 4) === 'ARM\x64';
const isGzip = (b: Buffer): boolean => b.length >= 3 && b[0] === 0x1f && b[1] === 0x8b && b[2] === 8;

/** Compressions qemu does not undo for -kernel (it gunzips only). */
function otherCompression(b: Buffer): string | undefined {
  const hex = b.subarray(0, 6).toString('hex');
  if (hex.startsWith('fd377a585a00')) return 'xz';
  if (hex.startsWith('28b52ffd')) return 'zstd';
  if (hex.startsWith('04224d18') || hex.startsWith('02214c18')) return 'lz4';
  if (b.toString('latin1', 0, 3) === 'BZh') return 'bzip2';
  if (hex.startsWith('894c5a4f')) return 'lzo';
  if (hex.startsWith('5d000080') || hex.startsWith('5d000000')) return 'lzma';
  return undefined;
}

/** The start of a gzip stream, decompressed as far as the bytes we have go. */
function gunzipHead(b: Buffer): Buffer | undefined {
  try {
    return gunzipSync(b, { finishFlush: zc.Z_SYNC_FLUSH });
  } catch {
    return undefined;
  }
}

const ELF_MACHINES: Record<number, string> = { 3: 'x86', 8: 'MIPS', 20: 'PowerPC', 21: 'PowerPC64', 40: 'ARM (32-bit)', 62: 'x86-64', 243: 'RISC-V' };

/**
 * --kernel DIR: a kernel build directory stands for its arch/arm64/boot/Image.
 * Anything else is returned as given (checkKernel judges it).
 */
export function kernelInDir(path: string): string {
  let st: Stats;
  try {
    st = statSync(path);
  } catch {
    return path;
  }
  if (!st.isDirectory()) return path;
  const image = join(path, 'arch', 'arm64', 'boot', 'Image');
  if (existsSync(image)) return image;
  const why =
    existsSync(join(path, 'Makefile')) && existsSync(join(path, 'arch', 'arm64'))
      ? 'no arch/arm64/boot/Image in it (build the kernel: make ARCH=arm64 Image)'
      : 'a directory, but not an arm64 kernel build tree (no arch/arm64/boot/Image)';
  throw new TargetSetupError(`--kernel ${path}: ${why}`);
}

export interface KernelCheckOptions {
  /** How messages name the file ("--kernel"); a build directory's Image is named with its directory. */
  option?: string;
  /** --bios is given: the firmware loads the kernel (fw_cfg), e.g. as an EFI application. */
  firmware: boolean;
  /** qemu's [major, minor], asked only for an EFI zboot image. */
  qemuVersion: () => [number, number] | undefined;
}

/**
 * An arm64 kernel qemu can boot: an Image ("ARM\x64" at 0x38), a gzip of one,
 * an aarch64 ELF (vmlinux), an arm64 uImage; an EFI zboot image through UEFI
 * firmware (--bios), or directly from qemu 8.0 when it is gzip-compressed.
 */
export function checkKernel(path: string, o: KernelCheckOptions): KernelKind {
  const opt = o.option ?? '--kernel';
  const b = readHead(opt, path);
  const not = (what: string) => new TargetSetupError(`${opt} ${path}: ${what}, not an arm64 kernel (an Image, a gzip of one, or an aarch64 ELF)`);
  if (isArm64Image(b)) return 'arm64 Image';
  if (isGzip(b)) {
    const inner = gunzipHead(b);
    if (inner && isArm64Image(inner)) return 'gzip arm64 Image';
    throw not(inner ? 'gzip-compressed, but no arm64 Image header inside ("ARM\\x64" at 0x38)' : 'a damaged gzip file');
  }
  if (b.length >= 20 && b.toString('latin1', 0, 4) === '\x7fELF') {
    const le = b[5] !== 2;
    const machine = le ? b.readUInt16LE(18) : b.readUInt16BE(18);
    if (machine === EM_AARCH64) return 'aarch64 ELF';
    throw not(`an ELF file for ${ELF_MACHINES[machine] ?? `machine ${machine}`}`);
  }
  if (b.length >= 64 && b.readUInt32BE(0) === 0x27051956) {
    const arch = b[29]!;
    if (arch === IH_ARCH_ARM64) return 'arm64 uImage';
    throw not(`a U-Boot uImage for architecture ${arch}`);
  }
  if (b.length >= 0x40 && b.toString('latin1', 0, 2) === 'MZ') {
    // EFI zboot (arm64/riscv/loongarch "make zinstall"): "zimg" at 4, compression name at 0x18.
    if (b.toString('latin1', 4, 8) === 'zimg') {
      const comp = b.toString('latin1', 0x18, 0x20).replace(/\0.*$/s, '');
      if (o.firmware) return 'EFI zboot arm64 Image';
      const v = o.qemuVersion();
      if (comp === 'gzip' && v && v[0] >= 8) return 'EFI zboot arm64 Image';
      const why = comp === 'gzip' ? `qemu ${v ? v.join('.') : '?'} cannot unpack it (8.0 can)` : `qemu unpacks only gzip ones`;
      throw new TargetSetupError(
        `${opt} ${path}: an EFI zboot image (${comp || '?'}-compressed); ${why}: pass the uncompressed Image, or UEFI firmware with --bios`,
      );
    }
    if (b.length >= 0x206 && b.toString('latin1', 0x202, 0x206) === 'HdrS') throw not('an x86 bzImage');
    throw not('a PE/EFI file without an arm64 Image header');
  }
  const other = otherCompression(b);
  if (other) throw new TargetSetupError(`${opt} ${path}: ${other}-compressed; qemu decompresses only gzip: decompress it and pass the Image`);
  const text = b.subarray(0, 512).every((c) => c === 9 || c === 10 || c === 13 || (c >= 32 && c < 127));
  throw not(text ? 'a text file' : 'no arm64 Image header ("ARM\\x64" at 0x38)');
}

/** An initramfs the kernel can unpack: newc/odc cpio, or a compression the kernel knows. */
export function checkInitrd(path: string): string {
  const b = readHead('--initrd', path);
  const magic = b.toString('latin1', 0, 6);
  if (magic === '070701' || magic === '070702' || magic === '070707') return 'cpio';
  if (isGzip(b)) return 'gzip';
  if (b.length >= 64 && b.readUInt32BE(0) === 0x27051956) return 'uImage';
  const other = otherCompression(b);
  if (other) return other;
  throw new TargetSetupError(`--initrd ${path}: not an initramfs (a cpio archive, plain or gzip/xz/zstd/lz4/bzip2/lzma/lzo-compressed)`);
}

/** Firmware: any non-empty readable regular file (its format is the firmware's business). */
export function checkBios(path: string): void {
  readHead('--bios', path);
}
