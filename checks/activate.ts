// ACTIVATE_REALM (RME era): in each state, twice, and on a normal VM. The
// RMI era activates the realm at the first KVM_RUN (see run.ts).
import type { CheckContext } from '../harness/core/engine.ts';
import type { CallResult } from '../harness/core/calls.ts';
import { realmIn, rmeIn, type RmeState } from './setup/rme-realm.ts';
import { RME_AFTER_RFC, RME_ERA } from './eras.ts';
import { check, stimuli } from './table.ts';

const RME = { generations: RME_ERA };

const activate = async (c: CheckContext, state: RmeState): Promise<CallResult> => (await rmeIn(c, state)).vm.activate();

export const checks = [
  ...stimuli<RmeState, null>(
    'activate',
    RME,
    [
      { name: 'in-none', description: 'ACTIVATE with the realm in state NONE', state: 'none', args: null, expect: 'activate.before-create' },
      { name: 'in-active', description: 'ACTIVATE with the realm in state ACTIVE', state: 'active', args: null, expect: 'activate.twice' },
      // the realm CAP's sub-command on a VM that is no realm fails without side effects
      {
        name: 'on-normal-vm',
        description: 'ACTIVATE sub-command on a normal VM fails without side effects',
        state: 'normal-vm',
        args: null,
        expect: 'cap.normal-vm-subcmd',
      },
    ],
    activate,
  ),
  // positive then negative: after a successful ACTIVATE the same call must fail
  check(
    'activate',
    'repeat',
    { ...RME, abis: RME_AFTER_RFC },
    'ACTIVATE succeeds, the same ACTIVATE again is refused',
    ['activate.ok', 'activate.twice'],
    async (c) => {
      const { vm } = await realmIn(c, 'NEW');
      c.expect(await vm.activate(), 'activate.ok');
      c.expect(await vm.activate(), 'activate.twice');
    },
  ),
];
