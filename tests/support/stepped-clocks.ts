/**
 * The process's clocks, moved by a test: `wall` shifts Date.now (NTP stepping the host's clock),
 * `elapsed` shifts performance.now (time that passed). Installed before the code under test starts,
 * since it may keep the functions themselves (`now = Date.now`); undone by vi.restoreAllMocks().
 */
import { vi } from "vitest";

export interface ClockShift {
  wall: number;
  elapsed: number;
}

export function steppedClocks(): ClockShift {
  const wall = Date.now.bind(Date);
  const elapsed = performance.now.bind(performance);
  const shift: ClockShift = { wall: 0, elapsed: 0 };
  vi.spyOn(Date, "now").mockImplementation(() => wall() + shift.wall);
  vi.spyOn(performance, "now").mockImplementation(() => elapsed() + shift.elapsed);
  return shift;
}
