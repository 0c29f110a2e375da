import { clone, create } from "@bufbuild/protobuf";
import { Code } from "@connectrpc/connect";
import { Connection, defaultTuning, type GatewayFetchOptions, type Tuning } from "./connection.js";
import { GatewayError, gatewayErrorFrom, protocolError } from "./error.js";
import {
  ForwardStreamRequestSchema,
  HeaderSchema,
  RequestEndSchema,
  RequestHeadSchema,
  type ForwardStreamRequest,
  type ForwardStreamResponse,
  type RequestHead,
} from "./gen/msg/gateway/v1/gateway_pb.js";
import { Attempt, delay, inAttempt, type Link } from "./link.js";
import { knownLength, requestHead, responseLength } from "./request.js";
import { idempotent, retryDelay } from "./retry.js";

/**
 * A GatewayFetch is a `fetch` that sends every request through the gateway.
 * It takes what `fetch` takes and resolves to a standard `Response` (a
 * {@link GatewayResponse}, which adds the trailers); pass it wherever an
 * app or library accepts a `fetch` function.
 */
export type GatewayFetch = ((input: string | URL | Request, init?: RequestInit) => Promise<GatewayResponse>) & {
  /**
   * close closes the connection to the gateway. Exchanges in flight fail;
   * later calls reject with a {@link GatewayError} whose code is Canceled.
   * An idle connection does not keep Node's event loop alive, so a
   * short-lived script need not call it.
   */
  close(): void;
  /**
   * networkChanged tells the SDK that the device's network changed (Wi-Fi
   * to mobile data or back, a new address, a VPN that came up). The next
   * request goes out on a new connection at once, instead of on one that may
   * be dead without knowing it; requests already waiting for a response on
   * the old connection that can safely be sent again (idempotent, with no
   * body or one kept in memory) move to the new one now. The others (a POST
   * without an idempotency key, a streamed upload, a response being read)
   * continue on the old connection, which closes once they have ended.
   *
   * Call it from the platform's network-change notifications. Without it the
   * SDK notices a dead connection by itself, a few seconds later.
   */
  networkChanged(): void;
};

/**
 * A GatewayResponse is the internal host's response, a standard `Response`
 * whose body streams from the gateway, plus the host's HTTP trailers.
 */
export class GatewayResponse extends Response {
  /**
   * The internal host's trailers. Resolves once the body has been read to
   * its end and the gateway has confirmed that all of it arrived; rejects
   * with the body's error (a {@link GatewayError}, or the abort reason) when
   * it did not. A response without a body (HEAD, 204, 205, 304) has its
   * trailers already.
   */
  readonly trailers: Promise<Headers>;

  constructor(body: ReadableStream<Uint8Array> | null, init: ResponseInit, url: string, trailers: Promise<Headers>) {
    super(body, init);
    this.trailers = trailers;
    // Response.url is read-only and empty for constructed responses; fetch
    // sets it to the request's URL (redirects are never followed here).
    Object.defineProperty(this, "url", { value: url, enumerable: true });
  }
}

/**
 * createGatewayFetch returns a `fetch` for apps behind the gateway at
 * `options.address`. Every request becomes one ForwardStream call over gRPC
 * with mutual TLS (client certificate `options.cert`/`options.key`, gateway
 * verified against `options.ca` only), on one HTTP/2 connection that is made
 * on the first request and re-made as needed. It throws at once on bad
 * options or unreadable PEM.
 *
 * ```ts
 * const gatewayFetch = createGatewayFetch({ address: "gateway.example.com:8443", cert, key, ca });
 * const resp = await gatewayFetch("https://orders.internal/v1/orders?limit=10");
 * ```
 *
 * Request and response bodies stream in both directions with bounded memory
 * (HTTP/2 flow control holds a fast side back); the promise resolves when the
 * response head arrives. Aborting the request's signal, or cancelling the
 * response body, cancels the call and the gateway cancels the upstream
 * request. Redirects are returned, never followed. A request whose
 * connection died before it was answered is sent once more when that is
 * safe (see the README's "Mobile networks").
 */
export function createGatewayFetch(options: GatewayFetchOptions): GatewayFetch {
  return createGatewayFetchWith(options, defaultTuning);
}

/** createGatewayFetchWith is createGatewayFetch with the connection checks' times, for tests. */
export function createGatewayFetchWith(options: GatewayFetchOptions, tuning: Tuning): GatewayFetch {
  const conn = new Connection(options, tuning);
  return fetchOver(conn, () => conn.close());
}

