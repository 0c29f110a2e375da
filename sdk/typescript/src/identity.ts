import { X509Certificate, createPrivateKey, type KeyObject } from "node:crypto";
import { mkdirSync, openSync, closeSync, fsyncSync, writeSync, renameSync, rmSync, chmodSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { join } from "node:path";

/**
 * An Identity is what a device holds once it has enrolled: its certificate
 * chain and private key, the trust anchor it verifies the gateway with, and
 * where to reach the gateway (as the Go client's `client.Identity`).
 */
export interface Identity {
  /** The certificate chain in DER, leaf first, as the gateway issued it. */
  certificateChain: Uint8Array[];
  /** The leaf's private key. It was made on this device and never left it. */
  privateKey: KeyObject;
  /** The DER certificate of the CA that signs the gateway's server certificate: the one the bundle pinned, and the only one trusted. */
  trustAnchor: Uint8Array;
  /** The gateway's data plane, `"host:port"`. */
  gatewayAddress: string;
  /** The enrollment listener, `"host:port"`, where renewals go. */
  enrollAddress: string;
  /** The device record's id in the gateway's admin API. */
  deviceId: string;
}

/** NoIdentityError is what {@link IdentityStore.load} rejects with when nothing was saved yet: enroll first. */
export class NoIdentityError extends Error {
  override readonly name = "NoIdentityError";
}

/**
 * An IdentityStore keeps a device's {@link Identity}: {@link FileIdentityStore}
 * in files, or an app's own over a platform key store. `save` replaces the
 * whole identity at once (a crash during it must leave the old or the new
 * one). Both are called by {@link enroll} and by the renewal of
 * `createEnrolledFetch`.
 */
export interface IdentityStore {
  /** load returns the saved identity, or rejects with a {@link NoIdentityError}. */
  load(): Promise<Identity>;
  /** save replaces the saved identity. */
  save(identity: Identity): Promise<void>;
  /**
   * generateKey, when present, makes each new private key (enrollment and
   * every renewal) inside the store's own key store; only a later `save`
   * makes it current. Without it the SDK makes ECDSA P-256 keys with
   * node:crypto. The key may be ECDSA P-256, Ed25519 or RSA (2048 bits or
   * more): what the gateway accepts.
   */
  generateKey?(): Promise<KeyObject>;
}

/** The file names of a {@link FileIdentityStore}: those of the Go client's `client.FileStore`, so either reads what the other wrote. */
export const identityFile = "identity.pem";
export const trustAnchorFile = "ca.pem";
export const gatewayFile = "gateway.json";

/**
 * FileIdentityStore is an {@link IdentityStore} in a directory, in the files
 * the Go client's `client.FileStore` (and `msg-enroll`) uses:
 *
 * - `identity.pem`: the certificate chain, then the PKCS #8 private key, mode
 *   0600 (curl --cert, grpcurl -cert/-key read it);
 * - `ca.pem`: the trust anchor;
 * - `gateway.json`: the addresses and the device id.
 *
 * Each file is replaced atomically (written beside it, synced, renamed, the
 * directory synced). The certificate and its key share one file, so that no
 * crash pairs a new certificate with an old key.
 */
export class FileIdentityStore implements IdentityStore {
  constructor(readonly dir: string) {}

  async load(): Promise<Identity> {
    let pem: string;
    try {
      pem = await readFile(join(this.dir, identityFile), "utf8");
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === "ENOENT") {
        throw new NoIdentityError(`no identity saved: enroll first (${this.dir} has no ${identityFile})`);
      }
      throw err;
    }
    const certs = pemBlocks(pem, "CERTIFICATE");
    const keys = pemBlocks(pem, "PRIVATE KEY");
    if (certs.length === 0 || keys.length !== 1) {
      throw new Error(`${join(this.dir, identityFile)}: want certificates and one PRIVATE KEY`);
    }
    const privateKey = createPrivateKey({ key: Buffer.from(keys[0]!), format: "der", type: "pkcs8" });
    const anchors = pemBlocks(await readFile(join(this.dir, trustAnchorFile), "utf8"), "CERTIFICATE");
    if (anchors.length !== 1) throw new Error(`${join(this.dir, trustAnchorFile)}: want one certificate`);
    const gw = JSON.parse(await readFile(join(this.dir, gatewayFile), "utf8")) as Record<string, unknown>;
    const id: Identity = {
      certificateChain: certs,
      privateKey,
      trustAnchor: anchors[0]!,
      gatewayAddress: String(gw["gateway_address"] ?? ""),
      enrollAddress: String(gw["enroll_address"] ?? ""),
      deviceId: String(gw["device_id"] ?? ""),
    };
    checkIdentity(id);
    return id;
  }

  async save(id: Identity): Promise<void> {
    mkdirSync(this.dir, { recursive: true, mode: 0o700 });
    const gw = JSON.stringify({ gateway_address: id.gatewayAddress, enroll_address: id.enrollAddress, device_id: id.deviceId }, null, 2) + "\n";
    const identity = id.certificateChain.map((c) => toPem("CERTIFICATE", c)).join("") + (id.privateKey.export({ type: "pkcs8", format: "pem" }) as string);
    // The anchor and the addresses first: they change only with a new
    // enrollment, which writes a new identity.pem too, so a crash in between
    // leaves the old, complete identity in force.
    writeAtomic(this.dir, trustAnchorFile, toPem("CERTIFICATE", id.trustAnchor), 0o644);
    writeAtomic(this.dir, gatewayFile, gw, 0o644);
    writeAtomic(this.dir, identityFile, identity, 0o600);
  }
}

