// Streaming through the real gateway: 64 MiB each way with the SDK's memory
// measured, cancellation that reaches the upstream, and server-sent events
// that arrive event by event. No timing thresholds: every wait is for an
// event (the test's timeout is only a backstop).
import assert from "node:assert/strict";
import { createHash, randomUUID } from "node:crypto";
import { after, before, test, type TestContext } from "node:test";
import { createGatewayFetch, type GatewayFetch } from "../src/index.js";
import {
  allowUpstream,
  collectGarbage,
  identity,
  MiB,
  startGateway,
  startUpstreamProcess,
  transferBlock,
  transferBytes,
  type Gateway,
  type UpstreamProcess,
} from "./harness.js";

/**
 * The bound on the SDK's memory growth during a 64 MiB transfer: the largest
 * growth of reachable heap + ArrayBuffer memory (sampled after a full GC
 * every 4 MiB) must stay under it. A transport that buffered the body would
 * exceed it many times over. The upstream runs in another process, so this
 * process holds the SDK, its HTTP/2 connection and the test's reading or
 * writing loop only.
 */
const retainedBound = 8 * MiB;
/**
 * The bound on RSS growth, sampled before each forced GC: what the process
 * really took from the system during the transfer, garbage included.
 */
const rssBound = 48 * MiB;

// One pseudo-random block, sent repeatedly: the SHA-256 of the whole
// transfer is known without holding it.
const seed = randomUUID();
const block = transferBlock(seed);
const expectedSha = (() => {
  const h = createHash("sha256");
  for (let i = 0; i < transferBytes / MiB; i++) h.update(block);
  return h.digest("hex");
})();

let g: Gateway;
let alice: GatewayFetch;
let up: UpstreamProcess;

before(async () => {
  g = await startGateway();
  alice = createGatewayFetch(identity(g, "alice"));
  up = await startUpstreamProcess(seed);
  await allowUpstream(g, "stream.internal", up.port);
});

after(async () => {
  alice?.close();
  await up?.stop();
  await g?.stop();
});

/** MemoryWatch samples the process's memory during a transfer. */
class MemoryWatch {
  private readonly base: NodeJS.MemoryUsage;
  retainedPeak = 0;
  rssPeak = 0;
  constructor() {
    collectGarbage();
    this.base = process.memoryUsage();
  }
  sample(): void {
    const raw = process.memoryUsage();
    this.rssPeak = Math.max(this.rssPeak, raw.rss - this.base.rss);
    collectGarbage();
    const m = process.memoryUsage();
    this.retainedPeak = Math.max(this.retainedPeak, m.heapUsed + m.arrayBuffers - (this.base.heapUsed + this.base.arrayBuffers));
  }
  check(t: TestContext, what: string): void {
    t.diagnostic(`${what}: reachable heap+ArrayBuffer growth peak ${(this.retainedPeak / MiB).toFixed(2)} MiB (bound ${retainedBound / MiB}), RSS growth peak ${(this.rssPeak / MiB).toFixed(2)} MiB (bound ${rssBound / MiB})`);
    assert.ok(this.retainedPeak < retainedBound, `${what}: reachable memory grew ${this.retainedPeak} bytes`);
    assert.ok(this.rssPeak < rssBound, `${what}: RSS grew ${this.rssPeak} bytes`);
  }
}

test("a 64 MiB download arrives whole in bounded memory", { timeout: 300_000 }, async (t) => {
  const watch = new MemoryWatch();
  const resp = await alice("https://stream.internal/download");
  assert.equal(resp.status, 200);
  assert.equal(resp.headers.get("content-length"), String(transferBytes));
  const h = createHash("sha256");
  let n = 0;
  let next = 4 * MiB;
  const reader = resp.body!.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    h.update(value);
    n += value.byteLength;
    if (n >= next) {
      watch.sample();
      next += 4 * MiB;
    }
  }
  assert.equal(n, transferBytes);
  assert.equal(h.digest("hex"), expectedSha);
  await resp.trailers;
  watch.check(t, "download");
});

test("a 64 MiB streamed upload arrives whole in bounded memory", { timeout: 300_000 }, async (t) => {
  const watch = new MemoryWatch();
  let sent = 0;
  const body = new ReadableStream<Uint8Array>(
    {
      pull(c) {
        if (sent === transferBytes) {
          c.close();
          return;
        }
        // A fresh copy each time, so that chunks the SDK kept would show.
        c.enqueue(Uint8Array.prototype.slice.call(block));
        sent += MiB;
        if (sent % (4 * MiB) === 0) watch.sample();
      },
    },
    { highWaterMark: 0 },
  );
  const resp = await alice("https://stream.internal/upload", { method: "POST", body });
  assert.equal(resp.status, 200);
  assert.deepEqual(await resp.json(), { bytes: transferBytes, sha256: expectedSha });
  watch.check(t, "upload");
});

test("aborting the signal mid-download cancels the upstream request", { timeout: 120_000 }, async () => {
  const upstreamAborted = up.waitFor("aborted /endless");
  const ac = new AbortController();
  const resp = await alice("https://stream.internal/endless", { signal: ac.signal });
  const reader = resp.body!.getReader();
  let n = 0;
  while (n < 2 * MiB) {
    const { value } = await reader.read();
    n += value!.byteLength;
  }
  ac.abort();
  await upstreamAborted;
  await assert.rejects(reader.read(), { name: "AbortError" });
  await assert.rejects(resp.trailers, { name: "AbortError" });
});

test("cancelling the response body mid-download cancels the upstream request", { timeout: 120_000 }, async () => {
  const upstreamAborted = up.waitFor("aborted /endless");
  const resp = await alice("https://stream.internal/endless");
  const reader = resp.body!.getReader();
  let n = 0;
  while (n < 2 * MiB) {
    const { value } = await reader.read();
    n += value!.byteLength;
  }
  await reader.cancel();
  await upstreamAborted;
});

test("aborting while the upstream has not answered cancels its request", { timeout: 120_000 }, async () => {
  const upstreamAborted = up.waitFor("aborted /hang");
  const hangReceived = up.waitFor("received /hang");
  const ac = new AbortController();
  const pending = alice("https://stream.internal/hang", { signal: ac.signal });
  await hangReceived;
  ac.abort();
  await assert.rejects(pending, { name: "AbortError" });
  await upstreamAborted;
});

test("server-sent events arrive event by event", { timeout: 120_000 }, async () => {
  const resp = await alice("https://stream.internal/events", { headers: { accept: "text/event-stream" } });
  assert.equal(resp.headers.get("content-type"), "text/event-stream");
  const reader = resp.body!.pipeThrough(new TextDecoderStream()).getReader();
  let text = "";
  // The upstream holds the second event until the first has been read here:
  // a transport that waited for more bytes, or for the end, would hang.
  while (!text.includes("\n\n")) {
    const { done, value } = await reader.read();
    assert.ok(!done, "the body ended before the first event");
    text += value;
  }
  assert.equal(text, "data: one\n\n");
  // Directly, not through the gateway: the upstream's control endpoint.
  assert.equal((await fetch(`http://127.0.0.1:${up.port}/control/release`)).status, 200);
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    text += value;
  }
  assert.equal(text, "data: one\n\ndata: two\n\n");
});
