// The SDK's fetch against the real gateway (dev mode): answers, refusals,
// the one-message form of small requests, trailers and the edges of fetch.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { parseAddress } from "../src/connection.js";
import { Code, createGatewayFetch, GatewayError, GatewayResponse, type GatewayFetch } from "../src/index.js";
import { adminCall, allowUpstream, deferred, identity, metric, startGateway, startUpstream, type Gateway, type Upstream } from "./harness.js";

let g: Gateway;
let alice: GatewayFetch;
let up: Upstream;
/** /hold answers once this resolves; held counts the requests it holds */
let releaseHeld = deferred();
let held = 0;
let heldReached = { count: 0, ...deferred() };

before(async () => {
  g = await startGateway();
  alice = createGatewayFetch(identity(g, "alice"));
  up = await startUpstream((req, res) => {
    const url = new URL(req.url ?? "/", "http://x");
    switch (url.pathname) {
      case "/trailers":
        res.writeHead(200, { "content-type": "text/plain", trailer: "x-checksum" });
        res.write("body with trailers");
        res.addTrailers({ "x-checksum": "c0ffee" });
        res.end();
        return;
      case "/status":
        res.writeHead(Number(url.searchParams.get("code")), { location: "/elsewhere" });
        res.end();
        return;
      case "/hold":
        held++;
        if (held === heldReached.count) heldReached.resolve();
        void releaseHeld.promise.then(() => res.end("released"));
        return;
      case "/echo": {
        let n = 0;
        req.on("data", (c: Buffer) => (n += c.length));
        req.on("end", () => {
          res.writeHead(200, { "content-type": "application/json" });
          res.end(JSON.stringify({ bytes: n, length: req.headers["content-length"] ?? null, chunked: req.headers["transfer-encoding"] ?? null }));
        });
        return;
      }
      default:
        res.writeHead(404);
        res.end();
    }
  });
  await allowUpstream(g, "test.internal", up.port);
});

after(async () => {
  alice?.close();
  await up?.close();
  await g?.stop();
});

/** refusal runs fn and returns the GatewayError it must reject with. */
async function refusal(fn: () => Promise<unknown>): Promise<GatewayError> {
  try {
    await fn();
  } catch (err) {
    assert.ok(err instanceof GatewayError, `want a GatewayError, got ${String(err)}`);
    return err;
  }
  assert.fail("the request was not refused");
}

test("alice GET gets the demo host's 200 and body", async () => {
  const resp = await alice("https://demo.internal/hello");
  assert.ok(resp instanceof Response && resp instanceof GatewayResponse);
  assert.equal(resp.status, 200);
  assert.equal(resp.url, "https://demo.internal/hello");
  assert.equal(resp.headers.get("content-type"), "application/json");
  const body = (await resp.json()) as Record<string, unknown>;
  assert.equal(body["message"], "hello from the demo internal host");
  assert.equal(body["principal"], "alice");
  assert.equal(body["path"], "/hello");
});

test("mallory and alice under /private/ are refused with GatewayError POLICY_DENIED", async () => {
  const mallory = createGatewayFetch(identity(g, "mallory"));
  try {
    const cases: Array<[string, GatewayFetch, string]> = [
      ["mallory", mallory, "https://demo.internal/hello"],
      ["alice /private/", alice, "https://demo.internal/private/x"],
      ["alice, host not allow-listed", alice, "https://nowhere.internal/"],
    ];
    for (const [name, f, url] of cases) {
      const err = await refusal(() => f(url));
      assert.equal(err.code, Code.PermissionDenied, name);
      assert.equal(err.reason, "POLICY_DENIED", name);
      assert.equal(err.retryAfterMs, undefined, name);
      assert.doesNotMatch(err.message, /demo-private-area|127\.0\.0\.1|alice-no-private/, name);
    }
  } finally {
    mallory.close();
  }
});

