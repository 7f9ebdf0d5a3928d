import createError from '@fastify/error'

// Every coded error of the package. Messages never carry a session value or a key.

export const FST_SESSIONS_DUPLICATE = createError(
  'FST_SESSIONS_DUPLICATE',
  'Session provider %s is registered twice: %s',
  500
)

export const FST_SESSIONS_UNKNOWN = createError(
  'FST_SESSIONS_UNKNOWN',
  'Session provider "%s" is not registered or not loaded on this route',
  500
)

export const FST_SESSIONS_INVALID_PAYLOAD = createError(
  'FST_SESSIONS_INVALID_PAYLOAD',
  'Session "%s" cannot be set: %s',
  500
)

export const FST_SESSIONS_TOO_LARGE = createError(
  'FST_SESSIONS_TOO_LARGE',
  'Session "%s" is too large to travel in cookies: %s',
  500
)

export const FST_SESSIONS_ALREADY_SENT = createError(
  'FST_SESSIONS_ALREADY_SENT',
  'Session "%s" cannot be changed: the response has already started',
  500
)

export const FST_SESSIONS_STORAGE_UNAVAILABLE = createError(
  'FST_SESSIONS_STORAGE_UNAVAILABLE',
  'Session storage unavailable: %s',
  503
)

export const FST_SESSIONS_OPTIONS = createError(
  'FST_SESSIONS_OPTIONS',
  'Invalid fastify-sessions options: %s',
  500
)

export const FST_SESSIONS_CONFLICT = createError(
  'FST_SESSIONS_CONFLICT',
  'Session "%s" changed since this request read it',
  409
)

/** Every error constructor, by code: the README's errors table is checked against this. */
export const errorCodes = {
  FST_SESSIONS_DUPLICATE,
  FST_SESSIONS_UNKNOWN,
  FST_SESSIONS_INVALID_PAYLOAD,
  FST_SESSIONS_TOO_LARGE,
  FST_SESSIONS_ALREADY_SENT,
  FST_SESSIONS_STORAGE_UNAVAILABLE,
  FST_SESSIONS_OPTIONS,
  FST_SESSIONS_CONFLICT,
} as const
