// Every revision the suite knows, oldest first, and 'absent' (a kernel
// without the series). Adding a name here makes `tsc` list every table that
// lacks its row (revisions/index.ts is a Record over these names).
export const ABI_NAMES = ['rfc-v1', 'v2', 'v3', 'v4', 'v5', 'v6', 'v7', 'v8', 'v9', 'v10', 'v12', 'v13', 'v14', 'absent'] as const;
export type AbiName = (typeof ABI_NAMES)[number];

/** The two eras of the series by its own names: RME (rfc-v1..v10: ENABLE_CAP sub-commands) and RMI (v12+). */
export type Era = 'rme' | 'rmi' | 'absent';
