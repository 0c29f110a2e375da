import { create } from "@bufbuild/protobuf";
import { HeaderSchema, RequestHeadSchema, type RequestHead } from "./gen/msg/gateway/v1/gateway_pb.js";

/**
 * requestHead maps a fetch Request to the inner request's head: the URL's host
 * (with its port, if any) names the internal host, the path and query go in
 * origin form, and the headers go in the order `Headers` iterates them
 * (sorted by name). The scheme is not sent: the gateway's host table decides
 * how each internal host is reached. The app's Content-Length is dropped:
 * the body's framing is the SDK's business, and the gateway trusts a
 * declared length.
 */
export function requestHead(request: Request): RequestHead {
  const url = new URL(request.url);
  if (url.protocol !== "https:" && url.protocol !== "http:") {
    throw new TypeError(`gateway fetch: ${url.protocol} URL: only http and https URLs name internal hosts`);
  }
  if (url.host === "") {
    throw new TypeError("gateway fetch: the URL has no host");
  }
  const headers = [];
  for (const [name, value] of request.headers) {
    if (name === "content-length") continue;
    headers.push(create(HeaderSchema, { name, value }));
  }
  return create(RequestHeadSchema, {
    host: url.host,
    method: request.method,
    path: (url.pathname === "" ? "/" : url.pathname) + url.search,
    headers,
  });
}

/**
 * knownLength is the length of a body given to fetch as `init.body` when it
 * is known before reading it: strings, ArrayBuffers and their views, Blobs
 * and URLSearchParams. Streams, FormData (whose multipart encoding is made
 * while reading) and bodies of Request objects have no known length.
 */
export function knownLength(body: unknown): number | undefined {
  if (typeof body === "string") return Buffer.byteLength(body, "utf8");
  if (body instanceof ArrayBuffer) return body.byteLength;
  if (ArrayBuffer.isView(body)) return body.byteLength;
  if (body instanceof Blob) return body.size;
  if (body instanceof URLSearchParams) return Buffer.byteLength(body.toString(), "utf8");
  return undefined;
}

/**
 * responseLength is the body length a response announces in a single valid
 * Content-Length header, or -1. Headers joins repeated values with ", ", so
 * two headers never parse as one number.
 */
export function responseLength(headers: Headers): number {
  const v = headers.get("content-length");
  if (v === null || v.length === 0 || v.length > 15 || !/^[0-9]+$/.test(v)) return -1;
  return Number(v);
}
