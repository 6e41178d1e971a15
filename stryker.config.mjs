// StrykerJS (mutation testing) of the emulator's realm, RMM and memory models
// with the conformance suite as the test: a mutant is killed when some check
// fails. Run it through bench/stryker.ts (npm run stryker -- --help), which
// picks the modules and the revision and sets the report paths below.
// The test command is scripts/stryker-command.mjs, which runs the bundled
// scripts/stryker-suite.ts (the suite in-process, every
// revision, or STRYKER_ABI). Concurrency 1: the machine is shared.
/** @type {import('@stryker-mutator/api/core').PartialStrykerOptions} */
export default {
  testRunner: 'command',
  commandRunner: { command: 'node scripts/stryker-command.mjs' },
  coverageAnalysis: 'off',
  concurrency: 1,
  mutate: ['emulator/realm-*.ts', 'emulator/rmm.ts', 'emulator/memory.ts', 'emulator/memslots.ts', 'emulator/guest_memfd.ts', 'emulator/rules.ts'],
  reporters: ['json', 'progress'],
  jsonReporter: { fileName: 'reports/stryker/all/mutation.json' },
  incremental: true,
  incrementalFile: 'reports/stryker/all/incremental.json',
  tempDirName: '.stryker-tmp',
  ignorePatterns: ['/test', '/docs', '/.tap', '/coverage', '/out', '/agent/build', '/reports', '/.stryker-bundle', '/.stryker-tmp'],
  timeoutMS: 30000,
  cleanTempDir: 'always',
};