/**
 * fetchOver is the GatewayFetch whose requests go out on conn; close is
 * called when the fetch is closed (a renewing fetch stops its renewals too;
 * see enrolled.ts).
 */
export function fetchOver(conn: Connection, close: () => void): GatewayFetch {
  let closed = false;
  const gatewayFetch = (input: string | URL | Request, init?: RequestInit): Promise<GatewayResponse> => {
    if (closed) return Promise.reject(new GatewayError(Code.Canceled, "client: the gateway fetch is closed"));
    return roundTrip(conn, input, init);
  };
  return Object.assign(gatewayFetch, {
    close(): void {
      closed = true;
      close();
    },
    networkChanged(): void {
      if (!closed) conn.networkChanged();
    },
  });
}

/**
 * chunkSize is the most request body bytes sent in one message: as in the Go
 * client, 32 KiB less 16 bytes, so that an encoded message fits the gateway's
 * 32 KiB buffer tier.
 */
const chunkSize = (32 << 10) - 16;

/**
 * inlineBodyMax is the largest request body (of known length) that travels
 * inside the request head, when the gateway accepts whole requests in one
 * message; the SDK keeps such a body in memory, so it can also be sent
 * again.
 */
const inlineBodyMax = 16 << 10;

const endMessage: ForwardStreamRequest = create(ForwardStreamRequestSchema, {
  kind: { case: "end", value: create(RequestEndSchema) },
});

/** A request's body as its attempts need it. */
interface Body {
  /** the whole body, when it is small and of known length (or there is none: empty) */
  mem: Uint8Array<ArrayBuffer> | undefined;
  /** the streamed body, for the first attempt only */
  stream: ReadableStream<Uint8Array> | null;
  declared: number | undefined;
}

/**
 * roundTrip sends one request as a ForwardStream call, and as a second one
 * when the first failed in a way that makes sending it again safe (see
 * retryDelay), as client/stream.go does.
 */
async function roundTrip(conn: Connection, input: string | URL | Request, init: RequestInit | undefined): Promise<GatewayResponse> {
  // fetch wants duplex "half" for a stream body; it is the only mode there is.
  const request = new Request(input, init?.body != null && !("duplex" in init) ? { ...init, duplex: "half" } as RequestInit : init);
  request.signal.throwIfAborted();
  const head = requestHead(request);
  head.acceptInlineResponse = true;

  const body: Body = { mem: new Uint8Array(0), stream: null, declared: request.body === null ? undefined : knownLength(init?.body) };
  if (body.declared === 0) body.declared = undefined;
  if (body.declared !== undefined) {
    if (conn.maxRequestBodyBytes !== undefined && body.declared > conn.maxRequestBodyBytes) {
      throw bodyTooLarge(conn.maxRequestBodyBytes);
    }
    head.headers.push(create(HeaderSchema, { name: "Content-Length", value: String(body.declared) }));
  }
  if (request.body !== null && body.declared !== undefined && body.declared <= inlineBodyMax) {
    // Small enough to keep: it can go inline, and be sent again.
    body.mem = new Uint8Array(await request.arrayBuffer());
    if (body.mem.byteLength !== body.declared) {
      throw new GatewayError(Code.InvalidArgument, `client: request body of ${body.mem.byteLength} bytes, not its length ${body.declared}`);
    }
  } else if (request.body !== null && body.declared !== 0) {
    body.mem = undefined;
    body.stream = request.body;
  }
  const replayable = body.mem !== undefined;

  for (let n = 0; ; n++) {
    let link = conn.hold();
    const movable = n === 0 && replayable && idempotent(request);
    if (!movable) link = await conn.preflight(link, request.signal);
    const a = new Attempt(link.clock());
    let outcome: { err: unknown; moved: boolean };
    try {
      return await attempt(conn, link, request, head, body, movable, a);
    } catch (err) {
      outcome = err instanceof AttemptFailure ? err : { err, moved: false };
    }
    const wait = retryDelay({ request, replayable, link, attempt: a, ...outcome, limitMs: conn.tuning.reconnectWaitMs });
    if (n > 0 || wait === undefined) throw outcome.err;
    await delay(wait, request.signal);
    // Wait, within reason, for a connection: a restarting gateway or a new
    // network may take a moment.
    if (!(await conn.current().waitReady(request.signal, conn.tuning.reconnectWaitMs))) {
      request.signal.throwIfAborted();
      throw outcome.err;
    }
  }
}

