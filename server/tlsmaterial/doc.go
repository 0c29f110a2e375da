// Package tlsmaterial is the gateway's TLS material: certificates, keys,
// client CAs and CRLs read from the files the config names, and every TLS
// config the gateway builds from them, all in one way: the data plane's
// (hot reloaded, session ticket keys rotated), the admin listener's and the
// etcd client's.
//
// [DataPlane] is the data plane's part. Its files are reloaded on change or
// on demand without dropping connections (a load that fails keeps the
// material in force), every handshake checks the client chain against the
// posture and the revocation sources, and the connections it authenticated
// are tracked, so that one closes when its client certificate expires or is
// revoked. docs/SECURITY.md lists the promises and the tests that check them.
package tlsmaterial
