/**
 * The mobile secure gateway's SDK for Node: a `fetch` whose requests to
 * internal URLs travel as ForwardStream gRPC calls over mutual TLS to the
 * gateway, which authenticates the app by its client certificate, applies
 * policy and relays them. See README.md.
 *
 * @packageDocumentation
 */
export { createGatewayFetch, GatewayResponse, type GatewayFetch } from "./fetch.js";
export { type GatewayFetchOptions } from "./connection.js";
export { Code, GatewayError } from "./error.js";
export { parseBundle, BundleError, type EnrollmentBundle } from "./bundle.js";
export { enroll, EnrollmentPinError, type EnrollOptions } from "./enroll.js";
export { createEnrolledFetch, CertificateExpiredError, type EnrolledFetch, type EnrolledFetchOptions, type RenewalStatus } from "./enrolled.js";
export { FileIdentityStore, NoIdentityError, type Identity, type IdentityStore } from "./identity.js";
