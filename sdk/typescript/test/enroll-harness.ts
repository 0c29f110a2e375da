// A real gateway with device enrollment: dev mode writes the PKI, config
// (with its enroll section and enrollment CA) and store, then `msg-gateway
// serve` runs that config with limits the tests' loops stay under. Also the
// certificates an impostor presents.
import { generateKeyPairSync, randomBytes, sign, type KeyObject } from "node:crypto";
import { spawn } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { AsnConvert, OctetString } from "@peculiar/asn1-schema";
import {
  AlgorithmIdentifier,
  AttributeTypeAndValue,
  AttributeValue,
  BasicConstraints,
  Certificate,
  ExtendedKeyUsage,
  Extension,
  Extensions,
  GeneralName,
  id_ce_basicConstraints,
  id_ce_extKeyUsage,
  id_ce_keyUsage,
  id_ce_subjectAltName,
  id_kp_serverAuth,
  KeyUsage,
  KeyUsageFlags,
  Name,
  RelativeDistinguishedName,
  SubjectAlternativeName,
  SubjectPublicKeyInfo,
  TBSCertificate,
  Validity,
} from "@peculiar/asn1-x509";
import { toPem } from "../src/identity.js";
import { adminCall, gatewayBinary, reapOnExit, startGateway, stopChild, type Gateway } from "./harness.js";

/** A CA or leaf the test minted: DER, PEM and its key. */
export interface Minted {
  der: Uint8Array;
  pem: string;
  key: KeyObject;
  keyPem: string;
}

function name(cn: string): Name {
  return new Name([new RelativeDistinguishedName([new AttributeTypeAndValue({ type: "2.5.4.3", value: new AttributeValue({ utf8String: cn }) })])]);
}

/**
 * mint issues a certificate for a new P-256 key, a CA or a server leaf for an
 * IP address, self-signed or signed by issuer: issuer's subject is its issuer
 * name, issuer's key signs it (the two need not belong together, to forge).
 */
export function mint(cn: string, opts: { ca: boolean; issuer?: Pick<Minted, "der" | "key">; ip?: string }): Minted {
  const { privateKey, publicKey } = generateKeyPairSync("ec", { namedCurve: "P-256" });
  const ecdsaSha256 = new AlgorithmIdentifier({ algorithm: "1.2.840.10045.4.3.2" });
  const ext = (id: string, critical: boolean, value: unknown) =>
    new Extension({ extnID: id, critical, extnValue: new OctetString(AsnConvert.serialize(value)) });
  const extensions = opts.ca
    ? [ext(id_ce_basicConstraints, true, new BasicConstraints({ cA: true })), ext(id_ce_keyUsage, true, new KeyUsage(KeyUsageFlags.keyCertSign | KeyUsageFlags.cRLSign))]
    : [
        ext(id_ce_keyUsage, true, new KeyUsage(KeyUsageFlags.digitalSignature)),
        ext(id_ce_extKeyUsage, false, new ExtendedKeyUsage([id_kp_serverAuth])),
        ext(id_ce_subjectAltName, false, new SubjectAlternativeName([new GeneralName({ iPAddress: opts.ip ?? "127.0.0.1" })])),
      ];
  const serial = randomBytes(16);
  serial[0]! &= 0x7f;
  const tbs = new TBSCertificate({
    version: 2,
    serialNumber: new Uint8Array(serial).buffer,
    signature: ecdsaSha256,
    issuer: opts.issuer ? AsnConvert.parse(opts.issuer.der, Certificate).tbsCertificate.subject : name(cn),
    validity: new Validity({ notBefore: new Date(Date.now() - 60_000), notAfter: new Date(Date.now() + 24 * 3600_000) }),
    subject: name(cn),
    subjectPublicKeyInfo: AsnConvert.parse(publicKey.export({ type: "spki", format: "der" }), SubjectPublicKeyInfo),
    extensions: new Extensions(extensions),
  });
  const signer = opts.issuer?.key ?? privateKey;
  const signature = sign("sha256", Buffer.from(AsnConvert.serialize(tbs)), { key: signer, dsaEncoding: "der" });
  const der = new Uint8Array(AsnConvert.serialize(new Certificate({ tbsCertificate: tbs, signatureAlgorithm: ecdsaSha256, signatureValue: new Uint8Array(signature).buffer })));
  return { der, pem: toPem("CERTIFICATE", der), key: privateKey, keyPem: privateKey.export({ type: "pkcs8", format: "pem" }) as string };
}

export interface EnrollGateway {
  /** The dev directory (ca.pem is the trust anchor the bundles pin). */
  dir: string;
  addr: string;
  adminAddr: string;
  enrollAddr: string;
  token: string;
  /** The gateway's log so far. */
  log(): string;
  stop(): Promise<void>;
}

/**
 * startEnrollGateway runs dev mode once for its PKI, config (with its enroll
 * section: the dev enrollment CA, a free port) and store, then `serve` on that
 * config with limits the tests' loops stay under.
 */
export async function startEnrollGateway(): Promise<EnrollGateway> {
  const dev = await startGateway();
  const dir = dev.dir;
  await dev.stop(true);
  let config = readFileSync(join(dir, "gateway.yaml"), "utf8");
  if (!/^enroll:$/m.test(config)) throw new Error("dev mode's gateway.yaml has no enroll section");
  // The renewal test's loop of calls runs as fast as it can, and the tests
  // enroll and renew more often than one source address may by default.
  config = config.replace(/^enroll:$/m, "enroll:\n  rate_per_source: 1000\n  burst_per_source: 1000");
  config += "\nlimits:\n  rate_per_second: 100000\n  burst: 100000\n";
  const file = join(dir, "serve.yaml");
  writeFileSync(file, config);
  const child = spawn(gatewayBinary(), ["serve", "--config", file], { stdio: ["ignore", "ignore", "pipe"] });
  const unreap = reapOnExit(child);
  let log = "";
  const addrs = await new Promise<{ addr: string; adminAddr: string; enrollAddr: string }>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`serve did not start in 120 s:\n${log}`)), 120_000);
    child.once("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`serve exited (${code}):\n${log}`));
    });
    child.stderr!.setEncoding("utf8").on("data", (s: string) => {
      log = (log + s).slice(-200_000);
      const g = /msg="gateway listening" grpc=(\S+) admin=(\S+)/.exec(log);
      const e = /msg="enrollment listening" addr=(\S+)/.exec(log);
      if (g?.[1] && g[2] && e?.[1]) {
        clearTimeout(timer);
        resolve({ addr: g[1], adminAddr: g[2], enrollAddr: e[1] });
      }
    });
  });
  return {
    ...addrs,
    dir,
    token: readFileSync(join(dir, "admin-token"), "utf8").trim(),
    log: () => log,
    stop: () => {
      unreap();
      return stopChild(child, dir);
    },
  };
}

/** createToken creates an enrollment token through the admin REST API and returns its bundle. */
export async function createToken(g: EnrollGateway, body: unknown): Promise<string> {
  const resp = await adminCall(g as unknown as Gateway, "POST", "/v1/enrollmentTokens", body);
  if (resp.status !== 200) throw new Error(`POST /v1/enrollmentTokens: ${resp.status} ${resp.text}`);
  return (JSON.parse(resp.text) as { bundle: string }).bundle;
}
