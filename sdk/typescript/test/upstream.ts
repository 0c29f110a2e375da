// The upstream of the streaming tests and the benchmark, run as a child
// process so that the test process's memory and CPU are the SDK's alone.
// Usage: node upstream.js SEED [CERT KEY]. It prints "port N" once listening
// (and, given a certificate, "tlsport N" for the same routes over HTTPS), "aborted PATH" when a client goes away
// before a response to /endless or /hang ended, and "received /hang"; the
// test calls GET /control/release directly to let /events send its second
// event.
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import * as http from "node:http";
import * as https from "node:https";
import type { AddressInfo } from "node:net";
import { MiB, transferBlock, transferBytes } from "./harness.js";

/** small is the answer to GET /small: 1 KiB, as in `make bench`. */
const small = Buffer.alloc(1024, "x");

function serve(seed: string, cert?: string, key?: string): void {
  const block = transferBlock(seed);
  let release: () => void = () => {};
  const released = new Promise<void>((r) => (release = r));
  const say = (line: string) => process.stdout.write(line + "\n");

  const handler: http.RequestListener = (req, res) => {
    const onClose = () => {
      if (!res.writableFinished) say(`aborted ${req.url}`);
    };
    const writeBlocks = async (count: number) => {
      for (let i = 0; i < count && !res.destroyed; i++) {
        if (!res.write(block)) {
          await new Promise<void>((resolve) => {
            const go = () => {
              res.off("drain", go).off("close", go);
              resolve();
            };
            res.on("drain", go).on("close", go);
          });
        }
      }
      res.end();
    };
    switch (req.url) {
      case "/download":
        res.writeHead(200, { "content-type": "application/octet-stream", "content-length": String(transferBytes) });
        void writeBlocks(transferBytes / MiB);
        return;
      case "/upload": {
        const h = createHash("sha256");
        let n = 0;
        req.on("data", (c: Buffer) => {
          h.update(c);
          n += c.length;
        });
        req.on("end", () => {
          res.writeHead(200, { "content-type": "application/json" });
          res.end(JSON.stringify({ bytes: n, sha256: h.digest("hex") }));
        });
        return;
      }
      case "/endless":
        // Streams until the client goes away; bounded at 1 GiB all the same.
        res.on("close", onClose);
        res.writeHead(200, { "content-type": "application/octet-stream" });
        void writeBlocks(1024);
        return;
      case "/hang":
        res.on("close", onClose);
        say("received /hang");
        return;
      case "/events":
        res.writeHead(200, { "content-type": "text/event-stream", "cache-control": "no-cache" });
        res.write("data: one\n\n");
        void released.then(() => res.end("data: two\n\n"));
        return;
      case "/small":
        res.writeHead(200, { "content-type": "application/octet-stream", "content-length": String(small.length) });
        res.end(small);
        return;
      case "/control/release":
        release();
        res.end("released\n");
        return;
      default:
        res.writeHead(404);
        res.end();
    }
  };
  const server = http.createServer({ keepAliveTimeout: 60_000 }, handler);
  server.listen(0, "127.0.0.1", () => say(`port ${(server.address() as AddressInfo).port}`));
  if (cert !== undefined && key !== undefined) {
    const tlsServer = https.createServer({ cert: readFileSync(cert), key: readFileSync(key), keepAliveTimeout: 60_000 }, handler);
    tlsServer.listen(0, "127.0.0.1", () => say(`tlsport ${(tlsServer.address() as AddressInfo).port}`));
  }
  // The test ends the child by closing its stdin (or by PID).
  process.stdin.resume().on("end", () => process.exit(0));
}

serve(process.argv[2] ?? "seed", process.argv[3], process.argv[4]);
