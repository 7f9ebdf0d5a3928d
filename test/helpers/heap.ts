// The heap in use after full collections, for tests that measure what a structure keeps alive.
import v8 from 'node:v8'
import vm from 'node:vm'

v8.setFlagsFromString('--expose-gc')
const gc = vm.runInNewContext('gc') as () => void

/** Bytes of heap in use after two full garbage collections. */
export function heapBytes (): number {
  gc()
  gc()
  return process.memoryUsage().heapUsed
}

/** The same, in megabytes. */
export function heapMB (): number {
  return heapBytes() / 1e6
}