test("small requests travel as one message once the gateway announced it", async () => {
  const received = () =>
    metric(g, "grpc_server_msg_received_total", { grpc_method: "ForwardStream", grpc_service: "msg.gateway.v1.GatewayService" });
  // A fresh connection: the first call goes the classic way and learns.
  const f = createGatewayFetch(identity(g, "alice"));
  try {
    let before = await received();
    let resp = await f("https://test.internal/echo", { method: "POST", body: "x".repeat(100) });
    assert.deepEqual(await resp.json(), { bytes: 100, length: "100", chunked: null });
    assert.equal((await received()) - before, 3, "first call: head, body chunk, end");

    const small: Array<[string, RequestInit, number]> = [
      ["bodyless GET", { method: "GET" }, 0],
      ["16 KiB POST", { method: "POST", body: new Uint8Array(16 << 10) }, 16 << 10],
    ];
    for (const [name, init, bytes] of small) {
      before = await received();
      resp = await f("https://test.internal/echo", init);
      assert.equal(resp.status, 200, name);
      const got = (await resp.json()) as { bytes: number };
      assert.equal(got.bytes, bytes, name);
      assert.equal((await received()) - before, 1, `${name}: one message`);
    }

    // Larger, or of unknown length: head, chunks, end.
    before = await received();
    resp = await f("https://test.internal/echo", { method: "POST", body: new Uint8Array((16 << 10) + 1) });
    assert.deepEqual(await resp.json(), { bytes: (16 << 10) + 1, length: String((16 << 10) + 1), chunked: null });
    assert.equal((await received()) - before, 3, "16 KiB + 1: head, chunk, end");

    before = await received();
    resp = await f("https://test.internal/echo", { method: "POST", body: new Blob(["abc"]).stream() });
    assert.deepEqual(await resp.json(), { bytes: 3, length: null, chunked: "chunked" });
    assert.equal((await received()) - before, 3, "stream body: head, chunk, end");
  } finally {
    f.close();
  }
});

test("trailers resolve after the body", async () => {
  const resp = await alice("https://test.internal/trailers");
  assert.equal(await resp.text(), "body with trailers");
  const trailers = await resp.trailers;
  assert.equal(trailers.get("x-checksum"), "c0ffee");
});

test("HEAD, 204 and 304 have no body; redirects and error statuses are responses", async () => {
  const head = await alice("https://test.internal/status?code=200", { method: "HEAD" });
  assert.equal(head.status, 200);
  assert.equal(head.body, null);
  assert.ok((await head.trailers) instanceof Headers);
  for (const code of [204, 304]) {
    const resp = await alice(`https://test.internal/status?code=${code}`);
    assert.equal(resp.status, code);
    assert.equal(resp.body, null);
  }
  const redirect = await alice("https://test.internal/status?code=302");
  assert.equal(redirect.status, 302);
  assert.equal(redirect.headers.get("location"), "/elsewhere");
  assert.equal(redirect.redirected, false);
  const unavailable = await alice("https://test.internal/status?code=503");
  assert.equal(unavailable.status, 503);
  const missing = await alice("https://test.internal/nothing-here");
  assert.equal(missing.status, 404);
});

test("only the pinned CA verifies the gateway", async () => {
  // mallory's certificate is no CA: nothing verifies the gateway with it.
  const id = identity(g, "alice");
  const f = createGatewayFetch({ ...id, ca: identity(g, "mallory").cert });
  try {
    const err = await refusal(() => f("https://demo.internal/hello"));
    assert.equal(err.code, Code.Unavailable);
  } finally {
    f.close();
  }
});

test("bad options fail at once", () => {
  const id = identity(g, "alice");
  assert.throws(() => createGatewayFetch({ ...id, ca: [] }), /ca is required/);
  assert.throws(() => createGatewayFetch({ ...id, key: "" }), /cert and key are required/);
  assert.throws(() => createGatewayFetch({ ...id, cert: "not PEM" }));
  assert.throws(() => createGatewayFetch({ ...id, address: "https://x:1/path" }), /host:port/);
  assert.throws(() => createGatewayFetch({ ...id, maxResponseMessageBytes: 0 }), /positive/);
});

