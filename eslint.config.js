import neostandard from 'neostandard'

export default [
  ...neostandard({ ts: true, ignores: ['dist/**', 'build/**', 'node_modules/**', '.tap/**', 'coverage/**', 'test-output/**'] }),
  {
    // The core stays readable in small pieces (ARCHITECTURE.md): a function that needs more says why
    // in an eslint-disable-next-line comment next to it.
    files: ['lib/**/*.ts', 'storages/**/*.ts'],
    rules: {
      'max-lines-per-function': ['error', { max: 60, skipBlankLines: true, skipComments: true }],
    },
  },
  {
    files: ['lib/**/*.ts'],
    rules: {
      'max-lines': ['error', { max: 250, skipBlankLines: true, skipComments: true }],
    },
  },
]
