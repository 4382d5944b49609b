/**
 * The agent reads of both stores select AGENT_COLUMNS, not `*` (a wave start lists the whole fleet
 * before its commit): a field toAgent reads from a column left out of that list would come back
 * missing from every agent record, silently. Pinned by reading which columns toAgent touches.
 */
import { describe, expect, it } from "vitest";
import { AGENT_COLUMNS, type Row, toAgent } from "../../../../hub/store/rows.js";

function readColumns(row: Row): string[] {
  const read = new Set<string>();
  toAgent(
    new Proxy(row, {
      get(target, key, receiver) {
        if (typeof key === "string") read.add(key);
        return Reflect.get(target, key, receiver);
      },
    }),
  );
  return [...read].sort();
}

describe("the agents columns a store selects", () => {
  it("are every column toAgent reads, optional ones set or not, and no other", () => {
    const full: Row = {
      id: "a1",
      hostname: "h1",
      labels: '{"env":"prod"}',
      agent_version: "1.0.0",
      apps: "[]",
      online: 1,
      last_seen: 5,
      allow_downgrade: 1,
      forgotten_at: 7,
      hub_id: "hub-1",
      epoch: 3,
      instance_id: "i1",
      instance_remote: "127.0.0.1:5",
    };
    expect(readColumns(full)).toEqual([...AGENT_COLUMNS].sort());
    expect(readColumns({ ...full, allow_downgrade: null, forgotten_at: null })).toEqual(
      [...AGENT_COLUMNS].sort(),
    );
  });
});
