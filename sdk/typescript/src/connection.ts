import { isIP } from "node:net";
import * as tls from "node:tls";
import { Link } from "./link.js";

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
  /**
   * Keepalive pings while calls wait for the gateway: after `intervalMs`
   * without anything arriving (default 15 000) the SDK pings, and gives the
   * connection up when the answer takes longer than `timeoutMs` (default
   * 10 000); the calls on it fail, and those that are safe to send again are
   * sent on a new connection. It never pings an idle connection (see
   * {@link idleTimeoutMs}). Each ping wakes a phone's radio, so a longer
   * interval saves battery; it must stay below the carrier's NAT timeout,
   * and never below the gateway's `keepalive.min_client_ping_interval`
   * (15 s by default), which answers faster pings with GOAWAY
   * `too_many_pings`. `intervalMs` is at least 1000.
   */
  keepalive?: { intervalMs?: number; timeoutMs?: number };
  /**
   * How long a connection without calls stays open, in milliseconds
   * (default 20 000, below the idle timeouts of carrier NATs, 30 s and up).
   * The next call opens a new connection. 0 keeps idle connections open,
   * which a NAT may then silently forget.
   */
  idleTimeoutMs?: number;
}

/** The default of {@link GatewayFetchOptions.maxResponseMessageBytes}. */
const defaultMaxResponseMessageBytes = 64 << 20;

/**
 * The defaults of {@link GatewayFetchOptions.keepalive} and
 * {@link GatewayFetchOptions.idleTimeoutMs}, the Go client's: the gateway's
 * keepalive policy permits exactly these pings.
 */
export const defaultKeepaliveIntervalMs = 15_000;
export const defaultKeepaliveTimeoutMs = 10_000;
export const defaultIdleTimeoutMs = 20_000;

/**
 * Tuning holds the times of the SDK's connection checks (client/transport.go
 * has the same): the tests shorten or disable them to isolate one mechanism.
 */
export interface Tuning {
  /**
   * How long a call may wait for its response with nothing arriving on its
   * connection before the SDK checks the connection with a health check
   * (0: never). A slow internal host costs one small health check per slow
   * request; a dead connection is noticed about four seconds after the call
   * was sent, well before the keepalive pings would notice.
   */
  probeAfterMs: number;
  /** How long that check may take before the connection counts as dead. */
  probeWaitMs: number;
  /**
   * How long a connection may have been silent before a request that cannot
   * be sent twice waits for a health check of it: one round trip, paid only
   * after such a silence and only for such requests.
   */
  preflightAfterMs: number;
  /** How long a request that is sent again waits for a connection to the gateway. */
  reconnectWaitMs: number;
}

export const defaultTuning: Tuning = { probeAfterMs: 1000, probeWaitMs: 3000, preflightAfterMs: 5000, reconnectWaitMs: 20_000 };

/**
 * Connection is the SDK's connection to the gateway: the current {@link Link}
 * that new calls go out on, and the retired links that calls still use.
 */
export class Connection {
  readonly maxRequestBodyBytes: number | undefined;
  readonly tuning: Tuning;
  private dial: () => Link;
  private readonly dialWith: (tlsOptions: tls.ConnectionOptions) => () => Link;
  private tlsOptions: tls.ConnectionOptions;
  private cur: Link;
  private readonly links = new Set<Link>();
  private closed = false;

