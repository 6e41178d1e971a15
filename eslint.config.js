// ESLint (flat config): typescript-eslint's strict, type-checked rules plus its
// stylistic ones, over every TypeScript directory of the project. Layout is
// prettier's job (.prettierrc.json): no rule here is about formatting.
// A rule switched off or tuned below says why in one line.
import js from '@eslint/js';
import { defineConfig } from 'eslint/config';
import tseslint from 'typescript-eslint';

export default defineConfig(
  {
    ignores: ['node_modules/', '.tap/', 'coverage/', 'out/', '.cache/', 'agent/build/'],
  },
  {
    // A disable comment that no longer disables anything is a finding too.
    linterOptions: { reportUnusedDisableDirectives: 'error' },
  },
  {
    files: ['**/*.ts'],
    extends: [js.configs.recommended, tseslint.configs.strictTypeChecked, tseslint.configs.stylisticTypeChecked],
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      // noUncheckedIndexedAccess makes every buf[i] `T | undefined`; `buf[i]!` in a
      // bounds-checked loop is the idiom (a `?? 0` would hide a bug instead).
      '@typescript-eslint/no-non-null-assertion': 'off',
      // Numbers (errnos, sizes, counts, bigints) are printed in messages everywhere;
      // undefined, objects and the like still are not.
      '@typescript-eslint/restrict-template-expressions': [
        'error',
        { allowNumber: true, allowAny: false, allowArray: false, allowBoolean: false, allowNullish: false, allowNever: false, allowRegExp: false },
      ],
      // tsc's noUnused* convention: a leading `_` marks a name kept on purpose
      // (an interface's parameter, a field split off with ...rest).
      '@typescript-eslint/no-unused-vars': [
        'error',
        {
          argsIgnorePattern: '^_',
          varsIgnorePattern: '^_',
          caughtErrorsIgnorePattern: '^_',
          destructuredArrayIgnorePattern: '^_',
          ignoreRestSiblings: true,
        },
      ],
      // `() => clearTimeout(t)`, `(f) => rmm.release(f)`: a one-line callback is the style.
      '@typescript-eslint/no-confusing-void-expression': ['error', { ignoreArrowShorthand: true }],
      // `||` on a string means an empty one counts as missing (an unset or blank
      // environment variable, an empty last line): deliberate, not a `??` slip.
      '@typescript-eslint/prefer-nullish-coalescing': ['error', { ignorePrimitives: { string: true } }],
      // The suite escapes control characters of untrusted input (traces, scenarios, names):
      // its regexps match them on purpose.
      'no-control-regex': 'off',
    },
  },
  {
    files: ['test/**/*.ts'],
    rules: {
      // tap runs the subtests it is given in order: `t.test(...)` is not awaited by design.
      '@typescript-eslint/no-floating-promises': [
        'error',
        { allowForKnownSafePromises: [{ from: 'package', name: 'PromiseWithSubtest', package: '@tapjs/core' }] },
      ],
      // `t.test('…', async (t) => …)` is the uniform shape of a subtest, awaiting or not.
      '@typescript-eslint/require-await': 'off',
      // Expected output is matched as printed: `/#   FAIL/` reads better than `/# {3}FAIL/`.
      'no-regex-spaces': 'off',
    },
  },
  {
    // Plain JavaScript (this file, the fake ssh of the tests): no type information.
    files: ['**/*.js', '**/*.mjs'],
    extends: [js.configs.recommended],
    languageOptions: { globals: { process: 'readonly', console: 'readonly', Buffer: 'readonly', setTimeout: 'readonly', clearTimeout: 'readonly' } },
  },
);
