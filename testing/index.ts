export * from './storage-conformance.js'
export * from './transformer-conformance.js'
