import { readFileSync } from 'node:fs'
import fc from 'fast-check'
import { test } from 'tap'
import { decodeBase64, decodeCookieValue, decodeUri, encodeCookieValue, encodeUri } from '../lib/cookie-encoding.js'

const mac = (JSON.parse(readFileSync(new URL('./fixtures/ktor-vectors.json', import.meta.url), 'utf8')) as { vectors: Array<Record<string, string>> })
  .vectors.find((v) => v.id === 'cookie/mac-json') as Record<string, string>

test('uri: writes as Ktor 2.2+ (encodeURLParameter, space as +, uppercase escapes)', async (t) => {
  t.equal(encodeCookieValue(mac.value as string, 'uri'), mac['URI_ENCODING(>=2.2.0, default)'])
  t.equal(encodeUri('a b!\'()*~-._é/'), 'a+b%21%27%28%29%2A~-._%C3%A9%2F')
})

test('uri: reads every variant Ktor ever wrote', async (t) => {
  for (const key of ['URI_ENCODING(>=2.2.0, default)', 'URI_ENCODING(1.x..2.1.2)', 'URI_ENCODING(2.1.3)']) {
    t.equal(decodeCookieValue(mac[key] as string, 'uri'), mac.value, key)
  }
  t.equal(decodeUri('a+b%20c%e2%9c%93'), 'a b c✓', 'lowercase escapes, + and %20')
  t.equal(decodeUri('%FF'), '\ufffd', 'invalid UTF-8 becomes U+FFFD, as in Ktor')
})

test('uri: a truncated or non-hex escape is unreadable (null), not an error', async (t) => {
  for (const text of ['%', '%2', 'abc%', '%zz', '%2g']) t.equal(decodeCookieValue(text, 'uri'), null, text)
})

test('base64: standard alphabet with padding, strict on read', async (t) => {
  t.equal(encodeCookieValue(mac.value as string, 'base64'), mac.BASE64_ENCODING)
  t.equal(decodeCookieValue(mac.BASE64_ENCODING as string, 'base64'), mac.value)
  t.equal(decodeBase64('eyJ1c2U='), '{"use')
  t.equal(decodeBase64(''), '')
  // 'eyJ1c2V=' has non-zero bits before the padding: Node reads it as 'eyJ1c2U=', Kotlin refuses it.
  for (const text of ['eyJ1c2', 'eyJ1c2V=', 'ey J1', 'eyJ1-_==', 'e===', 'eyJ1c2V', 'eyJ1c2U', 'eyJ1c2U==']) {
    t.equal(decodeBase64(text), null, text)
  }
})

test('dquotes: quotes values with separators, refuses quotes, semicolons, backslashes and controls', async (t) => {
  t.equal(encodeCookieValue('abc', 'dquotes'), 'abc')
  t.equal(encodeCookieValue('a b,c=d', 'dquotes'), '"a b,c=d"')
  // Browsers end a cookie value at ';' even inside quotes: it would start an attribute.
  for (const bad of ['a"b', 'a\\b', 'a\nb', 'é', 'a;b', 'x; Domain=evil.example']) t.throws(() => encodeCookieValue(bad, 'dquotes'), { message: /dquotes/ }, JSON.stringify(bad))
  t.equal(decodeCookieValue('"a b"', 'dquotes'), 'a b')
  t.equal(decodeCookieValue('ab', 'dquotes'), 'ab')
  t.equal(decodeCookieValue('"', 'dquotes'), '"')
})

test('raw: passes cookie-octets through and refuses what would inject attributes', async (t) => {
  t.equal(encodeCookieValue('abc/123:x', 'raw'), 'abc/123:x')
  for (const bad of ['a;b', 'a b', 'a,b', 'a"b', 'a\\b', 'é', '\u0000']) t.throws(() => encodeCookieValue(bad, 'raw'), { message: /raw/ }, JSON.stringify(bad))
  t.equal(decodeCookieValue('anything; goes', 'raw'), 'anything; goes')
})

test('uri refuses an unpaired surrogate with a plain Error', async (t) => {
  t.throws(() => encodeCookieValue('\ud800', 'uri'), { message: /unpaired surrogate/ })
})

test('property: every encoding round-trips what it accepts', async (t) => {
  fc.assert(fc.property(fc.string({ unit: 'grapheme' }), (value) =>
    decodeCookieValue(encodeCookieValue(value, 'uri'), 'uri') === value &&
    decodeCookieValue(encodeCookieValue(value, 'base64'), 'base64') === value), { numRuns: 300 })
  fc.assert(fc.property(fc.string({ unit: fc.constantFrom(...'abcXYZ019!#$%&\'()*+-./:<=>?@[]^_`{|}~ ,'.split('')) }), (value) =>
    decodeCookieValue(encodeCookieValue(value, 'dquotes'), 'dquotes') === value), { numRuns: 300 })
  fc.assert(fc.property(fc.string({ unit: 'binary' }), (value) => {
    const decoded = decodeCookieValue(value, 'uri')
    return decoded === null || typeof decoded === 'string'
  }), { numRuns: 300 })
  t.pass('properties held')
})
