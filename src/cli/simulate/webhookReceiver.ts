/**
 * A local webhook receiver for `simulate`: an HTTP server on 127.0.0.1 that checks every request's
 * Standard Webhooks signature with the `standardwebhooks` package, answers 204, and counts what it
 * got. Repeats (same `webhook-id`, as at-least-once delivery allows) are counted once.
 */
import { createServer } from "node:http"
import type { AddressInfo } from "node:net"
import { Webhook } from "standardwebhooks"

export interface ReceivedWebhook {
  readonly id: string
  readonly type: string
  readonly callId: string | null
  readonly body: unknown
}

export interface WebhookReceiver {
  readonly url: string
  /** Sets the `whsec_` secret signatures are checked with (known once the endpoint is registered). */
  readonly setSecret: (secret: string) => void
  /** Verified, distinct by `webhook-id`. */
  readonly received: ReadonlyMap<string, ReceivedWebhook>
  readonly stats: () => { readonly requests: number; readonly verified: number; readonly rejected: number; readonly duplicates: number }
  readonly close: () => Promise<void>
}

export const startWebhookReceiver = async (): Promise<WebhookReceiver> => {
  let verifier: Webhook | null = null
  const received = new Map<string, ReceivedWebhook>()
  let requests = 0
  let verified = 0
  let rejected = 0
  let duplicates = 0
  const server = createServer((req, res) => {
    const chunks: Array<Buffer> = []
    req.on("data", (chunk: Buffer) => chunks.push(chunk))
    req.on("end", () => {
      requests++
      const body = Buffer.concat(chunks).toString("utf8")
      try {
        if (verifier === null) throw new Error("no secret yet")
        const payload = verifier.verify(body, req.headers as Record<string, string>) as { type: string; data?: { id?: string } }
        verified++
        const id = String(req.headers["webhook-id"])
        if (received.has(id)) duplicates++
        received.set(id, { id, type: payload.type, callId: payload.data?.id ?? null, body: payload })
        res.writeHead(204).end()
      } catch {
        rejected++
        res.writeHead(400).end()
      }
    })
  })
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve))
  const { port } = server.address() as AddressInfo
  return {
    url: `http://127.0.0.1:${port}/webhooks`,
    setSecret: (secret) => {
      verifier = new Webhook(secret)
    },
    received,
    stats: () => ({ requests, verified, rejected, duplicates }),
    close: () => new Promise<void>((resolve) => server.close(() => resolve()))
  }
}
