// The qemu target: boots Debian's arm64 kernel under qemu-system-aarch64 (TCG,
// nested virtualization, so the guest has /dev/kvm) with an initramfs built by
// scripts/build-guest.sh, then behaves exactly like the ssh target over a
// port forwarded to 127.0.0.1 only. The guest is always shut down in stop(),
// and killed with node if node dies first.
import { createWriteStream, mkdirSync, readdirSync, rmSync, type WriteStream } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { execa } from 'execa';
import { TargetSetupError, type Session, type Target, type TargetIdentity, TargetWithoutKvm } from '../target.ts';
import type { WireResult } from '../../../uapi/wire.ts';
import { buildAgent, track } from './agent-session.ts';
import { checkBios, checkInitrd, checkKernel, kernelInDir } from './boot-files.ts';
import { SshTarget } from './ssh.ts';
import { progress } from '../../tools/progress.ts';
import { reapLeftovers, tied } from '../lifecycle.ts';
import { freePort, lastLines, qemuVersion, startQemu } from './qemu-process.ts';

export interface QemuTargetOptions {
  /**
   * Kernel Image, or a kernel build directory (its arch/arm64/boot/Image);
   * default Debian's arm64 kernel from the cache, unless --bios alone is given.
   */
  kernel?: string;
  /** Initramfs; default the project's (busybox, dropbear, agent). A custom one must run sshd on port 22. */
  initrd?: string;
  /**
   * Firmware (-bios), e.g. TF-A + RMM for a CCA stack. Given alone (no kernel,
   * no initrd) the firmware boots the kernel itself (TF-A with the kernel as
   * BL33, its initramfs built in): nothing else is passed, and readiness is
   * sshd answering with the cache's key (`./run.sh build-initramfs`).
   */
  bios?: string;
  /** qemu binary; default qemu-system-aarch64. */
  qemu?: string;
  /** Extra qemu arguments, appended last. */
  qemuArgs?: readonly string[];
  /** Extra kernel command line. */
  append?: string;
  /** Cache dir for packages, kernel, initramfs, key, console logs; default $KVM_CCA_CACHE or ./.cache/qemu. */
  cacheDir?: string;
  /** ssh key for a custom initrd; default the cache's generated key. */
  sshKey?: string;
  sshOptions?: readonly string[];
  /** Boot deadline to the readiness line (ms); default 90000. */
  bootTimeoutMs?: number;
  /** Stream the guest's console to stderr as it comes. */
  console?: boolean;
  /** Progress lines for the CLI (stderr). */
  log?: (line: string) => void;
}

const PROJECT = new URL('../../../', import.meta.url).pathname;
// Only a whole line counts: the console arrives in arbitrary chunks.
const READY = /KVM-CCA-GUEST-READY (\S+) kvm=(\w+)\r?\n/;
const PANIC = /Kernel panic - not syncing[^\r\n]*/;
const KEEP_LOGS = 20;

/** A booted guest: sshd on 127.0.0.1:port accepts root with sshKey. */
export interface QemuGuest {
  port: number;
  sshKey: string;
  /** The local arm64 agent binary (already in our initramfs). */
  agent: string;
  logPath: string;
  /** ms from spawning qemu to readiness. */
  bootMs: number;
  /** Guest kernel release from the readiness line (our initramfs only). */
  release: string | undefined;
}

export function defaultCacheDir(): string {
  return process.env.KVM_CCA_CACHE || join(PROJECT, '.cache', 'qemu');
}

export class QemuTarget implements Target {
  readonly kind = 'qemu' as const;
  private proc: ReturnType<typeof startQemu> | undefined;
  private untrack: (() => void) | undefined;
  private exit: { exitCode?: number; signal?: string } | undefined;
  private ssh: SshTarget | undefined;
  private logStream: WriteStream | undefined;
  private console = '';
  /** Path of this boot's serial console log. */
  logPath: string | undefined;
  /** ms from spawning qemu to the readiness line. */
  bootMs: number | undefined;
  /** ms before spawning qemu: the agent's make and build-guest.sh (both no-ops when up to date). */
  prepMs: number | undefined;
  port: number | undefined;
  /** Guest kernel release from the readiness line. */
  release: string | undefined;

  constructor(private readonly opts: QemuTargetOptions = {}) {}

