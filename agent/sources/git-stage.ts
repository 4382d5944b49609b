/**
 * An update from a known installed commit stages only what changed (DESIGN: staging costs what
 * changed): `git diff-tree` names the changed paths, `git ls-tree` lists the target, and one
 * `git cat-file --batch` session answers the installed commit's manifest first and then writes the
 * wanted blobs. The rest of the listing takes its sha256 from the install index. Undefined (the
 * caller exports the whole tree) whenever that shortcut could differ from `git archive`: git
 * attributes, a release under a top directory, a symlink added, changed or removed, an unknown installed commit, an
 * unreadable installed manifest.
 */
import type { GitSource as GitSourceConfig } from "../../shared/config/schema.js";
import { VerificationError } from "../../shared/errors.js";
import { attributesConfig, attributesOutsideTree, isAttributesFile } from "./git-attributes.js";
import { CatFileSession, writeBlobs } from "./git-batch.js";
import { gitEnvironment } from "./git-env.js";
import type { RunGit } from "./git-run.js";
import { skippedByInstalled } from "./git-skipped-paths.js";
import {
  diffTree,
  entryOf,
  type GitTarget,
  listingOf,
  listTree,
  mustStage,
  releaseName,
  strippedTopDir,
  type TreeBlob,
  type TreeDiff,
} from "./git-tree.js";
import { extractOptionsFor } from "./release-info.js";
import type { FetchedRelease, InstalledRelease, SourceLog } from "./types.js";

export interface StageInput {
  /** The source's name, for logs. */
  name: string;
  cfg: GitSourceConfig;
  log: SourceLog;
  run: RunGit;
  /** The installed commit, and what the install index says of its files. */
  base: string;
  installed: InstalledRelease;
  target: GitTarget;
  stagingDir: string;
  /** `git rev-parse --git-path info/attributes` of the clone (asked once per update by the caller). */
  infoAttributes: () => Promise<string>;
}

/** The release staged from what changed since `base`, or undefined: export the whole tree. */
export async function stageFromInstalled(input: StageInput): Promise<FetchedRelease | undefined> {
  const { run, base, target, cfg } = input;
  // Five git processes at once, not one after another: the target's listing, the diff (which also
  // proves the clone has the installed commit: it fails when not, and the whole tree is exported),
  // what the clone's config and git dir say about attributes, and the cat-file session, asked for
  // the installed manifest at once. What a failed diff leaves unread is dropped.
  const submodules: string[] = [];
  const tree = listTree(run, target.commit, submodules, releaseName(target));
  const diff = diffTree(run, base, target.commit);
  const outside = attributesOutside(input);
  const session = new CatFileSession(cfg.local_path, gitEnvironment(cfg));
  const skipped = skippedByInstalled(session, base);
  tree.catch(() => undefined);
  outside.catch(() => undefined);
  try {
    const changes = await diff.catch(() => undefined);
    if (changes === undefined) return undefined;
    const why = await exportTransforms(changes, tree, outside);
    if (why !== undefined) {
      input.log.info("exporting the whole tree: git attributes may change what git archive writes", {
        source: input.name,
        commit: target.commit,
        attributes: why,
      });
      return undefined;
    }
    if (changes.symlinks.length > 0) {
      // The physical check that every symlink lands inside the release follows each one hop by
      // hop, so it needs the whole tree on disk (symlink-landing.ts), as an export leaves it.
      input.log.info("exporting the whole tree: a symlink differs from the installed commit", {
        source: input.name,
        commit: target.commit,
        symlinks: changes.symlinks.slice(0, 5),
      });
      return undefined;
    }
    const listing = await tree;
    if (submodules.length > 0) {
      input.log.warn(
        "the release has git submodules: ship installs neither their content nor their directories",
        {
          source: input.name,
          submodules: submodules.slice(0, 5),
        },
      );
    }
    const top = strippedTopDir(listing, submodules);
    if (top !== undefined) {
      // Its paths are the app's only once that directory is stripped, as the export does.
      input.log.info("exporting the whole tree: the release is the tree's top directory", {
        source: input.name,
        commit: target.commit,
        directory: top,
      });
      return undefined;
    }
    const skippedTest = await skipped;
    if (skippedTest === undefined) return undefined;
    return await stageChanges(input, session, listing, changes.changed, skippedTest);
  } finally {
    session.close();
  }
}

