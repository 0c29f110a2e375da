// Package compat holds the wire-compatibility test: apps already in the field
// keep the client and generated stubs of the release they were built with, so
// the current gateway must answer them exactly as it answers the current
// client. The test builds testdata/probe against the last release
// (LAST_RELEASE, see the Makefile; its client, stubs and go.mod are committed
// as testdata/release-TAG.tar.gz by `make release-snapshot`) and against this
// tree, runs both against a gateway built from this tree, and compares what
// they saw.
package compat
