/**
 * The format-independent half of a merge: walk the server's copy, the release's copy and (when
 * known) the previous release's copy side by side and decide, key by key, what the result takes.
 * Pure: the result is a list of edits against the server's copy, which each format then applies in
 * its own way (YAML edits its Document so comments survive, JSON keeps indentation, ...).
 */
import type { SectionStrategy } from "../../shared/manifest/schema.js";
import {
  ABSENT,
  childOf,
  dotted,
  isTable,
  keyName,
  keysOf,
  type Maybe,
  sameValue,
  valueAt,
} from "./values.js";

export type FileStrategy = "preserve_user" | "update_only" | "replace";

/** `set` and `add` take the release's value at `path`; `remove` deletes the server's. */
export interface MergeEdit {
  kind: "set" | "add" | "remove";
  path: string[];
}

export interface MergePlan {
  edits: MergeEdit[];
  /** Dotted paths where the user's value won over the release's. */
  kept: string[];
  added: string[];
  updated: string[];
  removed: string[];
  /**
   * Keys the user deleted that stay deleted: the release still ships them as the previous release
   * did. Reported as `kept`, they read as a value of the user's the file still holds.
   */
  deleted: string[];
  /**
   * Keys (among `kept`) the previous release had and this one no longer has, whose value the user
   * had changed: kept where they are, though the release may now read that setting under another
   * name, or not at all.
   */
  dropped: string[];
  /**
   * Keys the user added inside a table the previous release had and this one no longer has: kept
   * there, though the app may no longer read that table (it may have been renamed).
   */
  addedInDropped: { table: string; key: string }[];
  /**
   * Keys kept in the user's form (a value, a list, a table) where the release writes another: the
   * app of this release may not read the user's form at all.
   */
  reshaped: { key: string; user: Shape; release: Shape }[];
  /**
   * Lists (among `kept`) both the user and this release changed since the previous release's copy:
   * a list merges as one value, so the user's stays whole and the release's change is not taken.
   */
  listsBothChanged: string[];
  /**
   * Keys whose value the user had changed, added or deleted, where a `replace` or `merge_smart`
   * strategy gave the release's value (or removal) the last word.
   */
  overwritten: Overwritten[];
  /**
   * Lists (TOML arrays and `[[arrays]]`, YAML lists) whose values neither the user nor the release
   * changed since the previous release's copy, under preserve_user: the release may have rewritten
   * notes in them that the user left as shipped (list-notes.ts).
   */
  unchangedLists: string[][];
}

/** A value of the user's the release's took over, and the strategy that decided it. */
export interface Overwritten {
  key: string;
  strategy: "replace" | "merge_smart";
  /** The merge_strategies section that chose it, as the key report names it; none for the file's own. */
  section?: string;
}

export type Shape = "table" | "list" | "value";

function shapeOf(value: unknown): Shape {
  return isTable(value) ? "table" : Array.isArray(value) ? "list" : "value";
}

/** How one subtree merges; preserveKeys (relative to sectionPath) always keep the user's value. */
interface Policy {
  kind: FileStrategy | "merge_smart";
  sectionPath: string[];
  preserveKeys: ReadonlySet<string>;
}

const keepUser = (path: string[]): Policy => ({
  kind: "update_only",
  sectionPath: path,
  preserveKeys: new Set(),
});

export interface PlanInput {
  user: unknown;
  release: unknown;
  /** ABSENT when the caller has no pristine copy of the previous release: no three-way merge. */
  base: Maybe;
  strategy: FileStrategy;
  sections?: Record<string, SectionStrategy>;
}

/** A plan with nothing in it: what a merge that had nothing to compare reports. */
export function emptyPlan(): MergePlan {
  return {
    edits: [],
    kept: [],
    added: [],
    updated: [],
    removed: [],
    deleted: [],
    dropped: [],
    addedInDropped: [],
    reshaped: [],
    listsBothChanged: [],
    overwritten: [],
    unchangedLists: [],
  };
}

export function planMerge(input: PlanInput): MergePlan {
  const plan = emptyPlan();
  const walker = new MergeWalker(plan, input.sections ?? {}, input.base !== ABSENT);
  walker.visit([], input.user, input.release, input.base, {
    kind: input.strategy,
    sectionPath: [],
    preserveKeys: new Set(),
  });
  return plan;
}

class MergeWalker {
  constructor(
    private readonly plan: MergePlan,
    private readonly sections: Record<string, SectionStrategy>,
    private readonly threeWay: boolean,
  ) {}

