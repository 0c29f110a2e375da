// The SDK on an emulated mobile link (internal/mobilelink, run as a child
// process) in front of real gateways (`msg-gateway serve`): network changes
// with and without networkChanged(), a NAT that forgets idle connections,
// connections reset under waiting calls, RetryInfo, keepalive pings against
// the gateway's policy, and a gateway drained and restarted behind the link.
// Times are scaled down where the real ones would make the suite slow (NAT
// timeouts of 1-2 s instead of 30 s, pings every second instead of 15 s), as
// in the Go tests (client/mobile_test.go, server/mobile_test.go). The
// scenarios run concurrently: most of their time is waiting.
import assert from "node:assert/strict";
import type { IncomingMessage, ServerResponse } from "node:http";
import { rmSync } from "node:fs";
import { after, before, describe, test } from "node:test";
import { defaultTuning, type GatewayFetchOptions, type Tuning } from "../src/connection.js";
import { createGatewayFetchWith } from "../src/fetch.js";
import { Code, GatewayError, type GatewayFetch } from "../src/index.js";
import {
  identity,
  serveGateway,
  startGateway,
  startMobileLink,
  startUpstream,
  waitUntil,
  type MobileLink,
  type ServedGateway,
  type Upstream,
} from "./harness.js";

/** The link of server/mobile_test.go: 150 ms round trips with jitter, 1 Mbit/s up, 5 Mbit/s down. */
const phoneLink = ["-rtt", "150ms", "-jitter", "20ms", "-uplink-bps", "1000000", "-downlink-bps", "5000000"];
/** A quicker link for the scenarios that only need silence (as client/mobile_test.go). */
const quickLink = ["-rtt", "40ms", "-jitter", "10ms", "-uplink-bps", "0", "-downlink-bps", "0"];

let pki: string;
let up: Upstream;
/** the gateway most scenarios use; it accepts client pings every second */
let main: ServedGateway;
/** requests the upstream received, by X-Seq */
const arrivals = new Map<string, number>();
const arrivalWaiters = new Map<string, () => void>();
const cleanups: Array<() => Promise<void> | void> = [];

/**
 * The internal host: /slow/... answers a request (named by its X-Seq
 * header) only the second time it arrives, and holds the first until the
 * gateway cancels it; /silent?ms=N answers after N ms; /drain after 100 ms,
 * so that calls are in flight when a gateway drains; anything else at once.
 */
function handle(req: IncomingMessage, res: ServerResponse): void {
  const seq = String(req.headers["x-seq"] ?? "");
  const n = (arrivals.get(seq) ?? 0) + 1;
  arrivals.set(seq, n);
  arrivalWaiters.get(seq)?.();
  req.resume();
  const url = new URL(req.url ?? "/", "http://x");
  const answer = () => {
    if (!res.destroyed) res.end(`ok ${seq}`);
  };
  if (url.pathname.startsWith("/slow/") && n === 1) return; // held until the gateway cancels it
  if (url.pathname === "/silent") {
    const t = setTimeout(answer, Number(url.searchParams.get("ms")));
    res.once("close", () => clearTimeout(t));
    return;
  }
  if (url.pathname === "/drain") {
    setTimeout(answer, 100);
    return;
  }
  answer();
}

/** arrived resolves once the request seq has reached the upstream. */
function arrived(seq: string): Promise<void> {
  if ((arrivals.get(seq) ?? 0) > 0) return Promise.resolve();
  return new Promise((resolve) => arrivalWaiters.set(seq, resolve));
}

before(async () => {
  // Dev mode only mints the PKI (and admin tokens) here.
  const dev = await startGateway();
  pki = dev.dir;
  await dev.stop(true);
  up = await startUpstream(handle);
  main = await serveGateway(pki, "main", up.port, "keepalive: {min_client_ping_interval: 1s}");
});

after(async () => {
  for (const c of cleanups.reverse()) await c();
  await main?.stop();
  await up?.close();
  if (pki) rmSync(pki, { recursive: true, force: true });
});

/** phone returns a gateway fetch for alice through a new mobile link in front of g. */
async function phone(
  g: ServedGateway,
  linkArgs: string[],
  opts: Partial<GatewayFetchOptions> = {},
  tuning: Partial<Tuning> = {},
): Promise<{ f: GatewayFetch; link: MobileLink }> {
  const link = await startMobileLink(g.addr, linkArgs);
  const f = createGatewayFetchWith({ ...identity({ addr: link.addr, dir: pki }, "alice"), ...opts }, { ...defaultTuning, ...tuning });
  cleanups.push(() => f.close(), () => link.stop());
  return { f, link };
}