  /**
   * Build the guest if needed and boot it to a listening sshd, without the ssh
   * target: start() and `./run.sh qemu-guest` both use it. Stops on failure.
   */
  async bootGuest(): Promise<QemuGuest> {
    if (this.proc) throw new Error('qemu target already started');
    const t0 = Date.now();
    const o = this.opts;
    const cache = o.cacheDir ?? defaultCacheDir();
    const qemuBin = o.qemu ?? 'qemu-system-aarch64';
    // A file qemu cannot boot would otherwise be loaded as raw code and time out: check first.
    if (o.initrd && !o.kernel && o.bios)
      throw new TargetSetupError('--initrd needs --kernel: with --bios alone the firmware boots its own kernel (and its built-in initramfs)');
    const kernelFile = o.kernel ? kernelInDir(o.kernel) : undefined;
    if (kernelFile)
      checkKernel(kernelFile, {
        firmware: !!o.bios,
        qemuVersion: () => qemuVersion(qemuBin),
        ...(o.kernel && kernelFile !== o.kernel ? { option: `--kernel ${o.kernel}:` } : {}),
      });
    if (o.initrd) checkInitrd(o.initrd);
    if (o.bios) checkBios(o.bios);
    if ((await execa('sh', ['-c', 'command -v "$1"', 'sh', qemuBin], { reject: false })).exitCode !== 0)
      throw new TargetSetupError(`${qemuBin} not found: run scripts/install-deps.sh`);

    reapLeftovers(); // qemus and ssh processes of runs that were killed
    const built = progress(o.log, 'building the arm64 agent');
    const agent = await buildAgent('aarch64').finally(built);
    let kernel = kernelFile;
    let initrd = o.initrd;
    // --bios alone: the firmware brings its kernel; otherwise fill in what is missing
    // (with --bios, only an initrd for a given --kernel: never a kernel the firmware would not boot).
    const firmwareBoots = !!o.bios && !kernel && !initrd;
    const needGuest = !firmwareBoots && (!kernel || (!initrd && !(o.bios && !kernel)));
    if (needGuest || (!o.sshKey && firmwareBoots)) {
      o.log?.(`preparing the guest in ${cache}`);
      // A cold cache downloads Debian's arm64 kernel and busybox and builds the initramfs: say so while it runs.
      const done = progress(o.log, 'preparing the guest: Debian arm64 packages, initramfs');
      const b = await execa(join(PROJECT, 'scripts', 'build-guest.sh'), [cache, agent], { reject: false, all: true }).finally(done);
      if (b.exitCode !== 0) {
        const last = b.all.trim().split('\n').slice(-1)[0] ?? '';
        throw new TargetSetupError(last.startsWith('build-guest:') ? last : `scripts/build-guest.sh failed: ${last}`);
      }
      if (!firmwareBoots) {
        if (!o.bios) kernel ??= join(cache, 'Image');
        if (kernel) initrd ??= join(cache, 'initramfs.cpio.gz');
      }
    }
    const ourInitrd = !o.initrd && !firmwareBoots;

    const logs = join(cache, 'logs');
    mkdirSync(logs, { recursive: true });
    this.pruneLogs(logs);
    this.logPath = join(logs, `console-${new Date().toISOString().replace(/[:.]/g, '-')}-${process.pid}.log`);
    this.logStream = createWriteStream(this.logPath);
    this.prepMs = Date.now() - t0;

    try {
      await this.boot(qemuBin, kernel, initrd, ourInitrd);
    } catch (e) {
      // A failed boot always shows how far the guest got (unless --console showed it all).
      if (!o.console) for (const l of lastLines(this.console, 15, true).split('\n').filter(Boolean)) o.log?.(`console: ${l}`);
      await this.stop();
      throw this.setupError(e);
    }
    const port = this.port ?? 0;
    return { port, sshKey: o.sshKey ?? join(cache, 'id_ed25519'), agent, logPath: this.logPath, bootMs: this.bootMs ?? 0, release: this.release };
  }

  async start(): Promise<TargetIdentity> {
    const g = await this.bootGuest();
    try {
      this.ssh = new SshTarget(
        `ssh://root@127.0.0.1:${g.port}`,
        {
          sshKey: g.sshKey,
          sshOptions: this.opts.sshOptions,
          insecureHostKey: true, // a new host key at every boot, on a port only this user forwards
          agentBinary: g.agent,
          connectTimeout: 10,
          // TCG is slow and a first KVM_RUN can take 10 ms: leave the agent's own deadline room to fire first.
          marginMs: 5000,
        },
        'qemu',
        { machineFault: () => Promise.resolve(this.machineFault()), hint: () => this.hint() },
      );
      const done = progress(this.opts.log, 'guest up: connecting over ssh, starting the agent');
      const id = await this.ssh.start().finally(done);
      return { ...id, spec: 'qemu' };
    } catch (e) {
      await this.stop();
      throw this.setupError(e);
    }
  }

  /** Resolves with the fault text once qemu exits (the guest panicked, or it was killed). */
  exited(): Promise<string> {
    const p = this.proc;
    if (!p) return Promise.resolve(this.machineFault() ?? 'target-lost: qemu is not running');
    return p.then(
      () => this.machineFault() ?? 'target-lost: qemu exited',
      () => this.machineFault() ?? 'target-lost: qemu exited',
    );
  }

