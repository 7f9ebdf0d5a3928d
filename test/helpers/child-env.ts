// The environment for a child process that runs a tool (npm, tsc) or a built copy (dist/, build/,
// compiled fixtures): tap's process-info hook still follows it (it wraps child_process itself),
// but `_TAPJS_PROCESSINFO_COVERAGE_=0` keeps it from recording V8's precise coverage, whose
// counters slow the child and whose output tap then reads (the package test wrote 8.9 MB of it
// for code that is not the package's sources). The sources' coverage comes from the test files.
/** The one variable that keeps a child out of coverage, for a test that builds its env from nothing. */
export const UNTRACED = { _TAPJS_PROCESSINFO_COVERAGE_: '0' } as const

export function untracedEnv (extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, ...extra, ...UNTRACED }
  delete env['NODE_V8_COVERAGE']
  return env
}
