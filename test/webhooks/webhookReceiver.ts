/**
 * Test fixture: a real HTTP receiver on 127.0.0.1 that records every request (headers, raw body,
 * arrival time) and answers as the test's `respond` says: a status, after a delay, or never.
 */
import { createServer } from "node:http"
import type { IncomingHttpHeaders, Server } from "node:http"
import type { AddressInfo } from "node:net"
import { Webhook } from "standardwebhooks"

export interface ReceivedRequest {
  readonly method: string
  readonly path: string
  readonly headers: IncomingHttpHeaders
  readonly body: string
  readonly receivedAt: number
}

/** How to answer the n-th request (0-based): a status (after `delayMillis`), or `hang` to never answer. */
export type Respond = (request: ReceivedRequest, index: number) =>
  | { readonly status: number; readonly delayMillis?: number; readonly headers?: Record<string, string>; readonly body?: string }
  | "hang"

export interface Receiver {
  readonly url: string
  readonly requests: Array<ReceivedRequest>
  readonly close: () => Promise<void>
}

/** Starts a receiver on 127.0.0.1, port 0. Answers 200 unless `respond` says otherwise. */
export const startReceiver = async (respond: Respond = () => ({ status: 200 })): Promise<Receiver> => {
  const requests: Array<ReceivedRequest> = []
  const server: Server = createServer((req, res) => {
    const chunks: Array<Buffer> = []
    req.on("data", (chunk: Buffer) => chunks.push(chunk))
    req.on("end", () => {
      const request: ReceivedRequest = {
        method: req.method ?? "",
        path: req.url ?? "",
        headers: req.headers,
        body: Buffer.concat(chunks).toString("utf8"),
        receivedAt: Date.now()
      }
      const index = requests.length
      requests.push(request)
      const answer = respond(request, index)
      if (answer === "hang") return
      setTimeout(() => {
        res.writeHead(answer.status, answer.headers ?? {})
        res.end(answer.body ?? "ok")
      }, answer.delayMillis ?? 0)
    })
  })
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve))
  const { port } = server.address() as AddressInfo
  return {
    url: `http://127.0.0.1:${port}/hooks`,
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections()
        server.close(() => resolve())
      })
  }
}

/** Verifies a received request with the real Standard Webhooks verifier; throws when the signature does not hold. */
export const verifyRequest = (secret: string, request: ReceivedRequest): unknown =>
  new Webhook(secret).verify(request.body, {
    "webhook-id": String(request.headers["webhook-id"]),
    "webhook-timestamp": String(request.headers["webhook-timestamp"]),
    "webhook-signature": String(request.headers["webhook-signature"])
  })

/** Polls `check` every 10 ms until it holds, or fails after `timeoutMillis`. */
export const eventually = async (check: () => boolean, timeoutMillis = 5_000, what = "condition"): Promise<void> => {
  const deadline = Date.now() + timeoutMillis
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 10))
  }
}
