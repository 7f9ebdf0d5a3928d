/**
 * The conformance suite every SessionStorage passes, exported so a custom storage can be held to the
 * same contract. It is runner-agnostic: each case is an async function that throws (node:assert)
 * when the storage breaks the contract. Run each case as a test of your runner:
 *
 *   import { test } from 'tap'   // or node:test, vitest, ...
 *   import { storageConformance } from 'fastify-sessions/testing'
 *   for (const c of storageConformance) test(c.name, () => c.run(() => myStorage()))
 *
 * Each case makes its own storage with `make` and closes it when done; keys are random per run
 * (with hostile characters where that is the point), so a shared backend (a Redis database) can be
 * used. Cases marked `fakeClock` replace Date.now for a moment (restored in `finally`): a storage
 * that judges expiry by another clock (Redis's own TTLs) may skip them and rely on the real-time
 * expiry case instead.
 *
 * The optional methods (`touch`, `compareAndWrite`, `close`, and the subject index, marked
 * `requires: 'indexSubject'`) each have cases marked `requires`: skip those for a storage without
 * the method. `readEntry`, and `publishEnded` / `subscribeEnded`, are checked by cases that pass
 * trivially for a storage without them.
 */
import assert from 'node:assert/strict'
import { createHash, randomBytes } from 'node:crypto'
import { setTimeout as sleep } from 'node:timers/promises'
import { hasSubjects, type SessionStorage, type SubjectEntry, type WithSubjects } from '../storages/storage.js'

export type MakeStorage = () => SessionStorage | Promise<SessionStorage>

/** Optional SessionStorage methods a case exercises. */
export type OptionalStorageMethod = 'touch' | 'compareAndWrite' | 'close' | 'indexSubject'

/** Thrown by a case whose optional method the storage does not have: report it as skipped. */
export class ConformanceSkip extends Error {}

export interface StorageConformanceCase {
  /** What the case shows, as a test name. */
  name: string
  /** True when the case fakes Date.now to move time. */
  fakeClock: boolean
  /** The optional method the case is about; skip the case for storages without it. */
  requires?: OptionalStorageMethod
  /** Resolves when the storage made by `make` behaves; rejects with an AssertionError otherwise. */
  run (make: MakeStorage): Promise<void>
}

const MINUTE = 60_000

function randomKey (): string {
  return randomBytes(32).toString('base64url')
}

async function withStorage (make: MakeStorage, body: (storage: SessionStorage) => Promise<void>): Promise<void> {
  const storage = await make()
  try {
    await body(storage)
  } finally {
    await storage.close?.()
  }
}

/** Runs `body` with Date.now() returning `now()`; the real clock is back when it settles. */
async function withClock (now: () => number, body: () => Promise<void>): Promise<void> {
  const real = Date.now
  Date.now = now
  try {
    await body()
  } finally {
    Date.now = real
  }
}

/** A value that proves itself whole: its length and hash are inside it. */
function selfChecking (size: number, seed: string): string {
  const body = seed + ':' + randomBytes(Math.ceil(size * 3 / 4)).toString('base64url').slice(0, size)
  return `${body.length}:${createHash('sha256').update(body).digest('hex')}:${body}`
}

function isWhole (value: string): boolean {
  const [length, digest, ...rest] = value.split(':')
  const body = rest.join(':')
  return Number(length) === body.length && createHash('sha256').update(body).digest('hex') === digest
}

function hostileKeys (token: string): string[] {
  const exact = ['', '.', '..', '/', '\\', '\0', '~', ' ']
  const shapes = [
    '../', '../../', '/etc/passwd', 'a/b', 'a\\b', '..\\..\\', '\0nul', 'nul\0byte', '%2e%2e%2f', '%00',
    'CON', 'aux.txt', '.hidden', '-rf', '*', '?', '[a-z]', '{slot}', 'key with spaces', 'line\nbreak',
    'tab\there', 'é', 'e\u0301', '😀', '\uD800', '\uFFFF', 'KEY', 'key', 'x'.repeat(4096),
  ]
  return [...exact, ...shapes.map((shape) => shape + token), ...shapes.map((shape) => token + shape)]
}

