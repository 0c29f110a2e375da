import { AsyncLocalStorage } from "node:async_hooks";
import * as http2 from "node:http2";
import { performance } from "node:perf_hooks";
import type { Duplex } from "node:stream";
import { createClient, type Client } from "@connectrpc/connect";
import { createGrpcTransport, Http2SessionManager } from "@connectrpc/connect-node";
import { GatewayService } from "./gen/msg/gateway/v1/gateway_pb.js";

/**
 * An Attempt is one ForwardStream call of a request; a request that is sent
 * again has two. The link's session manager marks what happened to it.
 */
export class Attempt {
  /** the request's headers were handed to a connection (a stream was opened on it) */
  sent = false;
  /** the gateway answered: response headers, or a status, arrived */
  answered = false;

  /** @param sentAt when the call was started, on its link's clock */
  constructor(readonly sentAt: number) {}
}

// The attempt a ForwardStream call belongs to, for the session manager that
// opens its HTTP/2 stream deep inside Connect: Connect passes nothing of the
// caller's down to it, but it runs in the call's asynchronous context.
const attemptScope = new AsyncLocalStorage<Attempt>();

/** inAttempt runs fn, which starts a call, as attempt a. */
export function inAttempt<T>(a: Attempt, fn: () => T): T {
  return attemptScope.run(a, fn);
}

/** The keepalive, idle and health-check settings of a link. */
export interface LinkSettings {
  pingIntervalMs: number;
  pingTimeoutMs: number;
  /** 0: never close an idle connection */
  idleTimeoutMs: number;
  /** how long a health check may take before the connection counts as silent */
  probeWaitMs: number;
}

/** What a health check of a link's connection found. */
export type CheckResult = "answered" | "silent" | "failed";

/**
 * A Link is one HTTP/2 connection to the gateway, re-made by Connect's
 * session manager when it fails, and what the SDK knows about the network
 * under it (as client/link.go in Go). New calls go out on the current link;
 * when the app reports a network change, or the link stops answering, a new
 * link takes over and the old one is retired: calls that may be sent twice
 * move to the new link, the others finish where they are, and the old link
 * closes when its last call has ended.
 */
export class Link {
  readonly gateway: Client<typeof GatewayService>;
  readonly inline = new InlineState();
  private readonly sessions: LinkSessions;
  private readonly born = performance.now();
  /** when something last arrived on the link (clock(); 0: never) */
  private lastRead = 0;
  /** the gateway answered a call on this link: it accepts this app, so a later failure to reach it is worth waiting out */
  reached = false;
  private retired = false;
  private movers: Map<number, () => void> | undefined = new Map();
  private nextMover = 0;
  /** calls that hold the link */
  private active = 0;
  private closed = false;
  private probing = false;

  constructor(
    baseUrl: string,
    connect: () => Duplex,
    private readonly settings: LinkSettings,
    readMaxBytes: number,
  ) {
    this.sessions = new LinkSessions(
      this,
      baseUrl,
      {
        pingIntervalMs: settings.pingIntervalMs,
        pingTimeoutMs: settings.pingTimeoutMs,
        // No pings without calls: an idle phone's radio stays asleep, and
        // the idle timeout closes the connection before a NAT forgets it.
        pingIdleConnection: false,
        idleConnectionTimeoutMs: settings.idleTimeoutMs > 0 ? settings.idleTimeoutMs : Number.POSITIVE_INFINITY,
      },
      {
        createConnection: (): Duplex => {
          const socket = this.inline.track(connect());
          socket.once("secureConnect", () => this.touch());
          return socket;
        },
      },
    );
    const transport = createGrpcTransport({
      baseUrl,
      sessionManager: this.sessions,
      readMaxBytes,
      acceptCompression: [],
    });
    this.gateway = createClient(GatewayService, transport);
  }

  /** clock is the link's time in milliseconds (plus one, so that it is never 0), monotonic. */
  clock(): number {
    return performance.now() - this.born + 1;
  }

  /** touch records that something arrived on the link. */
  touch(): void {
    this.lastRead = this.clock();
  }

  /** readSince reports whether something arrived on the link since t (a clock reading). */
  readSince(t: number): boolean {
    return this.lastRead >= t;
  }

