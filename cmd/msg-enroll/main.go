// Command msg-enroll enrolls a laptop, a CI job or a test client with a
// gateway from an enrollment bundle, into a directory that other tools
// read too:
//
//	msg-enroll --dir DIR 'msg-enroll://HOST:PORT/?s=SECRET&pin=sha256:PIN'
//	msg-enroll --dir DIR -            # the bundle from stdin
//	msg-enroll renew --dir DIR        # a new certificate for a new key, now
//
// DIR gets identity.pem (the certificate chain and its private key, mode
// 0600), ca.pem (the gateway's trust anchor, which the bundle pinned) and
// gateway.json (the addresses and the device id): see client.FileStore.
// The key is made here and never leaves DIR. Go apps pass
// client.WithIdentityStore(client.NewFileStore(DIR)) and renew by
// themselves; other tools run "msg-enroll renew" before the certificate
// expires.
package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/msg-gateway/msg/client"
)

const usage = `usage: msg-enroll [--dir DIR] [--timeout D] BUNDLE|-
       msg-enroll renew [--dir DIR] [--timeout D]

Enrolls with the gateway an enrollment bundle names (the msg-enroll://...
string an admin created; '-' reads it from stdin) and saves the identity in
DIR: identity.pem (certificate chain and private key, 0600), ca.pem (the
gateway's trust anchor), gateway.json. "renew" gets a new certificate for a
new key with the current one.
`

func main() {
	os.Exit(run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}

func run(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	renew := len(args) > 0 && args[0] == "renew"
	if renew {
		args = args[1:]
	}
	fs := flag.NewFlagSet("msg-enroll", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	dir := fs.String("dir", "msg-identity", "directory for the identity")
	timeout := fs.Duration("timeout", time.Minute, "limit for the whole operation")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fmt.Fprint(stdout, usage)
			return 0
		}
		fmt.Fprintf(stderr, "msg-enroll: %v\n%s", err, usage)
		return 2
	}
	ctx, cancel := context.WithTimeout(context.Background(), *timeout)
	defer cancel()
	store := client.NewFileStore(*dir)
	if renew {
		if fs.NArg() != 0 {
			fmt.Fprintf(stderr, "msg-enroll: renew takes no arguments\n%s", usage)
			return 2
		}
		id, err := client.Renew(ctx, store)
		if err != nil {
			fmt.Fprintf(stderr, "msg-enroll: renew: %v\n", err)
			return 1
		}
		return report(stdout, *dir, id, "renewed")
	}
	if fs.NArg() != 1 {
		fmt.Fprintf(stderr, "msg-enroll: want one bundle argument (or - for stdin)\n%s", usage)
		return 2
	}
	bundle := fs.Arg(0)
	if bundle == "-" {
		line, err := bufio.NewReader(io.LimitReader(stdin, 4096)).ReadString('\n')
		if err != nil && !errors.Is(err, io.EOF) {
			fmt.Fprintf(stderr, "msg-enroll: reading the bundle: %v\n", err)
			return 1
		}
		bundle = strings.TrimSpace(line)
	}
	// An existing identity is not overwritten by accident: the secret is
	// spent either way, and the old device record would stay behind.
	if _, err := os.Stat(filepath.Join(*dir, client.IdentityFile)); err == nil {
		fmt.Fprintf(stderr, "msg-enroll: %s already holds an identity; use another --dir, or remove it first\n", *dir)
		return 1
	}
	id, err := client.Enroll(ctx, bundle, store)
	if err != nil {
		fmt.Fprintf(stderr, "msg-enroll: %v\n", err)
		return 1
	}
	return report(stdout, *dir, id, "enrolled")
}

func report(w io.Writer, dir string, id *client.Identity, what string) int {
	leaf, err := id.Leaf()
	if err != nil {
		fmt.Fprintf(w, "msg-enroll: %v\n", err)
		return 1
	}
	fmt.Fprintf(w, "%s device %s as %s\n", what, id.DeviceID, leaf.Subject)
	fmt.Fprintf(w, "  certificate  %s (serial %s, expires %s)\n", filepath.Join(dir, client.IdentityFile),
		leaf.SerialNumber.Text(16), leaf.NotAfter.UTC().Format(time.RFC3339))
	fmt.Fprintf(w, "  trust anchor %s\n", filepath.Join(dir, client.TrustAnchorFile))
	fmt.Fprintf(w, "  gateway      %s\n", id.GatewayAddress)
	fmt.Fprintf(w, "renew before it expires: msg-enroll renew --dir %s (Go apps with client.WithIdentityStore renew by themselves)\n", dir)
	return 0
}
