import neostandard from 'neostandard'

export default [
  ...neostandard({ ts: true, ignores: ['dist/**', 'build/**', 'node_modules/**', '.tap/**', 'coverage/**', 'test-output/**'] }),
]
