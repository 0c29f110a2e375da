// Enrollment and renewal against the real gateway (`msg-gateway serve` with an
// enroll section): a bundle from POST /v1/enrollmentTokens, enroll(), then a
// call through the enrolled fetch; a used secret and a wrong pin refused; a
// loop of calls across renewals of a short-lived certificate with no failure.
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { createHash, X509Certificate } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import * as http2 from "node:http2";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { after, before, test } from "node:test";
import {
  Code,
  createEnrolledFetch,
  enroll,
  EnrollmentPinError,
  FileIdentityStore,
  GatewayError,
  type RenewalStatus,
} from "../src/index.js";
import { adminCall, deferred, metric, startUpstream, waitUntil, type Gateway, type Upstream } from "./harness.js";
import { createToken, mint, startEnrollGateway, type EnrollGateway } from "./enroll-harness.js";

const pkg = join(dirname(fileURLToPath(import.meta.url)), "..", "..");

let g: EnrollGateway;
let upstream: Upstream;
const dirs: string[] = [];
/** What reached the upstream: each request's path and the client certificate the gateway saw. */
const seen: { path: string; fingerprint: string }[] = [];
/** Paths whose responses wait until released. */
const holds = new Map<string, { promise: Promise<void>; resolve: () => void }>();

/** A fresh identity directory, removed after the tests. */
function storeDir(): string {
  const d = mkdtempSync(join(tmpdir(), "msg-ts-identity-"));
  dirs.push(d);
  return d;
}

async function admin(method: string, path: string, body?: unknown): Promise<string> {
  const r = await adminCall(g as unknown as Gateway, method, path, body);
  if (r.status !== 200) throw new Error(`${method} ${path}: ${r.status} ${r.text}`);
  return r.text;
}

before(async () => {
  g = await startEnrollGateway();
  upstream = await startUpstream((req, res) => {
    const path = req.url ?? "";
    seen.push({ path, fingerprint: String(req.headers["x-msg-client-cert-sha256"] ?? "") });
    const held = holds.get(path);
    if (held) void held.promise.then(() => res.end("hello"));
    else res.end("hello");
  });
  await admin("POST", "/v1/hosts", { name: "enrolled.internal", upstream: `http://127.0.0.1:${upstream.port}`, allowedCidrs: ["127.0.0.0/8"] });
  for (const cn of ["carol", "dave", "erin", "frank"]) {
    await admin("POST", "/v1/rules", { id: `${cn}-enrolled`, effect: "EFFECT_ALLOW", principals: [{ id: cn }], hosts: ["enrolled.internal"] });
  }
});

