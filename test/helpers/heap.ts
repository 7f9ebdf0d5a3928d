// The heap in use after full collections, for tests that measure what a structure keeps alive.
import v8 from 'node:v8'
import vm from 'node:vm'

v8.setFlagsFromString('--expose-gc')
const gc = vm.runInNewContext('gc') as () => void

/** Megabytes of heap in use after two full garbage collections. */
export function heapMB (): number {
  gc()
  gc()
  return process.memoryUsage().heapUsed / 1e6
}
