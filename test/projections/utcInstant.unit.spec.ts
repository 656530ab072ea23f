import { describe, expect, it } from "vitest"
import { addUtcMonths, firstDayOfUtcMonth, lastDayOfUtcMonth, utcMonth } from "../../src/projections/utcInstant.js"

describe("UTC months (the stats' monthly rollup)", () => {
  it("steps across year ends both ways", () => {
    expect(addUtcMonths("2024-12", 1)).toBe("2025-01")
    expect(addUtcMonths("2025-01", -1)).toBe("2024-12")
    expect(addUtcMonths("2024-02", 23)).toBe("2026-01")
  })

  it("keeps the years 0000 to 0099 (Date.UTC would read them as 1900 to 1999)", () => {
    expect(addUtcMonths("0099-12", -1)).toBe("0099-11")
    expect(addUtcMonths("0000-01", 1)).toBe("0000-02")
    expect(lastDayOfUtcMonth("0099-02")).toBe("0099-02-28")
  })

  it("knows the last day of each month, leap Februaries included", () => {
    expect(lastDayOfUtcMonth("2024-02")).toBe("2024-02-29")
    expect(lastDayOfUtcMonth("2023-02")).toBe("2023-02-28")
    expect(lastDayOfUtcMonth("2100-02")).toBe("2100-02-28")
    expect(lastDayOfUtcMonth("2024-04")).toBe("2024-04-30")
    expect(lastDayOfUtcMonth("2024-12")).toBe("2024-12-31")
    expect(firstDayOfUtcMonth(utcMonth("2024-07-19T10:00:00.000Z"))).toBe("2024-07-01")
  })
})