  visit(path: string[], user: Maybe, release: Maybe, base: Maybe, policy: Policy): void {
    if (user === ABSENT) {
      if (release !== ABSENT) this.releaseOnly(path, release, base, policy);
      return;
    }
    if (release === ABSENT) {
      this.userOnly(path, user, base, policy);
      return;
    }
    if (isTable(user) && isTable(release)) {
      const keys = [...keysOf(user), ...keysOf(release).filter((k) => !Object.hasOwn(user, k))];
      for (const key of keys) {
        const child = [...path, key];
        const childBase = this.threeWay ? childOf(base, key) : ABSENT;
        this.visit(child, childOf(user, key), childOf(release, key), childBase, this.policyAt(child, policy));
      }
      return;
    }
    if (sameValue(user, release)) {
      const untouched = this.threeWay && base !== ABSENT && sameValue(user, base);
      if (untouched && Array.isArray(user) && policy.kind === "preserve_user")
        this.plan.unchangedLists.push(path);
      return;
    }
    if (this.userWins(user, base, policy) || this.keepsInside(path, user, base, policy)) {
      this.record("kept", path);
      // `port = 80` the release made `[port]`, a string made a list: kept as a plain `kept`, though
      // the release's app may refuse the file or ignore the setting.
      const shapes = { user: shapeOf(user), release: shapeOf(release) };
      if (shapes.user !== shapes.release) this.plan.reshaped.push({ key: keyName(path), ...shapes });
      else if (shapes.user === "list" && this.bothChanged(user, release, base))
        this.plan.listsBothChanged.push(keyName(path));
    } else {
      this.edit("set", path, "updated");
      this.noteOverwritten(path, user, base, policy);
    }
  }

  /**
   * Whether a preserved key or a section that keeps the user's values lies inside the user's table
   * at `path`: a release that turns that table into a value (`db:` → `db: postgres://…`), or drops
   * it, would take those values along, although the manifest says to keep them. A preserve_user
   * section keeps them where the user changed them (or without a previous release's copy).
   */
  private keepsInside(path: string[], user: unknown, base: Maybe, policy: Policy): boolean {
    if (!isTable(user)) return false;
    const relative = path.slice(policy.sectionPath.length);
    for (const [inner, value] of innerPaths(user)) {
      const kept = [...relative, ...inner];
      if (policy.preserveKeys.has(dotted(kept)) || policy.preserveKeys.has(keyName(kept))) return true;
      const full = [...path, ...inner];
      const name = [dotted(full), keyName(full)].find((spelt) => Object.hasOwn(this.sections, spelt));
      const section = name === undefined ? undefined : this.sections[name];
      if (section === undefined) continue;
      const kind = typeof section === "string" ? section : section.strategy;
      if (kind === "update_only" || (typeof section !== "string" && section.preserve_keys.length > 0))
        return true;
      if (kind === "preserve_user" && !(this.threeWay && sameValue(value, valueAt(base, inner)))) return true;
    }
    return false;
  }

  /**
   * Whether the user and the release each changed a value since the previous release's copy: a list
   * (a TOML array of tables, a YAML list of items) is kept whole, so keeping the user's drops the
   * release's change, which was said of no value until then.
   */
  private bothChanged(user: unknown, release: unknown, base: Maybe): boolean {
    return this.threeWay && base !== ABSENT && !sameValue(user, base) && !sameValue(release, base);
  }

  /** Both present and different (or of different types): does the user's value stay? */
  private userWins(user: unknown, base: Maybe, policy: Policy): boolean {
    switch (policy.kind) {
      case "update_only":
        return true;
      case "preserve_user":
        // Untouched since the previous release → the release may change it.
        return !(this.threeWay && base !== ABSENT && sameValue(user, base));
      case "replace":
      case "merge_smart":
        return false;
    }
  }

  private releaseOnly(path: string[], release: unknown, base: Maybe, policy: Policy): void {
    // The user deleted a key the release still ships unchanged, or a table the release only took
    // keys out of (nothing in it to bring back; it came back empty, `p: {}`): respect the deletion.
    const userDeleted =
      this.threeWay && base !== ABSENT && (sameValue(base, release) || onlyRemovals(release, base));
    if (policy.kind === "preserve_user" && userDeleted) this.record("deleted", path);
    else if (policy.kind === "update_only" && this.threeWay && base !== ABSENT)
      this.deletedUnderUpdateOnly(path, release, base, policy);
    else if (policy.kind === "preserve_user" && this.deletedTableChanged(path, release, base)) {
      // The user deleted a table the release changed: only what changed comes back, key by key;
      // the keys the release left alone stay deleted, as any deleted key does.
      for (const key of keysOf(release as Record<string, unknown>)) {
        const child = [...path, key];
        this.visit(child, ABSENT, childOf(release, key), childOf(base, key), this.policyAt(child, policy));
      }
    } else {
      this.edit("add", path, "added");
      // A key the user deleted that replace or merge_smart puts back is their change undone too.
      if (base !== ABSENT) this.noteOverwritten(path, ABSENT, base, policy);
    }
  }

