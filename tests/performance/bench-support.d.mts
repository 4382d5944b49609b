// Types of bench-support.mjs for the benchmarks written in TypeScript (cluster-bench.ts, run with
// vite-node so it can use the test harness in tests/support).
import type { ChildProcess } from "node:child_process";

export const repoRoot: string;
export const dist: string;
export function benchScale(): number;
export function benchCount(name: string, fallback: number): number;
export function procStatusKb(pid: number | undefined, field: string): number | undefined;
export function procCpuMs(pid: number | undefined): number;
export function openFilesLimits(): { soft: number; hard: number };
export function percentile(sorted: readonly number[], p: number): number;
export function printTable(title: string, header: string[], rows: (string | number)[][]): void;
export function machineNote(): string;
export const fmt: {
  ms(ms: number): string;
  kb(kb: number): string;
  int(n: number): string;
};
export function stopChild(child: ChildProcess, signal?: NodeJS.Signals): Promise<void>;
export function sleep(ms: number): Promise<void>;