export const storageConformance: StorageConformanceCase[] = [
  {
    name: 'a value reads back exactly as written',
    fakeClock: false,
    run: (make) => withStorage(make, async (storage) => {
      const key = randomKey()
      const value = '{"username":"John","count":1}'
      await storage.write(key, value, Date.now() + MINUTE)
      assert.equal(await storage.read(key), value)
      const forever = randomKey()
      await storage.write(forever, 'no expiry', null)
      assert.equal(await storage.read(forever), 'no expiry')
      await storage.invalidate(key)
      await storage.invalidate(forever)
    }),
  },
  {
    name: 'values of any well-formed text come back unchanged',
    fakeClock: false,
    run: (make) => withStorage(make, async (storage) => {
      const values = ['', ' ', '\n', '\r\n', '\0', 'FSS1 0000000000000000 0000000000\n', '{"a":"b"}\n',
        'é😀\u0301\uFFFF', 'a/b/../c', '%00%2f', '-'.repeat(100), '\u2028\u2029']
      const keys = values.map(() => randomKey())
      await Promise.all(values.map((value, i) => storage.write(keys[i] as string, value, Date.now() + MINUTE)))
      for (const [i, value] of values.entries()) {
        assert.equal(await storage.read(keys[i] as string), value, `value #${i}`)
      }
      await Promise.all(keys.map((key) => storage.invalidate(key)))
    }),
  },
  {
    name: 'an overwrite replaces the value and the expiry',
    fakeClock: false,
    run: (make) => withStorage(make, async (storage) => {
      const key = randomKey()
      await storage.write(key, 'first', Date.now() + MINUTE)
      await storage.write(key, 'second', Date.now() + 2 * MINUTE)
      assert.equal(await storage.read(key), 'second')
      await storage.write(key, 'longer third value', null)
      assert.equal(await storage.read(key), 'longer third value')
      await storage.write(key, '4', Date.now() + MINUTE)
      assert.equal(await storage.read(key), '4')
      await storage.invalidate(key)
    }),
  },
  {
    name: 'invalidate forgets a key, and invalidating an unknown key resolves',
    fakeClock: false,
    run: (make) => withStorage(make, async (storage) => {
      const key = randomKey()
      const other = randomKey()
      await storage.write(key, 'value', Date.now() + MINUTE)
      await storage.write(other, 'other', Date.now() + MINUTE)
      await storage.invalidate(key)
      assert.equal(await storage.read(key), null)
      assert.equal(await storage.read(other), 'other', 'only the invalidated key is gone')
      await storage.invalidate(key)
      await storage.invalidate(randomKey())
      assert.equal(await storage.read(key), null)
      await storage.write(key, 'again', Date.now() + MINUTE)
      assert.equal(await storage.read(key), 'again', 'an invalidated key can be written again')
      await storage.invalidate(key)
      await storage.invalidate(other)
    }),
  },
  {
    name: 'an unknown key reads as null and reading it does not create it',
    fakeClock: false,
    run: (make) => withStorage(make, async (storage) => {
      const key = randomKey()
      assert.equal(await storage.read(key), null)
      assert.equal(await storage.read(key), null, 'a second read still finds nothing')
      const near = key.slice(0, -1) + (key.endsWith('A') ? 'B' : 'A')
      await storage.write(near, 'neighbour', Date.now() + MINUTE)
      assert.equal(await storage.read(key), null, 'a key differing in one character is another key')
      await storage.invalidate(near)
    }),
  },
  {
    name: 'an entry is absent once Date.now() reaches its expiry',
    fakeClock: true,
    run: (make) => withStorage(make, async (storage) => {
      const base = Date.now()
      const key = randomKey()
      const forever = randomKey()
      await storage.write(key, 'value', base + MINUTE)
      await storage.write(forever, 'forever', null)
      await withClock(() => base + MINUTE - 1, async () => {
        assert.equal(await storage.read(key), 'value', 'one millisecond before the expiry')
      })
      await withClock(() => base + MINUTE, async () => {
        assert.equal(await storage.read(key), null, 'at the expiry')
      })
      await withClock(() => base + 10 * 365 * 24 * 60 * MINUTE, async () => {
        assert.equal(await storage.read(forever), 'forever', 'no expiry: still there ten years on')
      })
      assert.equal(await storage.read(key), null, 'an expired entry does not come back when the clock does')
      await storage.write(key, 'renewed', base + MINUTE)
      assert.equal(await storage.read(key), 'renewed', 'an expired key can be written again')
      await storage.invalidate(key)
      await storage.invalidate(forever)
    }),
  },
  {
    name: 'a write whose expiry has already passed leaves nothing to read',
    fakeClock: false,
    run: (make) => withStorage(make, async (storage) => {
      const key = randomKey()
      await storage.write(key, 'value', Date.now() + MINUTE)
      await storage.write(key, 'stale', Date.now() - 1000)
      assert.equal(await storage.read(key), null)
      await storage.invalidate(key)
    }),
  },
  {
    name: 'an entry expires in real time',
    fakeClock: false,
    run: (make) => withStorage(make, async (storage) => {
      const key = randomKey()
      const expiresAt = Date.now() + 800
      await storage.write(key, 'short-lived', expiresAt)
      assert.equal(await storage.read(key), 'short-lived')
      await sleep(expiresAt - Date.now() + 150)
      assert.equal(await storage.read(key), null)
      await storage.invalidate(key)
    }),
  },
  {
    name: 'touch moves the expiry and keeps the value',
    requires: 'touch',
    fakeClock: true,
    run: (make) => withStorage(make, async (storage) => {
      if (storage.touch === undefined) throw new ConformanceSkip('the storage has no touch')
      const base = Date.now()
      const key = randomKey()
      await storage.write(key, 'value', base + MINUTE)
      await storage.touch(key, base + 10 * MINUTE)
      await withClock(() => base + 5 * MINUTE, async () => {
        assert.equal(await storage.read(key), 'value', 'alive past the old expiry, value unchanged')
      })
      await withClock(() => base + 10 * MINUTE, async () => {
        assert.equal(await storage.read(key), null, 'gone at the new expiry')
      })
      const forever = randomKey()
      await storage.write(forever, 'kept', base + MINUTE)
      await storage.touch(forever, null)
      await withClock(() => base + 100 * MINUTE, async () => {
        assert.equal(await storage.read(forever), 'kept', 'touch with null removes the expiry')
      })
      await storage.touch(forever, base + 2 * MINUTE)
      await withClock(() => base + 3 * MINUTE, async () => {
        assert.equal(await storage.read(forever), null, 'touch can also shorten the expiry')
      })
      await storage.invalidate(key)
      await storage.invalidate(forever)
    }),
  },
  {
    name: 'touch of an unknown or expired key creates nothing',
    requires: 'touch',
    fakeClock: true,
    run: (make) => withStorage(make, async (storage) => {
      if (storage.touch === undefined) throw new ConformanceSkip('the storage has no touch')
      const base = Date.now()
      const unknown = randomKey()
      await storage.touch(unknown, base + MINUTE)
      assert.equal(await storage.read(unknown), null, 'an unknown key stays unknown')
      const key = randomKey()
      await storage.write(key, 'value', base + MINUTE)
      await withClock(() => base + 2 * MINUTE, async () => {
        await storage.touch?.(key, base + 10 * MINUTE)
        assert.equal(await storage.read(key), null, 'an expired entry is not revived')
      })
      await storage.invalidate(key)
    }),
  },
  {
    name: 'a touch whose expiry has already passed leaves nothing to read',
    requires: 'touch',
    fakeClock: false,
    run: (make) => withStorage(make, async (storage) => {
      if (storage.touch === undefined) throw new ConformanceSkip('the storage has no touch')
      const key = randomKey()
      await storage.write(key, 'value', Date.now() + MINUTE)
      await storage.touch(key, Date.now() - 1000)
      assert.equal(await storage.read(key), null)
      await storage.write(key, 'again', Date.now() + MINUTE)
      assert.equal(await storage.read(key), 'again', 'the key can be written again')
      await storage.invalidate(key)
    }),
  },
  {
    name: 'a touch that overlaps a write never brings back the older value',
    requires: 'touch',
    fakeClock: false,
    run: (make) => withStorage(make, async (storage) => {
      if (storage.touch === undefined) throw new ConformanceSkip('the storage has no touch')
      const touch = storage.touch.bind(storage)
      const key = randomKey()
      for (let round = 0; round < 20; round++) {
        await storage.write(key, `old ${round}`, Date.now() + MINUTE)
        await Promise.all([
          touch(key, Date.now() + 2 * MINUTE),
          storage.write(key, `new ${round}`, Date.now() + MINUTE),
          touch(key, Date.now() + 2 * MINUTE),
        ])
        assert.equal(await storage.read(key), `new ${round}`, `round ${round}`)
      }
      await storage.invalidate(key)
    }),
  },
  {
    name: 'keys with hostile characters are distinct keys, each with its own value',
    fakeClock: false,
    run: (make) => withStorage(make, async (storage) => {
      const token = randomBytes(6).toString('hex')
      const keys = hostileKeys(token)
      await Promise.all(keys.map((key) => storage.invalidate(key)))
      for (const [i, key] of keys.entries()) await storage.write(key, `value ${i}`, Date.now() + MINUTE)
      for (const [i, key] of keys.entries()) {
        assert.equal(await storage.read(key), `value ${i}`, `key #${i} ${JSON.stringify(key.slice(0, 40))}`)
      }
      for (const key of keys) await storage.invalidate(key)
      for (const [i, key] of keys.entries()) assert.equal(await storage.read(key), null, `key #${i} invalidated`)
    }),
  },
  {
    name: 'concurrent writers on one key leave one whole value, never a mix',
    fakeClock: false,
    run: (make) => withStorage(make, async (storage) => {
      const key = randomKey()
      const values = Array.from({ length: 16 }, (_, i) => selfChecking(20_000 + i * 7919, `writer ${i}`))
      const reads: Array<string | null> = []
      await Promise.all([
        ...values.map((value) => storage.write(key, value, Date.now() + MINUTE)),
        ...values.map(async () => { reads.push(await storage.read(key)) }),
      ])
      const final = await storage.read(key)
      assert.ok(final !== null && values.includes(final), 'the value left is one that was written')
      for (const read of reads) assert.ok(read === null || values.includes(read), 'an overlapping read sees a whole value')
      const last = selfChecking(1000, 'last')
      await storage.write(key, last, Date.now() + MINUTE)
      assert.equal(await storage.read(key), last, 'the last completed write wins')
      assert.ok(isWhole(last))
      await storage.invalidate(key)
    }),
  },
  {
    name: 'a 1 MB value is kept whole',
    fakeClock: false,
    run: (make) => withStorage(make, async (storage) => {
      const key = randomKey()
      const value = selfChecking(1024 * 1024, 'é😀')
      await storage.write(key, value, Date.now() + MINUTE)
      const read = await storage.read(key)
      assert.ok(read !== null, 'the value is there')
      assert.equal(read.length, value.length)
      assert.ok(read === value && isWhole(read), 'the value is byte for byte the one written')
      await storage.invalidate(key)
    }),
  },
  {
    name: 'compareAndWrite writes only over the expected value, and one of racing writers wins',
    requires: 'compareAndWrite',
    fakeClock: false,
    run: (make) => withStorage(make, async (storage) => {
      if (storage.compareAndWrite === undefined) throw new ConformanceSkip('the storage has no compareAndWrite')
      const cas = storage.compareAndWrite.bind(storage)
      const key = randomKey()
      assert.equal(await cas(key, 'something', 'v1', Date.now() + MINUTE), false, 'an absent key is not "something"')
      assert.equal(await storage.read(key), null)
      assert.equal(await cas(key, null, 'v1', Date.now() + MINUTE), true, 'null expects the key absent')
      assert.equal(await storage.read(key), 'v1')
      assert.equal(await cas(key, null, 'v2', Date.now() + MINUTE), false, 'the key is no longer absent')
      assert.equal(await cas(key, 'v0', 'v2', Date.now() + MINUTE), false, 'a stale expectation loses')
      assert.equal(await storage.read(key), 'v1', 'and changes nothing')
      const outcomes = await Promise.all(Array.from({ length: 8 }, (_, i) => cas(key, 'v1', `racer ${i}`, Date.now() + MINUTE)))
      assert.equal(outcomes.filter(Boolean).length, 1, 'exactly one of the racing writers wins')
      assert.equal(await storage.read(key), `racer ${outcomes.indexOf(true)}`, 'and its value is stored')
      await storage.write(key, 'expired', Date.now() - 1000)
      assert.equal(await cas(key, null, 'after expiry', Date.now() + MINUTE), true, 'an expired key counts as absent')
      assert.equal(await storage.read(key), 'after expiry')
      await storage.invalidate(key)
    }),
  },
  {
    name: 'compareAndWrite gives the value its expiry, or none with null',
    requires: 'compareAndWrite',
    fakeClock: true,
    run: (make) => withStorage(make, async (storage) => {
      if (storage.compareAndWrite === undefined) throw new ConformanceSkip('the storage has no compareAndWrite')
      const base = Date.now()
      const key = randomKey()
      const forever = randomKey()
      assert.equal(await storage.compareAndWrite(key, null, 'v1', base + MINUTE), true)
      await storage.write(forever, 'old', base + MINUTE)
      assert.equal(await storage.compareAndWrite(forever, 'old', 'kept', null), true)
      await withClock(() => base + MINUTE - 1, async () => {
        assert.equal(await storage.read(key), 'v1', 'one millisecond before the expiry')
      })
      await withClock(() => base + MINUTE, async () => {
        assert.equal(await storage.read(key), null, 'at the expiry')
      })
      await withClock(() => base + 100 * MINUTE, async () => {
        assert.equal(await storage.read(forever), 'kept', 'null: no expiry, whatever the value replaced had')
      })
      await storage.invalidate(key)
      await storage.invalidate(forever)
    }),
  },
  {
    name: 'a compareAndWrite whose expiry has already passed leaves nothing to read',
    requires: 'compareAndWrite',
    fakeClock: false,
    run: (make) => withStorage(make, async (storage) => {
      if (storage.compareAndWrite === undefined) throw new ConformanceSkip('the storage has no compareAndWrite')
      const key = randomKey()
      await storage.write(key, 'v1', Date.now() + MINUTE)
      assert.equal(await storage.compareAndWrite(key, 'v0', 'v2', Date.now() - 1000), false, 'a stale expectation still loses')
      assert.equal(await storage.read(key), 'v1', 'and removes nothing')
      assert.equal(await storage.compareAndWrite(key, 'v1', 'v2', Date.now() - 1000), true, 'the expected value is replaced')
      assert.equal(await storage.read(key), null, 'by nothing')
      assert.equal(await storage.compareAndWrite(key, null, 'v3', Date.now() + MINUTE), true, 'the key is absent again')
      assert.equal(await storage.read(key), 'v3')
      await storage.invalidate(key)
    }),
  },
  {
    // No `requires`: readEntry is what a cache in front uses to learn an expiry, and a storage
    // without it is served correctly (uncached), so the case checks it only where it exists.
    name: 'readEntry, where the storage has it, answers as read does, with the expiry the value was given',
    fakeClock: false,
    run: (make) => withStorage(make, async (storage) => {
      if (storage.readEntry === undefined) return
      const readEntry = storage.readEntry.bind(storage)
      const key = randomKey()
      const forever = randomKey()
      const expiresAt = Date.now() + MINUTE
      assert.equal(await readEntry(key), null, 'an unknown key')
      await storage.write(key, 'value', expiresAt)
      await storage.write(forever, 'forever', null)
      assert.deepEqual(await readEntry(key), { value: 'value', expiresAt })
      assert.deepEqual(await readEntry(forever), { value: 'forever', expiresAt: null })
      if (storage.touch !== undefined) {
        await storage.touch(key, expiresAt + MINUTE)
        assert.deepEqual(await readEntry(key), { value: 'value', expiresAt: expiresAt + MINUTE }, 'touch moves the expiry it reports')
      }
      await storage.write(key, 'stale', Date.now() - 1000)
      assert.equal(await readEntry(key), null, 'a write whose expiry has passed')
      await storage.invalidate(forever)
      assert.equal(await readEntry(forever), null, 'an invalidated key')
    }),
  },
  ...subjectCases(),
  {
    // No `requires`, like readEntry: a storage without pub/sub serves one process correctly.
    name: 'publishEnded, where the storage has it, reaches the subscribeEnded listeners',
    fakeClock: false,
    run: (make) => withStorage(make, async (storage) => {
      if (storage.publishEnded === undefined || storage.subscribeEnded === undefined) return
      const heard: string[][] = []
      await storage.subscribeEnded((keys) => { heard.push(keys) })
      const keys = [randomKey(), randomKey()]
      // Delivery is asynchronous: published until heard, a bounded number of times.
      for (let round = 0; round < 50 && !heard.some((k) => k.includes(keys[0] as string)); round++) {
        await storage.publishEnded(keys)
        await sleep(20)
      }
      assert.ok(heard.some((k) => keys.every((key) => k.includes(key))), 'the listener heard the ended keys')
    }),
  },
  {
    name: 'close can be called twice',
    requires: 'close',
    fakeClock: false,
    run: async (make) => {
      const storage = await make()
      await storage.write(randomKey(), 'value', Date.now() + MINUTE)
      if (storage.close === undefined) throw new ConformanceSkip('the storage has no close')
      await assert.doesNotReject(storage.close())
      await assert.doesNotReject(storage.close())
    },
  },
]

