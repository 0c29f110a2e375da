// Package store keeps the gateway's hosts, rules, revocations and audit trail
// durably and publishes every committed change as an immutable [Snapshot].
// [Store] is the domain-level contract (etags are revisions, writes are
// atomic batches with preconditions); [Bolt] is the embedded bbolt
// implementation used by a single gateway, and [Etcd] the one a fleet of
// gateways shares (configuration in etcd, each instance's audit trail in a
// local [Bolt]).
package store