/** An AttemptFailure carries a failed attempt's error and whether its call moved. */
class AttemptFailure {
  constructor(
    readonly err: unknown,
    readonly moved: boolean,
  ) {}
}

/**
 * attempt makes one ForwardStream call of the request on link, which the
 * call holds until it ends. A request without a body, or with a small one
 * in memory, goes as one message (the head carries the body and the end
 * marker) once the gateway has announced on this connection that it accepts
 * that; a gateway that predates it refuses such a call with UNKNOWN "EOF"
 * before relaying anything, and the request is then sent again the usual
 * way, within the same attempt.
 */
async function attempt(conn: Connection, link: Link, request: Request, head: RequestHead, body: Body, movable: boolean, a: Attempt): Promise<GatewayResponse> {
  const h = clone(RequestHeadSchema, head);
  const { gen, ok } = link.inline.allowed();
  if (!ok || body.mem === undefined) {
    const stream = body.mem === undefined ? body.stream : body.mem.byteLength > 0 ? new Blob([body.mem]).stream() : null;
    return exchange(conn, link, request, h, stream, body.declared, movable, a);
  }
  h.body = body.mem;
  h.end = true;
  try {
    return await exchange(conn, link, request, h, null, body.declared, movable, a);
  } catch (err) {
    const e = err instanceof AttemptFailure ? err.err : err;
    if (!(e instanceof GatewayError && e.code === Code.Unknown && e.rawMessage === "EOF")) throw err;
    link.inline.forget(gen);
    // Retired meanwhile: the gateway relayed nothing, so the request moves
    // like any other.
    if (!link.hold()) throw new AttemptFailure(e, true);
    h.end = false;
    h.body = new Uint8Array(0);
    return exchange(conn, link, request, h, body.mem.byteLength > 0 ? new Blob([body.mem]).stream() : null, body.declared, movable, a);
  }
}

function bodyTooLarge(max: number): GatewayError {
  return new GatewayError(Code.ResourceExhausted, `client: request body larger than ${max} bytes (maxRequestBodyBytes)`);
}

/**
 * exchange makes one ForwardStream call on link for head and body (null when
 * the head ends the request or there is no body), and resolves once the
 * response head has arrived. The call releases link when it ends.
 *
 * While the call waits for the response head, nothing arriving on link for
 * probeAfterMs has the link checked (see Link.probe); a dead link is
 * replaced, and with movable set this call moves (it fails with an
 * AttemptFailure whose moved is set). A call whose timeout signal fires with
 * nothing read on link since it was sent also has link replaced: the next
 * call should not wait on the same silence.
 */
async function exchange(
  conn: Connection,
  link: Link,
  request: Request,
  head: RequestHead,
  body: ReadableStream<Uint8Array> | null,
  declared: number | undefined,
  movable: boolean,
  a: Attempt,
): Promise<GatewayResponse> {
  const call = new Exchange(request.signal, () => link.release());
  const stopMove = movable
    ? link.onRetire(() => {
        if (!a.answered) call.end(movedAway);
      })
    : () => {};
  const probe =
    conn.tuning.probeAfterMs > 0
      ? setTimeout(() => {
          if (!a.answered) link.probe(a.sentAt, () => conn.replace(link, true));
        }, conn.tuning.probeAfterMs).unref()
      : undefined;
  const messages = requestMessages(head, body, declared, conn.maxRequestBodyBytes, call);
  const responses = inAttempt(a, () => link.gateway.forwardStream(messages, { signal: call.signal })[Symbol.asyncIterator]());
  call.responses = responses;

  let first: IteratorResult<ForwardStreamResponse>;
  try {
    first = await responses.next();
  } catch (err) {
    clearTimeout(probe);
    stopMove();
    const moved = call.endedFor(movedAway) && !request.signal.aborted;
    if (a.answered) link.reached = true;
    if (!moved && !a.answered && timedOut(request.signal) && !link.readSince(a.sentAt)) conn.replace(link, true);
    throw new AttemptFailure(call.fail(err), moved);
  }
  clearTimeout(probe);
  stopMove();
  a.answered = true;
  link.reached = true;
  try {
    if (first.done) throw protocolError("the call ended without a response");
    const kind = first.value.kind;
    if (kind.case !== "head") throw protocolError("the response did not start with a head");
    const rh = kind.value;
    if (rh.acceptsInlineRequests) link.inline.learn();
    const status = rh.statusCode;
    if (status < 200 || status > 599) {
      throw new GatewayError(Code.Internal, `client: the gateway returned HTTP status ${status}, which a fetch Response cannot carry`);
    }
    let headers: Headers;
    try {
      headers = new Headers(rh.headers.map((h): [string, string] => [h.name, h.value]));
    } catch {
      throw protocolError("a response header that fetch rejects");
    }
    const bodyless = request.method === "HEAD" || status === 204 || status === 205 || status === 304;
    call.want = bodyless ? -1 : responseLength(headers);
    if (rh.end) {
      // The whole response came in the head.
      if (call.want >= 0 && rh.body.byteLength !== call.want) {
        throw protocolError("the response body does not match its Content-Length");
      }
      call.rest = rh.body.byteLength > 0 ? rh.body : undefined;
      call.ended = true;
      for (const t of rh.trailers) call.trailers.append(t.name, t.value);
    } else if (rh.body.byteLength > 0 || rh.trailers.length > 0) {
      throw protocolError("a body in the response head without its end");
    }
    const init = { status, headers };
    if (bodyless) {
      // fetch gives these no body; the call must still end well.
      while ((await call.next()) !== null);
      return new GatewayResponse(null, init, request.url, call.trailersPromise);
    }
    return new GatewayResponse(call.bodyStream(), init, request.url, call.trailersPromise);
  } catch (err) {
    throw call.fail(err);
  }
}

