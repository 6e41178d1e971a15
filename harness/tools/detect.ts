// --abi auto: decide which revision a live kernel implements from its answers.
// Every realm CAP number a revision used was later reused upstream
// (abi-evolution.md §4.2), so a positive CHECK_EXTENSION alone proves nothing:
// each candidate number must be confirmed by behaviour only that revision has
// (its realm VM type, and its realm uAPI answering a probe that faults on
// purpose). When the evidence does not single out one revision or one group
// with the same observable ABI, detection refuses to guess.
import type { AbiName, AbiProfile } from '../../profiles/types.ts';
import { PROFILES, realmCaps, revision } from '../../revisions/index.ts';
import { hex } from '../../uapi/ioc.ts';
import { RecordingSession, describeOutcome, type CallResult } from '../core/calls.ts';
import { BAD_USER_POINTER, describeVmType, Kvm, type Vm } from '../core/dsl/index.ts';
import { ERRNO } from '../../uapi/errno.ts';
import * as K from '../../uapi/kvm-uapi.ts';
import type { Session } from '../core/target.ts';

export interface Detection {
  /** The revision to run; absent when ambiguous. */
  abi?: AbiName;
  /** Revisions the evidence cannot tell apart (the chosen one is the newest). */
  group?: AbiName[];
  ambiguous: boolean;
  /** One line: what was decided and why. */
  reason: string;
  /** Every probe and its answer, in order. */
  evidence: string[];
}

const IPA = 40;
const line = (r: CallResult): string => `${r.label} ${describeOutcome(r)}`;
const isErr = (r: CallResult, e: keyof typeof ERRNO): boolean => r.error === undefined && r.ret === -1 && r.errno === ERRNO[e];

/** CAP number → the revisions that used it, from the revision files (abi-evolution.md §2a). */
const CAPS = realmCaps();
const absent = PROFILES.get('absent')!;

// The realm VM type encodings: bits[11:8] (RFC v1 .. v13) and bit 30 (v14).
const RME_TYPE = revision('rfc-v1').uapi.vmType.realm;
const typeOf = (n: AbiName): number => revision(n).uapi.vmType.realm;
const typeName = (t: number): string => (t === RME_TYPE ? hex(t) : `1<<${Math.log2(t)}`);
const typeUsers = (t: number): AbiName[] => CAPS.flatMap((c) => c.revisions).filter((n) => typeOf(n) === t);
// CAP 300's revisions are told apart by PSCI complete at 0xd2 (v2..v7) and the REC bit of v7 (8; v5 leaves MAX_FEATURES at 7).
const PSCI_D2 = revision('v7').profile.psciComplete!.req;
const REC_V7 = revision('v7').uapi.recFeature!.bit;
const psciName = (req: number): string => `0x${req.toString(16).toUpperCase()}`;

