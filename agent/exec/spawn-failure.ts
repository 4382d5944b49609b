/**
 * Why a command could not be started at all, in words. Node reports a working directory that is
 * gone as "spawn /bin/sh ENOENT", naming the shell, which is there: a hook whose app directory an
 * earlier hook removed failed with "exited with null: spawn /bin/sh ENOENT".
 */
import { statSync } from "node:fs";
import { errnoCode, fsErrorText } from "../../shared/fs-errors.js";

/** "its working directory /srv/app does not exist (ENOENT)", or what kept `program` from starting. */
export function spawnFailureText(error: unknown, program: string, cwd: string | undefined): string {
  const place = cwd === undefined ? undefined : workingDirectoryProblem(cwd);
  if (place !== undefined) return `its working directory ${cwd} ${place}`;
  return `${program} could not be started: ${fsErrorText(error)}`;
}

function workingDirectoryProblem(cwd: string): string | undefined {
  try {
    return statSync(cwd).isDirectory() ? undefined : "is not a directory";
  } catch (error) {
    const code = errnoCode(error);
    if (code === "ENOENT") return "does not exist (ENOENT)";
    return `cannot be reached: ${fsErrorText(error)}`;
  }
}
