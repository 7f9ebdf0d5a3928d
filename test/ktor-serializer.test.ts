import fc from 'fast-check'
import { test } from 'tap'
import Type from 'typebox'
import Value from 'typebox/value'
import { decodeQueryComponent, encodeQueryComponent, kotlinDouble, ktorSerializer } from '../lib/ktor-serializer.js'

const Login = Type.Object({ username: Type.String(), count: Type.Integer() })

test('Kotlin\'s Double.toString: plain between 10^-3 and 10^7, computerized notation outside', async (t) => {
  const cases: Array<[number, string]> = [
    [3, '3.0'], [0, '0.0'], [-0, '-0.0'], [0.1, '0.1'], [-2.5, '-2.5'], [0.001, '0.001'], [0.0001, '1.0E-4'],
    [1234567.5, '1234567.5'], [1e7, '1.0E7'], [12345678, '1.2345678E7'], [1e21, '1.0E21'], [1.5e-10, '1.5E-10'],
    [Number.MAX_VALUE, '1.7976931348623157E308'], [Number.MIN_VALUE, '4.9E-324'], [100, '100.0'], [1 / 3, '0.3333333333333333'],
  ]
  for (const [x, text] of cases) t.equal(kotlinDouble(x), text, String(x))
})

test('every tag is written as Ktor writes it', async (t) => {
  const All = Type.Object({
    s: Type.String(),
    i: Type.Integer(),
    big: Type.Integer(),
    l: Type.Integer({ format: 'int64' }),
    f: Type.Number(),
    b: Type.Boolean(),
    n: Type.Union([Type.String(), Type.Null()]),
    list: Type.Array(Type.Integer()),
    map: Type.Record(Type.String(), Type.String()),
    nested: Type.Object({ x: Type.String(), a: Type.Integer() }),
  })
  const value = { s: 'a b+c&d=e/é', i: -5, big: 2 ** 40, l: 7, f: 3, b: true, n: null, list: [1, 2], map: { k: 'v w' }, nested: { x: 'y', a: 1 } }
  const text = ktorSerializer(All).serialize(value)
  t.equal(text, [
    'b=%23bot',
    'big=%23l1099511627776',
    'f=%23f3.0',
    'i=%23i-5',
    'l=%23l7',
    'list=%23cl%23i1%26%23i2',
    'map=%23m%23sk%3D%23sv%252520w',
    'n=%23n',
    'nested=%23%23a%3D%2523i1%26x%3D%2523sy',
    's=%23sa+b%2Bc%26d%3De%2F%C3%A9',
  ].join('&'))
  t.same(ktorSerializer(All).deserialize(text), value)
  t.equal(ktorSerializer(All, { order: 'declaration' }).serialize(value).split('&')[0], 's=%23sa+b%2Bc%26d%3De%2F%C3%A9')
})

test('Ktor\'s list example: a space inside a list item ends up triple-encoded', async (t) => {
  const s = ktorSerializer(Type.Object({ tags: Type.Array(Type.String()) }))
  t.equal(s.serialize({ tags: ['a', 'b c'] }), 'tags=%23cl%23sa%26%23sb%252520c')
  t.same(s.deserialize('tags=%23cl%23sa%26%23sb%252520c'), { tags: ['a', 'b c'] })
  t.equal(ktorSerializer(Type.Object({ cart: Type.Array(Type.String()), userId: Type.String() })).serialize({ userId: 'id2', cart: [] }), 'cart=%23cl&userId=%23sid2')
})

test('reading is lenient like Ktor\'s: either integer tag, any property order, unknown keys ignored, names case-insensitive', async (t) => {
  const s = ktorSerializer(Login)
  t.same(s.deserialize('username=%23sJohn&count=%23l1'), { username: 'John', count: 1 })
  t.same(s.deserialize('count=%23bi1&username=%23sJohn&extra=%23sx'), { username: 'John', count: 1 })
  t.same(s.deserialize(' USERNAME = %23sJohn & count=%23i1'), { username: 'John', count: 1 })
  t.same(s.deserialize('username=%23sJohn&username=%23sJane&count=%23i1'), { username: 'John', count: 1 }, 'the first value wins')
  t.same(s.deserialize('username=%23chJ&count=%23i1'), { username: 'J', count: 1 }, 'a Kotlin Char')
  t.same(ktorSerializer(Type.Object({ f: Type.Number(), b: Type.Boolean() })).deserialize('f=%23f1.5E3&b=%23bof'), { f: 1500, b: false })
  t.same(ktorSerializer(Type.Object({ s: Type.Array(Type.String()) })).deserialize('s=%23cs%23sa'), { s: ['a'] }, 'a Kotlin Set reads as an array')
})

