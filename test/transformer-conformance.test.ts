import { test } from 'tap'
import { transformerConformance } from '../testing/index.js'
import type { SessionTransportTransformer } from '../transformers/transformer.js'
import { messageAuthentication } from '../transformers/message-authentication.js'
import { encrypt } from '../transformers/encrypt.js'
import { ktorEncrypt } from '../transformers/ktor-encrypt.js'
import { digest } from '../transformers/digest.js'

const KEY = Buffer.alloc(32, 0x11)
const OTHER = Buffer.alloc(32, 0x22)

const subjects: Record<string, () => SessionTransportTransformer> = {
  'messageAuthentication (SHA-256)': () => messageAuthentication({ key: KEY }),
  'messageAuthentication (SHA-512, two keys)': () => messageAuthentication({ key: [KEY, OTHER], algorithm: 'sha512' }),
  encrypt: () => encrypt({ key: KEY }),
  'encrypt (two keys)': () => encrypt({ key: [OTHER, KEY] }),
  digest: () => digest(),
}

for (const [name, make] of Object.entries(subjects)) {
  test(`${name} passes the transformer conformance suite`, async (t) => {
    for (const check of transformerConformance) {
      await t.test(check.name, async (t) => {
        await check.run(make)
        t.pass('no assertion failed')
      })
    }
  })
}

for (const backwardCompatibleRead of [false, true]) {
  test(`ktorEncrypt (backwardCompatibleRead: ${backwardCompatibleRead}) passes every case but single-character changes, which its unauthenticated IV lets through`, async (t) => {
    const make = () => ktorEncrypt({ encryptionKey: KEY, signKey: OTHER, backwardCompatibleRead })
    for (const check of transformerConformance) {
      if (check.name === 'every single-character change reads as absent') {
      // Ktor's format: a changed IV digit changes the first block and still verifies.
        await t.rejects(async () => { await check.run(make) }, { name: 'AssertionError', message: /character \d of .* read as/ })
      } else {
        await t.test(check.name, async (t) => {
          await check.run(make)
          t.pass('no assertion failed')
        })
      }
    }
  })
}

test('the suite catches a transformer that does not authenticate', async (t) => {
  const base64: SessionTransportTransformer = {
    transformWrite: (v) => Buffer.from(v).toString('base64url'),
    transformRead: (v) => Buffer.from(v, 'base64url').toString(),
  }
  const failures = []
  for (const check of transformerConformance) {
    try { await check.run(() => base64) } catch (err) { failures.push((err as Error).name) }
  }
  t.ok(failures.length >= 3)
  t.ok(failures.every((name) => name === 'AssertionError'))
})

test('the suite catches a transformer that throws on garbage', async (t) => {
  const throwing: SessionTransportTransformer = {
    transformWrite: (v) => v + '!',
    transformRead: (v) => { if (!v.endsWith('!')) throw new Error('boom'); return v.slice(0, -1) },
  }
  const check = transformerConformance.find((c) => c.name === 'garbage reads as absent and never throws')
  t.ok(check)
  await t.rejects(async () => { await check?.run(() => throwing) }, { name: 'AssertionError', message: /transformRead threw/ })
})
