// Package authz decides who may send which inner request. It turns a verified
// client certificate into a [Principal], an inner request into its one
// canonical [Request], and a set of rules into a [Policy] whose Decide method
// is a pure function; the gRPC interceptors in this package wire those three
// into the server's chain.
//
// Semantics: default deny. A request is allowed only when at least one allow
// rule matches it and no deny rule does (deny overrides allow). A rule
// matches when any of its principal matchers, any of its hosts, any of its
// methods (empty: all) and any of its paths (empty: all) match.
package authz