test('bad text throws: untagged values, bad numbers, bad escapes, unknown tags', async (t) => {
  const s = ktorSerializer(Login)
  for (const text of ['username=John', 'count=%23i1.5', 'count=%23i2147483648', 'count=%23l9007199254740993', 'count=%23ix', 'username=%23sJo%2', 'username=%23q', 'username=%23bx', 'username=%23bo']) {
    t.throws(() => s.deserialize(text), Error, text)
  }
  t.same(s.deserialize(''), {}, 'an empty value has no properties (the schema check then refuses it)')
})

test('prototype keys in maps and loose objects are refused on read', async (t) => {
  const s = ktorSerializer(Type.Object({ m: Type.Record(Type.String(), Type.String()) }))
  t.throws(() => s.deserialize('m=' + encodeURIComponent('#m' + encodeQueryComponent('#s__proto__=#sx'))), { message: /prototype/ })
  const loose = ktorSerializer(Type.Object({ u: Type.Unknown() }))
  t.throws(() => loose.deserialize('u=' + encodeURIComponent('##constructor=%23sx')), { message: /prototype/ })
  t.equal(({} as Record<string, unknown>).x, undefined)
  t.throws(() => ktorSerializer(Type.Object({ ['__proto__']: Type.String() })), { code: 'FST_SESSIONS_OPTIONS' })
})

test('values Ktor\'s format cannot carry are refused with a plain Error', async (t) => {
  const lists = ktorSerializer(Type.Object({ l: Type.Array(Type.Array(Type.String())) }))
  t.throws(() => lists.serialize({ l: [['a', 'b'], ['c']] }), { message: /cannot carry/ })
  const maps = ktorSerializer(Type.Object({ m: Type.Record(Type.String(), Type.String()) }))
  t.throws(() => maps.serialize({ m: { 'a=b': 'c' } }), { message: /cannot carry/ })
  t.same(maps.deserialize(maps.serialize({ m: { a: 'b=c' } })), { m: { a: 'b=c' } }, 'an = in a map value is fine')
  const s = ktorSerializer(Login)
  t.throws(() => s.serialize({ username: 'John', count: 1, extra: 1 } as never), { message: /"extra" at the top level is not declared/ })
  t.throws(() => s.serialize({ username: 'John', count: 2 ** 60 }), { message: /beyond 2\^53/ })
  t.throws(() => s.serialize({ username: 'John', count: 1.5 }), { message: /where the schema has an integer/ })
  t.throws(() => s.serialize({ username: '\ud800', count: 1 }), { message: /unpaired surrogate/ })
  t.throws(() => ktorSerializer(Type.Object({ f: Type.Number() })).serialize({ f: Number.NaN }), { message: /not a finite number/ })
  const err = t.throws(() => s.serialize({ username: 'John', count: 2 ** 60 })) as Error
  t.equal(err.constructor, Error, 'a plain Error')
})

test('options are checked: the order, and an object schema', async (t) => {
  t.throws(() => ktorSerializer(Login, { order: 'random' as 'sorted' }), { code: 'FST_SESSIONS_OPTIONS' })
  t.throws(() => ktorSerializer(Type.String()), { code: 'FST_SESSIONS_OPTIONS', message: /must be an object/ })
  t.throws(() => ktorSerializer(Login, { sort: true } as never), { code: 'FST_SESSIONS_OPTIONS', message: /unknown option "sort"/ })
})