/** checkIdentity throws unless the identity's key is its leaf's and it names a gateway. */
export function checkIdentity(id: Identity): X509Certificate {
  if (id.certificateChain.length === 0) throw new Error("identity has no certificate");
  const leaf = new X509Certificate(id.certificateChain[0]!);
  if (!leaf.checkPrivateKey(id.privateKey)) throw new Error("the identity's key is not the key of its certificate");
  new X509Certificate(id.trustAnchor);
  if (id.gatewayAddress === "") throw new Error("the identity names no gateway address");
  return leaf;
}

/** toPem encodes DER as one PEM block. */
export function toPem(type: string, der: Uint8Array): string {
  const b64 = Buffer.from(der).toString("base64").replace(/.{64}/g, "$&\n").replace(/\n?$/, "\n");
  return `-----BEGIN ${type}-----\n${b64}-----END ${type}-----\n`;
}

function pemBlocks(pem: string, type: string): Uint8Array[] {
  const re = new RegExp(`-----BEGIN ${type}-----\\r?\\n([A-Za-z0-9+/=\\r\\n]*?)-----END ${type}-----`, "g");
  return [...pem.matchAll(re)].map((m) => new Uint8Array(Buffer.from(m[1]!.replace(/\s+/g, ""), "base64")));
}

/** writeAtomic replaces dir/name with data: a temporary file beside it, synced, renamed over it, the directory synced. */
function writeAtomic(dir: string, name: string, data: string, mode: number): void {
  const tmp = join(dir, `.${name}.tmp-${process.pid}-${Math.random().toString(36).slice(2)}`);
  const fd = openSync(tmp, "wx", mode);
  try {
    chmodSync(tmp, mode); // the umask may have taken bits away
    writeSync(fd, data);
    fsyncSync(fd);
  } catch (err) {
    closeSync(fd);
    rmSync(tmp, { force: true });
    throw err;
  }
  closeSync(fd);
  try {
    renameSync(tmp, join(dir, name));
  } catch (err) {
    rmSync(tmp, { force: true });
    throw err;
  }
  const d = openSync(dir, "r");
  try {
    fsyncSync(d);
  } finally {
    closeSync(d);
  }
}
