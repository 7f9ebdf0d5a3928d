// A request's edges: a hijacked reply still saves, mistakes at run time say what to do: one file per subject in test/requests/, run in one process (each test process
// costs ~2 s of CPU to load tap, Fastify and the sources through the loader). Their tests run in this order.
import './requests/hijack-and-save.js'
import './requests/runtime-errors.js'
