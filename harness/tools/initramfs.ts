// `./run.sh build-initramfs FILE`: the qemu target's guest initramfs (busybox,
// dropbear, the agent, the cache's ssh key) as one cpio archive for a kernel's
// CONFIG_INITRAMFS_SOURCE, for a stack whose firmware boots the kernel itself
// (`--bios` alone). A built-in initramfs must carry /dev/console: the kernel
// opens it for init's stdin/stdout before /init mounts devtmpfs, and only the
// kernel's own default list has it. FILE ending in .gz is gzip-compressed.
import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync, gzipSync } from 'node:zlib';
import { execa } from 'execa';
import { TargetSetupError } from '../core/target.ts';
import { buildAgent } from '../core/targets/agent-session.ts';
import { defaultCacheDir } from '../core/targets/qemu.ts';

const PROJECT = new URL('../../', import.meta.url).pathname;
const HDR = 110;
const pad4 = (n: number): number => (4 - (n % 4)) % 4;

/** One newc entry (header, name, data), 4-byte aligned. */
export function newcEntry(name: string, mode: number, data: Buffer = Buffer.alloc(0), rdev: [number, number] = [0, 0], ino = 0): Buffer {
  const nameBuf = Buffer.from(`${name}\0`, 'latin1');
  const f = (n: number): string => n.toString(16).padStart(8, '0');
  const fields = [ino, mode, 0, 0, 1, 0, data.length, 0, 0, rdev[0], rdev[1], nameBuf.length, 0];
  const head = Buffer.from(`070701${fields.map(f).join('')}`, 'latin1');
  return Buffer.concat([head, nameBuf, Buffer.alloc(pad4(HDR + nameBuf.length)), data, Buffer.alloc(pad4(data.length))]);
}

/** The entries of a newc archive up to (without) its trailer, and their names. */
export function newcBody(a: Buffer): { body: Buffer; names: string[] } {
  const names: string[] = [];
  let off = 0;
  while (off + HDR <= a.length) {
    const magic = a.toString('latin1', off, off + 6);
    if (magic !== '070701' && magic !== '070702') throw new TargetSetupError(`not a newc cpio archive at byte ${off}`);
    const hex = (i: number): number => parseInt(a.toString('latin1', off + 6 + i * 8, off + 14 + i * 8), 16);
    const fileSize = hex(6);
    const nameSize = hex(11);
    const name = a.toString('latin1', off + HDR, off + HDR + nameSize - 1);
    if (name === 'TRAILER!!!') return { body: a.subarray(0, off), names };
    names.push(name);
    const nameEnd = off + HDR + nameSize;
    const dataStart = nameEnd + pad4(nameEnd);
    off = dataStart + fileSize + pad4(dataStart + fileSize);
  }
  throw new TargetSetupError('cpio archive without a trailer');
}

/** The archive with dev/console (char 5:1, 0600) added if it lacks one. */
export function withConsole(archive: Buffer): Buffer {
  const { body, names } = newcBody(archive);
  const extra: Buffer[] = [];
  if (!names.includes('dev') && !names.includes('./dev')) extra.push(newcEntry('dev', 0o040755, undefined, undefined, 900001));
  if (!names.includes('dev/console') && !names.includes('./dev/console')) extra.push(newcEntry('dev/console', 0o020600, undefined, [5, 1], 900002));
  const out = Buffer.concat([body, ...extra, newcEntry('TRAILER!!!', 0)]);
  return Buffer.concat([out, Buffer.alloc((512 - (out.length % 512)) % 512)]);
}

export async function buildInitramfsCommand(argv: string[]): Promise<number> {
  const fail = (msg: string): number => {
    process.stderr.write(`run.sh build-initramfs: ${msg}\n`);
    return 2;
  };
  if (argv[0] === '-h' || argv[0] === '--help') {
    process.stdout.write(
      "usage: ./run.sh build-initramfs FILE\n\nWrites the qemu target's guest initramfs (with /dev/console) to FILE, a cpio archive\n(gzip-compressed if FILE ends in .gz) for a kernel's CONFIG_INITRAMFS_SOURCE. The guest\nauthorizes the ssh key of the qemu cache ($KVM_CCA_CACHE or .cache/qemu), which\n--target qemu --bios FIRMWARE then uses.\n",
    );
    return 0;
  }
  if (argv.length !== 1 || !argv[0] || argv[0].startsWith('-')) return fail('needs exactly one argument, the output FILE (see --help)');
  const file = argv[0];
  const cache = defaultCacheDir();
  try {
    const agent = await buildAgent('aarch64');
    const b = await execa(join(PROJECT, 'scripts', 'build-guest.sh'), [cache, agent], { reject: false, all: true });
    if (b.exitCode !== 0) return fail(b.all.trim().split('\n').slice(-1)[0] ?? 'scripts/build-guest.sh failed');
    const cpio = withConsole(gunzipSync(readFileSync(join(cache, 'initramfs.cpio.gz'))));
    const tmp = `${file}.tmp-${process.pid}`;
    writeFileSync(tmp, file.endsWith('.gz') ? gzipSync(cpio) : cpio);
    renameSync(tmp, file);
  } catch (e) {
    if (e instanceof TargetSetupError) return fail(e.message);
    const code = (e as NodeJS.ErrnoException).code;
    return fail(code ? `${file}: cannot write it (${code})` : (e as Error).message);
  }
  process.stderr.write(`# build-initramfs: ${file} written (ssh key ${join(cache, 'id_ed25519')}); set CONFIG_INITRAMFS_SOURCE="${file}"\n`);
  return 0;
}