  private setupError(e: unknown): TargetSetupError {
    if (e instanceof TargetSetupError) return e;
    return new TargetSetupError(`qemu target: ${(e as Error).message}${this.hint()}`);
  }

  session(): Promise<Session> {
    if (!this.ssh) throw new Error('qemu target not started');
    return this.ssh.session();
  }

  kernelLog(since?: number): Promise<WireResult> {
    if (!this.ssh) return Promise.resolve({ id: 0, ret: -1, errno: 0, error: 'target-lost: qemu target not started' });
    return this.ssh.kernelLog(since);
  }

  /** For tests and the bench: the underlying ssh target. */
  get sshTarget(): SshTarget | undefined {
    return this.ssh;
  }

  get qemuPid(): number | undefined {
    return this.exit ? undefined : this.proc?.pid;
  }

  /** Run a shell command in the guest over the ssh master (tests, bench). */
  async guestRun(cmd: string): Promise<{ exitCode?: number; stdout: string; stderr: string }> {
    if (!this.ssh) throw new Error('qemu target not started');
    const r = await this.ssh.run(cmd);
    return { exitCode: r.exitCode, stdout: r.stdout, stderr: r.stderr };
  }

  async stop(): Promise<void> {
    const ssh = this.ssh;
    this.ssh = undefined;
    await ssh?.stop().catch(() => undefined);
    const p = this.proc;
    this.proc = undefined;
    if (p) {
      // An initramfs guest has nothing to flush: SIGTERM makes qemu quit at once.
      p.kill('SIGTERM');
      const done = await Promise.race([p.then(() => true), sleep(3000, false, { ref: false })]); // unref: must not hold node up
      if (!done) p.kill('SIGKILL');
      await p.catch(() => undefined);
      this.untrack?.();
    }
    const s = this.logStream;
    this.logStream = undefined;
    if (s) await new Promise<void>((r) => s.end(r));
  }

  private hint(): string {
    return this.logPath ? ` (console log: ${this.logPath})` : '';
  }

  private machineFault(): string | undefined {
    if (!this.exit) return undefined;
    // With panic=-1 and -no-reboot a guest panic ends qemu: say so.
    const panic = PANIC.exec(this.console)?.[0];
    return `target-lost: ${panic ? `guest ${panic.trim()}; ` : ''}qemu ${this.how()}${this.hint()}`;
  }

  private how(): string {
    if (!this.exit) return 'still running (stopped now)';
    return this.exit.signal ? `killed by ${this.exit.signal}` : `exited with code ${this.exit.exitCode ?? '?'}`;
  }

  /**
   * Why the boot cannot succeed any more: qemu exited, or the console shows a
   * kernel panic (with panic=-1 qemu exits right after; a kernel or --qemu-arg
   * that halts on panic would otherwise wait for the deadline). One line.
   */
  private bootFailure(): TargetSetupError | undefined {
    const panic = PANIC.exec(this.console)?.[0];
    if (panic) return new TargetSetupError(`the guest kernel panicked during boot: ${panic.trim()}; qemu ${this.how()}${this.hint()}`);
    if (!this.exit) return undefined;
    return new TargetSetupError(`qemu ${this.how()} before the guest was ready${lastLines(this.console)}${this.hint()}`);
  }

  private pruneLogs(dir: string): void {
    const old = readdirSync(dir)
      .filter((f) => f.startsWith('console-'))
      .sort()
      .slice(0, -KEEP_LOGS + 1);
    for (const f of old) rmSync(join(dir, f), { force: true });
  }

  private qemuArgs(kernel: string | undefined, initrd: string | undefined, port: number): string[] {
    const o = this.opts;
    // No `quiet`: the kernel's warnings must reach the console log too (the harness reads /dev/kmsg for its verdicts).
    return [
      '-M',
      'virt,virtualization=on,gic-version=3',
      '-cpu',
      'max,pauth-impdef=on', // ~3.5x faster boot and KVM_RUN under TCG
      '-smp',
      '2',
      '-m',
      '1024',
      '-nographic',
      '-no-reboot',
      '-nic',
      'none', // no default NIC: it would want the absent efi-virtio.rom
      '-netdev',
      `user,id=n0,hostfwd=tcp:127.0.0.1:${port}-:22`,
      '-device',
      'virtio-net-pci,netdev=n0,romfile=',
      ...(kernel ? ['-kernel', kernel] : []),
      ...(initrd ? ['-initrd', initrd] : []),
      ...(kernel ? ['-append', `console=ttyAMA0 panic=-1${o.append ? ` ${o.append}` : ''}`] : []),
      ...(o.bios ? ['-bios', o.bios] : []),
      ...(o.qemuArgs ?? []),
    ];
  }