  constructor(opts: GatewayFetchOptions, tuning: Tuning = defaultTuning) {
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
    const pingIntervalMs = opts.keepalive?.intervalMs ?? defaultKeepaliveIntervalMs;
    const pingTimeoutMs = opts.keepalive?.timeoutMs ?? defaultKeepaliveTimeoutMs;
    if (!Number.isSafeInteger(pingIntervalMs) || pingIntervalMs < 1000 || !Number.isSafeInteger(pingTimeoutMs) || pingTimeoutMs <= 0) {
      throw new RangeError(
        `createGatewayFetch: keepalive ${JSON.stringify(opts.keepalive)}: intervalMs must be an integer of at least 1000 and timeoutMs a positive integer`,
      );
    }
    const idleTimeoutMs = opts.idleTimeoutMs ?? defaultIdleTimeoutMs;
    if (!Number.isSafeInteger(idleTimeoutMs) || idleTimeoutMs < 0) {
      throw new RangeError(`createGatewayFetch: idleTimeoutMs ${idleTimeoutMs}: must be a non-negative integer`);
    }
    this.maxRequestBodyBytes = opts.maxRequestBodyBytes;
    this.tuning = tuning;

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
    const settings = { pingIntervalMs, pingTimeoutMs, idleTimeoutMs, probeWaitMs: tuning.probeWaitMs };
    // The TLS connection is made here rather than by http2.connect so that
    // the link sees every connection's start and end.
    this.dialWith = (o) => () => new Link(baseUrl, () => tls.connect(o), settings, maxMessage);
    this.tlsOptions = tlsOptions;
    this.dial = this.dialWith(tlsOptions);
    this.cur = this.dial();
    this.links.add(this.cur);
  }

  /** current is the link new calls go out on. */
  current(): Link {
    return this.cur;
  }

  /** hold returns the current link, counted as in use by a call. */
  hold(): Link {
    for (;;) {
      const l = this.cur;
      if (l.hold()) return l;
    }
  }

  /**
   * replace puts a new link in place of old, unless old is no longer current,
   * and retires old. With connect set the new link connects at once.
   */
  replace(old: Link, connect: boolean): void {
    if (this.closed || this.cur !== old) return;
    const l = this.dial();
    // The same gateway and identity: if the gateway answered the old link,
    // a failure to reach it on the new one is an outage worth waiting out.
    l.reached = old.reached;
    this.cur = l;
    this.links.add(l);
    old.retireNow();
    for (const o of this.links) if (o.isClosed()) this.links.delete(o);
    if (connect) l.connect();
  }

  /**
   * networkChanged sends the next call out on a new connection at once, and
   * moves the calls that wait for an answer on the old one and may be sent
   * twice; see {@link GatewayFetch.networkChanged}. Calls still on a link
   * that a renewal retired move too: that connection is as dead.
   */
  networkChanged(): void {
    this.replace(this.cur, true);
    for (const l of this.links) l.moveAway();
  }

  /**
   * rotate makes the calls that start from now on go out on a new link that
   * presents the renewed certificate cert/key. The current link is retired
   * without moving its calls: they were authorized with the old certificate,
   * which stays valid for them, and finish there; the old link closes when
   * the last one has ended. Each link dials with its own options and Node
   * resumes no TLS session it was not given, so no new connection can come
   * up on a session made with the old certificate.
   */
  rotate(cert: string | Buffer, key: string | Buffer): void {
    if (this.closed) return;
    const o: tls.ConnectionOptions = { ...this.tlsOptions, cert, key };
    delete o.passphrase;
    // Bad PEM fails here, before the current link is given up.
    tls.createSecureContext(o);
    this.tlsOptions = o;
    this.dial = this.dialWith(o);
    const old = this.cur;
    const l = this.dial();
    l.reached = old.reached;
    this.cur = l;
    this.links.add(l);
    old.retire();
    for (const x of this.links) if (x.isClosed()) this.links.delete(x);
  }

  /**
   * preflight checks a connection that has been silent for preflightAfterMs
   * before a request that cannot be sent twice goes out on it, and returns
   * the link to use, held: l, or a new one when l did not answer. Such a
   * request must not vanish into a connection that died unnoticed (a NAT
   * that forgot it, a network change the app did not report), since it
   * could not be sent again.
   */
  async preflight(l: Link, signal: AbortSignal): Promise<Link> {
    if (l.silentFor() < this.tuning.preflightAfterMs || !l.connected()) return l;
    const start = l.clock();
    await l.check(this.tuning.probeWaitMs);
    if (l.readSince(start) || signal.aborted) return l;
    this.replace(l, true);
    l.release();
    return this.hold();
  }

  /** close closes every link; calls in flight fail. */
  close(): void {
    this.closed = true;
    for (const l of this.links) l.close();
    this.links.clear();
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
