// The enrollment bundle, read exactly as the gateway's Go parser
// (internal/enrollment/bundle.go) reads it: both are tested with the cases of
// internal/enrollment/testdata/bundles.json.

/** The bundle's URI scheme. */
const scheme = "msg-enroll";
/** The most bytes a bundle may have (about 130 in practice). */
const maxBundleLength = 512;
/** The least a secret must carry: 128 bits. */
const minSecretBytes = 16;
/** The longest encoded secret. */
const maxSecretLength = 128;
const pinPrefix = "sha256:";

/**
 * An EnrollmentBundle is everything a device needs to enroll, from the
 * `msg-enroll://HOST:PORT/?s=SECRET&pin=sha256:PIN` string that the admin
 * hands out (as text or QR code).
 */
export interface EnrollmentBundle {
  /** The enrollment listener, `"host:port"` (`"[v6]:port"` for IPv6). */
  address: string;
  /** The one-time secret. */
  secret: string;
  /** The SHA-256 of the DER certificate of the gateway's trust anchor (32 bytes). */
  pin: Uint8Array;
}

/** A BundleError is a bundle that does not parse; its message names the part at fault, never the secret. */
export class BundleError extends Error {
  override readonly name = "BundleError";
}

function fail(msg: string): never {
  throw new BundleError(`enrollment bundle: ${msg}`);
}

/**
 * parseBundle reads a bundle, with surrounding white space ignored. Anything
 * else is a {@link BundleError} naming the part at fault.
 */