  /** silentFor is how long nothing has arrived on the link, 0 before its first connection. */
  silentFor(): number {
    return this.lastRead === 0 ? 0 : this.clock() - this.lastRead;
  }

  /** connected reports whether the link has a connection up (with or without calls). */
  connected(): boolean {
    const s = this.sessions.state();
    return s === "open" || s === "idle";
  }

  /** connect opens the link's connection now rather than on the first call. */
  connect(): void {
    void this.sessions.connect();
  }

  /** hold counts a call on the link; false on a retired link, whose calls belong on the current one. */
  hold(): boolean {
    if (this.retired) return false;
    this.active++;
    return true;
  }

  /** release ends a call that hold counted; the last call on a retired link closes it. */
  release(): void {
    this.active--;
    if (this.active === 0 && this.retired) this.close();
  }

  /** retireNow stops new calls on the link, moves the calls that may move and closes it once no call holds it. */
  retireNow(): void {
    this.retired = true;
    this.moveAway();
    if (this.active === 0) this.close();
  }

  /**
   * retire stops new calls on the link and closes it once no call holds it,
   * leaving its calls where they are (a renewed certificate: the connection
   * is fine); a later {@link moveAway} still moves those that may move.
   */
  retire(): void {
    this.retired = true;
    if (this.active === 0) this.close();
  }

  /** moveAway moves the calls on a retired link that may move; on the current link it does nothing. */
  moveAway(): void {
    if (!this.retired) return;
    const movers = this.movers;
    this.movers = undefined;
    for (const move of movers?.values() ?? []) move();
  }

  /** onRetire has move called when the link retires, at once if it has; the function returned undoes that. */
  onRetire(move: () => void): () => void {
    if (this.movers === undefined) {
      move();
      return () => {};
    }
    const id = this.nextMover++;
    this.movers.set(id, move);
    return () => this.movers?.delete(id);
  }

  /** isClosed reports whether the link has closed its connection for good. */
  isClosed(): boolean {
    return this.closed;
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.sessions.abort();
  }

  /**
   * waitReady waits until the link has a connection, for a call that is sent
   * again: a restarting gateway or a new network may take a moment. False
   * when timeoutMs passed, signal aborted or the link closed first.
   */
  async waitReady(signal: AbortSignal, timeoutMs: number): Promise<boolean> {
    const deadline = performance.now() + timeoutMs;
    for (let pause = 100; ; pause = Math.min(2 * pause, 1000)) {
      if (this.closed || signal.aborted) return false;
      const left = deadline - performance.now();
      if (left <= 0) return false;
      const state = await raceTimeout(this.sessions.connect(), left, "error" as const);
      if (state !== "error") return true;
      await delay(Math.min(pause, deadline - performance.now()), signal).catch(() => {});
    }
  }

  /**
   * check asks the gateway for its health on this link (a grpc.health.v1
   * Check, which the gateway answers without authorization): "answered" when
   * any response arrives, even an error status, which proves the connection
   * alive; "silent" when nothing does within timeoutMs; "failed" when the
   * connection failed, which its calls see by themselves.
   */
  check(timeoutMs: number): Promise<CheckResult> {
    // Not part of whatever call's context the caller runs in.
    return attemptScope.exit(
      () =>
        new Promise<CheckResult>((resolve) => {
          let stream: http2.ClientHttp2Stream | undefined;
          let settled = false;
          const done = (r: CheckResult) => {
            if (settled) return;
            settled = true;
            clearTimeout(timer);
            if (stream !== undefined && !stream.closed) stream.close(http2.constants.NGHTTP2_CANCEL);
            resolve(r);
          };
          const timer = setTimeout(() => done("silent"), timeoutMs);
          // The stream keeps the process alive while the check runs.
          timer.unref();
          this.sessions.request("POST", "/grpc.health.v1.Health/Check", { "content-type": "application/grpc", te: "trailers" }, {}).then(
            (s) => {
              stream = s;
              if (settled) {
                s.close(http2.constants.NGHTTP2_CANCEL);
                return;
              }
              s.once("response", () => done("answered"));
              s.once("error", () => done("failed"));
              s.once("close", () => done("failed"));
              s.resume();
              // An empty HealthCheckRequest: the gRPC frame header alone.
              s.end(Buffer.alloc(5));
            },
            () => done("failed"),
          );
        }),
    );
  }