/** movedAway ends a call whose link was retired, so that it is sent again on the new link. */
const movedAway = new GatewayError(Code.Unavailable, "client: call moved to a new connection");

/** timedOut reports whether signal ended the request for its timeout (AbortSignal.timeout). */
function timedOut(signal: AbortSignal): boolean {
  const reason: unknown = signal.reason;
  return signal.aborted && reason instanceof Error && reason.name === "TimeoutError";
}

/**
 * requestMessages yields the request's messages as the gateway takes them:
 * Connect pulls the next one only after HTTP/2 has taken the previous one, so
 * at most one chunk is held here. A body that fails, or breaks its declared
 * length or the size limit, ends the call with a GatewayError saying so.
 */
async function* requestMessages(
  head: RequestHead,
  body: ReadableStream<Uint8Array> | null,
  declared: number | undefined,
  max: number | undefined,
  call: Exchange,
): AsyncGenerator<ForwardStreamRequest> {
  yield create(ForwardStreamRequestSchema, { kind: { case: "head", value: head } });
  if (head.end) return;
  if (body !== null) {
    const reader = body.getReader();
    call.upload = reader;
    let total = 0;
    for (;;) {
      let chunk: Awaited<ReturnType<typeof reader.read>>;
      try {
        chunk = await reader.read();
      } catch (err) {
        call.end(new GatewayError(Code.Unknown, `client: read request body: ${String(err)}`, "", undefined, { cause: err }));
        return;
      }
      if (chunk.done) break;
      const value: unknown = chunk.value;
      if (!(value instanceof Uint8Array)) {
        call.end(new GatewayError(Code.Unknown, "client: read request body: a chunk that is not a Uint8Array"));
        return;
      }
      total += value.byteLength;
      if (declared !== undefined && total > declared) {
        call.end(new GatewayError(Code.InvalidArgument, `client: request body longer than its length ${declared}`));
        return;
      }
      if (max !== undefined && total > max) {
        call.end(bodyTooLarge(max));
        return;
      }
      for (let off = 0; off < value.byteLength; off += chunkSize) {
        yield create(ForwardStreamRequestSchema, { kind: { case: "bodyChunk", value: value.subarray(off, off + chunkSize) } });
      }
    }
    call.upload = undefined;
    if (declared !== undefined && total !== declared) {
      call.end(new GatewayError(Code.InvalidArgument, `client: request body shorter than its length ${declared}`));
      return;
    }
  }
  yield endMessage;
}

/**
 * Exchange is the state of one ForwardStream call after it started: how it
 * ends (the app's signal, the SDK's own verdict, or the gateway's status) and
 * the response body as it is read.
 */
class Exchange {
  private readonly controller = new AbortController();
  readonly signal = this.controller.signal;
  /** why the SDK or the app ended the call; reported instead of Connect's Canceled */
  private failure: unknown;
  responses: AsyncIterator<ForwardStreamResponse> | undefined;
  upload: ReadableStreamDefaultReader<Uint8Array> | undefined;

