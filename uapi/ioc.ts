// The Linux _IOC request encoding (asm-generic/ioctl.h, used by arm64):
// dir<<30 | size<<16 | type<<8 | nr, with dir NONE=0, WRITE=1, READ=2.
export const IOC_NONE = 0;
export const IOC_WRITE = 1;
export const IOC_READ = 2;

export function ioc(dir: number, type: number, nr: number, size: number): number {
  if (size >= 1 << 14) throw new RangeError(`ioctl size ${size} does not fit in 14 bits`);
  // >>> 0 keeps the value an unsigned 32-bit number when dir has bit 1 set.
  return ((dir << 30) | (size << 16) | (type << 8) | nr) >>> 0;
}

export const io = (type: number, nr: number): number => ioc(IOC_NONE, type, nr, 0);
export const iow = (type: number, nr: number, size: number): number => ioc(IOC_WRITE, type, nr, size);
export const ior = (type: number, nr: number, size: number): number => ioc(IOC_READ, type, nr, size);
export const iowr = (type: number, nr: number, size: number): number => ioc(IOC_READ | IOC_WRITE, type, nr, size);

export interface DecodedIoc {
  dir: number;
  type: number;
  nr: number;
  size: number;
}

export function decodeIoc(req: number): DecodedIoc {
  return { dir: (req >>> 30) & 3, size: (req >>> 16) & 0x3fff, type: (req >>> 8) & 0xff, nr: req & 0xff };
}

/**
 * Hex as the kernel sees the field: unsigned. A 32-bit flag word with bit 31
 * set is often a negative JS number (1 << 31) and a u64 may come as a
 * negative bigint; neither may print as "0x-80000000".
 */
export const hex = (n: number | bigint): string => {
  if (typeof n === 'bigint') return `0x${BigInt.asUintN(64, n).toString(16)}`;
  if (n < 0 && Number.isInteger(n)) return `0x${(n >= -0x80000000 ? n >>> 0 : BigInt.asUintN(64, BigInt(n))).toString(16)}`;
  return `0x${n.toString(16)}`;
};
