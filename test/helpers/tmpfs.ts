import { execFileSync } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Test } from 'tap'

// A small tmpfs gives a real read-only or full file system; mounting one needs the right to mount
// (root, or CAP_SYS_ADMIN), which CI has.

/** Whether this process may mount a tmpfs. */
export const canMount = ((): boolean => {
  const probe = mkdtempSync(join(tmpdir(), 'fss-mount-probe-'))
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=64k', 'tmpfs', probe], { stdio: 'ignore' })
    execFileSync('umount', [probe], { stdio: 'ignore' })
    return true
  } catch {
    return false
  } finally {
    rmSync(probe, { recursive: true, force: true })
  }
})()

/** A tmpfs of `size` (e.g. '256k'), unmounted and removed in teardown. */
export function mountTmpfs (t: Test, size: string): string {
  const mountPoint = mkdtempSync(join(tmpdir(), 'fss-tmpfs-'))
  t.teardown(() => rmSync(mountPoint, { recursive: true, force: true }))
  execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${size},mode=0700`, 'tmpfs', mountPoint], { stdio: 'ignore' })
  // Runs before the removal above: tap runs teardowns last registered first.
  t.teardown(() => { execFileSync('umount', ['-l', mountPoint], { stdio: 'ignore' }) })
  return mountPoint
}
