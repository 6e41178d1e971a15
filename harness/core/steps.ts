// Declarative scenarios: a JSON list of steps, each one uAPI call with its
// expected result per revision (like syzkaller's per-call errno comments).
// VMM launch orders (fixtures/launch-orders/) and outside reproducers
// (fixtures/scenarios/) are both written this way and run as ordinary checks.
import type { AbiName } from '../../profiles/types.ts';
import { describeOutcome, succeeded, type CallResult } from './calls.ts';
import { BAD_USER_POINTER, type Mem, type RunOutcome, type Vcpu, type Vm } from './dsl/index.ts';
import type { Area, CheckContext, CheckDef } from './engine.ts';
import { ERRNO } from '../../uapi/errno.ts';
import * as K from '../../uapi/kvm-uapi.ts';
import { CallPolicy } from './policy.ts';
import { bigNum, FEATURES, isExpectKey, num, PAYLOADS, ScenarioError, type ScenarioFile, type Step, type StepExpect } from './scenario-file.ts';
export * from './scenario-file.ts';
function expectFor(step: Step, abi: AbiName): StepExpect {
  const e = step.expect;
  if (e === undefined) return 'ok';
  if (typeof e === 'string' || 'ret' in e) return e;
  return e[abi] ?? e['*'] ?? 'ok';
}

export interface ScenarioState {
  vm?: Vm;
  mems: { gpa: bigint; size: number; mem: Mem }[];
  vcpus: Map<number, Vcpu>;
}

