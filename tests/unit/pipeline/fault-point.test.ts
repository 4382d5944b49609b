import { afterEach, describe, expect, it } from "vitest";
import { faultPoint } from "../../../agent/fault.js";

afterEach(() => {
  delete process.env.SHIP_FAULT;
});

describe("faultPoint (test-only fault injection)", () => {
  it("throws at the n-th hit of its point, counting afresh once the variable was unset", () => {
    process.env.SHIP_FAULT = "test:point@2:error";
    faultPoint("test:point");
    expect(() => faultPoint("test:point")).toThrow(/injected fault at test:point/);
    // Another test (file) in the same reused process arms the same spec again.
    delete process.env.SHIP_FAULT;
    faultPoint("test:point");
    process.env.SHIP_FAULT = "test:point@2:error";
    faultPoint("test:point");
    expect(() => faultPoint("test:point")).toThrow(/injected fault at test:point/);
    faultPoint("other:point");
  });
});