export async function detectAbi(session: Session, callTimeoutMs = 5000): Promise<Detection> {
  const s = new RecordingSession(session, callTimeoutMs);
  const ev: string[] = [];
  const note = (r: CallResult, why: string): CallResult => {
    ev.push(`${line(r)}  — ${why}`);
    return r;
  };
  const o = await Kvm.__open(s, absent);
  if (!o.kvm) return { ambiguous: true, reason: `cannot open /dev/kvm (${line(o.r)})`, evidence: [line(o.r)] };
  const kvm = o.kvm;

  // 1. every realm CAP number, on /dev/kvm
  const answered = new Map<number, number>();
  for (const c of CAPS) {
    const r = note(await kvm.checkExtension(c.nr, `${c.nr}`), `${c.revisions.join('/')} realm CAP${c.upstream ? `; upstream reuses it as ${c.upstream}` : ''}`);
    if (r.ret > 0) answered.set(c.nr, r.ret);
  }

  // 2. the two realm VM type encodings
  const types = [...new Set(CAPS.flatMap((c) => c.revisions).map(typeOf))];
  const vms = new Map<number, Vm | undefined>();
  for (const t of types) {
    const users = typeUsers(t);
    const o2 = await kvm.__createVm(t + IPA);
    note(o2.r, `${users.length > 1 ? `${String(users[0])}..${String(users.at(-1))}` : String(users[0])} realm type ${typeName(t)} (upstream rejects it)`);
    vms.set(t, o2.vm);
  }
  const vm100 = { vm: vms.get(RME_TYPE) };

  // 3. confirm each answering CAP with behaviour only its revision has
  const confirmed: { nr: number; revs: AbiName[] }[] = [];
  for (const c of CAPS) {
    if (!answered.has(c.nr)) continue;
    const newest = revision(c.revisions.at(-1)!);
    const vm = vms.get(newest.uapi.vmType.realm);
    if (c.era === 'rme') {
      if (!vm) {
        ev.push(
          `CAP ${c.nr} answered but realm type ${typeName(newest.uapi.vmType.realm)} is refused: ${c.upstream ? `upstream ${c.upstream}` : 'not a realm CAP'}`,
        );
        continue;
      }
      // CONFIG_REALM with a faulting item pointer: an RME-era kernel copies it (-EFAULT), others refuse the CAP (-EINVAL)
      const config = newest.uapi.subcmd!.numbers.CONFIG_REALM;
      const r = note(
        await vm.enableCap(c.nr, [config, BAD_USER_POINTER], 0, [], `KVM_ENABLE_CAP(${c.nr}, CONFIG_REALM, bad pointer)`),
        'RME-era realm uAPI copies the item (R1-CF2 / V10-CF2)',
      );
      if (isErr(r, 'EFAULT')) confirmed.push({ nr: c.nr, revs: c.revisions });
    } else {
      if (!vm) {
        ev.push(`CAP ${c.nr} answered but its realm type is refused: ${c.upstream ? `upstream ${c.upstream}` : 'not a realm CAP'}`);
        continue;
      }
      const pop = newest.profile.rmiPopulate!;
      const r = note(
        await vm.ioctl(`${pop.name}(${pop.inOut ? '_IOWR' : '_IOW'}, bad pointer)`, pop.req, { int: BAD_USER_POINTER }),
        'a realm VM copies the populate struct (V14-PO2); unknown VM ioctls get -EINVAL',
      );
      if (isErr(r, 'EFAULT')) confirmed.push({ nr: c.nr, revs: c.revisions });
    }
  }

  if (confirmed.length === 0) {
    if ([...vms.values()].every((v) => !v)) {
      return {
        abi: 'absent',
        ambiguous: false,
        reason: `absent: no realm CAP is confirmed and both realm VM types are refused${answered.size ? ` (CAP ${[...answered.keys()].join(', ')} answered: reused upstream numbers)` : ''}`,
        evidence: ev,
      };
    }
    return {
      ambiguous: true,
      reason: `a realm VM type is accepted (${typeName([...vms].find(([, v]) => v)![0])}) but no realm CAP is confirmed: an RFC v1 kernel without an RMM creates a normal VM for 0x100 (R1-VM4), or a revision this suite does not know`,
      evidence: ev,
    };
  }
  if (confirmed.length > 1) {
    return { ambiguous: true, reason: `more than one realm CAP is confirmed (${confirmed.map((c) => c.nr).join(', ')})`, evidence: ev };
  }
  const only = confirmed[0]!;
  if (only.revs.length === 1) {
    return { abi: only.revs[0]!, ambiguous: false, reason: `${String(only.revs[0])}: CAP ${only.nr} answered and confirmed by its realm uAPI`, evidence: ev };
  }

  // CAP 300: RFC v1 .. v7. The PSCI complete ioctl (0xd2, v2..v7) and the REC bit (v5) tell them apart.
  // v7 refuses a vCPU that is no REC with -EPERM (V10-PS1); v6 23/43 checks only that the VM is a realm
  // (-EINVAL otherwise, like RFC v1's unknown ioctl), so on a realm vCPU it copies the struct: a bad pointer -EFAULT.
  const nvm = await kvm.__createVm(IPA);
  if (!nvm.vm) return { ambiguous: true, reason: `cannot create a normal VM to tell CAP 300 revisions apart (${line(nvm.r)})`, evidence: ev };
  const psci = await probePsci(nvm.vm, PSCI_D2, note);
  if (psci === undefined) return { ambiguous: true, reason: 'cannot create a vCPU to tell CAP 300 revisions apart', evidence: ev };
  let v2v6 = false;
  if (isErr(psci, 'EINVAL') || isErr(psci, 'ENOTTY')) {
    const { vcpu: rv } = await vm100.vm!.__createVcpu(1);
    if (!rv) return { ambiguous: true, reason: 'cannot create a realm vCPU to tell CAP 300 revisions apart', evidence: ev };
    const rp = note(
      await rv.ioctl(`ioctl(${psciName(PSCI_D2)}, bad pointer) on a realm vCPU`, PSCI_D2, { int: BAD_USER_POINTER }),
      'v2..v6 PSCI complete checks only for a realm VM, then copies the struct: -EFAULT (v6 23/43); RFC v1: an unknown vCPU ioctl',
    );
    if (!isErr(rp, 'EFAULT')) {
      return {
        abi: 'rfc-v1',
        ambiguous: false,
        reason: 'rfc-v1: CAP 300 confirmed and no PSCI complete ioctl (0x4018AED2 unknown on a normal and a realm vCPU)',
        evidence: ev,
      };
    }
    v2v6 = true;
  } else if (!isErr(psci, 'EPERM')) {
    return {
      ambiguous: true,
      reason: `CAP 300 confirmed but 0x4018AED2 answered ${describeOutcome(psci)}, neither RFC v1 or v2..v6 (-EINVAL) nor v7 (-EPERM, V10-PS1)`,
      evidence: ev,
    };
  }
  // REC = 8 at VCPU_INIT on a realm VM: refused (-ENOENT) only by v5
  const { vcpu } = await vm100.vm!.__createVcpu(0);
  if (!vcpu) return { ambiguous: true, reason: 'cannot create a realm vCPU', evidence: ev };
  const rec = note(
    await vcpu.init([K.KVM_ARM_VCPU_PSCI_0_2, REC_V7]),
    `REC = ${REC_V7}: v5 left KVM_VCPU_MAX_FEATURES at ${revision('v5').uapi.maxVcpuFeatures} (abi-evolution.md §2a)`,
  );
  if (isErr(rec, 'ENOENT')) {
    if (v2v6)
      return { abi: 'v5', ambiguous: false, reason: 'v5: CAP 300, PSCI complete 0xd2 checking only the VM, REC bit 8 refused by VCPU_INIT', evidence: ev };
    return { ambiguous: true, reason: "CAP 300 with v7's PSCI complete but REC bit 8 refused", evidence: ev };
  }
  if (rec.ret !== 0) return { ambiguous: true, reason: `CAP 300 with PSCI 0xd2 but REC bit 8 answered ${describeOutcome(rec)}`, evidence: ev };
  if (!v2v6)
    return { abi: 'v7', ambiguous: false, reason: 'v7: CAP 300, PSCI complete 0xd2 refusing a non-REC vCPU with -EPERM, REC bit 8 accepted', evidence: ev };
  // the CAP 300 revisions of the RFC-named uAPI whose REC bit VCPU_INIT accepts (v5 excepted, told apart above)
  const group: AbiName[] = only.revs.filter(
    (n) => revision(n).era === 'rme' && n !== 'rfc-v1' && n !== 'v5' && revision(n).uapi.subcmd?.names.CREATE === revision('rfc-v1').uapi.subcmd!.names.CREATE,
  );
  return {
    abi: 'v6',
    group,
    ambiguous: false,
    reason: `one of v2, v3, v4, v6: CAP 300, PSCI complete 0xd2 checking only the VM (v6 23/43), REC bit 8 accepted; they differ only in names and in errnos a live host cannot be made to show, so v6's profile runs (the newest of the group, the one read in its posting)`,
    evidence: ev,
  };
}

