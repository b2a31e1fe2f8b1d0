/** Korea keeps one offset all year (KST, UTC+9, no daylight saving). */
const KST_OFFSET_MS = 9 * 3_600_000;

/** The calendar date in Korea at `at`, `YYYY-MM-DD`: the day users mean by "today" (views, ages, daily counts). */
export const koreanDate = (at: Date = new Date()): string => new Date(at.getTime() + KST_OFFSET_MS).toISOString().slice(0, 10);
