/** How many webhook attempts the dispatcher keeps in flight by default (`webhookDispatcher.ts`). */

/**
 * Attempts in flight per endpoint by default. One subscriber takes every call's webhooks, so its
 * deliveries/s are at most this over the round trip: at 4, a subscriber of a ledger taking 200
 * calls/s fell behind as soon as the loaded event loop stretched round trips past 20 ms (`npm run
 * bench`, end-to-end latency: p99 0.5-6 s; 22-40 ms at 16).
 */
export const defaultConcurrencyPerEndpoint = 16

/**
 * Attempts in flight over all endpoints by default: eight times one endpoint's, so an endpoint
 * that never answers holds an eighth of them (at 64, a quarter: the healthy endpoints' deliveries/s
 * beside a dead one varied from 0.79 to 1.2 of those without it; 0.97 at 128).
 */
export const defaultMaxConcurrency = 128
