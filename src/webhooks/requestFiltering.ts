/**
 * SSRF protection for webhook requests: HTTP(S) agents (request-filtering-agent) that check the
 * address a subscriber URL resolves to at connect time, so DNS tricks cannot reach internal hosts.
 */
import * as http from "node:http"
import * as https from "node:https"
import { RequestFilteringHttpAgent, RequestFilteringHttpsAgent } from "request-filtering-agent"

/**
 * Which addresses webhook requests may reach. Public unicast addresses are always allowed.
 * `allowLoopback` (default true): 127.0.0.1 and ::1, for local receivers.
 * `allowPrivateNetworks` (default false): RFC 1918, unique-local, CGNAT, link-local (169.254/16,
 * cloud metadata) and other non-unicast ranges.
 */
export interface RequestFilteringOptions {
  readonly allowLoopback?: boolean | undefined
  readonly allowPrivateNetworks?: boolean | undefined
}

/** The agents `got` uses, per protocol. */
export interface WebhookAgents {
  readonly http: http.Agent
  readonly https: https.Agent
}

// Exact addresses, not CIDRs: the library warns when it matches an IPv6 address against an IPv4 CIDR.
const loopbackAddresses = ["127.0.0.1", "::1"]

/** Keep-alive agents, filtering addresses unless `filtering` is false. Destroy them when done. */
export const makeWebhookAgents = (filtering: RequestFilteringOptions | false): WebhookAgents => {
  if (filtering === false) {
    return { http: new http.Agent({ keepAlive: true }), https: new https.Agent({ keepAlive: true }) }
  }
  const allowLoopback = filtering.allowLoopback ?? true
  const allowPrivate = filtering.allowPrivateNetworks ?? false
  const options = allowPrivate
    ? { keepAlive: true, allowPrivateIPAddress: true, denyIPAddressList: allowLoopback ? [] : loopbackAddresses }
    : { keepAlive: true, allowPrivateIPAddress: false, allowIPAddressList: allowLoopback ? loopbackAddresses : [] }
  return { http: new RequestFilteringHttpAgent(options), https: new RequestFilteringHttpsAgent(options) }
}
