/** The failure limiter's token bucket, with explicit clock values. */

import { assertEquals } from "./assert.ts";
import { FailureLimiter } from "../server/limits.ts";

Deno.test("FailureLimiter: a burst of failures, then one back per refill period", () => {
  const limiter = new FailureLimiter({ burst: 3, refillMs: 1000 });
  const t = 1_000_000;
  assertEquals(limiter.waitMs("a", t), 0);
  for (let i = 0; i < 3; i++) limiter.failed("a", t);
  assertEquals(limiter.waitMs("a", t), 1000);
  assertEquals(limiter.waitMs("b", t), 0, "other keys are not affected");
  assertEquals(limiter.waitMs("a", t + 400), 600);
  assertEquals(limiter.waitMs("a", t + 1000), 0);
  limiter.failed("a", t + 1000);
  assertEquals(limiter.waitMs("a", t + 1000), 1000, "the earned token is spent again");
  // Failures while limited do not dig deeper than empty.
  limiter.failed("a", t + 1000);
  assertEquals(limiter.waitMs("a", t + 2000), 0);
  // Fully refilled after burst × period.
  assertEquals(limiter.waitMs("a", t + 5000), 0);
  for (let i = 0; i < 3; i++) limiter.failed("a", t + 5000);
  assertEquals(limiter.waitMs("a", t + 5000), 1000);
});
