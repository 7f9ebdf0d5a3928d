import { test } from 'tap'
import { messageAuthentication } from '../transformers/message-authentication.js'
import { hex } from '../transformers/keys.js'

test('the Ktor MAC vector is reproduced', async (t) => {
  const mac = messageAuthentication({ key: hex('000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f') })
  t.equal(mac.transformWrite('{"username":"John","count":1}'), '{"username":"John","count":1}/0ab564a5134a799ce24e843bf7f303a78e931ee99bf5a9d2d1966843b4af3b76')
})
