// Package httpmsg holds the HTTP message framing rules that the gateway and
// the app library must read alike: how a Content-Length value is parsed and
// which responses carry a body. Two readings of one message's framing is how
// a request or response gets smuggled, so each rule is written once.
package httpmsg
