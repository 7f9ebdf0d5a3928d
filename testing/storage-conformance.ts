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
 * expiry case instead, which allows no fixed amount of wall-clock time (see expiry.ts).
 *
 * The cases live in storage-conformance/, one file per capability; this module puts them together.
 *
 * The optional methods (`touch`, `compareAndWrite`, `close`, and the subject index, marked
 * `requires: 'indexSubject'`) each have cases marked `requires`: skip those for a storage without
 * the method. `readEntry`, and `publishEnded` / `subscribeEnded`, are checked by cases that pass
 * trivially for a storage without them.
 */
import { basicCases } from './storage-conformance/basics.js'
import type { StorageConformanceCase } from './storage-conformance/case.js'
import { closeCases } from './storage-conformance/close.js'
import { compareAndWriteCases } from './storage-conformance/compare-and-write.js'
import { endedCases } from './storage-conformance/ended.js'
import { expiryCases } from './storage-conformance/expiry.js'
import { keyAndValueCases } from './storage-conformance/keys-and-values.js'
import { readEntryCases } from './storage-conformance/read-entry.js'
import { subjectCases } from './storage-conformance/subjects.js'
import { touchCases } from './storage-conformance/touch.js'

export { ConformanceSkip, type MakeStorage, type OptionalStorageMethod, type StorageConformanceCase } from './storage-conformance/case.js'

export const storageConformance: StorageConformanceCase[] = [
  ...basicCases,
  ...expiryCases,
  ...touchCases,
  ...keyAndValueCases,
  ...compareAndWriteCases,
  ...readEntryCases,
  ...subjectCases,
  ...endedCases,
  ...closeCases,
]