after(async () => {
  await upstream?.close();
  await g?.stop();
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

test("enroll from a bundle, then a call the granted identity's rule allows; the same secret again is refused", { timeout: 120_000 }, async () => {
  const bundle = await createToken(g, { identity: { commonName: "carol" } });
  const store = new FileIdentityStore(storeDir());
  const t0 = performance.now();
  const id = await enroll(bundle, store);
  const took = performance.now() - t0;
  console.log(`# enrollment took ${took.toFixed(1)} ms (key, CSR, two pin handshakes, Enroll, save)`);
  assert.match(id.deviceId, /.+/);
  assert.equal(id.gatewayAddress, g.addr);
  assert.equal(statSync(join(store.dir, "identity.pem")).mode & 0o777, 0o600);
  // The trust anchor is dev mode's CA, the one the bundle pinned.
  const devCA = readFileSync(join(g.dir, "ca.pem"), "utf8");
  assert.equal(readFileSync(join(store.dir, "ca.pem"), "utf8").replace(/\s/g, ""), devCA.replace(/\s/g, ""));

  const f = await createEnrolledFetch(store);
  try {
    const resp = await f("https://enrolled.internal/hello");
    assert.equal(resp.status, 200);
    assert.equal(await resp.text(), "hello");
  } finally {
    f.close();
  }

  await assert.rejects(enroll(bundle, new FileIdentityStore(storeDir())), (err: unknown) => {
    assert.ok(err instanceof GatewayError, String(err));
    assert.equal(err.code, Code.Unauthenticated);
    assert.equal(err.reason, "ENROLLMENT_REFUSED");
    return true;
  });
});

test("a wrong pin, or a listener that does not chain to the pinned anchor, is refused before the secret is sent", { timeout: 120_000 }, async () => {
  const bundle = await createToken(g, { identity: { commonName: "dave" } });
  const u = new URL(bundle.replace(/^msg-enroll:/, "https:"));
  const secret = u.searchParams.get("s")!;
  const pin = u.searchParams.get("pin")!;
  const devCA = readFileSync(join(g.dir, "ca.pem"));

  // An impostor that knows the gateway's trust anchor (it is public) and
  // presents it after a certificate of its own, valid for 127.0.0.1.
  const rogueCA = mint("rogue CA", { ca: true });
  const rogue = mint("127.0.0.1", { ca: false, issuer: rogueCA });
  let streams = 0;
  const impostor = http2.createSecureServer({ cert: rogue.pem + rogueCA.pem + devCA.toString(), key: rogue.keyPem });
  impostor.on("stream", (stream) => {
    streams++;
    stream.respond({ ":status": 200, "content-type": "application/grpc" });
    stream.end();
  });
  await new Promise<void>((resolve) => impostor.listen(0, "127.0.0.1", resolve));
  const impostorAddr = `127.0.0.1:${(impostor.address() as AddressInfo).port}`;
  try {
    // The right pin, the wrong listener: its chain holds the anchor, but its certificate does not chain to it.
    await assert.rejects(enroll(`msg-enroll://${impostorAddr}/?s=${secret}&pin=${pin}`, new FileIdentityStore(storeDir())), EnrollmentPinError);
    // The same with a forged leaf that names the anchor as its issuer (signed by the rogue's key).
    const forged = mint("127.0.0.1", { ca: false, issuer: { der: new Uint8Array(new X509Certificate(devCA).raw), key: rogueCA.key } });
    impostor.setSecureContext({ cert: forged.pem + devCA.toString(), key: forged.keyPem });
    await assert.rejects(enroll(`msg-enroll://${impostorAddr}/?s=${secret}&pin=${pin}`, new FileIdentityStore(storeDir())), (err: unknown) => {
      assert.ok(err instanceof EnrollmentPinError, String(err));
      // Past the pin (the anchor was found): the verification against it refused the listener.
      assert.doesNotMatch(err.message, /no certificate of the presented chain/);
      return true;
    });
    impostor.setSecureContext({ cert: rogue.pem + rogueCA.pem + devCA.toString(), key: rogue.keyPem });
    // A pin of no certificate the listener presents.
    const otherPin = "sha256:" + createHash("sha256").update(rogueCA.der).digest("base64url");
    const noPin = "sha256:" + createHash("sha256").update("no certificate").digest("base64url");
    await assert.rejects(enroll(`msg-enroll://${impostorAddr}/?s=${secret}&pin=${noPin}`, new FileIdentityStore(storeDir())), EnrollmentPinError);
    // The real gateway, a pin of another CA.
    await assert.rejects(enroll(`msg-enroll://${g.enrollAddr}/?s=${secret}&pin=${otherPin}`, new FileIdentityStore(storeDir())), EnrollmentPinError);
    assert.equal(streams, 0, "a request reached the impostor");
  } finally {
    await new Promise<void>((resolve) => impostor.close(() => resolve()));
  }
  // The secret was never sent: it still enrolls.
  const id = await enroll(bundle, new FileIdentityStore(storeDir()));
  assert.match(id.deviceId, /.+/);
});

test("renewals of a short-lived certificate: a loop of calls has no failure", { timeout: 180_000 }, async () => {
  const bundle = await createToken(g, { identity: { commonName: "erin" }, certLifetime: "6s" });
  const store = new FileIdentityStore(storeDir());
  await enroll(bundle, store);
  const first = (await store.load()).certificateChain[0]!;
  const statuses: RenewalStatus[] = [];
  const renewedAtGateway = await metric(g as unknown as Gateway, "msg_renew_total", { result: "issued" });
  const f = await createEnrolledFetch(store, { onRenewal: (s) => statuses.push(s) });
  let calls = 0;
  let failed = 0;
  const errors: string[] = [];
  const deadline = Date.now() + 150_000;
  try {
    // Until three renewals happened, counted by the SDK, not by the clock.
    while (f.renewalStatus().renewals < 3 && Date.now() < deadline) {
      calls++;
      try {
        const resp = await f("https://enrolled.internal/loop");
        const body = await resp.text();
        if (resp.status !== 200 || !body.startsWith("hello")) {
          failed++;
          errors.push(`${resp.status} ${body}`);
        }
      } catch (err) {
        failed++;
        errors.push(String(err));
      }
    }
  } finally {
    f.close();
  }
  const st = f.renewalStatus();
  console.log(`# renewals ${st.renewals}, calls ${calls}, failed ${failed}, failed renewal attempts ${statuses.filter((s) => s.error).length}`);
  assert.ok(st.renewals >= 3, `only ${st.renewals} renewals before the deadline; last error ${st.error}`);
  assert.equal(failed, 0, errors.slice(0, 5).join("\n"));
  assert.ok(calls > st.renewals);
  // The gateway issued them, and the store holds the newest.
  assert.ok((await metric(g as unknown as Gateway, "msg_renew_total", { result: "issued" })) - renewedAtGateway >= 3);
  assert.notDeepEqual((await store.load()).certificateChain[0], first);
});

test("a renewal: new calls present the new certificate, a call in flight finishes on the old connection and is not sent again; a network change then moves it", { timeout: 120_000 }, async () => {
  const bundle = await createToken(g, { identity: { commonName: "frank" }, certLifetime: "9s" });
  const store = new FileIdentityStore(storeDir());
  await enroll(bundle, store);
  const fp = (der: Uint8Array) => createHash("sha256").update(der).digest("hex");
  const first = fp((await store.load()).certificateChain[0]!);
  const f = await createEnrolledFetch(store);
  const slow = "/rotate-in-flight";
  const moving = "/rotate-then-network-change";
  const release = deferred();
  const releaseMoving = deferred();
  holds.set(slow, release);
  holds.set(moving, releaseMoving);
  try {
    // Idempotent GETs: the kind of call a network change would move.
    const inFlight = f(`https://enrolled.internal${slow}`);
    const movable = f(`https://enrolled.internal${moving}`);
    await waitUntil("the calls in flight reached the upstream", () => seen.some((r) => r.path === slow) && seen.some((r) => r.path === moving));
    await waitUntil("a renewal", () => f.renewalStatus().renewals >= 1, 60_000);
    const renewed = fp((await store.load()).certificateChain[0]!);
    assert.notEqual(renewed, first);
    const after = await f("https://enrolled.internal/rotate-after");
    assert.equal(await after.text(), "hello");
    const fingerprint = seen.find((r) => r.path === "/rotate-after")?.fingerprint;
    // The renewal may have happened twice by now: any certificate but the first.
    assert.notEqual(fingerprint, first, "a call after the renewal presented the old certificate");
    assert.match(fingerprint ?? "", /^[0-9a-f]{64}$/);
    release.resolve();
    const resp = await inFlight;
    assert.equal(resp.status, 200);
    assert.equal(await resp.text(), "hello");
    const slowSeen = seen.filter((r) => r.path === slow);
    assert.equal(slowSeen.length, 1, "the call in flight was sent again after the renewal");
    assert.equal(slowSeen[0]!.fingerprint, first);
    // The old connection is as dead as the new one after a network change:
    // its calls that may move do, onto a connection with the new certificate.
    f.networkChanged();
    await waitUntil("the movable call sent again", () => seen.filter((r) => r.path === moving).length === 2);
    assert.notEqual(seen.filter((r) => r.path === moving)[1]!.fingerprint, first);
    releaseMoving.resolve();
    const moved = await movable;
    assert.equal(await moved.text(), "hello");
  } finally {
    release.resolve();
    releaseMoving.resolve();
    f.close();
  }
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

test("the README's enrollment example runs as written", { timeout: 120_000 }, async () => {
  const bundle = await createToken(g, { identity: { commonName: "carol" } });
  const file = join(pkg, "dist", "readme-enroll-example.mjs");
  writeFileSync(file, example("tested enrollment example"));
  const dir = storeDir();
  const run = () =>
    promisify(execFile)(process.execPath, [file], { env: { ...process.env, MSG_ENROLL_BUNDLE: bundle, MSG_IDENTITY_DIR: dir } });
  // The first run enrolls, the second finds the identity and only calls.
  assert.equal((await run()).stdout, "enrolled\n200 hello\n");
  assert.equal((await run()).stdout, "200 hello\n");
});
