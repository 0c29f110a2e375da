// Package mobilelink is an emulated mobile network link for tests: a
// user-space TCP relay that adds a phone's round-trip time with jitter, a
// slow uplink and a faster downlink, and the two ways a phone loses its
// connections without being told — a network change (every open connection
// goes silent for good while new ones work) and a carrier NAT that
// forgets an idle connection. These kernels have no netem, and toxiproxy's
// toxics act on new connections too and shape each connection apart, where
// a radio link is one bottleneck shared by all of them.
//
// Go tests use [Listen] directly; the SDKs' test suites run the command in
// cmd/mobilelink and steer it through its loopback HTTP control endpoint
// ([Link.Handler]).
package mobilelink
