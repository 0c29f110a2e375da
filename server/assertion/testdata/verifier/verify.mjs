// An internal host written in Node that trusts nothing but the gateway's
// signed identity assertion, verified with the stock jose library against the
// gateway's published JWKS. It is the README's backend example, plus the
// test's plumbing: it prints "listening PORT", reads the JWKS URL from the
// first line of stdin, and answers 200 with the verified claims or 401 with
// the reason (jose's error code) as JSON.
//
// Environment: ISSUER, AUDIENCE, HEADER (the assertion header), CACHE_MAX_AGE_MS (how
// long a fetched JWKS is used before it is fetched again).
import http from "node:http";
import readline from "node:readline";
import { createRemoteJWKSet, jwtVerify } from "jose";

const issuer = process.env.ISSUER ?? "msg-gateway";
// This host's name in the gateway's host table.
const audience = process.env.AUDIENCE ?? "demo.internal";
const header = (process.env.HEADER ?? "X-Msg-Assertion").toLowerCase();
const cacheMaxAge = Number(process.env.CACHE_MAX_AGE_MS ?? 600000);

let jwks; // set once the JWKS URL is known

async function verify(req) {
  const values = req.headersDistinct[header];
  if (!values) return { ok: false, reason: "missing" };
  if (values.length !== 1) return { ok: false, reason: "duplicate" };
  const { payload, protectedHeader } = await jwtVerify(values[0], jwks, {
    issuer,
    audience,
    algorithms: ["EdDSA"],
    requiredClaims: ["iat", "exp", "sub", "jti", "htm", "path"],
  });
  // The binding: this method on this path, nothing else.
  const path = req.url.split("?")[0];
  if (payload.htm !== req.method || payload.path !== path) {
    return { ok: false, reason: "binding", htm: payload.htm, path: payload.path };
  }
  return { ok: true, kid: protectedHeader.kid, claims: payload, token: values[0] };
}

const server = http.createServer(async (req, res) => {
  let result;
  try {
    result = jwks ? await verify(req) : { ok: false, reason: "no JWKS yet" };
  } catch (err) {
    result = { ok: false, reason: err.code ?? String(err) };
  }
  req.resume();
  res.writeHead(result.ok ? 200 : 401, { "content-type": "application/json" });
  res.end(JSON.stringify(result));
});

server.listen(0, "127.0.0.1", () => {
  process.stdout.write(`listening ${server.address().port}\n`);
});

const lines = readline.createInterface({ input: process.stdin });
lines.once("line", (url) => {
  jwks = createRemoteJWKSet(new URL(url.trim()), { cacheMaxAge });
});
// The test closes stdin to stop the verifier.
lines.on("close", () => server.close(() => process.exit(0)));
