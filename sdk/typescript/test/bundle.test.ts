// The bundle parser against the cases the gateway's Go parser is tested with
// (internal/enrollment/testdata/bundles.json): both must read every bundle alike.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { BundleError, parseBundle } from "../src/index.js";
import { repoRoot } from "./harness.js";

interface Vector {
  name: string;
  bundle: string;
  error?: string;
  address?: string;
  secret?: string;
  pin?: string;
}

const { cases } = JSON.parse(readFileSync(join(repoRoot, "internal/enrollment/testdata/bundles.json"), "utf8")) as { cases: Vector[] };

test("the shared cases are there", () => {
  assert.ok(cases.length >= 40, `${cases.length} cases`);
});

for (const tc of cases) {
  test(`parseBundle: ${tc.name}`, () => {
    if (tc.error !== undefined) {
      assert.throws(
        () => parseBundle(tc.bundle),
        (err: unknown) => err instanceof BundleError && err.message.includes(tc.error!) && !err.message.includes("q83vEjRWeJq83vEjRWeJ"),
        `want an error containing ${JSON.stringify(tc.error)}`,
      );
      return;
    }
    const b = parseBundle(tc.bundle);
    assert.equal(b.address, tc.address);
    assert.equal(b.secret, tc.secret);
    assert.equal("sha256:" + Buffer.from(b.pin).toString("base64url"), tc.pin);
  });
}
