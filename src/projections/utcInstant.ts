/**
 * Instants as the read models store them: `Date.prototype.toISOString` form
 * (`2024-02-01T09:14:03.000Z`), so text order is time order and a rebuild writes the same bytes.
 */

/** Thrown for a string that is not an ISO-8601 instant. */
export class InvalidInstant extends Error {
  constructor(readonly value: string) {
    super(`not an ISO-8601 instant: ${value}`)
    this.name = "InvalidInstant"
  }
}

/** Normalises an ISO-8601 instant to UTC with milliseconds; throws `InvalidInstant`. */
export const toUtcInstant = (iso: string): string => {
  const ms = Date.parse(iso)
  if (Number.isNaN(ms)) throw new InvalidInstant(iso)
  return new Date(ms).toISOString()
}

/** The UTC day (`YYYY-MM-DD`) of a normalised instant. */
export const utcDay = (instant: string): string => instant.slice(0, 10)

const millisPerDay = 86_400_000

/** Start of a UTC day as a normalised instant. */
export const startOfUtcDay = (day: string): string => `${day}T00:00:00.000Z`

/** Last millisecond of a UTC day as a normalised instant. */
export const endOfUtcDay = (day: string): string => `${day}T23:59:59.999Z`

/** The UTC day `days` after `day` (negative goes back). */
export const addUtcDays = (day: string, days: number): string =>
  new Date(Date.parse(startOfUtcDay(day)) + days * millisPerDay).toISOString().slice(0, 10)

/** The first UTC day that starts at or after the normalised instant `from`: its own day when it is that day's start. */
export const firstWholeUtcDay = (from: string): string =>
  from === startOfUtcDay(utcDay(from)) ? utcDay(from) : addUtcDays(utcDay(from), 1)

/** The last UTC day that ends at or before the normalised instant `to`: its own day when it is that day's last millisecond. */
export const lastWholeUtcDay = (to: string): string => to === endOfUtcDay(utcDay(to)) ? utcDay(to) : addUtcDays(utcDay(to), -1)

/** The UTC hour (`YYYY-MM-DDTHH`) of a normalised instant. */
export const utcHour = (instant: string): string => instant.slice(0, 13)

/** Start of a UTC hour as a normalised instant. */
export const startOfUtcHour = (hour: string): string => `${hour}:00:00.000Z`

/** Last millisecond of a UTC hour as a normalised instant. */
export const endOfUtcHour = (hour: string): string => `${hour}:59:59.999Z`

/** The UTC hour `hours` after `hour` (negative goes back). */
export const addUtcHours = (hour: string, hours: number): string =>
  new Date(Date.parse(startOfUtcHour(hour)) + hours * 3_600_000).toISOString().slice(0, 13)

/** The UTC month (`YYYY-MM`) of a normalised instant, an hour or a day. */
export const utcMonth = (instant: string): string => instant.slice(0, 7)

/** The UTC month `months` after `month` (negative goes back), for years 0000 to 9999. */
export const addUtcMonths = (month: string, months: number): string => {
  // Integer months, not `Date.UTC`, which reads the years 0 to 99 as 1900 to 1999.
  const [year, m] = month.split("-").map(Number) as [number, number]
  const index = year * 12 + (m - 1) + months
  return `${String(Math.floor(index / 12)).padStart(4, "0")}-${String((index % 12) + 1).padStart(2, "0")}`
}

/** First day (`YYYY-MM-DD`) of a UTC month. */
export const firstDayOfUtcMonth = (month: string): string => `${month}-01`

/** Last day (`YYYY-MM-DD`) of a UTC month. */
export const lastDayOfUtcMonth = (month: string): string => addUtcDays(firstDayOfUtcMonth(addUtcMonths(month, 1)), -1)