test('unions, optional properties and literals', async (t) => {
  const S = Type.Object({
    maybe: Type.Optional(Type.String()),
    either: Type.Union([Type.Integer(), Type.String(), Type.Null()]),
    kind: Type.Union([Type.Literal('a'), Type.Literal('b')]),
    point: Type.Union([Type.Object({ x: Type.Number() }), Type.Null()]),
  })
  const s = ktorSerializer(S)
  for (const value of [
    { either: 1, kind: 'a' as const, point: { x: 1 } },
    { maybe: 'm', either: 'one', kind: 'b' as const, point: null },
    { either: null, kind: 'a' as const, point: { x: -0.5 } },
  ]) t.same(s.deserialize(s.serialize(value)), value)
  t.equal(s.serialize({ either: 1, kind: 'a', point: { x: 1 } }), 'either=%23i1&kind=%23sa&point=%23%23x%3D%2523f1.0')
})

test('Ktor\'s URL codecs: encodeURLQueryComponent keeps its reserved set, decoding is strict on escapes', async (t) => {
  t.equal(encodeQueryComponent(':/?#[]@!$&\'()*,;=-._~+ %é'), ':/?#[]@!$&\'()*,;=-._~+%20%25%C3%A9')
  t.equal(decodeQueryComponent('a+b%20c', true), 'a b c')
  t.equal(decodeQueryComponent('a+b%20c', false), 'a+b c')
  t.equal(decodeQueryComponent('%e2%9C%93', false), '✓')
  t.throws(() => decodeQueryComponent('%2', false))
  t.throws(() => decodeQueryComponent('%zz', false))
})

// Values Ktor's format carries: no '&' inside collections, no '=' in map keys.
const safeText = fc.string({ unit: 'grapheme', maxLength: 20 }).filter((s) => !s.includes('&') && !s.includes('='))
const Everything = Type.Object({
  s: Type.String(),
  i: Type.Integer(),
  l: Type.Integer({ format: 'int64' }),
  f: Type.Number(),
  b: Type.Boolean(),
  n: Type.Union([Type.Null(), Type.String()]),
  list: Type.Array(Type.String()),
  ints: Type.Array(Type.Integer()),
  map: Type.Record(Type.String(), Type.Number()),
  nested: Type.Object({ z: Type.String(), a: Type.Array(Type.Boolean()) }),
})

test('property: serialize then deserialize is the identity, in both orders', async (t) => {
  const arb = fc.record({
    s: fc.string({ unit: 'grapheme', maxLength: 40 }),
    i: fc.integer(),
    l: fc.maxSafeInteger(),
    f: fc.double({ noNaN: true, noDefaultInfinity: true }),
    b: fc.boolean(),
    n: fc.option(fc.string({ unit: 'grapheme', maxLength: 10 }), { nil: null }),
    list: fc.array(safeText, { maxLength: 5 }),
    ints: fc.array(fc.maxSafeInteger(), { maxLength: 5 }),
    map: fc.dictionary(safeText.filter((k) => !['__proto__', 'constructor', 'prototype'].includes(k)), fc.double({ noNaN: true, noDefaultInfinity: true }), { maxKeys: 4 }),
    nested: fc.record({ z: fc.string({ unit: 'grapheme', maxLength: 20 }), a: fc.array(fc.boolean(), { maxLength: 4 }) }),
  })
  for (const order of ['sorted', 'declaration'] as const) {
    const s = ktorSerializer(Everything, { order })
    fc.assert(fc.property(arb, (value) => {
      const back = s.deserialize(s.serialize(value))
      return Value.Equal(back, value) && Object.is(back.f, value.f)
    }), { numRuns: 300 })
  }
  t.pass('property held')
})

test('property: deserialize never does anything but return or throw an Error on arbitrary text', async (t) => {
  const s = ktorSerializer(Everything)
  fc.assert(fc.property(fc.oneof(fc.string({ unit: 'binary' }), fc.stringMatching(/^([a-z]{1,3}=%23[a-z#%0-9]{0,12}&?){0,4}$/)), (text) => {
    try {
      s.deserialize(text)
    } catch (err) {
      return err instanceof Error
    }
    return true
  }), { numRuns: 500 })
  t.pass('property held')
})