  /**
   * A key the previous release's copy had and the user's lacks was deleted by the user: update_only
   * adds only the keys new in this release, so it stays deleted whatever the release ships there
   * (update_only never takes a release's value over the user's). It came back, reported `added`, as
   * if new. A deleted table the release added keys to gets those keys, under its header.
   */
  private deletedUnderUpdateOnly(path: string[], release: unknown, base: unknown, policy: Policy): void {
    if (!isTable(release) || !isTable(base) || !holdsNewKeys(release, base)) {
      this.record("deleted", path);
      return;
    }
    for (const key of keysOf(release)) {
      const child = [...path, key];
      this.visit(child, ABSENT, release[key], childOf(base, key), this.policyAt(child, policy));
    }
  }

  /**
   * Whether a table the user deleted holds keys the release left as they were: then the release's
   * change is taken key by key. A table all of whose keys changed (or are new) comes back whole.
   */
  private deletedTableChanged(path: string[], release: unknown, base: Maybe): boolean {
    if (!this.threeWay || !isTable(release) || !isTable(base)) return false;
    return Object.keys(release).some((key) => {
      const was = childOf(base, key);
      if (was === ABSENT) return false;
      const now = childOf(release, key);
      return sameValue(was, now) || this.deletedTableChanged([...path, key], now, was);
    });
  }

  private userOnly(path: string[], user: unknown, base: Maybe, policy: Policy): void {
    if (policy.kind === "replace" && this.keepsInside(path, user, base, policy) && isTable(user)) {
      // Key by key, so the values a section or preserved key keeps stay and the rest goes.
      for (const key of Object.keys(user)) {
        const child = [...path, key];
        this.visit(child, user[key], ABSENT, childOf(base, key), this.policyAt(child, policy));
      }
      return;
    }
    if (policy.kind === "replace") {
      this.edit("remove", path, "removed");
      this.noteOverwritten(path, user, base, policy);
      return;
    }
    // update_only and merge_smart never remove: a key the previous release had and this one dropped
    // stays, the user's value winning over the removal, so it is reported as kept (as preserve_user
    // reports a changed one); a key only the user ever had is theirs, nothing to report.
    if (policy.kind !== "preserve_user") {
      if (base === ABSENT) return;
      this.record("kept", path);
      this.noteDroppedChanges(path, user, base);
      return;
    }
    // preserve_user removes only what the user never touched.
    if (base === ABSENT) return;
    if (sameValue(user, base)) {
      this.edit("remove", path, "removed");
    } else if (isTable(user) && isTable(base)) {
      for (const key of Object.keys(user)) {
        const child = [...path, key];
        const childBase = childOf(base, key);
        const childPolicy = this.policyAt(child, policy);
        // A key of the user's own in a table the release dropped stayed without a word, where a
        // changed one is named: both sit where the app may no longer look.
        if (childBase === ABSENT && childPolicy.kind !== "replace") {
          this.record("kept", child);
          this.plan.addedInDropped.push({ table: keyName(path), key: keyName(child) });
        } else this.visit(child, user[key], ABSENT, childBase, childPolicy);
      }
    } else {
      this.record("kept", path);
      this.plan.dropped.push(keyName(path));
    }
  }

  /**
   * What the user changed in a value the release dropped and the strategy keeps whole: named key by
   * key. A table was named as a whole, so a key the user added in `[old]` read as `the key old, whose
   * value you had changed`, which key unsaid.
   */
  private noteDroppedChanges(path: string[], user: unknown, base: unknown): void {
    if (sameValue(user, base)) return;
    if (!isTable(user) || !isTable(base)) {
      this.plan.dropped.push(keyName(path));
      return;
    }
    for (const key of Object.keys(user)) {
      const child = [...path, key];
      const childBase = childOf(base, key);
      if (childBase === ABSENT) this.plan.addedInDropped.push({ table: keyName(path), key: keyName(child) });
      else this.noteDroppedChanges(child, user[key], childBase);
    }
  }

