package store

import (
	"context"
	"fmt"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
)

// assertionKeysDir is the etcd directory, beside the configuration's prefix
// (not under it: a publication is not a configuration change, and must not
// move the revision every instance compiles), where every instance of a
// fleet publishes the public keys of its identity assertions.
func (e *Etcd) assertionKeysDir() string { return e.prefix + "-assertion-keys/" }

// PublishAssertionKeys stores instance's public assertion keys (a JWKS)
// for ttl: a lease lets them lapse once the instance is gone and its
// tokens have expired. Private keys never reach the store.
func (e *Etcd) PublishAssertionKeys(ctx context.Context, instance string, jwks []byte, ttl time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, e.timeout)
	defer cancel()
	lease, err := e.cli.Grant(ctx, int64(max(ttl.Round(time.Second), time.Second)/time.Second))
	if err != nil {
		return fmt.Errorf("store: etcd: publishing assertion keys: %w", err)
	}
	if _, err := e.cli.Put(ctx, e.assertionKeysDir()+instance, string(jwks), clientv3.WithLease(lease.ID)); err != nil {
		return fmt.Errorf("store: etcd: publishing assertion keys: %w", err)
	}
	return nil
}

// AssertionKeys returns the JWKS every instance of the fleet published,
// this one's included.
func (e *Etcd) AssertionKeys(ctx context.Context) ([][]byte, error) {
	ctx, cancel := context.WithTimeout(ctx, e.timeout)
	defer cancel()
	resp, err := e.cli.Get(ctx, e.assertionKeysDir(), clientv3.WithPrefix())
	if err != nil {
		return nil, fmt.Errorf("store: etcd: reading assertion keys: %w", err)
	}
	out := make([][]byte, len(resp.Kvs))
	for i, kv := range resp.Kvs {
		out[i] = kv.Value
	}
	return out, nil
}
