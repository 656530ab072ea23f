import { describe, expect, it } from "vitest"
import { defaultRetryScheduleMillis, nextRetryDelay } from "../../src/webhooks/retrySchedule.js"
import { webhookTypeOf } from "../../src/webhooks/webhookEventTypes.js"

describe("retry schedule", () => {
  it("waits the schedule's delays in turn, then gives up", () => {
    const noJitter = () => 0.5
    expect([1, 2, 3].map((n) => nextRetryDelay([50, 100], n, 0.1, noJitter))).toEqual([50, 100, null])
    expect(nextRetryDelay(defaultRetryScheduleMillis, 1, 0, Math.random)).toBe(5_000)
    expect(nextRetryDelay(defaultRetryScheduleMillis, 7, 0, Math.random)).toBe(36_000_000)
    expect(nextRetryDelay(defaultRetryScheduleMillis, 8, 0, Math.random)).toBeNull()
  })

  it("keeps jitter within ±jitter of the delay", () => {
    expect(nextRetryDelay([1_000], 1, 0.1, () => 0)).toBe(900)
    expect(nextRetryDelay([1_000], 1, 0.1, () => 0.999999)).toBe(1_100)
    for (let i = 0; i < 200; i++) {
      const delay = nextRetryDelay([300_000], 1, 0.1, Math.random)!
      expect(delay).toBeGreaterThanOrEqual(270_000)
      expect(delay).toBeLessThanOrEqual(330_000)
    }
  })
})

describe("webhook types of call events", () => {
  it("maps CallEnded to call.completed and a final transcript only to call.transcribed", () => {
    expect(webhookTypeOf({ type: "CallEnded", data: {} })).toBe("call.completed")
    expect(webhookTypeOf({ type: "CallAnswered", data: {} })).toBe("call.answered")
    expect(webhookTypeOf({ type: "CallTransferred", data: {} })).toBe("call.transferred")
    expect(webhookTypeOf({ type: "CallDispositioned", data: {} })).toBe("call.dispositioned")
    expect(webhookTypeOf({ type: "CallTranscribed", data: { final: true } })).toBe("call.transcribed")
    expect(webhookTypeOf({ type: "CallTranscribed", data: { final: false } })).toBeNull()
    expect(webhookTypeOf({ type: "CallRinging", data: {} })).toBeNull()
  })
})