  private async boot(qemuBin: string, kernel: string | undefined, initrd: string | undefined, ourInitrd: boolean): Promise<void> {
    const deadline = Date.now() + (this.opts.bootTimeoutMs ?? 90000);
    for (let attempt = 0; ; attempt++) {
      this.port = await freePort();
      const t0 = Date.now();
      const args = this.qemuArgs(kernel, initrd, this.port);
      if (attempt === 0) this.opts.log?.(`running ${qemuBin} ${args.join(' ')}`);
      const p = startQemu(qemuBin, args);
      this.proc = p;
      // Widened with `as` here and below: the handlers set these while the loop waits.
      this.exit = undefined as typeof this.exit;
      this.console = '';
      this.untrack = track(p);
      let ready = null as RegExpExecArray | null;
      let panicked = false as boolean;
      let wake: (() => void) | undefined;
      // Settles once the boot cannot succeed: qemu exited or the guest panicked.
      let ended!: () => void;
      const endedP = new Promise<void>((r) => (ended = r));
      const onData = (c: Buffer) => {
        this.logStream?.write(c);
        if (this.opts.console) process.stderr.write(c);
        this.console = (this.console + c.toString('utf8')).slice(-8000);
        if (!ready && (ready = READY.exec(this.console))) this.bootMs = Date.now() - t0;
        if (!panicked && PANIC.test(this.console)) {
          panicked = true;
          ended();
        }
        wake?.();
      };
      p.stdout.on('data', onData);
      p.stderr.on('data', onData);
      void p.then((r) => {
        this.exit = { exitCode: r.exitCode, signal: r.signal };
        ended();
        wake?.();
      });
      const done = progress(this.opts.log, ourInitrd ? 'booting the guest' : 'booting; waiting for sshd on the guest', deadline);
      try {
        if (!ourInitrd) {
          // A foreign initrd prints no readiness line: wait for sshd instead.
          await this.waitForSsh(deadline, endedP);
          this.bootMs = Date.now() - t0;
          return;
        }
        while (!ready && !this.exit && !panicked && Date.now() < deadline) {
          await new Promise<void>((r) => {
            wake = r;
            setTimeout(r, 250);
          });
        }
        wake = undefined;
        if (ready) {
          this.release = ready[1];
          if (ready[2] !== 'yes') throw new TargetWithoutKvm(`the guest kernel ${ready[1]!} has no /dev/kvm${this.hint()}`);
          return;
        }
        // The port was taken between probing and qemu binding it: try another.
        if (this.exit && /could not set up host forwarding/i.test(this.console) && attempt < 3) continue;
        if (this.exit || panicked) throw await this.failure(p);
        throw new TargetSetupError(`the guest was not ready after ${Math.round((this.opts.bootTimeoutMs ?? 90000) / 1000)} s${this.hint()}`);
      } finally {
        wake = undefined;
        done();
      }
    }
  }

  /** The boot failure, once qemu had a moment to exit after a panic (panic=-1 ends it at once). */
  private async failure(p: NonNullable<typeof this.proc>): Promise<TargetSetupError> {
    if (!this.exit) await Promise.race([p.catch(() => undefined), sleep(1500, undefined, { ref: false })]);
    return this.bootFailure() ?? new TargetSetupError(`qemu ended the boot${this.hint()}`);
  }

  /** Poll sshd; each try is cut after 1.5 s because slirp accepts before the guest listens. */
  private async waitForSsh(deadline: number, ended: Promise<void>): Promise<void> {
    const key = ['-i', this.opts.sshKey ?? join(this.opts.cacheDir ?? defaultCacheDir(), 'id_ed25519')];
    const p = this.proc;
    let over = false as boolean; // widened: set by `ended` while the loop waits
    void ended.then(() => (over = true));
    while (Date.now() < deadline && !over) {
      const t = tied('ssh', [
        ...key,
        '-o',
        'BatchMode=yes',
        '-o',
        'StrictHostKeyChecking=no',
        '-o',
        'UserKnownHostsFile=/dev/null',
        '-o',
        'LogLevel=ERROR',
        '-p',
        String(this.port),
        'root@127.0.0.1',
        'true',
      ]);
      const attempt = execa(t.file, t.args, { env: t.env, detached: true, reject: false, timeout: 1500 });
      const r = await Promise.race([attempt, ended.then(() => undefined)]);
      if (!r) {
        attempt.kill('SIGKILL');
        await attempt.catch(() => undefined);
        break;
      }
      if (r.exitCode === 0) return;
      if (r.stderr.includes('Permission denied')) return; // up; start() reports the auth problem
      await Promise.race([sleep(500), ended]);
    }
    if (over && p) throw await this.failure(p);
    throw new TargetSetupError(`sshd in the guest did not come up in time${this.hint()}`);
  }
}