async function probePsci(vm: Vm, req: number, note: (r: CallResult, why: string) => CallResult): Promise<CallResult | undefined> {
  const { vcpu } = await vm.__createVcpu(0);
  if (!vcpu) return undefined;
  await vcpu.init([K.KVM_ARM_VCPU_PSCI_0_2]);
  return note(
    await vcpu.ioctl(`ioctl(${psciName(req)}, zero struct) on a normal-VM vCPU`, req, {
      buf: { hex: '00'.repeat(revision('v7').profile.sizes.psciComplete!) },
    }),
    'v7 PSCI complete: -EPERM on a non-REC vCPU (V10-PS1); v2..v6 -EINVAL off a realm VM (v6 23/43); elsewhere an unknown vCPU ioctl',
  );
}

/** The text `--abi auto` prints on stderr. */
export function formatDetection(d: Detection): string {
  const head = d.ambiguous ? `--abi auto: refusing to guess: ${d.reason}` : `--abi auto: ${d.reason}`;
  return [head, ...(d.group ? [`  (same observable ABI: ${d.group.join(', ')})`] : []), '  evidence:', ...d.evidence.map((e) => `    ${e}`)].join('\n');
}

/**
 * Before a forced --abi runs on a live kernel: does the kernel have that
 * revision's realm uAPI at all (its CAP answers and its realm VM type is
 * accepted)? If not, every check would fail for one reason, so the run stops
 * and says what the kernel looks like instead. Undefined when it does.
 */
export async function wrongRevision(session: Session, abi: AbiProfile, callTimeoutMs = 5000): Promise<string | undefined> {
  if (abi.name === 'absent') return undefined;
  const s = new RecordingSession(session, callTimeoutMs);
  const o = await Kvm.__open(s, abi);
  if (!o.kvm) return `cannot open /dev/kvm (${line(o.r)})`;
  const cap = await o.kvm.checkExtension(abi.cap.nr);
  const vm = await o.kvm.__createVm(abi.vmTypeRealm + IPA);
  if (cap.error === undefined && cap.ret > 0 && vm.vm) return undefined;
  const missing = [
    ...(cap.error === undefined && cap.ret > 0 ? [] : [`${abi.cap.name} (${abi.cap.nr}) answers ${describeOutcome(cap).replace(/^= /, '')}`]),
    ...(vm.vm ? [] : [`its realm VM type ${describeVmType(abi, abi.vmTypeRealm + IPA)} is refused (${describeOutcome(vm.r).replace(/^= /, '')})`]),
  ];
  return `the kernel does not implement ${abi.name}'s realm uAPI: ${missing.join('; ')}`;
}