test("gateway addresses", () => {
  const cases: Array<[string, { host: string; port: number } | RegExp]> = [
    ["127.0.0.1:8443", { host: "127.0.0.1", port: 8443 }],
    ["gateway.example.com:9443", { host: "gateway.example.com", port: 9443 }],
    ["Gateway.Example.com", { host: "gateway.example.com", port: 443 }],
    ["[::1]:8443", { host: "::1", port: 8443 }],
    ["", /host:port/],
    ["https://gateway.example.com:8443", /host:port/],
    ["gateway.example.com:8443/path", /host:port/],
    ["user@gateway.example.com:8443", /host:port/],
    ["gateway.example.com:99999", /host:port/],
  ];
  for (const [address, want] of cases) {
    if (want instanceof RegExp) assert.throws(() => parseAddress(address), want, address);
    else assert.deepEqual(parseAddress(address), want, address);
  }
});

test("request body limits and lengths", async () => {
  const f = createGatewayFetch({ ...identity(g, "alice"), maxRequestBodyBytes: 1000 });
  try {
    let err = await refusal(() => f("https://test.internal/echo", { method: "POST", body: new Uint8Array(1001) }));
    assert.equal(err.code, Code.ResourceExhausted);
    err = await refusal(async () => {
      const resp = await f("https://test.internal/echo", { method: "POST", body: new Blob([new Uint8Array(2000)]).stream() });
      await resp.text();
    });
    assert.equal(err.code, Code.ResourceExhausted);
    const resp = await f("https://test.internal/echo", { method: "POST", body: new Uint8Array(1000) });
    assert.deepEqual(await resp.json(), { bytes: 1000, length: "1000", chunked: null });
  } finally {
    f.close();
  }
});

test("a request body that fails ends the call with a GatewayError", async () => {
  const body = new ReadableStream<Uint8Array>({
    start(c) {
      c.enqueue(new Uint8Array(10));
      c.error(new Error("disk on fire"));
    },
  });
  const err = await refusal(async () => {
    const resp = await alice("https://test.internal/echo", { method: "POST", body });
    await resp.text();
  });
  assert.equal(err.code, Code.Unknown);
  assert.match(err.message, /read request body: Error: disk on fire/);
});

test("a closed fetch refuses with Canceled", async () => {
  const f = createGatewayFetch(identity(g, "alice"));
  assert.equal((await f("https://demo.internal/hello")).status, 200);
  f.close();
  const err = await refusal(() => f("https://demo.internal/hello"));
  assert.equal(err.code, Code.Canceled);
});

test("an aborted signal rejects with its reason before anything is sent", async () => {
  const reason = new Error("user left");
  await assert.rejects(alice("https://demo.internal/hello", { signal: AbortSignal.abort(reason) }), (e) => e === reason);
});

test("over the in-flight limit: ResourceExhausted with the reason and a retry delay", { timeout: 120_000 }, async () => {
  // Dev mode allows 100 requests in flight per identity. They are held by the
  // upstream, spread over two connections (each allows 100 streams).
  const f1 = createGatewayFetch(identity(g, "alice"));
  const f2 = createGatewayFetch(identity(g, "alice"));
  try {
    held = 0;
    releaseHeld = deferred();
    heldReached = { count: 100, ...deferred() };
    const pending = [];
    for (let i = 0; i < 100; i++) pending.push((i % 2 === 0 ? f1 : f2)("https://test.internal/hold"));
    await heldReached.promise;
    const err = await refusal(() => f2("https://test.internal/hold"));
    assert.equal(err.code, Code.ResourceExhausted);
    assert.equal(err.reason, "TOO_MANY_IN_FLIGHT");
    assert.ok(err.retryAfterMs !== undefined && err.retryAfterMs > 0, `retryAfterMs ${err.retryAfterMs}`);
    releaseHeld.resolve();
    for (const resp of await Promise.all(pending)) assert.equal(await resp.text(), "released");
  } finally {
    releaseHeld.resolve();
    f1.close();
    f2.close();
  }
});

test("admin writes for the tests went through the real admin API", async () => {
  const hosts = await adminCall(g, "GET", "/v1/hosts");
  assert.equal(hosts.status, 200);
  assert.match(hosts.text, /"test\.internal"/);
});
