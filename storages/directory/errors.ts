// The file-system error codes the directory storage expects, and the helper that lets them pass.

export function errorCode (err: unknown): string | undefined {
  return (err as NodeJS.ErrnoException | null)?.code
}

/** A rejection handler that swallows the errors with `codes` (resolving undefined) and rethrows others. */
export function ignore (...codes: string[]): (err: unknown) => undefined {
  return (err) => {
    if (!codes.includes(errorCode(err) ?? '')) throw err
    return undefined
  }
}
