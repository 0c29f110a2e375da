// The real gateway for the tests: `msg-gateway dev` as a child process on
// free loopback ports in a temporary directory, and upstreams that the tests
// register through the admin REST API.
import { execFileSync, spawn, type ChildProcess } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import * as http from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import * as v8 from "node:v8";
import * as vm from "node:vm";

/** The repository's root (this file runs from sdk/typescript/dist/test). */
export const repoRoot = join(dirname(fileURLToPath(import.meta.url)), "..", "..", "..", "..");

export interface Gateway {
  /** the gRPC (mTLS) address, host:port */
  addr: string;
  /** the admin HTTP address, host:port */
  adminAddr: string;
  /** the dev directory: ca.pem, alice*.pem, mallory*.pem, admin-token */
  dir: string;
  token: string;
  /** stop kills dev mode by PID and removes dir unless keepDir. */
  stop(keepDir?: boolean): Promise<void>;
}

/**
 * gatewayBinary returns $MSG_GATEWAY_BIN (make test-ts builds it) or builds
 * msg-gateway into a temporary directory.
 */
export function gatewayBinary(): string {
  return binary("MSG_GATEWAY_BIN", "./cmd/msg-gateway", "msg-gateway");
}

/** startGateway runs dev mode and resolves once it printed its listeners. */
export async function startGateway(): Promise<Gateway> {
  const bin = gatewayBinary();
  const dir = mkdtempSync(join(tmpdir(), "msg-ts-dev-"));
  const child = spawn(bin, ["dev", "--dir", dir, "--listen", "127.0.0.1:0", "--admin-listen", "127.0.0.1:0"], {
    stdio: ["ignore", "pipe", "pipe"],
  });
  const unreap = reapOnExit(child);
  let stderr = "";
  child.stderr!.setEncoding("utf8").on("data", (s: string) => {
    stderr = (stderr + s).slice(-20000);
  });
  const addrs = await new Promise<{ addr: string; adminAddr: string }>((resolve, reject) => {
    let out = "";
    const timer = setTimeout(() => reject(new Error(`dev mode printed no banner in 120 s; stderr:\n${stderr}`)), 120_000);
    child.once("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`dev mode exited (${code}); stderr:\n${stderr}`));
    });
    child.stdout!.setEncoding("utf8").on("data", (s: string) => {
      out += s;
      const grpc = /gRPC \(mTLS\)\s+(\S+)/.exec(out);
      const admin = /admin HTTP\s+http:\/\/(\S+)/.exec(out);
      if (grpc?.[1] && admin?.[1]) {
        clearTimeout(timer);
        resolve({ addr: grpc[1], adminAddr: admin[1] });
      }
    });
  });
  return {
    ...addrs,
    dir,
    token: readFileSync(join(dir, "admin-token"), "utf8").trim(),
    stop: (keepDir = false) => {
      unreap();
      return stopChild(child, keepDir ? undefined : dir);
    },
  };
}

/**
 * startServe runs `msg-gateway serve` with config (YAML) written into dir
 * (as name),
 * and resolves with its gRPC address once it logged "gateway listening"
 * (text log format).
 */
export async function startServe(dir: string, config: string, name = "serve.yaml"): Promise<{ addr: string; stop(): Promise<void> }> {
  const file = join(dir, name);
  writeFileSync(file, config);
  const child = spawn(gatewayBinary(), ["serve", "--config", file], { stdio: ["ignore", "ignore", "pipe"] });
  const unreap = reapOnExit(child);
  let log = "";
  const addr = await new Promise<string>((resolve, reject) => {
    child.once("exit", (code) => reject(new Error(`serve exited (${code}):\n${log}`)));
    child.stderr!.setEncoding("utf8").on("data", (s: string) => {
      log = (log + s).slice(-20000);
      const m = /msg="gateway listening" grpc=(\S+)/.exec(log);
      if (m?.[1]) resolve(m[1]);
    });
  });
  return {
    addr,
    stop: () => {
      unreap();
      return stopChild(child);
    },
  };
}

/** The children that reapOnExit kills when this process ends. */
const children = new Set<ChildProcess>();

function killChildren(): void {
  for (const child of children) {
    if (child.exitCode === null && child.signalCode === null) process.kill(child.pid!, "SIGKILL");
  }
}

