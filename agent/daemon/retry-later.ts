/**
 * Instructions that could not start (the app locked, the release out of reach) wait and are tried
 * again, each app with doubling waits (capped at 32×), so a cause that does not go away costs little.
 */
export class RetryLater {
  private readonly timers = new Map<string, NodeJS.Timeout>();
  private readonly counts = new Map<string, number>();

  constructor(
    private readonly baseMs: number,
    private readonly due: (app: string) => void,
  ) {}

  get waiting(): number {
    return this.timers.size;
  }

  schedule(app: string): void {
    clearTimeout(this.timers.get(app));
    const tries = (this.counts.get(app) ?? 0) + 1;
    this.counts.set(app, tries);
    const timer = setTimeout(
      () => {
        this.timers.delete(app);
        this.due(app);
      },
      this.baseMs * 2 ** Math.min(tries - 1, 5),
    );
    this.timers.set(app, timer);
  }

  /** The app's instruction ran to a report: its next one starts from the shortest wait. */
  done(app: string): void {
    this.counts.delete(app);
  }

  /** Stops every wait and returns the apps that were waiting (to try them now, or never). */
  takeAll(): string[] {
    for (const timer of this.timers.values()) clearTimeout(timer);
    const apps = [...this.timers.keys()];
    this.timers.clear();
    return apps;
  }
}
