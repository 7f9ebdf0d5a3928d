// The package root: every public name of API.md.
import { fastifySessions } from './plugin.js'

export { fastifySessions }
export default fastifySessions
export type { SessionsOptions } from './plugin.js'
export { cookieSession, headerSession } from './provider.js'
export type { SessionProvider, SessionPayload, InvalidReason } from './provider.js'
export type { CookieOptions, CookieSessionOptions, HeaderSessionOptions } from './provider-options.js'
export type { SessionContainer, ProviderRef } from './container.js'
export { jsonSerializer } from './serializer.js'
export type { SessionSerializer } from './serializer.js'
export type { CookieEncoding } from './cookie-encoding.js'
export * from './errors.js'
export type { SessionStorage } from '../storages/storage.js'
export type { SessionTransportTransformer } from '../transformers/transformer.js'
export { messageAuthentication } from '../transformers/message-authentication.js'
export type { MessageAuthenticationOptions } from '../transformers/message-authentication.js'
export { hex } from '../transformers/keys.js'
export type { KeyInput } from '../transformers/keys.js'
