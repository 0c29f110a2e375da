import { createHash, createPublicKey, generateKeyPairSync, sign, X509Certificate, type KeyObject } from "node:crypto";
import { isIP } from "node:net";
import * as tls from "node:tls";
import type { Duplex } from "node:stream";
import { AsnConvert } from "@peculiar/asn1-schema";
import { CertificationRequest, CertificationRequestInfo } from "@peculiar/asn1-csr";
import { AlgorithmIdentifier, Name, SubjectPublicKeyInfo } from "@peculiar/asn1-x509";
import { createClient, type Client } from "@connectrpc/connect";
import { createGrpcTransport, Http2SessionManager } from "@connectrpc/connect-node";
import { parseBundle, type EnrollmentBundle } from "./bundle.js";
import { parseAddress } from "./connection.js";
import { gatewayErrorFrom } from "./error.js";
import { EnrollmentService } from "./gen/msg/enroll/v1/enroll_pb.js";
import { checkIdentity, toPem, type Identity, type IdentityStore } from "./identity.js";

/**
 * An EnrollmentPinError is an enrollment refused by the device: the
 * enrollment listener's certificate does not chain to the trust anchor the
 * bundle pins (someone else answered at the bundle's address, or the bundle
 * is for another gateway). Nothing was sent, the secret least of all.
 */
export class EnrollmentPinError extends Error {
  override readonly name = "EnrollmentPinError";
}

/** Options of {@link enroll}. */
export interface EnrollOptions {
  /** Ends the enrollment (default: none; the connection's own timeouts apply). */
  signal?: AbortSignal;
}

/**
 * enroll enrolls this device with the gateway that `bundle` describes (the
 * `msg-enroll://...` string from the admin, as text or QR code) and saves the
 * identity it gets in `store`, which it also returns.
 *
 * The private key is made on the device (by `store.generateKey` when the
 * store has it, else an ECDSA P-256 key from node:crypto) and never leaves
 * it: the gateway gets a PKCS #10 certificate request. Before the secret is
 * sent, the enrollment listener's certificate must chain to the CA whose
 * SHA-256 the bundle pins and be valid for the bundle's host; otherwise
 * enroll rejects with an {@link EnrollmentPinError}.
 *
 * A refused secret (used up, expired, revoked, or never issued: the gateway
 * does not say which) rejects with a `GatewayError` whose code is
 * `Code.Unauthenticated` and reason `"ENROLLMENT_REFUSED"`. If the connection
 * breaks after the gateway issued the certificate but before it arrived, the
 * secret may be spent: ask the admin for a new bundle.
 *
 * Then call `createEnrolledFetch(store)`, which keeps the certificate renewed.
 */
export async function enroll(bundle: string, store: IdentityStore, options: EnrollOptions = {}): Promise<Identity> {
  const b = parseBundle(bundle);
  const key = await newKey(store);
  const csr = certificateRequest(key);
  const anchor = await pinnedAnchor(b, options.signal);
  const { host, port } = parseAddress(b.address);
  const resp = await withEnrollmentClient(host, port, { ca: toPem("CERTIFICATE", anchor.raw) }, (c) =>
    c.enroll({ secret: b.secret, csr }, { signal: options.signal }),
  );
  const id: Identity = {
    certificateChain: resp.certificateChain,
    privateKey: key,
    trustAnchor: new Uint8Array(anchor.raw),
    gatewayAddress: resp.gatewayAddress,
    enrollAddress: b.address,
    deviceId: resp.deviceId,
  };
  try {
    checkIdentity(id);
  } catch (err) {
    throw new Error(`the gateway's answer: ${(err as Error).message}`, { cause: err });
  }
  await store.save(id);
  return id;
}

/**
 * renewIdentity asks the enrollment listener for a certificate for a new
 * key, authenticated by the current certificate, and returns the new
 * identity (not yet saved).
 */
export async function renewIdentity(id: Identity, store: IdentityStore, signal?: AbortSignal): Promise<Identity> {
  const key = await newKey(store);
  const csr = certificateRequest(key);
  const { host, port } = parseAddress(id.enrollAddress);
  const resp = await withEnrollmentClient(
    host,
    port,
    {
      ca: toPem("CERTIFICATE", id.trustAnchor),
      cert: id.certificateChain.map((c) => toPem("CERTIFICATE", c)).join(""),
      key: id.privateKey.export({ type: "pkcs8", format: "pem" }),
    },
    (c) => c.renew({ csr }, { signal }),
  );
  const next: Identity = { ...id, certificateChain: resp.certificateChain, privateKey: key };
  try {
    checkIdentity(next);
  } catch (err) {
    throw new Error(`the gateway's answer: ${(err as Error).message}`, { cause: err });
  }
  return next;
}

/** newKey returns a new private key for a certificate request. */
async function newKey(store: IdentityStore): Promise<KeyObject> {
  if (store.generateKey) return store.generateKey();
  return generateKeyPairSync("ec", { namedCurve: "P-256" }).privateKey;
}

/**
 * certificateRequest returns a DER PKCS #10 request for key, signed by it
 * (proof of possession). The subject is empty: the gateway takes the
 * identity from the enrollment token, never from the request. The ASN.1 is
 * @peculiar/asn1-csr's (RFC 2986's schema); node:crypto signs.
 */
