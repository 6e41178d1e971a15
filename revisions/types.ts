// One revision as one unit: its uAPI delta, its profile (expectations with
// their sources), the emulator's rules row and the RMM of its time.
import type { AbiProfile } from '../profiles/types.ts';
import { requestOf, sizeOf } from '../uapi/layout.ts';
import type { RevisionUapi } from '../uapi/realm.ts';
import type { AbiName, Era } from './names.ts';
import type { EraRmmRow, RmeRules, RmiRules } from './rules.ts';

/** The profile fields that are numbers of the uAPI: a revision file never writes them, withUapi derives them. */
export type UapiProfileKey =
  | 'generation'
  | 'cap'
  | 'vmTypeRealm'
  | 'vmTypeFieldMask'
  | 'vmTypeProtected'
  | 'subcmd'
  | 'subcmdNames'
  | 'recFeature'
  | 'maxVcpuFeatures'
  | 'sizes'
  | 'configItems'
  | 'hashAlgos'
  | 'populateFlags'
  | 'psciComplete'
  | 'rmiPopulate'
  | 'staleCaps'
  | 'uapi';

/** A profile without its uAPI numbers: what a revision file writes. */
export type ProfileBehaviour = Omit<AbiProfile, UapiProfileKey>;

interface RevisionBase<N extends AbiName> {
  name: N;
  uapi: RevisionUapi;
  /** The assembled profile (behaviour + the numbers derived from `uapi`; staleCaps added by the registry). */
  profile: AbiProfile;
}

export type Revision<N extends AbiName = AbiName> = RevisionBase<N> &
  ({ era: 'rme'; rules: RmeRules; rmm: EraRmmRow } | { era: 'rmi'; rules: RmiRules; rmm: EraRmmRow } | { era: 'absent' });

const UAPI_KEYS: readonly UapiProfileKey[] = [
  'generation',
  'cap',
  'vmTypeRealm',
  'vmTypeFieldMask',
  'vmTypeProtected',
  'subcmd',
  'subcmdNames',
  'recFeature',
  'maxVcpuFeatures',
  'sizes',
  'configItems',
  'hashAlgos',
  'populateFlags',
  'psciComplete',
  'rmiPopulate',
  'staleCaps',
  'uapi',
];

/** The behaviour part of a (possibly assembled) profile: what a child revision derives from. */
export function behaviourOf(p: ProfileBehaviour | AbiProfile): ProfileBehaviour {
  const out = Object.fromEntries(Object.entries(p).filter(([k]) => !(UAPI_KEYS as readonly string[]).includes(k)));
  return out as unknown as ProfileBehaviour;
}

/** The profile's numbers, each derived from the revision's uAPI description. */
export function withUapi(name: AbiName, era: Era, u: RevisionUapi, b: ProfileBehaviour): AbiProfile {
  const sizes: AbiProfile['sizes'] = {};
  if (u.config) sizes.configItem = sizeOf(u.config.struct);
  if (u.populate) sizes.populateArgs = sizeOf(u.populate);
  if (u.initIpa) sizes.initIpaArgs = sizeOf(u.initIpa);
  if (u.psciComplete?.arg.kind === 'struct') sizes.psciComplete = sizeOf(u.psciComplete.arg.struct);
  if (u.rmiPopulate?.arg.kind === 'struct') sizes.rmiPopulate = sizeOf(u.rmiPopulate.arg.struct);
  const p: AbiProfile = {
    ...behaviourOf(b),
    name,
    generation: era,
    cap: { name: u.cap.name, nr: u.cap.nr, source: u.cap.source },
    vmTypeRealm: u.vmType.realm,
    vmTypeFieldMask: u.vmType.fieldMask,
    maxVcpuFeatures: u.maxVcpuFeatures,
    sizes,
    uapi: u,
  };
  if (u.vmType.protected !== undefined) p.vmTypeProtected = u.vmType.protected;
  if (u.subcmd) {
    p.subcmd = { ...u.subcmd.numbers };
    p.subcmdNames = { ...u.subcmd.names };
  }
  if (u.recFeature) p.recFeature = u.recFeature.bit;
  if (u.config) {
    p.configItems = { ...u.config.items };
    p.hashAlgos = { ...u.config.hashAlgos };
  }
  if (u.measure) p.populateFlags = { MEASURE: 1 << u.measure.bit };
  if (u.psciComplete) p.psciComplete = { name: u.psciComplete.name, req: requestOf(u.psciComplete), source: u.psciComplete.source };
  if (u.rmiPopulate)
    p.rmiPopulate = { name: u.rmiPopulate.name, req: requestOf(u.rmiPopulate), inOut: u.rmiPopulate.dir === 'rw', source: u.rmiPopulate.source };
  return p;
}
