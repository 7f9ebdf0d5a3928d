// The demo driven by a real browser: one file per subject in test/demo-browser/, run in one process (each test process
// costs ~2 s of CPU to load tap, Fastify and the sources through the loader). Their tests run in this order.
import './demo-browser/pages.js'
import './demo-browser/devices.js'
import './demo-browser/socket.js'