/** send makes one request to up.internal and returns its body; a body for POST and PUT. */
async function send(f: GatewayFetch, method: string, path: string, seq: string, timeoutMs: number, headers: Record<string, string> = {}): Promise<string> {
  const body = method === "POST" || method === "PUT" ? `payload ${seq}` : undefined;
  const resp = await f(`https://up.internal${path}`, { method, body, headers: { ...headers, "x-seq": seq }, signal: AbortSignal.timeout(timeoutMs) });
  return resp.text();
}

type Outcome = { body: string; err?: undefined } | { body?: undefined; err: unknown };

async function outcome(p: Promise<string>): Promise<Outcome> {
  try {
    return { body: await p };
  } catch (err) {
    return { err };
  }
}

const seconds = (ms: number) => `${(ms / 1000).toFixed(2)} s`;

describe("mobile networks", { concurrency: true, timeout: 240_000 }, () => {
  // Issue 16's report: a request every 200 ms with a 5 s timeout, and the
  // phone moves to another network mid-loop (every open connection goes
  // silent for good). With the app's networkChanged() and without it, the
  // loop recovers, losing at most one request: an idempotent request in
  // flight at the change moves to a new connection, a POST cannot and waits
  // for its timeout. The time to the first answer after the change is
  // logged.
  for (const method of ["GET", "POST"]) {
    for (const appCall of [true, false]) {
      const name = `${method} loop across a network change ${appCall ? "with" : "without"} networkChanged()`;
      test(name, async (t) => {
        const { f, link } = await phone(main, phoneLink);
        const every = 200;
        const timeout = 5000;
        const reqs: Array<{ start: number; end: number; err?: unknown }> = [];
        let changed = 0;
        let successesAfter = 0;
        for (let i = 0; successesAfter < 5; i++) {
          if (changed !== 0 && performance.now() - changed > 40_000) assert.fail(`no recovery within 40 s of the network change: ${successesAfter} successes`);
          if (changed === 0 && reqs.length >= 6) {
            // Mid-request, like the report's: the change lands while a request is on its way.
            changed = performance.now() + 50;
            setTimeout(() => {
              void link.networkChange().then(() => {
                if (appCall) f.networkChanged();
              });
            }, 50);
          }
          const r: { start: number; end: number; err?: unknown } = { start: performance.now(), end: 0 };
          const o = await outcome(send(f, method, `/loop/${i}`, `loop-${method}-${appCall}-${i}`, timeout));
          r.end = performance.now();
          r.err = o.err;
          reqs.push(r);
          if (o.err === undefined && changed !== 0 && r.end > changed) successesAfter++;
          await new Promise((resolve) => setTimeout(resolve, every));
        }
        let failed = 0;
        let recovered = 0;
        let firstAfter = 0;
        for (const r of reqs) {
          if (r.end < changed) {
            assert.equal(r.err, undefined, `a request before the change failed: ${String(r.err)}`);
            continue;
          }
          if (r.err !== undefined) {
            failed++;
            t.diagnostic(`failed in the window, ${seconds(r.end - changed)} after the change: ${String(r.err)}`);
            continue;
          }
          if (recovered === 0) recovered = r.end - changed;
          if (firstAfter === 0 && r.start > changed) firstAfter = r.end - r.start;
        }
        t.diagnostic(`${name}: first answer ${seconds(recovered)} after the change, the first request begun after it took ${seconds(firstAfter)}, ${failed} failed in the window`);
        assert.ok(failed <= 1, `${failed} requests failed after the change, want at most 1`);
        if (method === "GET") assert.equal(failed, 0, "an idempotent request failed across the change");
      });
    }
  }

  // After networkChanged() the next request goes out on a new connection at
  // once, and calls waiting on the old one move when they may be sent twice
  // (a GET, a POST with an Idempotency-Key); a plain POST stays where it was
  // sent and is never sent twice. The SDK's own health checks are off here,
  // and the timeouts are shorter than the keepalive's 15 s + 10 s: only
  // networkChanged() can save the calls that move.
  test("networkChanged() moves the waiting calls that may be sent twice", async () => {
    const { f, link } = await phone(main, quickLink, {}, { probeAfterMs: 0 });
    assert.equal(await send(f, "GET", "/warm", "nc-warm", 10_000), "ok nc-warm");
    const get = outcome(send(f, "GET", "/slow/nc", "nc-get", 12_000));
    const keyed = outcome(send(f, "POST", "/slow/nc", "nc-keyed", 12_000, { "idempotency-key": "k1" }));
    let postSettled = false;
    const post = outcome(send(f, "POST", "/slow/nc", "nc-post", 3000)).finally(() => (postSettled = true));
    await Promise.all([arrived("nc-get"), arrived("nc-keyed"), arrived("nc-post")]);
    await link.networkChange();
    f.networkChanged();
    assert.deepEqual(await get, { body: "ok nc-get" }, "the GET waiting at the change, want it answered on the new connection");
    assert.deepEqual(await keyed, { body: "ok nc-keyed" }, "the POST with an Idempotency-Key waiting at the change");
    // Moved by the call, not by the plain POST's timeout (which replaces a
    // silent connection too): the POST is still waiting.
    assert.equal(postSettled, false, "the plain POST ended before the calls that moved were answered");
    const p = await post;
    assert.ok(p.err instanceof Error && p.err.name === "TimeoutError", `the plain POST waiting at the change: ${String(p.err ?? p.body)}, want its timeout`);
    assert.deepEqual(
      { get: arrivals.get("nc-get"), keyed: arrivals.get("nc-keyed"), post: arrivals.get("nc-post") },
      { get: 2, keyed: 2, post: 1 },
      "arrivals at the upstream",
    );
    assert.equal(await send(f, "GET", "/after", "nc-after", 10_000), "ok nc-after");
    const s = await link.stats();
    assert.equal(s.accepted, 2, "connections through the link");
    assert.ok(s.conns[0]?.silenced, "the first connection was silenced");
  });

  // Without networkChanged(), a call that waits in silence has its
  // connection checked after a second, and moves once three more seconds
  // bring no answer: well within its timeout, which is shorter than the
  // keepalive's.
  test("a dead connection is noticed without the app", async (t) => {
    const { f, link } = await phone(main, quickLink);
    assert.equal(await send(f, "GET", "/warm", "dead-warm", 10_000), "ok dead-warm");
    const get = outcome(send(f, "GET", "/slow/dead", "dead-get", 12_000));
    await arrived("dead-get");
    const changed = performance.now();
    await link.networkChange();
    assert.deepEqual(await get, { body: "ok dead-get" });
    t.diagnostic(`the waiting GET was answered ${seconds(performance.now() - changed)} after the network change (its timeout: 12 s)`);
    assert.equal((await link.stats()).accepted, 2);
  });

  // A call whose timeout fires with nothing read on its connection leaves
  // the next call a new connection (health checks off: this alone).
  test("a call that times out in silence replaces the connection", async () => {
    const { f, link } = await phone(main, quickLink, {}, { probeAfterMs: 0 });
    assert.equal(await send(f, "GET", "/warm", "to-warm", 10_000), "ok to-warm");
    await link.networkChange();
    const lost = await outcome(send(f, "POST", "/fast", "to-lost", 300));
    assert.ok(lost.err instanceof Error && lost.err.name === "TimeoutError", `POST into the silenced connection: ${String(lost.err ?? lost.body)}`);
    assert.deepEqual(await outcome(send(f, "POST", "/fast", "to-next", 10_000)), { body: "ok to-next" }, "the next POST, on a new connection");
    assert.equal(arrivals.get("to-lost"), undefined, "the POST sent into the silenced connection reached the upstream");
  });

  // A connection reset before the answer: the PUT is sent again on a new
  // connection; the POST fails with Unavailable, having reached the
  // upstream once.
  test("a reset connection: the idempotent request is sent again, the POST is not", async () => {
    const { f, link } = await phone(main, quickLink);
    assert.equal(await send(f, "GET", "/warm", "rs-warm", 10_000), "ok rs-warm");
    const put = outcome(send(f, "PUT", "/slow/rs", "rs-put", 30_000));
    const post = outcome(send(f, "POST", "/slow/rs", "rs-post", 30_000));
    await Promise.all([arrived("rs-put"), arrived("rs-post")]);
    await link.reset();
    assert.deepEqual(await put, { body: "ok rs-put" });
    assert.equal(arrivals.get("rs-put"), 2);
    const p = await post;
    assert.ok(p.err instanceof GatewayError && p.err.code === Code.Unavailable, `POST cut off by a reset: ${String(p.err ?? p.body)}, want Unavailable`);
    assert.equal(arrivals.get("rs-post"), 1);
  });

  // With the SDK's idle timeout below the NAT's, the SDK closes an idle
  // connection itself and the next request opens a new one, instead of
  // meeting a connection the NAT forgot. Scaled down: NAT 2 s, idle 500 ms.
  test("the idle close beats the NAT", async () => {
    const { f, link } = await phone(main, [...quickLink, "-nat-idle-timeout", "2s"], { idleTimeoutMs: 500 });
    assert.equal(await send(f, "GET", "/warm", "idle-warm", 10_000), "ok idle-warm");
    await waitUntil("the idle connection closed", async () => (await link.stats()).open === 0);
    await new Promise((r) => setTimeout(r, 2200)); // idle past the NAT's timeout
    for (const method of ["GET", "POST"]) {
      assert.equal(await send(f, method, "/fast", `idle-${method}`, 10_000), `ok idle-${method}`);
    }
    const s = await link.stats();
    assert.deepEqual({ silenced: s.silenced, accepted: s.accepted }, { silenced: 0, accepted: 2 }, "a second connection and none blackholed");
  });

  // With no idle timeout, a GET sent on a connection the NAT forgot moves to
  // a new one once a health check goes unanswered, and a POST is never sent
  // on such a connection: after five seconds of silence the connection is
  // checked first. Neither waits for its timeout. Scaled down: NAT 1 s.
  for (const [method, idle] of [
    ["GET", 1500], // past the NAT's timeout
    ["POST", 5500], // past the SDK's trust in a silent connection
  ] as const) {
    test(`a NAT drop is noticed before a ${method} goes unanswered`, async (t) => {
      const { f, link } = await phone(main, [...quickLink, "-nat-idle-timeout", "1s"], { idleTimeoutMs: 0 });
      assert.equal(await send(f, "GET", "/warm", `nat-warm-${method}`, 10_000), `ok nat-warm-${method}`);
      await new Promise((r) => setTimeout(r, idle));
      const start = performance.now();
      assert.deepEqual(await outcome(send(f, method, "/fast", `nat-${method}`, 20_000)), { body: `ok nat-${method}` });
      t.diagnostic(`${method} after ${seconds(idle)} idle, the NAT having dropped the connection, took ${seconds(performance.now() - start)}`);
      const s = await link.stats();
      assert.deepEqual({ silenced: s.silenced, accepted: s.accepted }, { silenced: 1, accepted: 2 }, "the NAT blackholed the first connection");
      assert.equal(arrivals.get(`nat-${method}`), 1);
    });
  }

  // A refusal with a RetryInfo (the gateway's rate limit: one request per
  // second) is sent again after the delay, whatever the method: the
  // gateway's limits refuse before relaying anything.
  test("RetryInfo is honoured", async () => {
    const limited = await serveGateway(pki, "limited", up.port, "limits: {rate_per_second: 1, burst: 1}");
    cleanups.push(() => limited.stop());
    const { f } = await phone(limited, quickLink);
    for (const method of ["GET", "POST"]) {
      assert.equal(await send(f, method, "/fast", `ri-first-${method}`, 10_000), `ok ri-first-${method}`);
      // The bucket is empty now: this one is refused, waits and goes again.
      assert.equal(await send(f, method, "/fast", `ri-${method}`, 10_000), `ok ri-${method}`);
      assert.equal(arrivals.get(`ri-${method}`), 1);
    }
  });

  // The SDK's keepalive pings during a call that waits in silence are what
  // the gateway's policy permits when the two intervals agree, and earn a
  // GOAWAY "too_many_pings" when the SDK pings more often than the gateway
  // allows. Scaled down: pings every second (default 15 s).
  test("keepalive pings meet the gateway's policy", async (t) => {
    const strict = await serveGateway(pki, "strict", up.port, "keepalive: {min_client_ping_interval: 3s}");
    cleanups.push(() => strict.stop());
    const run = async (g: ServedGateway, name: string) => {
      const { f, link } = await phone(g, quickLink, { keepalive: { intervalMs: 1000, timeoutMs: 2000 } });
      // A POST, so that a refused connection is not hidden by a retry.
      const call = outcome(send(f, "POST", "/silent?ms=6000", `ka-${name}`, 30_000));
      await arrived(`ka-${name}`);
      // From here on the SDK's pings (and its one health check, after a
      // second) are the only bytes going up.
      const before = (await link.stats()).up_bytes;
      const o = await call;
      const s = await link.stats();
      return { o, accepted: s.accepted, upDuringSilence: s.up_bytes - before };
    };
    const [agree, tooOften] = await Promise.all([run(main, "agree"), run(strict, "often")]);
    t.diagnostic(`intervals agree: ${JSON.stringify(agree.o)}, ${agree.upDuringSilence} bytes up; pinging too often: ${String(tooOften.o.err)}`);
    assert.deepEqual(agree.o, { body: "ok ka-agree" }, "the silent call on a gateway that permits pings every second");
    assert.equal(agree.accepted, 1, "connections: the pings must not cost the connection");
    // Node reports the GOAWAY's ENHANCE_YOUR_CALM (0xb) to the streams it ends.
    assert.ok(
      tooOften.o.err instanceof GatewayError && tooOften.o.err.code === Code.Unavailable && /error code 11\b/.test(tooOften.o.err.message),
      `pinging every second a gateway that permits every 3 s: ${String(tooOften.o.err ?? tooOften.o.body)}, want a GOAWAY ENHANCE_YOUR_CALM`,
    );
  });

  // The gateway as a child process behind the link, restarted (SIGTERM,
  // drain, exit, a new process on a new port that the link is pointed at,
  // as a load balancer would) while loops send GETs and POSTs. No GET may
  // fail; a POST may fail only with Unavailable and only if the upstream
  // never saw it; a POST that succeeded reached it exactly once.
  test("a gateway drained and restarted behind the link loses no idempotent request", async (t) => {
    const g = await serveGateway(pki, "restart", up.port);
    cleanups.push(() => g.stop());
    const { f, link } = await phone(g, ["-rtt", "60ms", "-jitter", "10ms", "-uplink-bps", "1000000", "-downlink-bps", "5000000"]);
    const outcomes: Array<{ seq: string; method: string; start: number; end: number; err?: unknown }> = [];
    let restarted = false;
    let okAfter = 0;
    let okBefore = 0;
    let n = 0;
    const worker = async (method: string) => {
      while (okAfter < 30) {
        if (++n > 2000) assert.fail("the loop did not recover");
        const seq = `drain-${method}-${n}`;
        const start = performance.now();
        const o = await outcome(send(f, method, "/drain", seq, 45_000));
        if (o.body !== undefined && o.body !== `ok ${seq}`) assert.fail(`body ${o.body}`);
        outcomes.push({ seq, method, start, end: performance.now(), err: o.err });
        if (o.err === undefined) {
          if (restarted) okAfter++;
          else okBefore++;
        }
      }
    };
    const workers = ["GET", "GET", "GET", "POST", "POST"].map(worker);
    await waitUntil("load before the restart", () => okBefore >= 10);
    const signalled = performance.now();
    await g.stop();
    // A restart takes a while: requests keep coming meanwhile.
    await new Promise((r) => setTimeout(r, 1000));
    await g.start();
    await link.configure({ target: g.addr });
    const back = performance.now();
    restarted = true;
    await Promise.all(workers);

    let gets = 0;
    let posts = 0;
    let postsFailed = 0;
    let inFlight = 0;
    let duringOutage = 0;
    for (const o of outcomes) {
      if (o.start < signalled && o.end > signalled) inFlight++;
      if (o.start > signalled && o.start < back) duringOutage++;
      const got = arrivals.get(o.seq) ?? 0;
      if (o.method === "GET") {
        gets++;
        assert.equal(o.err, undefined, `GET ${o.seq} failed: ${String(o.err)}`);
      } else if (o.err === undefined) {
        posts++;
        assert.equal(got, 1, `POST ${o.seq} succeeded and reached the upstream ${got} times`);
      } else {
        posts++;
        postsFailed++;
        assert.ok(o.err instanceof GatewayError && o.err.code === Code.Unavailable && got === 0, `POST ${o.seq} failed with ${String(o.err)} and reached the upstream ${got} times`);
      }
    }
    t.diagnostic(
      `across the restart: ${gets} GETs (none may fail), ${posts} POSTs (${postsFailed} failed, never sent); ${inFlight} in flight at SIGTERM, ${duringOutage} begun while the gateway was away (${seconds(back - signalled)})`,
    );
    assert.ok(inFlight > 0 && duringOutage > 0, `${inFlight} in flight at the signal and ${duringOutage} begun during the outage: the test proved nothing`);
  });
});
