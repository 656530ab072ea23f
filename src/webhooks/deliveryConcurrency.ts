/** How many webhook attempts the dispatcher keeps in flight by default (`webhookDispatcher.ts`). */

/**
 * Attempts in flight per endpoint by default. One subscriber takes every call's webhooks, so its
 * deliveries/s are at most this over the round trip: at 4, a subscriber of a ledger taking 200
 * calls/s fell behind as soon as the loaded event loop stretched round trips past 20 ms (`npm run
 * bench`, end-to-end latency: p99 0.5-6 s; 22-40 ms at 16).
 */
export const defaultConcurrencyPerEndpoint = 16

/** Attempts in flight over all endpoints by default: four times one endpoint's, so a dead endpoint holds a quarter. */
export const defaultMaxConcurrency = 64