export function parseBundle(input: string): EnrollmentBundle {
  const s = trimSpace(input);
  if (utf8Length(s) > maxBundleLength) fail(`longer than ${maxBundleLength} bytes`);
  const sep = s.indexOf("://");
  // Go compares with strings.EqualFold, which folds U+017F (long s) to s.
  if (sep < 0 || s.slice(0, sep).replace(/\u017f/g, "s").toLowerCase() !== scheme) fail(`must start with ${scheme}://`);
  const rest = s.slice(sep + 3);
  if (/[#@\\ \t\r\n]/.test(rest)) fail("user info, fragments, backslashes and white space are not allowed");
  const q = rest.indexOf("?");
  if (q < 0) fail("no parameters (want ?s=SECRET&pin=sha256:PIN)");
  let authority = rest.slice(0, q);
  const query = rest.slice(q + 1);
  const slash = authority.indexOf("/");
  if (slash >= 0) {
    if (authority.slice(slash + 1) !== "") fail("unexpected path after the address");
    authority = authority.slice(0, slash);
  }
  const addrErr = checkAddress(authority);
  if (addrErr !== undefined) fail(`address: ${addrErr}`);
  let secret: string | undefined;
  let pin: Uint8Array | undefined;
  for (const param of query.split("&")) {
    const eq = param.indexOf("=");
    const name = eq < 0 ? param : param.slice(0, eq);
    const value = eq < 0 ? "" : param.slice(eq + 1);
    if (name === "s") {
      if (secret !== undefined) fail("parameter s given twice");
      const err = checkSecret(value);
      if (err !== undefined) fail(`parameter s: ${err}`);
      secret = value;
    } else if (name === "pin") {
      if (pin !== undefined) fail("parameter pin given twice");
      if (!value.startsWith(pinPrefix)) fail('parameter pin: must start with "sha256:"');
      const raw = decodeBase64UrlStrict(value.slice(pinPrefix.length));
      if (raw === undefined || raw.length !== 32) fail("parameter pin: want 43 characters of unpadded base64url (a SHA-256)");
      pin = raw;
    } else {
      fail(`unknown parameter ${goQuote(clip(name))} (a newer gateway's bundle? update the app)`);
    }
  }
  if (secret === undefined) fail("parameter s (the secret) is missing");
  if (pin === undefined) fail("parameter pin is missing");
  return { address: authority, secret, pin };
}

/** checkSecret checks a secret's form; the message never quotes it. */
function checkSecret(s: string): string | undefined {
  if (utf8Length(s) > maxSecretLength) return `longer than ${maxSecretLength} characters`;
  const raw = decodeBase64UrlStrict(s);
  if (raw === undefined) return "not unpadded base64url";
  if (raw.length < minSecretBytes) return `shorter than ${minSecretBytes} bytes`;
  return undefined;
}

/** checkAddress checks "host:port" as Go's net.SplitHostPort and the bundle's rules do; it returns the error. */
function checkAddress(a: string): string | undefined {
  if (a === "") return "missing (want HOST:PORT)";
  const hp = splitHostPort(a);
  if (hp === undefined) return "not HOST:PORT";
  const { host, port } = hp;
  if (!/^[0-9]+$/.test(port) || port[0] === "0" || port.length > 5 || Number(port) > 65535) {
    return "port must be a number from 1 to 65535";
  }
  if (a.startsWith("[")) {
    if (!isIPv6(host)) return "not an IPv6 address in brackets";
    return undefined;
  }
  // A dotted quad that is no IPv4 address is still a DNS name by the rules
  // below, as in Go: only the name check decides.
  if (!validDNSName(host)) return "host is neither a DNS name nor an IP address";
  return undefined;
}

/** splitHostPort is Go's net.SplitHostPort: undefined where it fails. */
function splitHostPort(hp: string): { host: string; port: string } | undefined {
  const i = hp.lastIndexOf(":");
  if (i < 0) return undefined;
  let host: string;
  let j = 0;
  let k = 0;
  if (hp[0] === "[") {
    const end = hp.indexOf("]");
    if (end < 0 || end + 1 === hp.length || end + 1 !== i) return undefined;
    host = hp.slice(1, end);
    j = 1;
    k = end + 1;
  } else {
    host = hp.slice(0, i);
    if (host.includes(":")) return undefined;
  }
  if (hp.slice(j).includes("[") || hp.slice(k).includes("]")) return undefined;
  return { host, port: hp.slice(i + 1) };
}

function validDNSName(h: string): boolean {
  if (h.length === 0 || h.length > 253) return false;
  return h.split(".").every((l) => l.length > 0 && l.length <= 63 && /^[A-Za-z0-9-]+$/.test(l) && l[0] !== "-" && l[l.length - 1] !== "-");
}

/** isIPv4 is Go's strict dotted-quad parser: four decimal numbers up to 255, no leading zeros. */
function isIPv4(s: string): boolean {
  const parts = s.split(".");
  return parts.length === 4 && parts.every((p) => /^(0|[1-9][0-9]{0,2})$/.test(p) && Number(p) <= 255);
}

/** isIPv6 is Go's netip.ParseAddr for an IPv6 address without a zone (an IPv4 address is not one). */
function isIPv6(s: string): boolean {
  if (s.includes("%")) return false; // a zone, or an empty one: refused either way
  let groups = 0;
  let ellipsis = false;
  let rest = s;
  if (rest.startsWith("::")) {
    ellipsis = true;
    rest = rest.slice(2);
    if (rest === "") return true;
  }
  for (;;) {
    const m = /^[0-9A-Fa-f]{1,4}/.exec(rest);
    if (m === null) return false;
    // An embedded IPv4 address ends the address, in place of two groups.
    if (rest.length > m[0].length && rest[m[0].length] === ".") {
      if (groups > 6 || !isIPv4(rest)) return false;
      groups += 2;
      rest = "";
      break;
    }
    groups++;
    rest = rest.slice(m[0].length);
    if (rest === "") break;
    if (rest[0] !== ":" || rest.length === 1) return false;
    rest = rest.slice(1);
    if (rest[0] === ":") {
      if (ellipsis) return false;
      ellipsis = true;
      rest = rest.slice(1);
      if (rest === "") break;
    }
    if (groups >= 8) return false;
  }
  return ellipsis ? groups < 8 : groups === 8;
}

const b64url = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/** decodeBase64UrlStrict decodes unpadded base64url whose unused bits are zero (Go's RawURLEncoding.Strict). */
function decodeBase64UrlStrict(s: string): Uint8Array | undefined {
  if (s.length % 4 === 1) return undefined;
  const out = new Uint8Array(Math.floor((s.length * 6) / 8));
  let acc = 0;
  let bits = 0;
  let n = 0;
  for (const c of s) {
    const v = b64url.indexOf(c);
    if (v < 0) return undefined;
    acc = (acc << 6) | v;
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out[n++] = (acc >> bits) & 0xff;
    }
    acc &= (1 << bits) - 1;
  }
  if (acc !== 0) return undefined;
  return out;
}

/** trimSpace is Go's strings.TrimSpace: Unicode white space (not U+FEFF, which String.prototype.trim removes). */
function trimSpace(s: string): string {
  const space = /^[\t\n\v\f\r \u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]+|[\t\n\v\f\r \u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]+$/g;
  return s.replace(space, "");
}

function utf8Length(s: string): number {
  return Buffer.byteLength(s, "utf8");
}

/** clip shortens what an error quotes from untrusted input. */
function clip(s: string): string {
  return utf8Length(s) > 32 ? Buffer.from(s, "utf8").subarray(0, 32).toString("latin1") + "..." : s;
}

/** goQuote quotes as Go's %q does for the ASCII it meets here. */
function goQuote(s: string): string {
  let out = '"';
  for (const c of s) {
    const code = c.codePointAt(0)!;
    if (c === '"' || c === "\\") out += "\\" + c;
    else if (code < 0x20 || code === 0x7f) out += "\\x" + code.toString(16).padStart(2, "0");
    else out += c;
  }
  return out + '"';
}