/**
 * Writes what changed (and what the install index cannot vouch for) through the session; the rest
 * of the listing takes its sha256 from the install index.
 */
async function stageChanges(
  input: StageInput,
  session: CatFileSession,
  tree: ReadonlyMap<string, TreeBlob>,
  changed: ReadonlySet<string>,
  skipped: (path: string) => boolean,
): Promise<FetchedRelease> {
  const { installed, stagingDir, target, cfg } = input;
  const wanted: TreeBlob[] = [];
  // The listing compared with the install index (app-holds.ts) in this pass, whose lookups it
  // already makes: a blob left out takes the index's sha256, so only written ones can differ.
  let indexed = 0;
  for (const [path, blob] of tree) {
    const entry = installed.files.get(path);
    if (entry !== undefined) indexed++;
    // The index knows an unchanged blob's sha256 and size (a merged file's app size is not the
    // blob's: it is written too; a skipped file's entry may be an earlier release's). The
    // planner stages any the app no longer holds (materialize).
    if (
      changed.has(path) ||
      entry === undefined ||
      entry.merged === true ||
      mustStage(path) ||
      skipped(path)
    ) {
      wanted.push(blob);
    }
  }
  // A refusal names the commit, as an export's does: the path alone did not say which release held it.
  const release = releaseName(target);
  const options = { ...extractOptionsFor(input.name, cfg), release };
  const hashes = await session.writeBlobs(wanted, stagingDir, options);
  for (const [path, sha] of hashes) {
    const indexed = installed.files.sha256Of(path);
    if (indexed !== undefined && !changed.has(path) && !skipped(path) && indexed !== sha) {
      throw new VerificationError(
        entryOf(release, path),
        "does not match what the install index says this commit holds",
      );
    }
  }
  const listing = listingOf(tree, hashes, (path) => installed.files.get(path));
  const differing = wanted
    .filter(({ path }) => installed.files.sha256Of(path) !== listing.files.get(path)?.sha256)
    .map(({ path }) => path);
  input.log.info("staged release changes", {
    source: input.name,
    from: input.base,
    commit: target.commit,
    ref: target.label,
    changed: changed.size,
    written: wanted.length,
    files: tree.size,
  });
  const fileHashes = new Map([...hashes].filter(([path]) => tree.get(path)?.kind !== "symlink"));
  return {
    dir: stagingDir,
    id: target.commit,
    fileHashes,
    listing,
    comparedWithIndex: { files: installed.files, differing, indexed },
    materialize: async (rels) => {
      const blobs = rels.map((rel) => tree.get(rel)).filter((b): b is TreeBlob => b !== undefined);
      const written = await writeBlobs(cfg.local_path, gitEnvironment(cfg), blobs, stagingDir, options);
      for (const [path, sha] of written) {
        if (listing.files.get(path)?.sha256 !== sha) {
          throw new VerificationError(entryOf(release, path), "does not match the release listing");
        }
      }
    },
  };
}

/**
 * What could make `git archive` of the target differ from its blobs (see git-attributes.ts): a
 * `.gitattributes` in the target tree or changed since the installed commit, or attributes or
 * core.autocrlf outside the trees. Undefined when nothing does, and the blobs can be staged as
 * they are.
 */
async function exportTransforms(
  changes: TreeDiff,
  tree: Promise<ReadonlyMap<string, TreeBlob>>,
  outside: Promise<string | undefined>,
): Promise<string | undefined> {
  const [listing, elsewhere] = await Promise.all([tree, outside]);
  const files = [...[...listing.keys()].filter(isAttributesFile), ...changes.attributeFiles];
  return files.length > 0 ? [...new Set(files)].join(", ") : elsewhere;
}

/** Attributes or core.autocrlf outside the trees (git-attributes.ts), undefined when none. */
async function attributesOutside(input: StageInput): Promise<string | undefined> {
  const [infoAttributes, config] = await Promise.all([input.infoAttributes(), attributesConfig(input.run)]);
  return attributesOutsideTree(input.cfg.local_path, gitEnvironment(input.cfg), infoAttributes, config);
}
