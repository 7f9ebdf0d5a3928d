// The directory storage lives in storages/directory/; this path stays for its importers.
export * from './directory/index.js'
