// End-to-end tests of the admin console in headless Chromium (Debian's, driven
// by playwright-core) against a real dev-mode gateway on free ports. Requests
// through the data plane are made by a small Go program with the Go client
// (../e2e/forward); devices enroll with the bundle read from the page's QR
// code through cmd/msg-enroll (dev mode's enrollment listener, on a free
// port). `make test-console` builds all three and runs this file.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { spawn, execFile } from "node:child_process";
import { createServer } from "node:http";
import { mkdtemp, readFile, mkdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { chromium } from "playwright-core";
import jsQR from "jsqr";
import { PNG } from "pngjs";

const gatewayBin = need("MSG_GATEWAY");
const forwardBin = need("MSG_FORWARD");
const enrollBin = need("MSG_ENROLL");
const shots = need("MSG_SCREENSHOTS");
const chromiumPath = process.env.CHROMIUM ?? "/usr/bin/chromium";
const run = promisify(execFile);

function need(name) {
  const v = process.env[name];
  if (!v) throw new Error(`${name} is not set: run the tests with make test-console`);
  return v;
}

let dir, userDataDir, gw, grpcAddr, adminURL, editorToken, viewerToken, upstream, upstreamURL, context;
const upstreamSeen = [];
const browserProblems = [];

/** Waits for a condition, polling; fails with what last happened. */
async function eventually(what, fn, timeoutMs = 30000) {
  const deadline = Date.now() + timeoutMs;
  let last;
  for (;;) {
    try {
      const v = await fn();
      if (v) return v;
    } catch (e) {
      last = e;
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}${last ? `: ${last}` : ""}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

before(async () => {
  dir = await mkdtemp(join(tmpdir(), "msg-console-e2e-"));
  await mkdir(shots, { recursive: true });
  // The internal host the test registers through the console.
  upstream = createServer((req, res) => {
    upstreamSeen.push(`${req.method} ${req.url}`);
    res.setHeader("Content-Type", "application/json");
    res.end(JSON.stringify({ upstream: "e2e", method: req.method, path: req.url }));
  });
  await new Promise((r) => upstream.listen(0, "127.0.0.1", r));
  upstreamURL = `http://127.0.0.1:${upstream.address().port}`;

  gw = spawn(gatewayBin, ["dev", "--dir", dir, "--listen", "127.0.0.1:0", "--admin-listen", "127.0.0.1:0"], { stdio: ["ignore", "pipe", "pipe"] });
  let banner = "";
  let log = "";
  gw.stdout.on("data", (b) => (banner += b));
  gw.stderr.on("data", (b) => (log += b));
  await eventually("the dev gateway's banner", () => {
    if (gw.exitCode !== null) throw new Error(`the gateway exited: ${log}`);
    const g = /gRPC \(mTLS\)\s+(127\.0\.0\.1:\d+)/.exec(banner);
    const a = /admin HTTP\s+(http:\/\/127\.0\.0\.1:\d+)/.exec(banner);
    if (g && a) [grpcAddr, adminURL] = [g[1], a[1]];
    return g && a;
  });
  editorToken = (await readFile(join(dir, "admin-token"), "utf8")).trim();
  viewerToken = (await readFile(join(dir, "viewer-token"), "utf8")).trim();

  userDataDir = await mkdtemp(join(tmpdir(), "msg-console-chromium-"));
  context = await chromium.launchPersistentContext(userDataDir, {
    executablePath: chromiumPath,
    headless: true,
    viewport: { width: 1280, height: 860 },
    args: [
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
    ],
  });
  context.on("page", watch);
});

after(async () => {
  // close() returns once the browser process has exited; its profile may
  // still be settling on disk, hence the retries.
  await context?.close();
  if (userDataDir) await rm(userDataDir, { recursive: true, force: true, maxRetries: 10 });
  if (gw && gw.exitCode === null) {
    gw.kill("SIGTERM");
    await new Promise((r) => gw.once("exit", r));
  }
  upstream?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
  assert.deepEqual(browserProblems, [], "the console raised errors or CSP violations in the browser");
});

/** Records page errors and CSP violations; after() fails on any. */
function watch(page) {
  page.on("pageerror", (e) => browserProblems.push(`page error: ${e.message}`));
  page.on("response", (r) => {
    if (r.status() === 404) browserProblems.push(`404: ${r.url()}`);
  });
  page.on("console", (m) => {
    if (m.type() === "error" && !/Failed to load resource: the server responded with a status of (40[01349])/.test(m.text())) {
      browserProblems.push(`console error: ${m.text()}`);
    }
  });
}

/** A new tab, signed in with a token. */
async function signIn(token, hash = "#/status") {
  const page = await context.newPage();
  await page.goto(`${adminURL}/console/${hash}`);
  await page.getByLabel("Admin token").fill(token);
  await page.getByRole("button", { name: "Sign in" }).click();
  await page.getByRole("button", { name: "Sign out" }).waitFor();
  return page;
}

async function shot(page, name) {
  await page.screenshot({ path: join(shots, `${name}.png`), fullPage: true });
}

/** One request through the data plane with the Go client. */
async function forward(as, method, url) {
  const { stdout } = await run(forwardBin, ["-addr", grpcAddr, "-dir", dir, "-as", as, method, url]);
  return JSON.parse(stdout);
}

async function api(method, path, token, body) {
  const resp = await fetch(adminURL + path, {
    method,
    headers: { Authorization: `Bearer ${token}`, "Content-Type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: resp.status, json: await resp.json().catch(() => null) };
}

test("the sign-in page is all there is without credentials", async () => {
  const page = await context.newPage();
  await page.goto(`${adminURL}/console/#/hosts`);
  await page.getByLabel("Admin token").waitFor();
  assert.equal(await page.getByRole("table").count(), 0);
  await page.getByLabel("Admin token").fill("not-the-token");
  await page.getByRole("button", { name: "Sign in" }).click();
  await page.getByRole("alert").filter({ hasText: "The token was not accepted." }).waitFor();
  await shot(page, "00-sign-in");
  // No token is kept anywhere but this tab's session storage.
  assert.equal(await page.evaluate(() => localStorage.length), 0);
  await page.close();
});

test("status", async () => {
  const page = await signIn(editorToken);
  await page.getByRole("heading", { name: "Status" }).waitFor();
  const store = page.locator('[data-card="Store"] dd');
  await assert.doesNotReject(store.filter({ hasText: "embedded · connected" }).waitFor());
  assert.match(await page.locator('[data-card="Hosts"] dd').innerText(), /^1$/);
  assert.equal(await page.evaluate(() => localStorage.length), 0, "the token must not be in localStorage");
  assert.equal(await page.evaluate(() => sessionStorage.length), 1);
  await shot(page, "01-status");
  await page.close();
});

test("create a host and a rule, then a real Forward call is allowed", async () => {
  const page = await signIn(editorToken, "#/hosts");
  await page.getByRole("heading", { name: "Hosts" }).waitFor();
  await page.getByRole("button", { name: "New host" }).click();
  await page.getByLabel("Name", { exact: true }).fill("e2e.internal");
  // A wrong scheme first: the API's 400 names host.upstream and the console
  // shows it on that field.
  await page.getByLabel("Upstream URL", { exact: true }).fill("ftp://127.0.0.1/");
  await page.getByLabel("Allowed networks", { exact: true }).fill("127.0.0.0/8");
  await page.getByRole("button", { name: "Create host" }).click();
  const fieldError = page.locator('[data-field="upstream"] .field-error');
  await fieldError.waitFor();
  assert.match(await fieldError.innerText(), /^host\.upstream: .*http or https/);
  assert.equal(await page.getByLabel("Upstream URL", { exact: true }).getAttribute("aria-invalid"), "true");
  await shot(page, "02-host-validation-error");
  await page.getByLabel("Upstream URL", { exact: true }).fill(upstreamURL);
  await page.getByRole("button", { name: "Create host" }).click();
  await page.getByRole("status").filter({ hasText: "Saved host e2e.internal." }).waitFor();
  await page.locator('tr[data-key="e2e.internal"]').waitFor();
  await shot(page, "03-hosts");

  await page.getByRole("link", { name: "Rules" }).click();
  await page.getByRole("button", { name: "New rule" }).click();
  await page.getByLabel("Id", { exact: true }).fill("alice-e2e-api");
  await page.getByLabel("Effect", { exact: true }).selectOption("EFFECT_ALLOW");
  await page.getByRole("button", { name: "Add principal" }).click();
  await page.getByLabel("principals 1 kind").selectOption("id");
  await page.getByLabel("principals 1 value").fill("alice");
  await page.getByLabel("Hosts", { exact: true }).fill("e2e.internal");
  await page.getByLabel("Methods", { exact: true }).fill("GET\nPOST");
  await page.getByRole("button", { name: "Add path" }).click();
  await page.getByLabel("paths 1 kind").selectOption("prefix");
  await page.getByLabel("paths 1 value").fill("/api");
  await page.getByLabel("Description", { exact: true }).fill("created by the console e2e test");
  await shot(page, "04-rule-editor");
  await page.getByRole("button", { name: "Create rule" }).click();
  await page.getByRole("status").filter({ hasText: "Saved rule alice-e2e-api." }).waitFor();
  const row = page.locator('tr[data-key="alice-e2e-api"]');
  assert.match(await row.innerText(), /id: alice/);
  await shot(page, "05-rules");

  const out = await eventually("alice's call to the new host", async () => {
    const r = await forward("alice", "GET", "https://e2e.internal/api/items");
    return r.status === 200 ? r : null;
  });
  assert.equal(JSON.parse(out.body).upstream, "e2e");
  assert.ok(upstreamSeen.includes("GET /api/items"));

  // Delete through the console: a throwaway rule.
  assert.equal(
    (await api("POST", "/v1/rules", editorToken, { id: "throwaway", effect: "EFFECT_DENY", principals: [{ id: "nobody" }], hosts: ["e2e.internal"] })).status,
    200,
  );
  await page.reload();
  await page.locator('tr[data-key="throwaway"]').getByRole("button", { name: "Delete" }).click();
  await page.getByRole("button", { name: "Really delete throwaway" }).click();
  await page.getByRole("status").filter({ hasText: "Deleted rule throwaway." }).waitFor();
  assert.equal((await api("GET", "/v1/rules/throwaway", editorToken)).status, 404);
  await page.close();
});

test("the policy tester's answers are what the gateway then does", async () => {
  const page = await signIn(editorToken, "#/policy");
  await page.getByRole("heading", { name: "Policy tester" }).waitFor();
  const cases = [
    { as: "alice", method: "GET", host: "e2e.internal", path: "/api/items", allowed: true, rule: "alice-e2e-api" },
    { as: "alice", method: "POST", host: "e2e.internal", path: "/api/%6frders", allowed: true, rule: "alice-e2e-api", canonical: "/api/orders" },
    { as: "alice", method: "GET", host: "demo.internal", path: "/hello", allowed: true, rule: "alice-demo" },
    { as: "alice", method: "DELETE", host: "e2e.internal", path: "/api/items", allowed: false, reason: "no_matching_rule" },
    { as: "alice", method: "GET", host: "demo.internal", path: "/x/../private/secret", allowed: false, rule: "alice-no-private", reason: "denied_by_rule" },
    { as: "mallory", method: "GET", host: "e2e.internal", path: "/api/items", allowed: false, reason: "no_matching_rule" },
  ];
  for (const c of cases) {
    await page.getByLabel("Principal id", { exact: true }).fill(c.as);
    await page.getByLabel("Host", { exact: true }).fill(c.host);
    await page.getByLabel("Method", { exact: true }).selectOption(c.method);
    await page.getByLabel("Path", { exact: true }).fill(c.path);
    await page.getByRole("button", { name: "Evaluate" }).click();
    const verdict = page.getByRole("status", { name: "Decision" });
    await eventually(`the verdict for ${c.as} ${c.method} ${c.host}${c.path}`, async () => {
      const text = await verdict.innerText();
      return text.includes(`${c.method} ${c.host}`) && text.includes(c.as);
    });
    const decision = await verdict.getAttribute("data-decision");
    assert.equal(decision, c.allowed ? "allow" : "deny", `tester on ${JSON.stringify(c)}`);
    if (c.rule) assert.equal(await verdict.locator('[data-field="rule"]').innerText(), c.rule);
    if (c.reason) assert.equal(await verdict.locator('[data-field="reason"]').innerText(), c.reason);
    if (c.canonical) assert.match(await verdict.locator('[data-field="canonical"]').innerText(), new RegExp(`${c.canonical}$`));
    if (c === cases[0]) await shot(page, "06-policy-tester-allowed");
    if (c === cases[4]) await shot(page, "07-policy-tester-denied");

    const real = await forward(c.as, c.method, `https://${c.host}${c.path}`);
    if (c.allowed) assert.equal(real.status, 200, `the gateway on ${JSON.stringify(c)}: ${JSON.stringify(real)}`);
    else assert.deepEqual([real.code, real.reason], ["PermissionDenied", "POLICY_DENIED"], `the gateway on ${JSON.stringify(c)}`);
    assert.equal(await verdict.locator('[data-field="code"]').innerText(), c.allowed ? "OK" : "PermissionDenied");
  }
  await page.close();
});

test("a concurrent edit is a 409 that shows the current version", async () => {
  const page = await signIn(editorToken, "#/hosts/edit/e2e.internal");
  await page.getByRole("heading", { name: "Edit host e2e.internal" }).waitFor();
  await eventually("the form to load", async () => (await page.getByLabel("Upstream URL", { exact: true }).inputValue()) === upstreamURL);
  // Someone else changes the host meanwhile.
  const cur = await api("GET", "/v1/hosts/e2e.internal", editorToken);
  const other = await api("PATCH", "/v1/hosts/e2e.internal?updateMask=timeout", editorToken, { etag: cur.json.host.etag, timeout: "7s" });
  assert.equal(other.status, 200);
  await page.getByLabel("Timeout", { exact: true }).fill("9s");
  await page.getByRole("button", { name: "Save changes" }).click();
  const conflict = page.getByRole("alert", { name: "Changed by someone else" });
  await conflict.waitFor();
  assert.match(await page.locator(".error").innerText(), /Conflict \(409\)/);
  assert.match(await conflict.locator("pre.current").innerText(), /"timeout": "7s"/);
  await shot(page, "08-edit-conflict");
  // Nothing was overwritten.
  assert.equal((await api("GET", "/v1/hosts/e2e.internal", editorToken)).json.host.timeout, "7s");
  // Editing the current version then saves.
  await page.getByRole("button", { name: "Discard my changes and edit the current version" }).click();
  assert.equal(await page.getByLabel("Timeout", { exact: true }).inputValue(), "7s");
  await page.getByLabel("Timeout", { exact: true }).fill("9s");
  await page.getByRole("button", { name: "Save changes" }).click();
  await page.getByRole("status").filter({ hasText: "Saved host e2e.internal." }).waitFor();
  assert.equal((await api("GET", "/v1/hosts/e2e.internal", editorToken)).json.host.timeout, "9s");
  await page.close();
});

test("revoke alice by her certificate: her next call fails; lift it", async () => {
  const page = await signIn(editorToken, "#/revocations");
  await page.getByRole("heading", { name: "Revocations" }).waitFor();
  await page.getByLabel("Certificate (PEM)").setInputFiles(join(dir, "alice.pem"));
  const fp = await eventually("the fingerprint", async () => page.getByLabel("SHA-256 fingerprint").inputValue());
  assert.match(fp, /^[0-9a-f]{64}$/);
  await page.getByLabel("Reason", { exact: true }).fill("phone lost (e2e)");
  await page.getByRole("button", { name: "Revoke" }).click();
  await page.getByRole("status").filter({ hasText: `Revoked: fp-${fp}` }).waitFor();
  await page.locator(`tr[data-key="fp-${fp}"]`).waitFor();
  await shot(page, "09-revocations");

  const denied = await eventually("alice to be refused", async () => {
    const r = await forward("alice", "GET", "https://e2e.internal/api/items");
    return r.status === undefined ? r : null;
  });
  assert.ok(denied.code, `alice after the revocation: ${JSON.stringify(denied)}`);

  await page.locator(`tr[data-key="fp-${fp}"]`).getByRole("button", { name: "Lift" }).click();
  await page.getByRole("status").filter({ hasText: `Lifted: fp-${fp}.` }).waitFor();
  await eventually("alice to be back", async () => (await forward("alice", "GET", "https://e2e.internal/api/items")).status === 200);
  await page.close();
});

test("audit search: filters, newest first, paging and a record's details", async () => {
  const page = await signIn(editorToken, "#/audit");
  await page.getByRole("heading", { name: "Audit trail" }).waitFor();
  const filters = page.getByRole("form", { name: "Audit filters" });
  await filters.getByLabel("Principal").fill("alice");
  await filters.getByLabel("Decision").selectOption({ label: "deny" });
  await filters.getByLabel("Kind").selectOption({ label: "forward" });
  await filters.getByLabel("Per page").selectOption("10");
  // Audit records are written in batches (about every second): poll.
  const rows = page.locator("table.audit tbody tr");
  await eventually("alice's denials in the audit trail", async () => {
    await filters.getByRole("button", { name: "Search" }).click();
    return (await rows.count()) >= 2; // the tester cases above: DELETE and /private/
  });
  const texts = await rows.allInnerTexts();
  for (const t of texts) assert.match(t, /alice[\s\S]*deny/);
  const times = await rows.locator("th").allInnerTexts();
  assert.deepEqual([...times].sort().reverse(), times, "newest first");
  await rows.first().click();
  const details = page.getByRole("complementary");
  await details.waitFor();
  assert.match(await details.innerText(), /requestId/);
  await shot(page, "10-audit");

  // Paging: every forward record, ten at a time.
  await filters.getByLabel("Principal").fill("");
  await filters.getByLabel("Decision").selectOption({ label: "any" });
  await filters.getByLabel("Kind").selectOption({ label: "any" });
  await filters.getByRole("button", { name: "Search" }).click();
  await eventually("a second page", async () => page.getByRole("button", { name: "Older" }).isEnabled());
  const first = await rows.allInnerTexts();
  await page.getByRole("button", { name: "Older" }).click();
  await page.getByText("page 2").waitFor();
  const second = await rows.allInnerTexts();
  assert.notDeepEqual(first, second);
  await page.getByRole("button", { name: "Newer" }).click();
  await page.getByText("page 1").waitFor();
  await page.close();
});

test("a viewer sees everything and can change nothing", async () => {
  const page = await signIn(viewerToken, "#/hosts");
  await page.getByText("Read-only: your role is viewer.").waitFor();
  await page.locator('tr[data-key="e2e.internal"]').waitFor();
  assert.equal(await page.getByRole("button", { name: "New host" }).isDisabled(), true);
  assert.equal(await page.locator('tr[data-key="e2e.internal"]').getByRole("button", { name: "Delete" }).isDisabled(), true);
  await shot(page, "11-viewer-hosts");
  await page.locator('tr[data-key="e2e.internal"]').getByRole("link", { name: "View" }).click();
  await page.getByRole("heading", { name: "View host e2e.internal" }).waitFor();
  assert.equal(await page.getByRole("button", { name: "Save changes" }).isDisabled(), true);
  assert.equal(await page.getByLabel("Upstream URL", { exact: true }).isDisabled(), true);
  await page.getByRole("link", { name: "Revocations" }).click();
  assert.equal(await page.getByRole("button", { name: "Revoke" }).isDisabled(), true);
  // The policy tester is a read: a viewer may use it.
  await page.getByRole("link", { name: "Policy tester" }).click();
  await page.getByLabel("Principal id", { exact: true }).fill("alice");
  await page.getByLabel("Host", { exact: true }).fill("demo.internal");
  await page.getByRole("button", { name: "Evaluate" }).click();
  await page.getByRole("status", { name: "Decision" }).waitFor();

  // And the API refuses a viewer's writes, whatever the page does.
  const refused = await page.evaluate(async () => {
    const token = sessionStorage.getItem("msg-admin-token");
    const post = await fetch("/v1/hosts", {
      method: "POST",
      headers: { Authorization: `Bearer ${token}`, "Content-Type": "application/json" },
      body: JSON.stringify({ name: "viewer.internal", upstream: "http://10.0.0.1" }),
    });
    const del = await fetch("/v1/rules/alice-e2e-api?etag=1", { method: "DELETE", headers: { Authorization: `Bearer ${token}` } });
    return [post.status, del.status];
  });
  assert.deepEqual(refused, [403, 403]);
  assert.equal((await api("GET", "/v1/hosts/viewer.internal", editorToken)).status, 404);
  await page.close();
});

test("signing out forgets the token", async () => {
  const page = await signIn(editorToken);
  await page.getByRole("button", { name: "Sign out" }).click();
  await page.getByLabel("Admin token").waitFor();
  assert.equal(await page.evaluate(() => sessionStorage.length), 0);
  await page.reload();
  await page.getByLabel("Admin token").waitFor();
  await page.close();
});

/** Reads the QR code the page shows, from the pixels on screen, as a phone would. */
async function scanQR(locator) {
  const png = PNG.sync.read(await locator.screenshot());
  const code = jsQR(new Uint8ClampedArray(png.data.buffer, png.data.byteOffset, png.data.length), png.width, png.height);
  assert.ok(code, "no QR code found in the page's image");
  return code.data;
}

test("enrollment: create a token, enroll from its QR code, call, delete the device", async () => {
  const page = await signIn(editorToken, "#/enrollment-tokens");
  await page.getByRole("heading", { name: "Enrollment tokens" }).waitFor();
  await page.getByRole("button", { name: "New enrollment token" }).click();
  await page.getByLabel("Common name (CN)").fill("carol");
  await page.getByLabel("Organizational units (OU)").fill("mobile");
  await page.getByLabel("Valid for").fill("2h");
  await page.getByLabel("Uses").fill("1");
  await page.getByLabel("Certificate lifetime").fill("24h");
  await page.getByLabel("Description").fill("Carol's phone (e2e)");
  await shot(page, "12-enrollment-token-new");
  await page.getByRole("button", { name: "Create token" }).click();
  const oneTime = page.getByRole("region", { name: "Enrollment bundle" });
  await oneTime.waitFor();
  const tokenId = (await page.getByRole("heading", { name: /^Enrollment token et-/ }).innerText()).replace("Enrollment token ", "");
  const qr = oneTime.getByRole("img", { name: "The enrollment bundle as a QR code" });
  await qr.waitFor();
  await eventually("the QR image to load", () => qr.evaluate((img) => img.complete && img.naturalWidth > 0));
  assert.match(await qr.getAttribute("src"), /^blob:/);
  await shot(page, "13-enrollment-bundle");
  const bundle = await scanQR(qr);
  assert.match(bundle, /^msg-enroll:\/\/127\.0\.0\.1:\d+\/\?s=[\w-]+&pin=sha256:[\w-]+$/);
  assert.equal(bundle, await oneTime.locator('[data-field="bundle"]').innerText(), "the QR code carries the bundle the page shows");
  assert.equal(new URL(bundle).searchParams.get("s"), await oneTime.locator('[data-field="secret"]').innerText());

  // Done: the secret is gone from the page; the list shows the token without it.
  await page.getByRole("button", { name: "Done: forget the secret" }).click();
  const tokenRow = page.locator(`tr[data-key="${tokenId}"]`);
  await tokenRow.waitFor();
  assert.match(await tokenRow.innerText(), /CN=carol, OU=mobile[\s\S]*0 of 1[\s\S]*Carol's phone/);
  assert.ok(!(await page.content()).includes(new URL(bundle).searchParams.get("s")), "the secret is shown once only");
  await shot(page, "14-enrollment-tokens");

  // The device: enroll with what the QR code said, then call a host a rule allows.
  const phone = join(dir, "carol-phone");
  const said = (await run(enrollBin, ["--dir", phone, bundle])).stdout;
  const m = /device (dv-[0-9a-f]{16}) as (.*)/.exec(said);
  assert.ok(m, `msg-enroll said: ${said}`);
  const enrolled = { deviceId: m[1], subject: m[2] };
  assert.match(enrolled.subject, /CN=carol/);
  const ok = await eventually("carol's call", async () => {
    const { stdout } = await run(forwardBin, ["-store", phone, "GET", "https://demo.internal/hello"]);
    const r = JSON.parse(stdout);
    return r.status === 200 ? r : null;
  });
  assert.match(ok.body, /carol/, `the demo host sees carol: ${ok.body}`);
  // The secret was single-use: the token is gone.
  await page.reload();
  await page.getByRole("heading", { name: "Enrollment tokens" }).waitFor();
  await page.locator("table.data").or(page.getByText("No enrollment tokens.")).waitFor();
  assert.equal(await tokenRow.count(), 0, "the spent single-use token is gone");

  // The device in the console: list, details, then pick it in the policy tester.
  await page.getByRole("link", { name: "Devices" }).click();
  const row = page.locator(`tr[data-key="${enrolled.deviceId}"]`);
  await row.waitFor();
  assert.match(await row.innerText(), /CN=carol, OU=mobile[\s\S]*never[\s\S]*Carol's phone/);
  await shot(page, "15-devices");
  await row.getByRole("link", { name: "Details" }).click();
  await page.getByRole("heading", { name: `Device ${enrolled.deviceId}` }).waitFor();
  assert.match(await page.locator('[data-field="certificate"]').innerText(), /SHA-256 [0-9a-f]{64}/);
  await shot(page, "16-device-details");

  await page.getByRole("link", { name: "Policy tester" }).click();
  await page.getByLabel("Device", { exact: true }).selectOption(enrolled.deviceId);
  assert.equal(await page.getByLabel("Principal id", { exact: true }).inputValue(), "carol");
  assert.equal(await page.getByLabel("Organizational units (OU)").inputValue(), "mobile");
  assert.match(await page.getByLabel("Certificate SHA-256").inputValue(), /^[0-9a-f]{64}$/);
  await page.getByLabel("Host", { exact: true }).fill("demo.internal");
  await page.getByLabel("Path", { exact: true }).fill("/hello");
  await page.getByRole("button", { name: "Evaluate" }).click();
  const verdict = page.getByRole("status", { name: "Decision" });
  await verdict.waitFor();
  assert.equal(await verdict.getAttribute("data-decision"), "allow");
  assert.equal(await verdict.locator('[data-field="rule"]').innerText(), "carol-demo");
  await shot(page, "17-policy-tester-device");

  // Delete the device in the console: its next call is refused.
  await page.getByRole("link", { name: "Devices" }).click();
  await row.getByRole("button", { name: "Delete" }).click();
  await page.getByRole("button", { name: `Really delete ${enrolled.deviceId} and revoke it` }).click();
  await page.getByRole("status").filter({ hasText: `Deleted device ${enrolled.deviceId}: its certificates are revoked.` }).waitFor();
  assert.equal(await row.count(), 0);
  const refused = await eventually("carol's device to be refused", async () => {
    const { stdout } = await run(forwardBin, ["-store", phone, "GET", "https://demo.internal/hello"]);
    const r = JSON.parse(stdout);
    return r.status === undefined ? r : null;
  });
  assert.ok(refused.code, `carol's device after its deletion: ${JSON.stringify(refused)}`);
  await page.close();
});

test("enrollment: a token deleted in the console, and a viewer changes nothing", async () => {
  const created = await api("POST", "/v1/enrollmentTokens", editorToken, { identity: { commonName: "dave" }, description: "to delete" });
  assert.equal(created.status, 200);
  const t = created.json.enrollmentToken;

  // A viewer sees the token and cannot create or delete.
  const viewer = await signIn(viewerToken, "#/enrollment-tokens");
  await viewer.locator(`tr[data-key="${t.id}"]`).waitFor();
  assert.equal(await viewer.getByRole("button", { name: "New enrollment token" }).isDisabled(), true);
  assert.equal(await viewer.locator(`tr[data-key="${t.id}"]`).getByRole("button", { name: "Delete" }).isDisabled(), true);
  await shot(viewer, "18-viewer-enrollment-tokens");
  await viewer.goto(`${adminURL}/console/#/enrollment-tokens/new`);
  assert.equal(await viewer.getByRole("button", { name: "Create token" }).isDisabled(), true);
  assert.equal(await viewer.getByLabel("Common name (CN)").isDisabled(), true);
  const refused = await viewer.evaluate(async (id) => {
    const token = sessionStorage.getItem("msg-admin-token");
    const h = { Authorization: `Bearer ${token}`, "Content-Type": "application/json" };
    const post = await fetch("/v1/enrollmentTokens", { method: "POST", headers: h, body: JSON.stringify({ identity: { commonName: "eve" } }) });
    const del = await fetch(`/v1/enrollmentTokens/${id}?etag=1`, { method: "DELETE", headers: h });
    const dev = await fetch("/v1/devices/dv-0000000000000000?etag=1", { method: "DELETE", headers: h });
    return [post.status, del.status, dev.status];
  }, t.id);
  assert.deepEqual(refused, [403, 403, 403]);
  await viewer.close();

  // The editor deletes it; its secret then enrolls nobody.
  const page = await signIn(editorToken, "#/enrollment-tokens");
  const row = page.locator(`tr[data-key="${t.id}"]`);
  await row.getByRole("button", { name: "Delete" }).click();
  await page.getByRole("button", { name: `Really delete ${t.id}` }).click();
  await page.getByRole("status").filter({ hasText: `Deleted enrollment token ${t.id}` }).waitFor();
  await assert.rejects(run(enrollBin, ["--dir", join(dir, "dave-phone"), created.json.bundle]), /ENROLLMENT_REFUSED|Unauthenticated|refused/i);
  await page.close();
});
