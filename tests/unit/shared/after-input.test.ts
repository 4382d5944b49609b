/**
 * Timers that judge silence, after this process stalled past their interval: Node runs due timers
 * before it reads the sockets, so a plain timer found an answer that had arrived in time still
 * unread. A real TCP connection; the stall is a busy-wait in a check-phase callback (as a long
 * synchronous step is), with the answer already in the kernel's buffer.
 */
import { once } from "node:events";
import { connect, createServer, type Server, type Socket } from "node:net";
import { afterEach, beforeEach, expect, it } from "vitest";
import { answerWithin, TxAnswerWatch } from "../../../hub/store/answer-deadline.js";
import { everyAfterInput, onceAfterInput } from "../../../shared/after-input.js";
import { stall } from "../../support/stalls.js";

let server: Server;
let client: Socket;
let accepted: Socket;
beforeEach(async () => {
  server = createServer();
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  const { port } = server.address() as { port: number };
  client = connect(port, "127.0.0.1");
  [accepted] = (await once(server, "connection")) as [Socket];
});
afterEach(async () => {
  client.destroy();
  accepted.destroy();
  server.close();
  await once(server, "close");
});

/** The peer's answer is written (into the kernel's buffer), then this process stalls for `ms`. */
const answerThenStall = (ms: number) =>
  setImmediate(() => {
    client.write("pong");
    stall(ms);
  });

it("judges once the answer that arrived during the stall is read; a plain timer does not", async () => {
  let received = false;
  accepted.on("data", () => {
    received = true;
  });
  const plain = new Promise<boolean>((resolve) => setTimeout(() => resolve(received), 100));
  const judged = new Promise<boolean>((resolve) => onceAfterInput(100, () => resolve(received)));
  answerThenStall(400);
  expect(await plain).toBe(false);
  expect(await judged).toBe(true);
});

it("runs an interval's judgement after the input too, and not once stopped", async () => {
  let received = false;
  accepted.on("data", () => {
    received = true;
  });
  const verdicts: boolean[] = [];
  const timer = everyAfterInput(100, () => verdicts.push(received));
  answerThenStall(400);
  await expect.poll(() => verdicts.length, { timeout: 10_000 }).toBeGreaterThan(0);
  timer.stop();
  const judged = verdicts.length;
  expect(verdicts[0]).toBe(true);
  await new Promise((resolve) => setTimeout(resolve, 300));
  expect(verdicts).toHaveLength(judged);
});

it("hands the judgement the time its timer fired, read before a stall that came after", async () => {
  // Another timer due in the same phase stalls the process: a judgement reading the clock itself
  // would see a moment whose input (arrived during the stall) is not read yet.
  let clockReads = 0;
  const clock = () => {
    clockReads += 1;
    return Date.now();
  };
  const judged = new Promise<{ firedAt: number; at: number }>((resolve) =>
    onceAfterInput(50, (firedAt) => resolve({ firedAt, at: Date.now() }), clock),
  );
  setTimeout(() => stall(300), 60);
  // Both timers overdue at once: the timers phase runs them in order, the judgement's first.
  stall(100);
  const { firedAt, at } = await judged;
  expect(clockReads).toBe(1);
  expect(at - firedAt).toBeGreaterThanOrEqual(250);
});

it("stop() cancels a judgement already queued behind its timer", async () => {
  let judged = false;
  const timer = onceAfterInput(50, () => {
    judged = true;
  });
  // The timer fires and queues its judgement; stopped in the same timers phase, before it runs.
  setTimeout(() => timer.stop(), 50);
  stall(200);
  await new Promise((resolve) => setTimeout(resolve, 200));
  expect(judged).toBe(false);
});

it("a database deadline takes an answer that came in time while the hub was stalled past it", async () => {
  const answer = once(accepted, "data").then(() => "answered");
  const bounded = answerWithin(answer, 100);
  answerThenStall(400);
  await expect(bounded).resolves.toBe("answered");
});

it("so does a transaction's deadline", async () => {
  const watch = new TxAnswerWatch(100);
  const statement = watch.statement(() => once(accepted, "data").then(() => "answered"));
  answerThenStall(400);
  await expect(watch.bound(statement)).resolves.toBe("answered");
});
