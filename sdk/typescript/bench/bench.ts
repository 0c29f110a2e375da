// make bench-ts: the SDK's cost per small request against Node's own HTTPS
// clients talking straight to an HTTPS server, in one run, and the SDK's
// memory during 64 MiB transfers. The gateway and the upstream (HTTP for the
// gateway, HTTPS for the direct clients, same handler) are child processes,
// so this process's CPU and memory are the clients' alone. Node's fetch
// reads its extra trust anchor from NODE_EXTRA_CA_CERTS at start-up, so the
// measuring runs in a child started once the dev CA exists.
import { spawn } from "node:child_process";
import { createHash } from "node:crypto";
import * as https from "node:https";
import { rmSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { createGatewayFetch, type GatewayFetch } from "../src/index.js";
import {
  collectGarbage,
  identity,
  MiB,
  startGateway,
  startServe,
  startUpstreamProcess,
  transferBlock,
  transferBytes,
} from "../test/harness.js";

const rounds = Number(process.env["BENCH_ROUNDS"] ?? 5);
const perRound = Number(process.env["BENCH_REQUESTS"] ?? 1000);
const seed = "bench";

interface Setup {
  gatewayAddr: string;
  dir: string;
  upstreamPort: number;
  tlsPort: number;
}

async function orchestrate(): Promise<void> {
  // Dev mode mints the PKI (CA, server and alice certificates); the run then
  // uses `serve` with production defaults except the per-principal rate and
  // in-flight limits, which one identity in a closed loop would hit (as
  // `make bench` does).
  const dev = await startGateway();
  const dir = dev.dir;
  await dev.stop(true);
  const up = await startUpstreamProcess(seed, { cert: join(dir, "server.pem"), key: join(dir, "server-key.pem") });
  let gw: Awaited<ReturnType<typeof startServe>> | undefined;
  try {
    gw = await startServe(dir, gatewayConfig(dir, up.port));
    const setup: Setup = { gatewayAddr: gw.addr, dir, upstreamPort: up.port, tlsPort: up.tlsPort! };
    const child = spawn(process.execPath, ["--expose-gc", fileURLToPath(import.meta.url), "measure", JSON.stringify(setup)], {
      stdio: "inherit",
      env: { ...process.env, NODE_EXTRA_CA_CERTS: join(dir, "ca.pem") },
    });
    const code = await new Promise<number | null>((resolve) => child.once("exit", resolve));
    if (code !== 0) throw new Error(`measuring child exited ${code}`);
  } finally {
    await gw?.stop();
    await up.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

function gatewayConfig(dir: string, upstreamPort: number): string {
  return `# Written by make bench-ts.
listen: 127.0.0.1:0
admin_listen: 127.0.0.1:0
data_dir: ${JSON.stringify(join(dir, "bench-data"))}
tls: {cert_file: ${JSON.stringify(join(dir, "server.pem"))}, key_file: ${JSON.stringify(join(dir, "server-key.pem"))}, client_ca_file: ${JSON.stringify(join(dir, "ca.pem"))}}
log: {level: info, format: text}
limits: {rate_per_second: 1000000, burst: 1000000, max_in_flight_per_identity: 10000}
hosts:
  - {name: bench.internal, upstream: "http://127.0.0.1:${upstreamPort}", timeout: 60s, allowed_cidrs: [127.0.0.0/8]}
rules:
  - {id: bench, effect: allow, principals: [{id: alice}], hosts: [bench.internal]}
`;
}

type Client = () => Promise<number>;

async function measure(setup: Setup): Promise<void> {
  const id = identity({ addr: setup.gatewayAddr, dir: setup.dir }, "alice");
  const sdk = createGatewayFetch(id);
  const agent = new https.Agent({ keepAlive: true, maxSockets: 1, ca: id.ca });
  const direct = `https://127.0.0.1:${setup.tlsPort}/small`;

  const clients: Array<[string, Client]> = [
    [
      "SDK through the gateway (HTTP/2 gRPC, mTLS)",
      async () => (await (await sdk("https://bench.internal/small")).arrayBuffer()).byteLength,
    ],
    [
      "node:https straight to HTTPS (keep-alive)",
      () =>
        new Promise<number>((resolve, reject) => {
          https
            .get(direct, { agent }, (res) => {
              let n = 0;
              res.on("data", (c: Buffer) => (n += c.length));
              res.on("end", () => resolve(n));
              res.on("error", reject);
            })
            .on("error", reject);
        }),
    ],
    ["fetch (undici) straight to HTTPS", async () => (await (await fetch(direct)).arrayBuffer()).byteLength],
  ];

  // Warm-up: connections, TLS, JIT.
  for (const [, c] of clients) for (let i = 0; i < 300; i++) await c();

  const lat = new Map<string, number[]>();
  const cpu = new Map<string, number[]>();
  for (let r = 0; r < rounds; r++) {
    for (const [name, c] of clients) {
      const l = lat.get(name) ?? [];
      const start = process.cpuUsage();
      for (let i = 0; i < perRound; i++) {
        const t0 = performance.now();
        if ((await c()) !== 1024) throw new Error(`${name}: short answer`);
        l.push(performance.now() - t0);
      }
      const used = process.cpuUsage(start);
      lat.set(name, l);
      cpu.set(name, [...(cpu.get(name) ?? []), (used.user + used.system) / perRound]);
    }
  }
  console.log(`\nGET of 1 KiB at concurrency 1, ${rounds} interleaved rounds of ${perRound} requests (Node ${process.version}):\n`);
  console.log("| client | p50 latency | p99 latency | client CPU per request (median of rounds) |");
  console.log("| --- | ---: | ---: | ---: |");
  for (const [name] of clients) {
    const l = lat.get(name)!.sort((a, b) => a - b);
    const p = (q: number) => `${(l[Math.floor(q * (l.length - 1))]! * 1000).toFixed(0)} µs`;
    const c = cpu.get(name)!.sort((a, b) => a - b);
    console.log(`| ${name} | ${p(0.5)} | ${p(0.99)} | ${c[Math.floor(c.length / 2)]!.toFixed(0)} µs |`);
  }

  console.log("\nSDK memory during 64 MiB transfers (growth over the start; reachable = heapUsed + arrayBuffers after full GCs, sampled every 4 MiB):\n");
  console.log("| transfer | MB/s | peak reachable growth | peak RSS growth |");
  console.log("| --- | ---: | ---: | ---: |");
  for (const dir of ["download", "upload"] as const) {
    const m = await transfer(sdk, dir);
    console.log(`| ${dir} | ${m.mbps.toFixed(0)} | ${(m.retained / MiB).toFixed(2)} MiB | ${(m.rss / MiB).toFixed(2)} MiB |`);
  }
  sdk.close();
  agent.destroy();
}

async function transfer(f: GatewayFetch, dir: "download" | "upload"): Promise<{ mbps: number; retained: number; rss: number }> {
  const block = transferBlock(seed);
  collectGarbage();
  const base = process.memoryUsage();
  let retained = 0;
  let rss = 0;
  const sample = () => {
    rss = Math.max(rss, process.memoryUsage().rss - base.rss);
    collectGarbage();
    const m = process.memoryUsage();
    retained = Math.max(retained, m.heapUsed + m.arrayBuffers - base.heapUsed - base.arrayBuffers);
  };
  const t0 = performance.now();
  if (dir === "download") {
    const resp = await f("https://bench.internal/download");
    const h = createHash("sha256");
    let n = 0;
    const reader = resp.body!.getReader();
    for (;;) {
      const { done, value: chunk } = await reader.read();
      if (done) break;
      h.update(chunk);
      n += chunk.byteLength;
      if (n % (4 * MiB) < chunk.byteLength) sample();
    }
    if (n !== transferBytes) throw new Error(`download: ${n} bytes`);
  } else {
    let sent = 0;
    const body = new ReadableStream<Uint8Array>(
      {
        pull(c) {
          if (sent === transferBytes) return c.close();
          c.enqueue(Uint8Array.prototype.slice.call(block));
          sent += MiB;
          if (sent % (4 * MiB) === 0) sample();
        },
      },
      { highWaterMark: 0 },
    );
    const resp = await f("https://bench.internal/upload", { method: "POST", body });
    const got = (await resp.json()) as { bytes: number };
    if (got.bytes !== transferBytes) throw new Error(`upload: ${got.bytes} bytes`);
  }
  const seconds = (performance.now() - t0) / 1000;
  // The samples' GCs are inside the timed span: MB/s is a floor.
  return { mbps: transferBytes / 1e6 / seconds, retained, rss };
}

if (process.argv[2] === "measure") {
  await measure(JSON.parse(process.argv[3]!) as Setup);
} else {
  await orchestrate();
}