/** Issue one step's calls (exploration drives scenarios step by step through this too). */
export async function execStep(c: CheckContext, st: Step, state: ScenarioState): Promise<CallResult | RunOutcome> {
  const vm = (): Vm => {
    if (!state.vm) throw new ScenarioError(`"${st.do}" needs a VM: put create_vm first`);
    return state.vm;
  };
  const vcpu = (): Vcpu => {
    const v = state.vcpus.get(num(st.vcpu, 'vcpu'));
    if (!v) throw new ScenarioError(`"${st.do}": vCPU ${String(st.vcpu)} was not created`);
    return v;
  };
  const abi = c.abi;
  switch (st.do) {
    case 'check_extension': {
      const cap = st.cap === 'realm' ? abi.cap.nr : num(st.cap, 'cap');
      // "on": "vm" asks the VM fd (a realm hides some caps there, V10-CE2)
      return st.on === 'vm' ? vm().checkExtension(cap) : (await c.kvm()).checkExtension(cap);
    }
    case 'create_vm': {
      const k = await c.kvm();
      const ipa = st.ipa === undefined ? 0 : num(st.ipa, 'ipa');
      // "type": "normal", the realm type (default), or raw type bits (REALM | PROTECTED, V14-VM1)
      const type = st.type === 'normal' ? 0 : st.type === undefined || st.type === 'realm' ? abi.vmTypeRealm : num(st.type, 'type');
      const o = await k.__createVm((type | ipa) >>> 0); // unsigned: bit 31 is PROTECTED (v14)
      if (o.vm) state.vm = o.vm;
      return o.r;
    }
    case 'memslot': {
      const o = await vm().__memslot({ slot: num(st.slot, 'slot'), gpa: bigNum(st.gpa, 'gpa'), size: num(st.size, 'size') });
      if (o.mem) state.mems.push({ gpa: bigNum(st.gpa, 'gpa'), size: num(st.size, 'size'), mem: o.mem });
      return o.r;
    }
    case 'write_guest': {
      const gpa = bigNum(st.gpa, 'gpa');
      const m = state.mems.find((x) => gpa >= x.gpa && gpa < x.gpa + BigInt(x.size));
      if (!m) throw new ScenarioError(`write_guest: no memslot of this scenario covers ${String(st.gpa)}`);
      return m.mem.poke(Number(gpa - m.gpa), (PAYLOADS[String(st.payload)] as () => Uint8Array)());
    }
    case 'config': {
      const item = String(st.item);
      // an unmapped pointer instead of the item: which check comes first, the copy or the state (R1-CF1)
      if (st.bad_pointer === true) return vm().realmSubcmd('CONFIG_REALM', BAD_USER_POINTER, { cfg: 'bad pointer' });
      if (item === 'RPV') return vm().config({ item: 'RPV', rpv: Uint8Array.from({ length: 64 }, (_, i) => i) });
      if (item === 'HASH_ALGO') {
        const algo =
          typeof st.algo === 'string' && abi.hashAlgos && st.algo in abi.hashAlgos ? abi.hashAlgos[st.algo as 'SHA256' | 'SHA512'] : num(st.algo, 'algo');
        return vm().config({ item: 'HASH_ALGO', algo });
      }
      if (item === 'SVE') return vm().config({ item: 'SVE', sveVq: num(st.sve_vq, 'sve_vq') });
      if (item === 'DBG') return vm().config({ item: 'DBG', numBrps: num(st.num_brps ?? 0, 'num_brps'), numWrps: num(st.num_wrps ?? 0, 'num_wrps') });
      if (item === 'PMU') return vm().config({ item: 'PMU', numPmuCntrs: num(st.num_pmu_cntrs ?? 0, 'num_pmu_cntrs') });
      return vm().config({ item: 'RAW', cfg: num(item, 'item') });
    }
    case 'create_rd':
      return vm().createRd();
    case 'init_ipa':
      return vm().initIpa({ base: bigNum(st.base, 'base'), size: bigNum(st.size, 'size') });
    case 'populate': {
      const flags = st.flags === 'MEASURE' ? 1 : st.flags === undefined ? undefined : num(st.flags, 'flags');
      const wide = (abi.sizes.populateArgs ?? 0) >= 32;
      const reserved = wide && Array.isArray(st.reserved) ? st.reserved.map((x, i) => num(x, `reserved[${i}]`)) : undefined;
      return vm().populate({
        base: bigNum(st.base, 'base'),
        size: bigNum(st.size, 'size'),
        ...(flags !== undefined && wide ? { flags } : {}),
        ...(reserved ? { reserved } : {}),
      });
    }
    case 'activate':
      return vm().activate();
    case 'create_vcpu': {
      const id = num(st.id, 'id');
      const o = await vm().__createVcpu(id);
      if (o.vcpu) state.vcpus.set(id, o.vcpu);
      return o.r;
    }
    case 'vcpu_init': {
      const names = (st.features as string[] | undefined) ?? ['PSCI_0_2'];
      const bits = names.map((f) => (f === 'REC' ? (abi.recFeature ?? -1) : (FEATURES[f] ?? num(f, 'feature'))));
      if (bits.includes(-1)) throw new ScenarioError(`${abi.name} has no REC feature`);
      return vcpu().init(bits);
    }
    case 'set_pc':
      return vcpu().setPc(bigNum(st.pc, 'pc'));
    case 'finalize_rec':
      return vcpu().finalizeRec();
    case 'run':
      return vcpu().run();
    case 'private_memslot': {
      const o = await vm().__privateMemslot({ slot: num(st.slot, 'slot'), gpa: bigNum(st.gpa, 'gpa'), size: num(st.size, 'size') });
      if (o.mem) state.mems.push({ gpa: bigNum(st.gpa, 'gpa'), size: num(st.size, 'size'), mem: o.mem });
      return o.r;
    }
    case 'vgic':
      return vm().createVgicV3();
    case 'rmi_populate':
      return rmiPopulateLoop(c, vm(), st, state);
    case 'rmi_populate_once': {
      // one KVM_ARM_RMI_POPULATE: the source is the slot's shared mapping at `src_offset` from the page of `base`
      // (or raw `source` bits), with a `reserved` word; "after" pins v13+'s updated base/size.
      if (!abi.rmiPopulate) throw new ScenarioError(`${abi.name} has no KVM_ARM_RMI_POPULATE`);
      const base = bigNum(st.base, 'base');
      const m = state.mems.find((x) => base >= x.gpa && base < x.gpa + BigInt(x.size)) ?? state.mems[0];
      const off = st.src_offset === undefined ? 0 : num(st.src_offset, 'src_offset');
      const flags = st.flags === 'MEASURE' ? 1 : st.flags === undefined ? 0 : num(st.flags, 'flags');
      const reserved = st.reserved === undefined ? 0 : num(st.reserved, 'reserved');
      const page = m && base >= m.gpa ? Number((base - m.gpa) & ~0xfffn) : 0;
      const source =
        st.source === undefined && m ? { source: { mem: m.mem, offset: Math.min(m.size, page + off) } } : { sourceUaddr: bigNum(st.source ?? 0, 'source') };
      const after = st.after as { base?: unknown; size?: unknown; source?: unknown } | undefined;
      // "after.source" pins how far source_uaddr moves (V14-PO15). Where the source is, a call of size 0
      // shows first: it returns the struct as it was (V14-PO5) and does what this call does before its
      // first page (V14-PO3..PO10), as checks/populate.ts progress-loop learns it.
      let sentSource: bigint | undefined;
      if (after?.source !== undefined && 'source' in source) {
        const z = await vm().rmiPopulate({ base, size: 0n, flags, reserved, ...source });
        if (!succeeded(z)) return z;
        sentSource = z.after?.sourceUaddr;
      }
      const r = await vm().rmiPopulate({ base, size: bigNum(st.size, 'size'), flags, reserved, ...source });
      if (after && succeeded(r) && r.after) {
        const moved = sentSource === undefined ? '' : ` source+=0x${(r.after.sourceUaddr - sentSource).toString(16)}`;
        const pinned = after.source === undefined || sentSource === undefined ? '' : ` source+=0x${bigNum(after.source, 'after.source').toString(16)}`;
        const want = `base=0x${bigNum(after.base, 'after.base').toString(16)} size=0x${bigNum(after.size, 'after.size').toString(16)}${pinned}`;
        const got = `base=0x${r.after.base.toString(16)} size=0x${r.after.size.toString(16)}${moved}`;
        // the progress is the result here: a wrong one is a failed step, as the loop's no-progress -EIO
        if (want !== got) return { ...r, ret: -1, errno: ERRNO.EIO, label: `${r.label} left ${got}, not ${want}` };
      }
      return r;
    }
    case 'enable_cap': {
      const cap = st.cap === 'realm' ? abi.cap.nr : num(st.cap, 'cap');
      const args = Array.isArray(st.args) ? st.args.slice(0, 4).map((x, i) => bigNum(x, `args[${i}]`)) : [];
      return vm().enableCap(cap, args);
    }
    case 'psci_complete':
      return vcpu().psciComplete({ targetMpidr: bigNum(st.target_mpidr ?? 0, 'target_mpidr'), psciStatus: num(st.status ?? 0, 'status') });
    case 'sve_vls': {
      const vqs = Array.isArray(st.vqs) ? st.vqs.map((x, i) => num(x, `vqs[${i}]`)).filter((x) => x >= 1 && x <= 512) : [];
      return vcpu().setSveVls(vqs);
    }
    default:
      throw new ScenarioError(`unknown step "${st.do}"`);
  }
}

