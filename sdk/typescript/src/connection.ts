import { isIP } from "node:net";
import * as tls from "node:tls";
import type { Duplex } from "node:stream";
import { createClient, type Client } from "@connectrpc/connect";
import { createGrpcTransport, Http2SessionManager } from "@connectrpc/connect-node";
import { GatewayService } from "./gen/msg/gateway/v1/gateway_pb.js";

/** Options of {@link createGatewayFetch}. */
export interface GatewayFetchOptions {
  /**
   * The gateway's gRPC address, `"host:port"` (`"gateway.example.com:8443"`,
   * `"127.0.0.1:8443"`, `"[::1]:8443"`); the port defaults to 443.
   */
  address: string;
  /**
   * The app's client certificate in PEM, optionally followed by
   * intermediates. Required: the gateway accepts mutual TLS only.
   */
  cert: string | Buffer;
  /** The private key of {@link cert}, in PEM. */
  key: string | Buffer;
  /** The passphrase of an encrypted {@link key}. */
  passphrase?: string;
  /**
   * The PEM certificate(s) that verify the gateway's server certificate: the
   * trust anchor is pinned. The system trust store is never consulted.
   */
  ca: string | Buffer | Array<string | Buffer>;
  /**
   * The name the gateway's certificate must be valid for. By default the
   * host of {@link address} (its IP SANs when it is an IP address).
   */
  serverName?: string;
  /**
   * The largest single message accepted from the gateway: a response head
   * with its headers, or one body chunk (at most 32 KiB from current
   * gateways). Default 64 MiB, as in the Go client. It does not bound the
   * body, which streams.
   */
  maxResponseMessageBytes?: number;
  /**
   * The largest request body the SDK forwards. A body of known length over it
   * is refused before anything is sent; a streamed body that grows past it
   * fails as soon as it does and the gateway cancels the upstream request.
   * Default: no limit of the SDK's own (the gateway enforces its per-host
   * limit).
   */
  maxRequestBodyBytes?: number;
}

/** The default of {@link GatewayFetchOptions.maxResponseMessageBytes}. */
const defaultMaxResponseMessageBytes = 64 << 20;

/**
 * Connection is the SDK's one HTTP/2 connection to the gateway (re-made as
 * needed by Connect's session manager) and what is known about the gateway at
 * its other end.
 */
export class Connection {
  readonly gateway: Client<typeof GatewayService>;
  readonly inline = new InlineState();
  readonly maxRequestBodyBytes: number | undefined;
  private readonly sessions: Http2SessionManager;

  constructor(opts: GatewayFetchOptions) {
    const { host, port } = parseAddress(opts.address);
    if (!opts.cert || !opts.key) {
      throw new TypeError("createGatewayFetch: cert and key are required: the gateway accepts mutual TLS only");
    }
    if (!opts.ca || (Array.isArray(opts.ca) && opts.ca.length === 0)) {
      throw new TypeError("createGatewayFetch: ca is required: the gateway's trust anchor is pinned, the system trust store is not used");
    }
    const maxMessage = opts.maxResponseMessageBytes ?? defaultMaxResponseMessageBytes;
    if (!Number.isSafeInteger(maxMessage) || maxMessage <= 0) {
      throw new RangeError(`createGatewayFetch: maxResponseMessageBytes ${maxMessage}: must be a positive integer`);
    }
    if (opts.maxRequestBodyBytes !== undefined && (!Number.isSafeInteger(opts.maxRequestBodyBytes) || opts.maxRequestBodyBytes <= 0)) {
      throw new RangeError(`createGatewayFetch: maxRequestBodyBytes ${opts.maxRequestBodyBytes}: must be a positive integer`);
    }
    this.maxRequestBodyBytes = opts.maxRequestBodyBytes;

    const tlsOptions: tls.ConnectionOptions = {
      host,
      port,
      cert: opts.cert,
      key: opts.key,
      ca: opts.ca,
      minVersion: "TLSv1.2",
      ALPNProtocols: ["h2"],
    };
    if (opts.passphrase !== undefined) tlsOptions.passphrase = opts.passphrase;
    // SNI carries names only (RFC 6066); an IP address is checked against
    // the certificate's IP SANs through `host`.
    const serverName = opts.serverName ?? (isIP(host) === 0 ? host : undefined);
    if (serverName !== undefined) tlsOptions.servername = serverName;
    // Bad PEM fails here, at construction, rather than on the first request.
    tls.createSecureContext(tlsOptions);

    const baseUrl = `https://${isIP(host) === 6 ? `[${host}]` : host}:${port}`;
    this.sessions = new Http2SessionManager(baseUrl, {}, {
      // The TLS connection is made here rather than by http2.connect so that
      // every connection's start and end is seen (see InlineState).
      createConnection: (): Duplex => this.inline.track(tls.connect(tlsOptions)),
    });
    const transport = createGrpcTransport({
      baseUrl,
      sessionManager: this.sessions,
      readMaxBytes: maxMessage,
      acceptCompression: [],
    });
    this.gateway = createClient(GatewayService, transport);
  }

  /** close closes the connection; calls in flight fail. */
  close(): void {
    this.sessions.abort();
  }
}

/**
 * InlineState remembers whether the gateway at the other end of the current
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

/** parseAddress splits "host:port" (IPv6 in brackets); the port defaults to 443. */
export function parseAddress(address: string): { host: string; port: number } {
  let url: URL;
  try {
    url = new URL(`https://${address}`);
  } catch {
    throw new TypeError(`createGatewayFetch: address ${JSON.stringify(address)}: want "host:port"`);
  }
  if (address === "" || url.username !== "" || url.password !== "" || url.pathname !== "/" || url.search !== "" || url.hash !== "" || address.includes("/")) {
    throw new TypeError(`createGatewayFetch: address ${JSON.stringify(address)}: want "host:port"`);
  }
  const host = url.hostname.startsWith("[") ? url.hostname.slice(1, -1) : url.hostname;
  return { host, port: url.port === "" ? 443 : Number(url.port) };
}
