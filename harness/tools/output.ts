// Report files (--junit, --matrix, --trace, repro -o): checked before anything
// runs, written atomically (a temp file beside the target, then rename), so an
// interrupted or failed write never leaves a truncated report, and the previous
// report is removed at the start so a stale one cannot pass for this run's.
// Every failure is an OutputError with one line (ENOSPC included).
import { closeSync, constants, fsyncSync, lstatSync, mkdirSync, openSync, renameSync, rmSync, statSync, unlinkSync, writeFileSync, writeSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { basename, dirname, join, resolve } from 'node:path';

export class OutputError extends Error {
  override name = 'OutputError';
}

/** "ENOSPC (no space left on device)" from a node fs error. */
export function fsReason(e: unknown): string {
  if (!(e instanceof Error)) return String(e);
  const err: NodeJS.ErrnoException = e;
  if (!err.code) return err.message;
  const text = /^[A-Z]+: ([^,]+)/.exec(err.message)?.[1];
  return text ? `${err.code} (${text})` : err.code;
}

// O_EXCL: never reuse or follow anything already at the temp name; O_NOFOLLOW for good measure.
const EXCL = constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW;

function tempBeside(path: string): string {
  return join(dirname(path), `.${basename(path)}.${randomBytes(6).toString('hex')}.tmp`);
}

function writeFd(fd: number, data: string | Uint8Array): void {
  const buf = typeof data === 'string' ? Buffer.from(data) : data;
  for (let off = 0; off < buf.length;) off += writeSync(fd, buf, off, buf.length - off);
}

/** Create `path` exclusively (it must not exist, a symlink there is refused) and write `data`. */
export function writeExclusive(path: string, data: string | Uint8Array, mode = 0o644): void {
  const fd = openSync(path, EXCL, mode);
  try {
    writeFd(fd, data);
  } catch (e) {
    closeSync(fd);
    rmSync(path, { force: true });
    throw e;
  }
  closeSync(fd);
}

/**
 * Write `data` to `path` all or nothing. A path that is a device or a pipe
 * (/dev/stdout) is written in place: there is nothing to rename over.
 */
export function writeAtomic(path: string, data: string | Uint8Array, what = 'report'): void {
  let special = false;
  try {
    const st = statSync(path);
    if (st.isDirectory()) throw new OutputError(`cannot write ${what} ${path}: it is a directory`);
    special = !st.isFile();
  } catch (e) {
    if (e instanceof OutputError) throw e;
  }
  try {
    if (special) {
      writeFileSync(path, data);
      return;
    }
    const tmp = tempBeside(path);
    try {
      const fd = openSync(tmp, EXCL, 0o644);
      try {
        writeFd(fd, data);
        fsyncSync(fd);
      } finally {
        closeSync(fd);
      }
      renameSync(tmp, path);
    } catch (e) {
      rmSync(tmp, { force: true });
      throw e;
    }
  } catch (e) {
    throw new OutputError(`cannot write ${what} ${path}: ${fsReason(e)}`);
  }
}

/**
 * Before any check runs: `path` can be written (its directory exists and takes
 * a new file, it is not a directory). The previous report there is removed, so
 * an interrupted run cannot leave one that looks current.
 */
export function checkOutputFile(path: string, option: string): void {
  const full = resolve(path);
  let st;
  try {
    st = lstatSync(full);
  } catch {
    // does not exist yet: fine
  }
  if (st?.isDirectory()) throw new OutputError(`${option} ${path}: is a directory, not a file`);
  if (st && !st.isFile() && !st.isSymbolicLink()) return; // a device or pipe, e.g. /dev/stdout
  probeDir(dirname(full), `${option} ${path}`);
  if (st) {
    try {
      unlinkSync(full);
    } catch (e) {
      throw new OutputError(`${option} ${path}: cannot remove the previous report (${fsReason(e)})`);
    }
  }
}

/** --trace DIR: create it if needed and prove a file can be made in it; returns the absolute path. */
export function checkOutputDir(dir: string, option: string): string {
  const full = resolve(dir);
  try {
    mkdirs(full);
  } catch (e) {
    throw new OutputError(`${option} ${dir}: cannot create the directory (${fsReason(e)})`);
  }
  probeDir(full, `${option} ${dir}`);
  return full;
}

/**
 * mkdir -p, one component at a time. Not mkdirSync's `recursive`: on some
 * paths (under /proc) it gets ENOENT for ever and never returns.
 */
export function mkdirs(dir: string): void {
  const parts = resolve(dir).split('/').filter(Boolean);
  let at = '';
  for (const p of parts) {
    at += `/${p}`;
    try {
      mkdirSync(at);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    }
  }
}

function probeDir(dir: string, what: string): void {
  let st;
  try {
    st = statSync(dir);
  } catch (e) {
    throw new OutputError(`${what}: directory ${dir} ${(e as NodeJS.ErrnoException).code === 'ENOENT' ? 'does not exist' : `cannot be used (${fsReason(e)})`}`);
  }
  if (!st.isDirectory()) throw new OutputError(`${what}: ${dir} is not a directory`);
  const probe = tempBeside(join(dir, 'probe'));
  try {
    writeExclusive(probe, '');
  } catch (e) {
    throw new OutputError(`${what}: cannot write in ${dir} (${fsReason(e)})`);
  }
  rmSync(probe, { force: true });
}
