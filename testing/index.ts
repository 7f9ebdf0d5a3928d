export * from './storage-conformance.js'
export * from './transformer-conformance.js'
export * from './session-kit.js'
