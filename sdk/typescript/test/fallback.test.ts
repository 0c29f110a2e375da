// A gateway that predates one-message requests: it refuses a head with end
// set with UNKNOWN "EOF" before relaying anything (what it does when the
// stream ends after the head). The dev gateways of the other tests accept
// them, so this one is a stand-in: a real gRPC server (Connect's Node
// adapter on http2, mutual TLS with dev mode's PKI) that announces support
// and then refuses it, as when a connection moved to an older gateway after
// the announcement. The SDK must send the request again the classic way.
import assert from "node:assert/strict";
import { readFileSync, rmSync } from "node:fs";
import * as http2 from "node:http2";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { Code, ConnectError, type ConnectRouter } from "@connectrpc/connect";
import { connectNodeAdapter } from "@connectrpc/connect-node";
import { createGatewayFetch, type GatewayFetch } from "../src/index.js";
import { create } from "@bufbuild/protobuf";
import {
  ForwardStreamResponseSchema,
  GatewayService,
  ResponseEndSchema,
  ResponseHeadSchema,
  type ForwardStreamResponse,
} from "../src/gen/msg/gateway/v1/gateway_pb.js";
import { identity, startGateway } from "./harness.js";

/** What the stand-in saw: one entry per call. */
const calls: Array<{ inline: boolean; method: string; body: number }> = [];
let server: http2.Http2SecureServer;
let dir: string;
let f: GatewayFetch;

function routes(router: ConnectRouter): void {
  router.service(GatewayService, {
    async *forwardStream(requests) {
      const it = requests[Symbol.asyncIterator]();
      const first = await it.next();
      if (first.done || first.value.kind.case !== "head") throw new ConnectError("no head", Code.InvalidArgument);
      const head = first.value.kind.value;
      if (head.end) {
        calls.push({ inline: true, method: head.method, body: head.body.byteLength });
        throw new ConnectError("EOF", Code.Unknown);
      }
      let body = 0;
      for (;;) {
        const r = await it.next();
        if (r.done) throw new ConnectError("no end", Code.InvalidArgument);
        if (r.value.kind.case === "bodyChunk") body += r.value.kind.value.byteLength;
        if (r.value.kind.case === "end") break;
      }
      calls.push({ inline: false, method: head.method, body });
      const reply = (kind: ForwardStreamResponse["kind"]) => create(ForwardStreamResponseSchema, { kind });
      yield reply({ case: "head", value: create(ResponseHeadSchema, { statusCode: 200, acceptsInlineRequests: true }) });
      yield reply({ case: "bodyChunk", value: new TextEncoder().encode(`${head.method} ${body}`) });
      yield reply({ case: "end", value: create(ResponseEndSchema) });
    },
  });
}

before(async () => {
  // Dev mode only mints the PKI here.
  const dev = await startGateway();
  dir = dev.dir;
  await dev.stop(true);
  server = http2.createSecureServer(
    {
      cert: readFileSync(join(dir, "server.pem")),
      key: readFileSync(join(dir, "server-key.pem")),
      ca: readFileSync(join(dir, "ca.pem")),
      requestCert: true,
      rejectUnauthorized: true,
    },
    connectNodeAdapter({ routes, grpc: true, connect: false, grpcWeb: false }),
  );
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  f = createGatewayFetch({ ...identity({ addr: "", dir }, "alice"), address: `127.0.0.1:${(server.address() as AddressInfo).port}` });
});

after(async () => {
  f?.close();
  await new Promise<void>((resolve) => server?.close(() => resolve()));
  rmSync(dir, { recursive: true, force: true });
});

test("a refused one-message request is sent again the classic way", async () => {
  // The first call learns the (false) announcement.
  let resp = await f("https://demo.internal/a");
  assert.equal(await resp.text(), "GET 0");
  // The second goes whole, is refused, and is sent again with its end marker.
  resp = await f("https://demo.internal/b");
  assert.equal(await resp.text(), "GET 0");
  // A small body is sent again too, intact.
  resp = await f("https://demo.internal/c", { method: "POST", body: "abc" });
  assert.equal(await resp.text(), "POST 3");
  assert.deepEqual(calls, [
    { inline: false, method: "GET", body: 0 },
    { inline: true, method: "GET", body: 0 },
    { inline: false, method: "GET", body: 0 },
    { inline: true, method: "POST", body: 3 },
    { inline: false, method: "POST", body: 3 },
  ]);
});
