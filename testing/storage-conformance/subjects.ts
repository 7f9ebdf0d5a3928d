// The conformance cases of the subject index (a user's sessions): entries by subject, with their
// metadata and expiry, apart per subject, never growing past their sessions.
import assert from 'node:assert/strict'
import { hasSubjects, type SessionStorage, type SubjectEntry, type WithSubjects } from '../../storages/storage.js'
import { ConformanceSkip, type StorageConformanceCase } from './case.js'
import { MINUTE, randomKey, untilPast, withClock, withStorage } from './support.js'

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

export const subjectCases: StorageConformanceCase[] = [
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
    // Real time, for storages that judge expiry by their own clock (Redis). No allowance of
    // wall-clock time, as in expiry.ts: a listing that ended before the short entry's expiry must
    // show it (a loaded machine makes the next round's entry live longer), one past it must not.
    name: 'subject index: entries expire with their expiry, in real time',
    requires: 'indexSubject',
    fakeClock: false,
    run: (make) => withStorage(make, async (raw) => {
      const storage = subjectIndex(raw)
      const subject = randomKey()
      const long = randomKey()
      await sessions(storage, [long], Date.now() + MINUTE)
      await storage.indexSubject(subject, long, 'long', Date.now() + MINUTE)
      await storage.indexSubject(subject, randomKey(), 'past', Date.now() - 1000)
      let expiresAt = 0
      let short = ''
      for (let life = 200; ; life *= 2) {
        assert.ok(life <= MINUTE, 'no listing ended within a minute of its write')
        short = randomKey()
        expiresAt = Date.now() + life
        await sessions(storage, [short], expiresAt)
        await storage.indexSubject(subject, short, 'short', expiresAt)
        const listed = (await storage.subjectEntries(subject)).map((e) => e.value).sort()
        if (Date.now() < expiresAt) {
          assert.deepEqual(listed, ['long', 'short'], 'a listing before the expiry: an entry whose expiry had passed was never added')
          break
        }
        await storage.unindexSubject(subject, [short])
      }
      await untilPast(expiresAt)
      assert.deepEqual((await storage.subjectEntries(subject)).map((e) => e.value), ['long'], 'a listing past the expiry')
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