  /**
   * probe checks the link when nothing has arrived on it since sentAt, and
   * calls dead when the check goes unanswered and still nothing arrived: the
   * connection is presumed gone (the phone changed networks, a NAT forgot
   * it). One probe runs at a time.
   */
  probe(sentAt: number, dead: () => void): void {
    if (this.readSince(sentAt) || this.retired || this.probing) return;
    this.probing = true;
    const start = this.clock();
    void this.check(this.settings.probeWaitMs).then((r) => {
      this.probing = false;
      if (r === "silent" && !this.readSince(start)) dead();
    });
  }
}

/**
 * LinkSessions is Connect's HTTP/2 session manager (keepalive pings while
 * calls wait, idle close) that also tells its link and the calls' attempts
 * what arrives: Connect reports every response body read to
 * notifyResponseByteRead, and the streams it opens come from request.
 */
class LinkSessions extends Http2SessionManager {
  constructor(
    private readonly link: Link,
    url: string,
    pingOptions: ConstructorParameters<typeof Http2SessionManager>[1],
    http2Options: ConstructorParameters<typeof Http2SessionManager>[2],
  ) {
    super(url, pingOptions, http2Options);
  }

  override async request(
    method: string,
    path: string,
    headers: http2.OutgoingHttpHeaders,
    options: Omit<http2.ClientSessionRequestOptions, "endStream">,
  ): Promise<http2.ClientHttp2Stream> {
    const a = attemptScope.getStore();
    const stream = await super.request(method, path, headers, options);
    if (a !== undefined) a.sent = true;
    stream.once("response", () => {
      this.link.touch();
      if (a !== undefined) a.answered = true;
    });
    stream.once("close", () => {
      // A stream the gateway refused (RST_STREAM REFUSED_STREAM, or above a
      // GOAWAY's last stream ID) was never processed: as good as unsent.
      if (a !== undefined && !a.answered && stream.rstCode === http2.constants.NGHTTP2_REFUSED_STREAM) a.sent = false;
    });
    return stream;
  }

  override notifyResponseByteRead(stream: http2.ClientHttp2Stream): void {
    this.link.touch();
    super.notifyResponseByteRead(stream);
  }
}

/**
 * InlineState remembers whether the gateway at the other end of the link's
 * connection has announced (ResponseHead.accepts_inline_requests) that it
 * accepts requests whole in their head. The knowledge is per connection:
 * behind a load balancer a new connection may reach a gateway of another
 * version, so every connection that starts or ends forgets it and the next
 * call learns it again (as client/inline.go does).
 */
export class InlineState {
  // gen counts connection starts and ends; learned is the gen in which the
  // gateway announced inline requests, 0 when it has not.
  private gen = 0;
  private learned = 0;

  /** allowed returns the current generation and whether inline requests may be sent in it. */
  allowed(): { gen: number; ok: boolean } {
    return { gen: this.gen, ok: this.gen !== 0 && this.learned === this.gen };
  }

  /**
   * learn records an announcement that has just arrived, for the connection
   * that is up now. Should the call's connection have been replaced in
   * between by one to a gateway that predates inline requests, that gateway
   * refuses the next inline request without relaying it and the request is
   * sent again the classic way.
   */
  learn(): void {
    if (this.gen !== 0) this.learned = this.gen;
  }

  /** forget drops what was learned in gen, after a gateway refused an inline request. */
  forget(gen: number): void {
    if (this.learned === gen) this.learned = 0;
  }

  /** track counts the socket's start now and its end when it closes. */
  track<S extends Duplex>(socket: S): S {
    this.gen++;
    socket.once("close", () => {
      this.gen++;
    });
    return socket;
  }
}

/** delay resolves after ms, or rejects with the signal's reason when it aborts first. */
export function delay(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    if (signal?.aborted) {
      reject(signal.reason);
      return;
    }
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal!.reason);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    }, Math.max(0, ms));
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}

function raceTimeout<T, U>(p: Promise<T>, ms: number, onTimeout: U): Promise<T | U> {
  return new Promise<T | U>((resolve, reject) => {
    const timer = setTimeout(() => resolve(onTimeout), ms);
    p.then(
      (v) => {
        clearTimeout(timer);
        resolve(v);
      },
      (e: unknown) => {
        clearTimeout(timer);
        reject(e);
      },
    );
  });
}
