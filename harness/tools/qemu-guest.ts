// `./run.sh qemu-guest`: boot the qemu target's guest (QemuTarget's own
// machinery), print the options that reach it as an ssh target, and keep it
// up until Ctrl-C/SIGTERM/SIGHUP, then shut it down. Exit 0 on such a stop,
// 1 if qemu ends by itself (e.g. a guest panic), 2 for a setup error.
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { repeatedOption } from './options.ts';
import { TargetSetupError } from '../core/target.ts';
import { QemuTarget } from '../core/targets/qemu.ts';
import { joinQemuArgs, realTargetOptions, TARGET_OPTIONS, type RealTargetOptions } from './qemu-options.ts';
import { optionError } from './usage-words.ts';

const USAGE = `usage: ./run.sh qemu-guest [--kernel/--initrd/--bios/--qemu FILE] [--qemu-arg ARG] [--ssh-key FILE] [--ssh-option OPT] [--boot-timeout SEC] [--console]

Boots the guest that --target qemu uses and prints, on one stdout line, the
options that run the suite against it over ssh:
  --target ssh://root@127.0.0.1:PORT --ssh-key KEY --ssh-option StrictHostKeyChecking=no --ssh-option UserKnownHostsFile=/dev/null
The guest stays up until Ctrl-C or SIGTERM, then it is shut down.`;

/** Quote for a POSIX shell only when needed, so the line can be pasted. */
function shq(s: string): string {
  return /^[\w@%+=:,./-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`;
}

export function sshTargetLine(port: number, key: string): string {
  return [
    `--target ssh://root@127.0.0.1:${port}`,
    `--ssh-key ${shq(key)}`,
    '--ssh-option StrictHostKeyChecking=no',
    '--ssh-option UserKnownHostsFile=/dev/null',
  ].join(' ');
}

const OPTIONS = {
  ...TARGET_OPTIONS,
  help: { type: 'boolean', short: 'h', default: false },
} satisfies NonNullable<ParseArgsConfig['options']>;

export async function qemuGuestCommand(argv: string[]): Promise<number> {
  let v;
  try {
    const r = parseArgs({ args: joinQemuArgs(argv), strict: true, tokens: true, options: OPTIONS });
    const twice = repeatedOption(r.tokens, OPTIONS);
    if (twice) throw new Error(twice);
    v = r.values;
  } catch (e) {
    process.stderr.write(`run.sh qemu-guest: ${optionError(e, Object.keys(OPTIONS))} (see --help)\n`);
    return 2;
  }
  if (v.help) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }

  let real: RealTargetOptions;
  try {
    real = realTargetOptions(v, 'qemu');
  } catch (e) {
    process.stderr.write(`run.sh qemu-guest: ${(e as Error).message}\n`);
    return 2;
  }
  const q = new QemuTarget({
    ...real,
    log: (l) => process.stderr.write(`# qemu-guest: ${l}\n`),
  });

  // A signal during the boot must stop it too: remember it, stop once booted (or failed).
  let signalled: string | undefined;
  let wake: (() => void) | undefined;
  const onSignal = (sig: string) => {
    signalled ??= sig;
    wake?.();
  };
  const sigs = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;
  for (const s of sigs) process.on(s, onSignal);

  let code: number;
  let last: string;
  try {
    let g;
    try {
      g = await q.bootGuest();
    } catch (e) {
      if (!(e instanceof TargetSetupError)) throw e;
      if (signalled) return 0; // qemu got the terminal's Ctrl-C too
      process.stderr.write(`run.sh: ${e.message}\n`);
      return 2;
    }
    if (!signalled) {
      process.stdout.write(`${sshTargetLine(g.port, g.sshKey)}\n`);
      process.stderr.write(
        `# qemu-guest: ${g.release ?? 'guest'} up in ${(g.bootMs / 1000).toFixed(1)} s on 127.0.0.1:${g.port}, ` +
          `console log ${g.logPath}; Ctrl-C or SIGTERM shuts it down\n`,
      );
    }
    const fault = await Promise.race([
      q.exited(),
      new Promise<undefined>((r) => {
        wake = () => r(undefined);
        if (signalled) r(undefined);
      }),
    ]);
    [code, last] = signalled ? [0, `# qemu-guest: ${signalled}: guest shut down`] : [1, `run.sh: qemu-guest: ${fault ?? 'qemu exited'}`];
  } finally {
    await q.stop();
    for (const s of sigs) process.off(s, onSignal);
  }
  process.stderr.write(`${last}\n`);
  return code;
}
