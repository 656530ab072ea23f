import { randomBytes } from "node:crypto"
import { Webhook } from "standardwebhooks"
import { describe, expect, it } from "vitest"
import { signWebhook } from "../../src/webhooks/webhookSigning.js"

describe("signWebhook (node's HMAC)", () => {
  it("signs exactly as the standardwebhooks package does, and its signatures verify with it", () => {
    for (let i = 0; i < 200; i++) {
      const secret = `whsec_${randomBytes(24 + (i % 40)).toString("base64")}`
      const body = JSON.stringify({ type: "call.completed", data: { id: `cal_${i}`, text: "ñ ✓ ".repeat(i % 7) } })
      const at = Date.now() - i * 1_234
      const ours = signWebhook(`msg_${i}`, at, body, [secret])
      const theirs = new Webhook(secret).sign(`msg_${i}`, new Date(at), body)
      expect(ours["webhook-signature"]).toBe(theirs)
      expect(new Webhook(secret).verify(body, { ...ours })).toEqual(JSON.parse(body))
    }
  })
})
