import assert from 'node:assert/strict'
import type { SessionTransportTransformer } from '../transformers/transformer.js'

/**
 * A conformance suite for transformers that protect a value (sign or encrypt it), runnable from
 * any test runner: each case takes a factory and throws an `AssertionError` on failure.
 *
 * ```ts
 * for (const check of transformerConformance) {
 *   test(check.name, () => check.run(() => myTransformer({ key })))
 * }
 * ```
 *
 * The factory must return transformers with the same keys each time: one case writes with one
 * instance and reads with another.
 */
export interface TransformerConformanceCase {
  name: string
  run (make: () => SessionTransportTransformer): void | Promise<void>
}

/** Values of the kinds serializers produce, and the characters formats use as separators. */
export const conformanceSamples: readonly string[] = [
  '',
  'a',
  '{"username":"John","count":1}',
  'count=%23i1&username=%23sJohn',
  'a/b:c/d:/',
  'ünïcödé ✓ 🍪 \u0000\u001f',
  ' spaces\tand\nnewlines ',
  'x'.repeat(3000),
]

const TAMPER_SAMPLE = '{"username":"John","count":1}'
const REPLACEMENTS = ['0', '1', 'a', 'f', 'A', 'F', 'z', '_', '-', '/', ':', '=', '%', '~', '+', ' ', 'é']

// Deterministic, so a failure names the same input on every run.
function random (seed: number): () => number {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6D2B79F5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

const GARBAGE_ALPHABETS = [
  '0123456789abcdef',
  '0123456789ABCDEFabcdef/:',
  'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_',
  'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=',
  '{}":,/ %#&=;',
  '\u0000\u0001\u007f\u00e9\u2028\ud800\udc00\ud83c\udf6a\ufeff',
]

function garbage (): string[] {
  const next = random(0x5e55)
  const out = ['', '/', ':', '//', '::', '/:', ':/', '%', '\ud800', '\u0000', 'null', 'undefined', '{}', 'a'.repeat(100_000), '/'.repeat(1000)]
  for (let i = 0; i < 300; i++) {
    const alphabet = GARBAGE_ALPHABETS[i % GARBAGE_ALPHABETS.length] as string
    const length = Math.floor(next() * 300)
    let s = ''
    for (let j = 0; j < length; j++) s += alphabet[Math.floor(next() * alphabet.length)]
    out.push(s)
  }
  return out
}

function show (value: string): string {
  return JSON.stringify(value.length > 80 ? value.slice(0, 77) + '...' : value)
}

function readSafely (transformer: SessionTransportTransformer, value: string): string | null {
  let result: unknown
  try {
    result = transformer.transformRead(value)
  } catch (err) {
    assert.fail(`transformRead threw on ${show(value)}: ${(err as Error).message}`)
  }
  assert.ok(result === null || typeof result === 'string', `transformRead returned ${typeof result} for ${show(value)}`)
  return result
}

// A changed value may read as absent, or as the very value written (another spelling the format
// accepts, such as hex in the other case); anything else is a forgery.
function assertRejected (transformer: SessionTransportTransformer, changed: string, original: string, what: string): void {
  const result = readSafely(transformer, changed)
  assert.ok(result === null || result === original, `${what} read as ${show(result ?? '')} instead of absent`)
}

export const transformerConformance: TransformerConformanceCase[] = [
  {
    name: 'a written value reads back unchanged',
    run (make) {
      const transformer = make()
      for (const value of conformanceSamples) {
        const written = transformer.transformWrite(value)
        assert.equal(typeof written, 'string', 'transformWrite returns a string')
        assert.equal(readSafely(transformer, written), value, `round trip of ${show(value)}`)
      }
    },
  },
  {
    name: 'another instance with the same options reads what one wrote',
    run (make) {
      const writer = make()
      const reader = make()
      for (const value of conformanceSamples) {
        assert.equal(readSafely(reader, writer.transformWrite(value)), value, `round trip of ${show(value)} across instances`)
      }
    },
  },
  {
    name: 'every single-character change reads as absent',
    run (make) {
      const transformer = make()
      for (const value of [TAMPER_SAMPLE, 'a']) {
        const written = transformer.transformWrite(value)
        for (let i = 0; i < written.length; i++) {
          const original = written.charCodeAt(i)
          const candidates = new Set([String.fromCharCode(original ^ 1), ...REPLACEMENTS])
          for (const c of candidates) {
            if (c.charCodeAt(0) === original) continue
            const changed = written.slice(0, i) + c + written.slice(i + 1)
            assertRejected(transformer, changed, value, `character ${i} of ${show(written)} changed to ${show(c)}`)
          }
          assertRejected(transformer, written.slice(0, i) + written.slice(i + 1), value, `character ${i} of ${show(written)} removed`)
        }
      }
    },
  },
  {
    name: 'a truncated value reads as absent',
    run (make) {
      const transformer = make()
      const written = transformer.transformWrite(TAMPER_SAMPLE)
      for (let i = 0; i < written.length; i++) {
        assertRejected(transformer, written.slice(0, i), TAMPER_SAMPLE, `the first ${i} characters of ${show(written)}`)
        assertRejected(transformer, written.slice(i + 1), TAMPER_SAMPLE, `${show(written)} without its first ${i + 1} characters`)
      }
    },
  },
  {
    name: 'an extended value reads as absent',
    run (make) {
      const transformer = make()
      const written = transformer.transformWrite(TAMPER_SAMPLE)
      for (const c of [...REPLACEMENTS, '00', 'AA==', '\u0000']) {
        assertRejected(transformer, written + c, TAMPER_SAMPLE, `${show(written)} followed by ${show(c)}`)
        assertRejected(transformer, c + written, TAMPER_SAMPLE, `${show(written)} preceded by ${show(c)}`)
      }
      assertRejected(transformer, written + written, TAMPER_SAMPLE, 'the value written twice')
      const other = transformer.transformWrite('{"username":"Jane","count":2}')
      assertRejected(transformer, written + '/' + other, TAMPER_SAMPLE, 'two values joined')
    },
  },
  {
    name: 'garbage reads as absent and never throws',
    run (make) {
      const transformer = make()
      for (const value of garbage()) {
        assert.equal(readSafely(transformer, value), null, `garbage ${show(value)} was accepted`)
      }
    },
  },
]
