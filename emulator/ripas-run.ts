// The RME era's INIT_IPA / INIT_RIPAS walk (realm-rme-cap.ts) calls
// RMI_RTT_INIT_RIPAS once per block: a range that runs to the IPA limit is up
// to a million calls. A run of whole blocks that would all succeed is
// answered here at once, with the same result as the calls one by one: the
// same RIPAS RAM, and the walk goes on at the first block that is not such a
// block (a partial one, one past the protected half, one with an assigned
// page), which the caller's loop sends as before. Only speed changes. The
// RTTs those calls would make first (RMI_ERROR_RTT, then the kernel's
// realm_create_rtt_levels) are made here too, by the caller's function.
import { GRANULE, RMM_RTT_MAX_LEVEL, rttLevelSize, type Rd, type Rmm } from './rmm.ts';

/**
 * From `addr`, the whole blocks of the walk's largest size (findMapLevel
 * never maps above `startLevel` + 1) before `end` that RMI_RTT_INIT_RIPAS
 * would accept: realm NEW, inside the protected half (unless the RMM skips
 * that check), no assigned page. Makes the RTTs down to their level where
 * the walk stops short (`makeRtts(ipa, reached, level)`, the kernel's
 * create-and-retry), marks them RAM and returns where the walk goes on
 * (`addr` when there is no such block).
 */
export function initRipasWholeBlocks(
  rmm: Rmm,
  rd: Rd,
  addr: number,
  end: number,
  startLevel: number,
  makeRtts: (ipa: number, reached: number, level: number) => boolean,
): number {
  const level = startLevel + 1;
  if (level > RMM_RTT_MAX_LEVEL || rd.state !== 'new') return addr;
  const size = rttLevelSize(level);
  if (addr % size !== 0) return addr;
  // the blocks findMapLevel gives this level: whole ones, before the end
  let stop = addr + Math.floor((end - addr) / size) * size;
  if (!rmm.skipInitRipasRangeCheck) {
    // RMI_RTT_INIT_RIPAS refuses a block that starts in the unprotected half or ends past the IPA size
    const limit = rd.protectedLimit;
    if (addr >= limit) return addr;
    const ipaEnd = 2 ** rd.params.s2sz;
    stop = Math.min(stop, addr + Math.ceil((limit - addr) / size) * size, addr + Math.floor((ipaEnd - addr) / size) * size);
  }
  // ... and a block with an assigned page: the walk stops before the first one
  for (const page of rd.data.keys()) {
    const at = page * GRANULE;
    if (at >= addr && at < stop) stop = at - (at % size);
  }
  if (stop <= addr) return addr;
  // the RTTs of level `level` each cover one entry of the level above: walk once per such entry
  const span = rttLevelSize(level - 1);
  for (let at = addr; at < stop; at = at - (at % span) + span) {
    const reached = rd.rttWalk(at, level);
    // a level that cannot be made: the blocks before it only; the caller's loop reports the failure
    if (reached < level && !makeRtts(at, reached, level)) {
      stop = at;
      break;
    }
  }
  if (stop <= addr) return addr;
  rd.setRam(addr / GRANULE, stop / GRANULE);
  return stop;
}