  /** the announced body length to check, or -1 */
  want = -1;
  private read = 0;
  /** the unread body that came in the head */
  rest: Uint8Array | undefined;
  /** the end marker has arrived; only the call's status is left */
  ended = false;
  private done = false;
  readonly trailers = new Headers();
  readonly trailersPromise: Promise<Headers>;
  private settle!: (err?: unknown) => void;
  private stream: ReadableStreamDefaultController<Uint8Array> | undefined;

  /**
   * @param appSignal the request's signal
   * @param onDone called once when the call is over, for the link it holds
   */
  constructor(
    private readonly appSignal: AbortSignal,
    private readonly onDone: () => void,
  ) {
    this.trailersPromise = new Promise<Headers>((resolve, reject) => {
      this.settle = (err?: unknown) => (err === undefined ? resolve(this.trailers) : reject(err));
    });
    // Nobody may ever look at the trailers; their rejection is the body's.
    this.trailersPromise.catch(() => {});
    appSignal.addEventListener("abort", this.onAppAbort, { once: true });
    if (appSignal.aborted) this.onAppAbort();
  }

  private readonly onAppAbort = (): void => {
    const reason: unknown = this.appSignal.reason;
    this.end(reason);
    this.finish(reason);
    try {
      this.stream?.error(reason);
    } catch {
      // already closed or errored
    }
  };

  /** end cancels the call, which cancels the upstream request, for reason. */
  end(reason: unknown): void {
    if (this.controller.signal.aborted || this.done) return;
    this.failure ??= reason;
    this.controller.abort(reason);
    void this.upload?.cancel(reason).catch(() => {});
  }

  /** endedFor reports whether the call was ended for reason. */
  endedFor(reason: unknown): boolean {
    return this.failure === reason;
  }

  /** fail ends the call after err and returns the error to report. */
  fail(err: unknown): unknown {
    const reported = this.appSignal.aborted ? this.appSignal.reason : (this.failure ?? gatewayErrorFrom(err));
    this.end(reported);
    this.finish(reported);
    return reported;
  }

  private finish(err?: unknown): void {
    if (this.done) return;
    this.done = true;
    this.appSignal.removeEventListener("abort", this.onAppAbort);
    // The call is over: a body the gateway did not take all of is released.
    void this.upload?.cancel(err).catch(() => {});
    this.settle(err);
    this.onDone();
  }

  /**
   * next returns the next piece of the response body, or null once the body
   * is complete and the call ended with OK. A body that did not arrive
   * completely ends in an error, never in null.
   */
  async next(): Promise<Uint8Array | null> {
    if (this.rest !== undefined) {
      const r = this.rest;
      this.rest = undefined;
      return r;
    }
    const responses = this.responses!;
    for (;;) {
      if (this.ended) {
        const r = await responses.next();
        if (!r.done) throw protocolError("a message followed the response's end marker");
        this.finish();
        return null;
      }
      const r = await responses.next();
      if (r.done) throw protocolError("the response ended without its end marker");
      const kind = r.value.kind;
      switch (kind.case) {
        case "bodyChunk":
          this.read += kind.value.byteLength;
          if (this.want >= 0 && this.read > this.want) throw protocolError("the response body is longer than its Content-Length");
          if (kind.value.byteLength > 0) return kind.value;
          break;
        case "end":
          if (this.want >= 0 && this.read !== this.want) throw protocolError("the response body is shorter than its Content-Length");
          for (const t of kind.value.trailers) this.trailers.append(t.name, t.value);
          this.ended = true;
          break;
        default:
          throw protocolError("unexpected message in the response body");
      }
    }
  }

  /**
   * bodyStream is the response body as a Web stream that pulls one message
   * from the gateway per read (highWaterMark 0): nothing is read ahead of the
   * app, so HTTP/2 flow control holds the gateway back while the app is slow.
   */
  bodyStream(): ReadableStream<Uint8Array> {
    return new ReadableStream<Uint8Array>(
      {
        start: (controller) => {
          this.stream = controller;
        },
        pull: async (controller) => {
          try {
            const chunk = await this.next();
            if (chunk === null) controller.close();
            else controller.enqueue(chunk);
          } catch (err) {
            const reported = this.fail(err);
            try {
              controller.error(reported);
            } catch {
              // already errored by an abort
            }
          }
        },
        cancel: (reason: unknown) => {
          const err = reason ?? new GatewayError(Code.Canceled, "client: response body cancelled");
          this.end(err);
          this.finish(err);
        },
      },
      { highWaterMark: 0 },
    );
  }
}