/**
 * KVM_ARM_RMI_POPULATE until the range is done, as QEMU (NVIDIA 0d79ce9) and
 * OpenVMM loop: the source is the image written into the slot's shared
 * mapping at the same offset; v12 returns bytes, v13+ advance the struct. A
 * call that makes no progress is the VMMs' -EIO.
 */
async function rmiPopulateLoop(c: CheckContext, vm: Vm, st: Step, state: ScenarioState): Promise<CallResult> {
  let base = bigNum(st.base, 'base');
  let left = bigNum(st.size, 'size');
  const flags = st.flags === 'MEASURE' || st.flags === undefined ? 1 : num(st.flags, 'flags');
  const m = state.mems.find((x) => base >= x.gpa && base < x.gpa + BigInt(x.size));
  if (!m) throw new ScenarioError(`rmi_populate: no memslot of this scenario covers ${String(st.base)}`);
  let last: CallResult | undefined;
  for (let i = 0; left > 0n && i < 256; i++) {
    const r = await vm.rmiPopulate({ base, size: left, flags, source: { mem: m.mem, offset: Number(base - m.gpa) } });
    last = r;
    if (!succeeded(r)) return r;
    const step = c.abi.rmiPopulate?.inOut ? (r.after ? r.after.base - base : 0n) : BigInt(r.ret);
    if (step <= 0n) return { ...r, ret: -1, errno: ERRNO.EIO, label: `${r.label} made no progress` };
    base += step;
    left -= step;
  }
  if (!last) throw new ScenarioError('rmi_populate: size 0');
  return left === 0n ? last : { ...last, ret: -1, errno: ERRNO.EIO, label: `${last.label}: ${left} bytes left after 256 calls` };
}

