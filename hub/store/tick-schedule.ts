/**
 * When a claimed periodic job is due next. Due times stay on the grid of the first claim (a
 * multiple of the interval after the due time just claimed), not "now + interval": every hub's
 * timer fires a little late each time, and with due times counted from each claim the job ran
 * once per interval plus the claiming hub's lateness, so a 1 s tick left about one interval in
 * ten without a tick under load while other hubs' timers fired in it. On the grid, the first claim
 * attempt after each due time (any hub's) takes it: once per interval, never twice in one. An
 * interval nobody claimed in (every hub stalled or down) is skipped, not made up in a burst.
 */
export function nextDueAt(dueAt: number, now: number, intervalMs: number): number {
  if (!(intervalMs > 0)) return now;
  const passed = Math.max(0, Math.floor((now - dueAt) / intervalMs));
  return dueAt + (passed + 1) * intervalMs;
}