/**
 * reapOnExit kills child (by its PID) when this process exits or is told to
 * stop (the test runner ends a file that timed out with a signal), so that no
 * gateway outlives its test. The returned function undoes it.
 */
export function reapOnExit(child: ChildProcess): () => void {
  if (children.size === 0) {
    process.once("exit", killChildren);
    process.once("SIGTERM", onSignal);
    process.once("SIGINT", onSignal);
  }
  children.add(child);
  return () => {
    children.delete(child);
    if (children.size === 0) {
      process.off("exit", killChildren);
      process.off("SIGTERM", onSignal);
      process.off("SIGINT", onSignal);
    }
  };
}

function onSignal(signal: NodeJS.Signals): void {
  killChildren();
  process.exit(signal === "SIGINT" ? 130 : 143);
}

export async function stopChild(child: ChildProcess, dir?: string): Promise<void> {
  if (child.exitCode === null && child.signalCode === null) {
    const exited = new Promise((resolve) => child.once("exit", resolve));
    process.kill(child.pid!, "SIGTERM");
    const timer = setTimeout(() => process.kill(child.pid!, "SIGKILL"), 30_000);
    await exited;
    clearTimeout(timer);
  }
  if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
}

/** identity returns the PEM material of a dev identity ("alice", "mallory"). */
export function identity(g: Pick<Gateway, "addr" | "dir">, who: string): { address: string; cert: Buffer; key: Buffer; ca: Buffer } {
  return {
    address: g.addr,
    cert: readFileSync(join(g.dir, `${who}.pem`)),
    key: readFileSync(join(g.dir, `${who}-key.pem`)),
    ca: readFileSync(join(g.dir, "ca.pem")),
  };
}

/** adminCall makes one admin REST call with the dev editor token. */
export async function adminCall(g: Gateway, method: string, path: string, body?: unknown): Promise<{ status: number; text: string }> {
  const init: RequestInit = { method, headers: { authorization: `Bearer ${g.token}`, "content-type": "application/json" } };
  if (body !== undefined) init.body = JSON.stringify(body);
  const resp = await fetch(`http://${g.adminAddr}${path}`, init);
  return { status: resp.status, text: await resp.text() };
}

/**
 * allowUpstream registers an upstream on loopback as internal host `name`
 * and lets alice use it.
 */
export async function allowUpstream(g: Gateway, name: string, port: number): Promise<void> {
  const host = await adminCall(g, "POST", "/v1/hosts", {
    name,
    upstream: `http://127.0.0.1:${port}`,
    allowedCidrs: ["127.0.0.0/8"],
  });
  if (host.status !== 200) throw new Error(`POST /v1/hosts: ${host.status} ${host.text}`);
  const rule = await adminCall(g, "POST", "/v1/rules", {
    id: `alice-${name.replace(/[^a-z0-9]/g, "-")}`,
    effect: "EFFECT_ALLOW",
    principals: [{ id: "alice" }],
    hosts: [name],
  });
  if (rule.status !== 200) throw new Error(`POST /v1/rules: ${rule.status} ${rule.text}`);
}

export interface Upstream {
  port: number;
  close(): Promise<void>;
}