/** Run a scenario's steps, judging each against its expectation for the active revision. */
export async function runScenario(c: CheckContext, sc: ScenarioFile): Promise<void> {
  c.sources.add(sc.source);
  // A scenario comes from outside: every call it makes goes through the same policy as a replayed trace.
  c.s.policy = new CallPolicy(c.abi);
  const state: ScenarioState = { mems: [], vcpus: new Map() };
  for (const [i, st] of sc.steps.entries()) {
    const r = await execStep(c, st, state);
    const want = expectFor(st, c.abi.name);
    const tag = `step ${i + 1}`;
    let ok: boolean;
    let wanted: string;
    const byKey = want !== 'ok' && typeof want === 'string' && isExpectKey(want);
    if (byKey) {
      // judged by the running revision's profile, like a check's c.expect (its source, its UNCONFIRMED todo)
      if (!c.abi.expect[want]) throw new ScenarioError(`${tag}: ${c.abi.name} has no expectation ${want}`);
      ok = c.expect(r, want, `${tag}${st.why ? ` (${st.why})` : ''}`);
      wanted = want;
    } else if (want === 'ok') {
      ok = succeeded(r);
      wanted = 'success';
    } else if (typeof want === 'object') {
      ok = succeeded(r) && r.ret === want.ret;
      wanted = String(want.ret);
    } else {
      ok = r.error === undefined && r.ret === -1 && r.errno === ERRNO[want];
      wanted = `-1 ${want}`;
    }
    let exitOk = true;
    if (ok && st.do === 'run' && typeof st.exit === 'string') {
      const ex = (r as RunOutcome).exit;
      exitOk = st.exit === 'system-off' ? ex?.reason === 'SYSTEM_EVENT' && 'type' in ex && ex.type === K.KVM_SYSTEM_EVENT_SHUTDOWN : ex?.reason === st.exit;
      c.ok(exitOk, `${tag}: ${r.label} exits with ${st.exit} (got ${ex?.reason ?? 'no exit'})`);
    }
    // `call` names the step's call for grouping failures by their first unexpected call.
    if (!byKey)
      c.assertions.push({
        ok,
        message: `${tag}: ${r.label} ${describeOutcome(r)}${ok ? '' : `, expected ${wanted}`}${st.why ? ` (${st.why})` : ''}`,
        call: `${r.label} ${describeOutcome(r)}`,
      });
    // A step that went wrong leaves nothing sensible for the next ones to judge.
    if (!ok || !exitOk) return;
  }
}

export function scenarioCheck(sc: ScenarioFile, prefix: string, defaultArea: Area): CheckDef {
  return {
    name: `${prefix}/${sc.name}`,
    area: sc.area ?? defaultArea,
    description: sc.description,
    expects: [],
    ...(sc.generations ? { generations: sc.generations } : {}),
    ...(sc.abi ? { abis: sc.abi } : {}),
    run: (c) => runScenario(c, sc),
  };
}
