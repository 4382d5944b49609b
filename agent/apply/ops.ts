/**
 * Turns a prepared plan into the journal's ordered file operations and the backup's inventory.
 * Order matters for directory/file swaps: removals, then emptied directories (deepest first), new
 * directories (parents first), new files, and last the sibling copies of old versions.
 */
import type { FileOp } from "./file-ops.js";
import type { PlanStep, ReleaseEntry, TreeScan, UpdatePlan } from "./types.js";

export interface Inventory {
  changed: string[];
  added: string[];
  createdDirs: string[];
  removedDirs: { rel: string; mode: number; uid?: number; gid?: number }[];
  /** Directories whose mode the update changed: `mode` the old one, `set` what the update set. */
  modeChangedDirs: { rel: string; mode: number; set: number }[];
  bytes: number;
}

export function buildOps(
  steps: readonly PlanStep[],
  plan: UpdatePlan,
  app: TreeScan,
  release: ReadonlyMap<string, ReleaseEntry>,
): FileOp[] {
  const removes: FileOp[] = [];
  const installs: FileOp[] = [];
  const copies: FileOp[] = [];
  const removed = new Set<string>();
  for (const step of steps) {
    switch (step.kind) {
      case "remove":
        removes.push({ op: "remove", rel: step.rel });
        removed.add(step.rel);
        break;
      case "add":
        installs.push({ op: "add", rel: step.rel, from: "staging", src: step.rel });
        break;
      case "replace":
      case "merge":
        installs.push({ op: "replace", rel: step.rel, from: "staging", src: step.rel });
        if (step.keepCopy !== undefined && !release.has(step.keepCopy)) {
          const op = app.files.has(step.keepCopy) ? "replace" : "add";
          copies.push({ op, rel: step.keepCopy, from: "backup", src: step.rel });
        }
        break;
      case "keep":
      case "skip":
        break;
      default:
        unhandled(step);
    }
  }
  // A keep-copy over a file this update also removes would touch one path twice: add it instead.
  const fixedCopies = copies.map(
    (c): FileOp => (c.op === "replace" && removed.has(c.rel) ? { ...c, op: "add" } : c),
  );
  return [
    ...removes,
    ...plan.rmdirs.map((d): FileOp => ({ op: "rmdir", rel: d.rel, mode: d.mode })),
    ...plan.mkdirs.map((d): FileOp => ({ op: "mkdir", rel: d.rel, mode: d.mode })),
    ...installs,
    ...fixedCopies,
    // Last: a new mode without the owner's write bit must not stop the files going in.
    ...plan.chmods.map((d): FileOp => ({ op: "chmod", rel: d.rel, mode: d.mode, was: d.was })),
  ];
}

export function inventoryOf(ops: readonly FileOp[], app: TreeScan): Inventory {
  const inventory: Inventory = {
    changed: [],
    added: [],
    createdDirs: [],
    removedDirs: [],
    modeChangedDirs: [],
    bytes: 0,
  };
  for (const op of ops) {
    switch (op.op) {
      case "remove":
      case "replace":
        inventory.changed.push(op.rel);
        inventory.bytes += app.files.get(op.rel)?.size ?? 0;
        break;
      case "add":
        inventory.added.push(op.rel);
        break;
      case "mkdir":
        inventory.createdDirs.push(op.rel);
        break;
      case "rmdir":
        inventory.removedDirs.push(
          op.uid === undefined || op.gid === undefined
            ? { rel: op.rel, mode: op.mode }
            : { rel: op.rel, mode: op.mode, uid: op.uid, gid: op.gid },
        );
        break;
      case "chmod":
        inventory.modeChangedDirs.push({ rel: op.rel, mode: op.was, set: op.mode });
        break;
      default:
        unhandled(op);
    }
  }
  return inventory;
}

/** The compiler rejects the call when a step kind has no case above. */
function unhandled(value: never): never {
  throw new Error(`unhandled step ${JSON.stringify(value)}`);
}