/** startUpstream serves handler on 127.0.0.1 on a free port. */
export async function startUpstream(handler: http.RequestListener): Promise<Upstream> {
  const server = http.createServer(handler);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    port: (server.address() as AddressInfo).port,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** metric returns the sum of a Prometheus counter's samples whose labels contain every `want` pair. */
export async function metric(g: Gateway, name: string, want: Record<string, string>): Promise<number> {
  const resp = await fetch(`http://${g.adminAddr}/metrics`, { headers: { authorization: `Bearer ${g.token}` } });
  if (resp.status !== 200) throw new Error(`GET /metrics: ${resp.status}`);
  const text = await resp.text();
  let sum = 0;
  for (const line of text.split("\n")) {
    if (!line.startsWith(name + "{")) continue;
    if (Object.entries(want).every(([k, v]) => line.includes(`${k}="${v}"`))) {
      sum += Number(line.slice(line.lastIndexOf(" ") + 1));
    }
  }
  return sum;
}

/**
 * collectGarbage runs full GCs: the memory measurements compare what is
 * still reachable, not garbage that V8 has not collected yet. Twice, because
 * V8 frees the backing stores of dead ArrayBuffers after the GC that found
 * them (process.memoryUsage().arrayBuffers still counts them until the next).
 */
export function collectGarbage(): void {
  let gc = (globalThis as { gc?: () => void }).gc;
  if (gc === undefined) {
    v8.setFlagsFromString("--expose-gc");
    gc = vm.runInNewContext("gc") as () => void;
  }
  gc();
  gc();
}

/** A Deferred is a promise with its resolve function, to wait for an event. */
export function deferred<T = void>(): { promise: Promise<T>; resolve: (v: T) => void } {
  let resolve!: (v: T) => void;
  const promise = new Promise<T>((r) => {
    resolve = r;
  });
  return { promise, resolve };
}

export const MiB = 1 << 20;
/** The size of the big transfers. */
export const transferBytes = 64 * MiB;

/** transferBlock is the 1 MiB block the transfers repeat, derived from seed. */
export function transferBlock(seed: string): Buffer {
  const block = Buffer.alloc(MiB);
  for (let off = 0, i = 0; off < MiB; off += 32, i++) {
    createHash("sha256").update(`${seed}:${i}`).digest().copy(block, off);
  }
  return block;
}

/** An UpstreamProcess is test/upstream.ts running as a child process. */
export interface UpstreamProcess {
  port: number;
  /** the HTTPS port, when started with a certificate */
  tlsPort?: number;
  /** waitFor resolves when the upstream prints line (from now on). */
  waitFor(line: string): Promise<void>;
  stop(): Promise<void>;
}

/** startUpstreamProcess runs the streaming upstream in its own process. */
export async function startUpstreamProcess(seed: string, tls?: { cert: string; key: string }): Promise<UpstreamProcess> {
  const args = [join(dirname(fileURLToPath(import.meta.url)), "upstream.js"), seed];
  if (tls) args.push(tls.cert, tls.key);
  const child = spawn(process.execPath, args, { stdio: ["pipe", "pipe", "inherit"] });
  const unreap = reapOnExit(child);
  const waiters = new Map<string, Array<() => void>>();
  let buf = "";
  const ports = new Map<string, number>();
  await new Promise<void>((resolve, reject) => {
    child.once("exit", (code) => reject(new Error(`upstream exited (${code})`)));
    child.stdout!.setEncoding("utf8").on("data", (s: string) => {
      buf += s;
      let i;
      while ((i = buf.indexOf("\n")) >= 0) {
        const line = buf.slice(0, i);
        buf = buf.slice(i + 1);
        const m = /^(port|tlsport) (\d+)$/.exec(line);
        if (m?.[1] && m[2]) {
          ports.set(m[1], Number(m[2]));
          if (ports.has("port") && (tls === undefined || ports.has("tlsport"))) resolve();
        }
        for (const w of waiters.get(line) ?? []) w();
        waiters.delete(line);
      }
    });
  });
  return {
    port: ports.get("port")!,
    tlsPort: ports.get("tlsport"),
    waitFor: (line) =>
      new Promise<void>((resolve) => {
        waiters.set(line, [...(waiters.get(line) ?? []), resolve]);
      }),
    stop: async () => {
      unreap();
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = new Promise((r) => child.once("exit", r));
      process.kill(child.pid!, "SIGTERM");
      await exited;
    },
  };
}

/**
 * binary returns the path in env or builds the Go package pkg (a command)
 * into a temporary directory.
 */
function binary(env: string, pkg: string, name: string): string {
  const fromEnv = process.env[env];
  if (fromEnv) return fromEnv;
  const out = join(mkdtempSync(join(tmpdir(), "msg-ts-bin-")), name);
  execFileSync("go", ["build", "-o", out, pkg], { cwd: repoRoot, stdio: "inherit" });
  return out;
}

/** A ServedGateway is `msg-gateway serve` as a child process; restart runs a new one on the same config. */
export interface ServedGateway {
  /** the gRPC (mTLS) address of the current process */
  addr: string;
  /** stop sends SIGTERM (the gateway drains) and resolves when the process exited. */
  stop(): Promise<void>;
  /** start runs a new process on the same config and data (after stop); addr changes. */
  start(): Promise<void>;
}

/**
 * serveGateway runs `msg-gateway serve` with the PKI and admin tokens of the
 * dev directory pki, its own data directory, one internal host up.internal
 * (the loopback upstream on port upstreamPort, with a timeout that outlasts
 * the tests' silent calls) that alice may use, and extra YAML appended
 * (keepalive, limits).
 */
export async function serveGateway(pki: string, name: string, upstreamPort: number, extra = ""): Promise<ServedGateway> {
  const base = readFileSync(join(pki, "gateway.yaml"), "utf8");
  const keep = base.slice(0, base.indexOf("\nhosts:")).replace(/^data_dir: .*$/m, `data_dir: "${join(pki, `data-${name}`)}"`);
  const config = `${keep}
hosts:
  - name: up.internal
    upstream: "http://127.0.0.1:${upstreamPort}"
    timeout: 60s
    stream_idle_timeout: 60s
    allowed_cidrs: [127.0.0.0/8]
rules:
  - id: alice-up
    effect: allow
    principals: [{id: alice}]
    hosts: [up.internal]
${extra}
`;
  const file = `serve-${name}.yaml`;
  let current = await startServe(pki, config, file);
  const g: ServedGateway = {
    addr: current.addr,
    stop: () => current.stop(),
    start: async () => {
      current = await startServe(pki, config, file);
      g.addr = current.addr;
    },
  };
  return g;
}

/** A MobileLink is the emulated mobile link (internal/mobilelink) as a child process, steered over its control endpoint. */
export interface MobileLink {
  /** where the SDK connects instead of the gateway */
  addr: string;
  /** networkChange silences every open connection for good; new ones work. */
  networkChange(): Promise<number>;
  /** reset resets every open connection. */
  reset(): Promise<number>;
  /** configure sets link settings, e.g. {target: "127.0.0.1:9443", nat_idle_timeout: "2s"}. */
  configure(settings: Record<string, unknown>): Promise<void>;
  stats(): Promise<LinkStats>;
  stop(): Promise<void>;
}

/** LinkStats are the link's counters (mobilelink.Stats). */
export interface LinkStats {
  accepted: number;
  open: number;
  silenced: number;
  up_bytes: number;
  down_bytes: number;
  conns: Array<{ id: number; up_bytes: number; down_bytes: number; silenced: boolean; closed: boolean }>;
}

/**
 * startMobileLink runs mobilelink in front of target with args (flags such
 * as "-rtt", "150ms") and resolves once it printed its addresses.
 */
export async function startMobileLink(target: string, args: string[] = []): Promise<MobileLink> {
  const bin = binary("MSG_MOBILELINK_BIN", "./internal/mobilelink/cmd/mobilelink", "mobilelink");
  const child = spawn(bin, ["-target", target, ...args], { stdio: ["ignore", "pipe", "pipe"] });
  const unreap = reapOnExit(child);
  let stderr = "";
  child.stderr!.setEncoding("utf8").on("data", (s: string) => {
    stderr = (stderr + s).slice(-20000);
  });
  const addrs = await new Promise<{ listen: string; control: string }>((resolve, reject) => {
    let out = "";
    child.once("exit", (code) => reject(new Error(`mobilelink exited (${code}): ${stderr}`)));
    child.stdout!.setEncoding("utf8").on("data", (s: string) => {
      out += s;
      const nl = out.indexOf("\n");
      if (nl >= 0) resolve(JSON.parse(out.slice(0, nl)) as { listen: string; control: string });
    });
  });
  const control = async (method: string, path: string, body?: unknown): Promise<unknown> => {
    const init: RequestInit = { method };
    if (body !== undefined) init.body = JSON.stringify(body);
    const resp = await fetch(`http://${addrs.control}${path}`, init);
    const text = await resp.text();
    if (resp.status !== 200) throw new Error(`mobilelink ${method} ${path}: ${resp.status} ${text}`);
    return JSON.parse(text);
  };
  return {
    addr: addrs.listen,
    networkChange: async () => ((await control("POST", "/network-change")) as { silenced: number }).silenced,
    reset: async () => ((await control("POST", "/reset")) as { reset: number }).reset,
    configure: async (settings) => {
      await control("POST", "/config", settings);
    },
    stats: async () => (await control("GET", "/stats")) as LinkStats,
    stop: () => {
      unreap();
      return stopChild(child);
    },
  };
}

/** waitUntil polls cond every 20 ms until it holds, and fails after timeoutMs. */
export async function waitUntil(what: string, cond: () => boolean | Promise<boolean>, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}
