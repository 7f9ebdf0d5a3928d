// The shape of a conformance case, and what a case throws to be reported as skipped.
import type { SessionStorage } from '../../storages/storage.js'

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