/** The subject index under test, or a skip; `subjectEntries` sorted by key, for comparisons. */
function subjectIndex (storage: SessionStorage): WithSubjects & { sorted (subject: string): Promise<SubjectEntry[]> } {
  if (!hasSubjects(storage)) throw new ConformanceSkip('the storage has no subject index')
  const sorted = async (subject: string): Promise<SubjectEntry[]> =>
    (await storage.subjectEntries(subject)).sort((a, b) => a.key < b.key ? -1 : a.key > b.key ? 1 : 0)
  return Object.assign(storage, { sorted })
}

/** Writes a session under each key (as the plugin does right after indexing it). */
async function sessions (storage: SessionStorage, keys: readonly string[], expiresAt: number | null): Promise<void> {
  await Promise.all(keys.map((key) => storage.write(key, 'session', expiresAt)))
}

// The subject index (a user's sessions): entries by subject, with their metadata and expiry.
function subjectCases (): StorageConformanceCase[] {
  return [
    {
      name: 'subject index: entries read back with their values and expiries, each subject apart',
      requires: 'indexSubject',
      fakeClock: false,
      run: (make) => withStorage(make, async (raw) => {
        const storage = subjectIndex(raw)
        const [ann, bob] = [randomKey(), randomKey()]
        const keys = [randomKey(), randomKey(), randomKey()].sort() as [string, string, string]
        const expiresAt = Date.now() + MINUTE
        await sessions(storage, keys, expiresAt)
        assert.deepEqual(await storage.subjectEntries(ann), [], 'an unknown subject has no entries')
        await storage.indexSubject(ann, keys[0], '{"s":1}', expiresAt)
        await storage.indexSubject(ann, keys[1], 'é😀 metadata', null)
        await storage.indexSubject(bob, keys[2], '', expiresAt)
        assert.deepEqual(await storage.sorted(ann), [
          { key: keys[0], value: '{"s":1}', expiresAt },
          { key: keys[1], value: 'é😀 metadata', expiresAt: null },
        ])
        assert.deepEqual(await storage.sorted(bob), [{ key: keys[2], value: '', expiresAt }])
        await storage.indexSubject(ann, keys[0], '{"s":2}', expiresAt + MINUTE)
        assert.deepEqual((await storage.sorted(ann))[0], { key: keys[0], value: '{"s":2}', expiresAt: expiresAt + MINUTE }, 'indexing a key again replaces its entry')
        await storage.unindexSubject(ann, [keys[0], randomKey()])
        assert.deepEqual((await storage.sorted(ann)).map((e) => e.key), [keys[1]], 'unindex removes the keys named, unknown ones are no error')
        await storage.unindexSubject(ann, [keys[1]])
        await storage.unindexSubject(bob, [keys[2]])
        assert.deepEqual(await storage.subjectEntries(ann), [])
        await Promise.all(keys.map((key) => storage.invalidate(key)))
      }),
    },
    {
      name: 'subject index: entries expire with their expiry, in real time',
      requires: 'indexSubject',
      fakeClock: false,
      run: (make) => withStorage(make, async (raw) => {
        const storage = subjectIndex(raw)
        const subject = randomKey()
        const [short, long] = [randomKey(), randomKey()]
        const expiresAt = Date.now() + 800
        await sessions(storage, [short], expiresAt)
        await sessions(storage, [long], Date.now() + MINUTE)
        await storage.indexSubject(subject, short, 'short', expiresAt)
        await storage.indexSubject(subject, long, 'long', Date.now() + MINUTE)
        await storage.indexSubject(subject, randomKey(), 'past', Date.now() - 1000)
        assert.equal((await storage.subjectEntries(subject)).length, 2, 'an entry whose expiry has passed is not added')
        await sleep(expiresAt - Date.now() + 150)
        assert.deepEqual((await storage.subjectEntries(subject)).map((e) => e.value), ['long'])
        await storage.unindexSubject(subject, [long])
        await storage.invalidate(long)
      }),
    },
    {
      name: 'subject index: many expired entries of one subject leave nothing behind',
      requires: 'indexSubject',
      fakeClock: true,
      run: (make) => withStorage(make, async (raw) => {
        const storage = subjectIndex(raw)
        const subject = randomKey()
        const base = Date.now()
        const keys = Array.from({ length: 100 }, () => randomKey())
        await sessions(storage, keys, base + MINUTE)
        for (const key of keys) await storage.indexSubject(subject, key, 'm', base + MINUTE)
        assert.equal((await storage.subjectEntries(subject)).length, 100)
        await withClock(() => base + MINUTE, async () => {
          assert.deepEqual(await storage.subjectEntries(subject), [], 'at the expiry')
          const fresh = randomKey()
          await sessions(storage, [fresh], base + 2 * MINUTE)
          await storage.indexSubject(subject, fresh, 'new', base + 2 * MINUTE)
          assert.deepEqual((await storage.subjectEntries(subject)).map((e) => e.key), [fresh], 'only the live entry')
          await storage.unindexSubject(subject, [fresh])
          await storage.invalidate(fresh)
        })
      }),
    },
    {
      name: 'subject index: concurrent indexing of one subject loses no entry',
      requires: 'indexSubject',
      fakeClock: false,
      run: (make) => withStorage(make, async (raw) => {
        const storage = subjectIndex(raw)
        const subject = randomKey()
        const keys = Array.from({ length: 20 }, () => randomKey()).sort()
        const expiresAt = Date.now() + MINUTE
        await sessions(storage, keys, expiresAt)
        await Promise.all(keys.map((key) => storage.indexSubject(subject, key, key.slice(0, 4), expiresAt)))
        assert.deepEqual((await storage.sorted(subject)).map((e) => e.key), keys)
        await Promise.all([storage.unindexSubject(subject, keys.slice(0, 10)), storage.unindexSubject(subject, keys.slice(10))])
        assert.deepEqual(await storage.subjectEntries(subject), [])
        await Promise.all(keys.map((key) => storage.invalidate(key)))
      }),
    },
  ]
}