export function certificateRequest(key: KeyObject): Uint8Array {
  const info = new CertificationRequestInfo({
    subject: new Name(),
    subjectPKInfo: AsnConvert.parse(createPublicKey(key).export({ type: "spki", format: "der" }), SubjectPublicKeyInfo),
  });
  const tbs = Buffer.from(AsnConvert.serialize(info));
  let algorithm: AlgorithmIdentifier;
  let signature: Buffer;
  switch (key.asymmetricKeyType) {
    case "ec":
      algorithm = new AlgorithmIdentifier({ algorithm: "1.2.840.10045.4.3.2" }); // ecdsa-with-SHA256
      signature = sign("sha256", tbs, { key, dsaEncoding: "der" });
      break;
    case "ed25519":
      algorithm = new AlgorithmIdentifier({ algorithm: "1.3.101.112" });
      signature = sign(null, tbs, key);
      break;
    case "rsa":
      // sha256WithRSAEncryption, with the NULL parameters RFC 4055 asks for.
      algorithm = new AlgorithmIdentifier({ algorithm: "1.2.840.113549.1.1.11", parameters: null });
      signature = sign("sha256", tbs, key);
      break;
    default:
      throw new TypeError(`a ${key.asymmetricKeyType} key: the gateway accepts ECDSA P-256, Ed25519 and RSA keys`);
  }
  const csr = new CertificationRequest({
    certificationRequestInfo: info,
    signatureAlgorithm: algorithm,
    signature: new Uint8Array(signature).buffer,
  });
  return new Uint8Array(AsnConvert.serialize(csr));
}

/**
 * pinnedAnchor returns the trust anchor the bundle pins, once the enrollment
 * listener has proved it is the gateway: its certificate chains to that
 * anchor and is valid for the bundle's host. The device trusts no CA yet, so
 * it takes the anchor from the chain the listener presents (the gateway
 * appends it) by its SHA-256, then verifies the listener against it alone on
 * a second handshake. Neither connection carries anything but a handshake.
 */
async function pinnedAnchor(b: EnrollmentBundle, signal?: AbortSignal): Promise<X509Certificate> {
  const { host, port } = parseAddress(b.address);
  const chain = await handshake(host, port, { rejectUnauthorized: false }, signal);
  const anchor = chain.slice(1).find((c) => c.ca && createHash("sha256").update(c.raw).digest().equals(b.pin));
  if (anchor === undefined) {
    throw new EnrollmentPinError("the enrollment listener is not the gateway the bundle pins: no certificate of the presented chain has the pinned SHA-256");
  }
  try {
    await handshake(host, port, { ca: toPem("CERTIFICATE", anchor.raw) }, signal);
  } catch (err) {
    throw new EnrollmentPinError(`the enrollment listener is not the gateway the bundle pins: ${(err as Error).message}`, { cause: err });
  }
  return anchor;
}

/** handshake makes a TLS handshake, returns the chain the server presented and closes the connection. */
function handshake(host: string, port: number, opts: tls.ConnectionOptions, signal?: AbortSignal): Promise<X509Certificate[]> {
  return new Promise((resolve, reject) => {
    signal?.throwIfAborted();
    const socket = tls.connect({ ...tlsBase(host, port), ...opts });
    const onAbort = () => socket.destroy(signal?.reason as Error);
    signal?.addEventListener("abort", onAbort, { once: true });
    socket.once("error", (err) => {
      signal?.removeEventListener("abort", onAbort);
      reject(err);
    });
    socket.once("secureConnect", () => {
      signal?.removeEventListener("abort", onAbort);
      const chain: X509Certificate[] = [];
      for (let c = socket.getPeerCertificate(true); c?.raw !== undefined && chain.length < 10; c = c.issuerCertificate) {
        chain.push(new X509Certificate(c.raw));
        if (c.issuerCertificate === c) break; // a self-signed root links to itself
      }
      socket.destroy();
      resolve(chain);
    });
  });
}

function tlsBase(host: string, port: number): tls.ConnectionOptions {
  const o: tls.ConnectionOptions = { host, port, minVersion: "TLSv1.2", ALPNProtocols: ["h2"] };
  // SNI carries names only; an IP address is checked against the IP SANs.
  if (isIP(host) === 0) o.servername = host;
  return o;
}

/** withEnrollmentClient runs one call on a connection of its own to the enrollment listener. */
async function withEnrollmentClient<T>(
  host: string,
  port: number,
  opts: tls.ConnectionOptions,
  call: (c: Client<typeof EnrollmentService>) => Promise<T>,
): Promise<T> {
  const baseUrl = `https://${isIP(host) === 6 ? `[${host}]` : host}:${port}`;
  const sessions = new Http2SessionManager(baseUrl, {}, {
    createConnection: (): Duplex => tls.connect({ ...tlsBase(host, port), ...opts, rejectUnauthorized: true }),
  });
  try {
    return await call(createClient(EnrollmentService, createGrpcTransport({ baseUrl, sessionManager: sessions, acceptCompression: [] })));
  } catch (err) {
    throw gatewayErrorFrom(err);
  } finally {
    sessions.abort();
  }
}
