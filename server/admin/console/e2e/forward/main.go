// Command forward makes one request through the gateway with the Go client,
// as an app would, and prints the outcome as one JSON line. The console's
// browser tests run it to check that what the console configured (and what
// its policy tester predicted) is what the data plane does.
//
//	forward -addr 127.0.0.1:8443 -dir .dev -as alice GET https://demo.internal/hello
//	forward -store DIR GET https://demo.internal/hello  (an identity msg-enroll --dir DIR enrolled)
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/msg-gateway/msg/client"
)

type outcome struct {
	Status int    `json:"status,omitempty"`
	Body   string `json:"body,omitempty"`
	Code   string `json:"code,omitempty"`
	Reason string `json:"reason,omitempty"`
	Error  string `json:"error,omitempty"`
}

func main() {
	addr := flag.String("addr", "127.0.0.1:8443", "the gateway's gRPC address")
	dir := flag.String("dir", ".dev", "the dev mode's directory (ca.pem and the identities' certificates)")
	as := flag.String("as", "alice", "the identity: DIR/NAME.pem and DIR/NAME-key.pem")
	store := flag.String("store", "", "an enrolled identity's store directory instead of -as (its gateway address and trust anchor too)")
	flag.Parse()
	if flag.NArg() != 2 {
		fmt.Fprintln(os.Stderr, "usage: forward [flags] METHOD URL")
		os.Exit(2)
	}
	var opts []client.Option
	if *store != "" {
		*addr = "" // the store's
		opts = append(opts, client.WithIdentityStore(client.NewFileStore(*store)))
	} else {
		opts = append(opts,
			client.WithCertificateFiles(filepath.Join(*dir, *as+".pem"), filepath.Join(*dir, *as+"-key.pem")),
			client.WithRootCAFile(filepath.Join(*dir, "ca.pem")))
	}
	out := run(*addr, flag.Arg(0), flag.Arg(1), opts...)
	_ = json.NewEncoder(os.Stdout).Encode(out)
}

func run(addr, method, url string, opts ...client.Option) outcome {
	t, err := client.New(addr, opts...)
	if err != nil {
		return outcome{Error: err.Error()}
	}
	defer t.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, method, url, nil)
	if err != nil {
		return outcome{Error: err.Error()}
	}
	resp, err := (&http.Client{Transport: t}).Do(req)
	if err != nil {
		var ce *client.Error
		if errors.As(err, &ce) {
			return outcome{Code: ce.Code.String(), Reason: ce.Reason, Error: err.Error()}
		}
		return outcome{Code: client.CodeOf(err).String(), Error: err.Error()}
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<16))
	return outcome{Status: resp.StatusCode, Body: strings.TrimSpace(string(body))}
}
