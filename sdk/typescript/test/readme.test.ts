// The README's copy-paste example, run as written against the real gateway.
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { after, before, test } from "node:test";
import { startGateway, type Gateway } from "./harness.js";

const pkg = join(dirname(fileURLToPath(import.meta.url)), "..", "..");

let g: Gateway;
before(async () => {
  g = await startGateway();
});
after(async () => {
  await g?.stop();
});

/** example returns the code block that follows the marker in README.md. */
function example(marker: string): string {
  const readme = readFileSync(join(pkg, "README.md"), "utf8");
  const at = readme.indexOf(`<!-- ${marker} -->`);
  assert.ok(at >= 0, `README.md has no <!-- ${marker} --> marker`);
  const m = /```(?:js|ts)\n([\s\S]*?)```/.exec(readme.slice(at));
  assert.ok(m?.[1], `no code block after <!-- ${marker} -->`);
  return m[1];
}

test("the README example runs and prints what the README says", { timeout: 120_000 }, async () => {
  // Inside the package, so that "@msg-gateway/sdk" resolves to this build.
  const file = join(pkg, "dist", "readme-example.mjs");
  writeFileSync(file, example("tested example"));
  const { stdout } = await promisify(execFile)(process.execPath, [file], {
    env: { ...process.env, MSG_GATEWAY: g.addr, MSG_DEV_DIR: g.dir },
  });
  assert.equal(stdout, "200 hello from the demo internal host\nrefused: PermissionDenied POLICY_DENIED\n");
});
