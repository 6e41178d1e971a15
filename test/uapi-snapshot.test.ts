// THE reviewed pin of the uAPI: every ioctl number and struct layout, the
// generic KVM ones and each revision's, in one committed snapshot
// (tap-snapshots/test/uapi-snapshot.test.ts.test.cjs). A change to the
// description (uapi/, revisions/) shows up here as a diff to review;
// regenerate with `npx tap --snapshot test/uapi-snapshot.test.ts`.
import t from 'tap';
import { PROFILES } from '../profiles/index.ts';
import { ABI_NAMES } from '../revisions/names.ts';
import { CAP, IOCTLS, KVM_REGS, ONE_REG, STRUCTS, VCPU_FEATURES } from '../uapi/kvm.ts';
import { argSize, layout, requestOf, type IoctlDesc, type StructDesc } from '../uapi/layout.ts';
import * as K from '../uapi/kvm-uapi.ts';

const hex = (n: number | bigint): string => `0x${n.toString(16)}`;

/** "name@offset:type[count]" per member, union variants as "union.variant.member". */
function structLine(s: StructDesc): string {
  const l = layout(s);
  const members = l.fields.map((f) => `${f.name}@${f.off}:${f.type}${f.count !== undefined ? `[${f.count}]` : ''}${f.role ? `(${f.role})` : ''}`);
  for (const u of l.unions)
    for (const [v, ms] of Object.entries(u.variants))
      for (const m of ms) members.push(`${u.name}.${v}.${m.name}@${m.off}:${m.type}${m.count !== undefined ? `[${m.count}]` : ''}`);
  return `struct ${s.c} (${l.size} B): ${members.join(', ')}`;
}

function ioctlLine(d: IoctlDesc): string {
  const arg = d.arg.kind === 'struct' ? `struct ${d.arg.struct.c}` : d.arg.kind;
  return `${d.name} = ${hex(requestOf(d))} (_IOC ${d.dir}, type ${hex(d.type)}, nr ${hex(d.nr)}, size ${argSize(d.arg)}; ${arg}; on ${d.on}${d.returns ? `, returns ${d.returns}` : ''})`;
}

t.test('generic KVM uAPI', async (t) => {
  t.matchSnapshot(Object.values(IOCTLS).map(ioctlLine), 'ioctls');
  t.matchSnapshot(Object.values(STRUCTS).map(structLine), 'structs');
  t.matchSnapshot({ CAP, VCPU_FEATURES }, 'capabilities and vCPU features');
  t.matchSnapshot(
    {
      ...Object.fromEntries(Object.entries(ONE_REG).map(([k, v]) => [k, hex(v)])),
      CORE_REG_PC: hex(K.CORE_REG_PC),
      CORE_REG_SP: hex(K.CORE_REG_SP),
      CORE_REG_PSTATE: hex(K.CORE_REG_PSTATE),
      X0: hex(K.coreRegX(0)),
      KVM_REG_ARM64_SVE_VLS: hex(K.KVM_REG_ARM64_SVE_VLS),
      KVM_REGS,
    },
    'ONE_REG ids',
  );
});

for (const name of ABI_NAMES) {
  t.test(`${name}: realm uAPI`, async (t) => {
    const p = PROFILES.get(name)!;
    const u = p.uapi!;
    t.matchSnapshot(
      {
        era: p.generation,
        cap: `${u.cap.name} = ${u.cap.nr}${u.cap.upstream ? ` (upstream later: ${u.cap.upstream})` : ''}`,
        vmType: {
          realm: hex(u.vmType.realm),
          fieldMask: hex(u.vmType.fieldMask),
          ...(u.vmType.protected !== undefined ? { protected: hex(u.vmType.protected) } : {}),
        },
        maxVcpuFeatures: u.maxVcpuFeatures,
        recFeature: u.recFeature ? `${u.recFeature.c} = ${u.recFeature.bit}` : null,
        subcmd: u.subcmd
          ? Object.entries(u.subcmd.numbers).map(([k, v]) => `${u.subcmd!.cPrefix}${u.subcmd!.names[k as keyof typeof u.subcmd.names]} = ${String(v)}`)
          : null,
        config: u.config
          ? {
              struct: structLine(u.config.struct),
              items: Object.entries(u.config.items).map(([k, v]) => `${u.config!.itemPrefix}${k} = ${v}`),
              hash: Object.entries(u.config.hashAlgos).map(([k, v]) => `${u.config!.hashPrefix}${k} = ${v}`),
            }
          : null,
        populate: u.populate ? structLine(u.populate) : null,
        initIpa: u.initIpa ? structLine(u.initIpa) : null,
        measure: u.measure ? `${u.measure.c} = 1 << ${u.measure.bit}` : null,
        ioctls: [u.psciComplete, u.rmiPopulate, ...(u.ioctls ?? [])]
          .filter((d) => d !== undefined)
          .map((d) => [ioctlLine(d), ...(d.arg.kind === 'struct' ? [structLine(d.arg.struct)] : [])]),
        staleCaps: p.staleCaps ?? null,
      },
      name,
    );
  });
}
