import { create } from "@bufbuild/protobuf";
import { Code } from "@connectrpc/connect";
import { Connection, type GatewayFetchOptions } from "./connection.js";
import { GatewayError, gatewayErrorFrom, protocolError } from "./error.js";
import { ForwardStreamRequestSchema, HeaderSchema, RequestEndSchema, type ForwardStreamRequest, type ForwardStreamResponse, type RequestHead } from "./gen/msg/gateway/v1/gateway_pb.js";
import { knownLength, requestHead, responseLength } from "./request.js";

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
 * request. Redirects are returned, never followed.
 */
export function createGatewayFetch(options: GatewayFetchOptions): GatewayFetch {
  const conn = new Connection(options);
  let closed = false;
  const gatewayFetch = (input: string | URL | Request, init?: RequestInit): Promise<GatewayResponse> => {
    if (closed) return Promise.reject(new GatewayError(Code.Canceled, "client: the gateway fetch is closed"));
    return roundTrip(conn, input, init);
  };
  return Object.assign(gatewayFetch, {
    close(): void {
      closed = true;
      conn.close();
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
 * message.
 */
const inlineBodyMax = 16 << 10;

const endMessage: ForwardStreamRequest = create(ForwardStreamRequestSchema, {
  kind: { case: "end", value: create(RequestEndSchema) },
});

/**
 * roundTrip sends one request. A request without a body, or with a small one
 * of known length, goes as one message (the head carries the body and the end
 * marker) once the gateway has announced on this connection that it accepts
 * that; a gateway that predates it refuses such a call with UNKNOWN "EOF"
 * before relaying anything, and the request is then sent again the usual
 * way, as client/stream.go does.
 */
async function roundTrip(conn: Connection, input: string | URL | Request, init: RequestInit | undefined): Promise<GatewayResponse> {
  // fetch wants duplex "half" for a stream body; it is the only mode there is.
  const request = new Request(input, init?.body != null && !("duplex" in init) ? { ...init, duplex: "half" } as RequestInit : init);
  request.signal.throwIfAborted();
  const head = requestHead(request);
  head.acceptInlineResponse = true;

  let body = request.body;
  let declared = body === null ? undefined : knownLength(init?.body);
  if (declared === 0) {
    body = null;
    declared = undefined;
  }
  if (declared !== undefined) {
    if (conn.maxRequestBodyBytes !== undefined && declared > conn.maxRequestBodyBytes) {
      throw bodyTooLarge(conn.maxRequestBodyBytes);
    }
    head.headers.push(create(HeaderSchema, { name: "Content-Length", value: String(declared) }));
  }

  const { gen, ok } = conn.inline.allowed();
  if (!ok || (body !== null && (declared === undefined || declared > inlineBodyMax))) {
    return exchange(conn, request, head, body, declared);
  }
  let bytes: Uint8Array<ArrayBuffer> | undefined;
  if (body !== null) {
    bytes = new Uint8Array(await request.arrayBuffer());
    if (bytes.byteLength !== declared) {
      throw new GatewayError(Code.InvalidArgument, `client: request body of ${bytes.byteLength} bytes, not its length ${declared}`);
    }
    head.body = bytes;
  }
  head.end = true;
  try {
    return await exchange(conn, request, head, null, declared);
  } catch (err) {
    if (!(err instanceof GatewayError && err.code === Code.Unknown && err.rawMessage === "EOF")) throw err;
    conn.inline.forget(gen);
    head.end = false;
    head.body = new Uint8Array(0);
    return exchange(conn, request, head, bytes === undefined ? null : new Blob([bytes]).stream(), declared);
  }
}

function bodyTooLarge(max: number): GatewayError {
  return new GatewayError(Code.ResourceExhausted, `client: request body larger than ${max} bytes (maxRequestBodyBytes)`);
}

/**
 * exchange makes one ForwardStream call for head and body (null when the head
 * ends the request or there is no body) and resolves once the response head
 * has arrived.
 */
async function exchange(
  conn: Connection,
  request: Request,
  head: RequestHead,
  body: ReadableStream<Uint8Array> | null,
  declared: number | undefined,
): Promise<GatewayResponse> {
  const call = new Exchange(request.signal);
  const messages = requestMessages(head, body, declared, conn.maxRequestBodyBytes, call);
  const responses = conn.gateway.forwardStream(messages, { signal: call.signal })[Symbol.asyncIterator]();
  call.responses = responses;

  let first: IteratorResult<ForwardStreamResponse>;
  try {
    first = await responses.next();
  } catch (err) {
    throw call.fail(err);
  }
  try {
    if (first.done) throw protocolError("the call ended without a response");
    const kind = first.value.kind;
    if (kind.case !== "head") throw protocolError("the response did not start with a head");
    const rh = kind.value;
    if (rh.acceptsInlineRequests) conn.inline.learn();
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

  constructor(private readonly appSignal: AbortSignal) {
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
