// Package console serves the admin web console: a single-page app whose built
// files (web/ compiled into dist/ by `make console`) are embedded in the
// binary, so the gateway needs nothing else to offer it. The files are the
// same for everybody and hold no data; everything the console shows comes
// from the admin REST API, which authenticates every call.
package console
