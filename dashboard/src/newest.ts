/**
 * The hub's answers come back in any order: a poll, a pushed change and the operator's own typing
 * or click each start a read, and a slow one landing last would redraw the page with an older
 * state (a paused rollout back to "running", the agents of an earlier search). Each read takes a
 * turn; only the newest turn may draw.
 */
export function newestOnly(): () => () => boolean {
  let last = 0;
  return () => {
    const turn = ++last;
    return () => turn === last;
  };
}