  /** The policy for `path`: its own merge_strategies entry, a preserved key, or the parent's. */
  private policyAt(path: string[], inherited: Policy): Policy {
    // Own entries only: a key named `constructor` or `toString` is not a section of Object.prototype's.
    // A section is named dotted (`labels.app.kubernetes.io/name`) or as the key report names the
    // key (`labels."app.kubernetes.io/name"`), which an operator copies from it.
    const name = [dotted(path), keyName(path)].find((spelt) => Object.hasOwn(this.sections, spelt));
    const own = name === undefined ? undefined : this.sections[name];
    if (own !== undefined) return withOuterPreserved(policyOf(own, path), inherited);
    const relative = path.slice(inherited.sectionPath.length);
    const preserved =
      inherited.preserveKeys.has(dotted(relative)) || inherited.preserveKeys.has(keyName(relative));
    return preserved ? keepUser(path) : inherited;
  }

  /**
   * A value of the user's that went (replaced or removed) was listed only as `updated` or
   * `removed`, like a default the release changed: only a three-way merge tells the two apart.
   */
  private noteOverwritten(path: string[], user: Maybe, base: Maybe, policy: Policy): void {
    if (!this.threeWay || (base !== ABSENT && sameValue(user, base))) return;
    if (policy.kind !== "replace" && policy.kind !== "merge_smart") return;
    const section = policy.sectionPath.length === 0 ? {} : { section: keyName(policy.sectionPath) };
    this.plan.overwritten.push({ key: keyName(path), strategy: policy.kind, ...section });
  }

  private edit(kind: MergeEdit["kind"], path: string[], report: "added" | "updated" | "removed"): void {
    this.plan.edits.push({ kind, path });
    this.record(report, path);
  }

  private record(report: "kept" | "added" | "updated" | "removed" | "deleted", path: string[]): void {
    this.plan[report].push(keyName(path));
  }
}

/**
 * Whether any section keeps values of the user's copy: every strategy but `replace` does, and so
 * does a `preserve_keys` list. Under a file strategy of `replace` only such a section needs the
 * user's copy to parse; a copy that does not is bad input then, not something to replace whole.
 */
export function sectionsKeepUserValues(sections: Record<string, SectionStrategy> | undefined): boolean {
  return Object.values(sections ?? {}).some((section) =>
    typeof section === "string"
      ? section !== "replace"
      : section.strategy !== "replace" || section.preserve_keys.length > 0,
  );
}

function policyOf(section: SectionStrategy, path: string[]): Policy {
  if (typeof section === "string") return { kind: section, sectionPath: path, preserveKeys: new Set() };
  return { kind: section.strategy, sectionPath: path, preserveKeys: new Set(section.preserve_keys) };
}

/**
 * preserve_keys keep the user's value under any strategy, a nested section's included: `api` with
 * preserve_keys [tls.cert] and its own section `api.tls: replace` kept nothing of tls.cert, since
 * the inner section's policy replaced the outer one whole.
 */
function withOuterPreserved(policy: Policy, outer: Policy): Policy {
  const outerPath = dotted(outer.sectionPath);
  const here = dotted(policy.sectionPath);
  const prefix = `${here}.`;
  const preserved = [...outer.preserveKeys].map((key) => (outerPath === "" ? key : `${outerPath}.${key}`));
  if (preserved.includes(here)) return keepUser(policy.sectionPath);
  const carried = preserved
    .filter((full) => full.startsWith(prefix))
    .map((full) => full.slice(prefix.length));
  if (carried.length === 0) return policy;
  return { ...policy, preserveKeys: new Set([...policy.preserveKeys, ...carried]) };
}

/** Whether `release` holds a key, at any depth, that `base` does not. */
/** Whether the release's table differs from the previous release's only by keys taken out, at any depth. */
function onlyRemovals(release: unknown, base: unknown): boolean {
  if (!isTable(release) || !isTable(base)) return false;
  return Object.keys(release).every((key) => {
    const was = childOf(base, key);
    const now = release[key];
    return was !== ABSENT && (sameValue(was, now) || onlyRemovals(now, was));
  });
}

function holdsNewKeys(release: Record<string, unknown>, base: Record<string, unknown>): boolean {
  return Object.keys(release).some((key) => {
    const was = childOf(base, key);
    const now = release[key];
    return was === ABSENT || (isTable(now) && isTable(was) && holdsNewKeys(now, was));
  });
}

/** Every path inside a table (relative to it) with its value, parents before their children. */
function innerPaths(table: Record<string, unknown>, prefix: string[] = []): [string[], unknown][] {
  return Object.entries(table).flatMap(([key, value]): [string[], unknown][] => {
    const path = [...prefix, key];
    return [[path, value], ...(isTable(value) ? innerPaths(value, path) : [])];
  });
}
