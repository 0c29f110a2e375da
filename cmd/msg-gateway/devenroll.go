package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"time"
)

// printEnrollBanner creates a fresh single-use enrollment token for carol
// through the admin API, as an admin would (audited as dev-admin), and
// prints its bundle with the commands that enroll a device with it and call
// Forward as carol. It runs once the listeners are open; the admin API may
// take a moment to answer.
func printEnrollBanner(w io.Writer, dir, grpcAddr, adminAddr, token string, log *slog.Logger) {
	bundle, err := devBundle(adminAddr, token)
	if err != nil {
		log.Error("dev: creating carol's enrollment token", "err", err)
		return
	}
	enroll, grpcurl := "msg-enroll", "grpcurl"
	protoDir := "proto"
	if wd, err := os.Getwd(); err == nil {
		if _, err := os.Stat(filepath.Join(wd, "cmd", "msg-enroll")); err == nil {
			enroll = "go -C " + wd + " run ./cmd/msg-enroll"
		}
		if _, err := os.Stat(filepath.Join(wd, "tools", "go.mod")); err == nil {
			grpcurl = "go -C " + wd + " tool -modfile=tools/go.mod grpcurl"
			protoDir = filepath.Join(wd, "proto")
		}
	}
	carol := filepath.Join(dir, "carol")
	fmt.Fprintf(w, `Enroll a device as carol (a fresh single-use bundle; it works once, for 24h):

%s --dir %s \
  '%s'

Forward as carol with the enrolled identity (allowed by the rule carol-demo):

%s \
  -cacert %s/ca.pem -cert %s/identity.pem -key %s/identity.pem \
  -import-path %s -proto msg/gateway/v1/gateway.proto \
  -d '{"host":"demo.internal","method":"GET","path":"/hello"}' \
  %s msg.gateway.v1.GatewayService/Forward

From Go: client.Enroll(ctx, bundle, client.NewFileStore(dir)), then
client.New("", client.WithIdentityStore(client.NewFileStore(dir))) renews by itself.
More bundles: msgctl enrollment-tokens create --cn NAME

`, enroll, carol, bundle, grpcurl, carol, carol, carol, protoDir, grpcAddr)
}

// devBundle creates the token, retrying while the admin API is starting.
func devBundle(adminAddr, token string) (string, error) {
	body := []byte(`{"identity":{"commonName":"carol","organizationalUnits":["mobile"]},"description":"printed by msg-gateway dev"}`)
	hc := &http.Client{Timeout: 10 * time.Second}
	deadline := time.Now().Add(30 * time.Second)
	for {
		req, err := http.NewRequest(http.MethodPost, "http://"+adminAddr+"/v1/enrollmentTokens", bytes.NewReader(body))
		if err != nil {
			return "", err
		}
		req.Header.Set("Authorization", "Bearer "+token)
		req.Header.Set("Content-Type", "application/json")
		resp, err := hc.Do(req)
		if err == nil {
			data, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				return "", fmt.Errorf("POST /v1/enrollmentTokens: %s: %s", resp.Status, data)
			}
			var out struct {
				Bundle string `json:"bundle"`
			}
			if err := json.Unmarshal(data, &out); err != nil || out.Bundle == "" {
				return "", fmt.Errorf("POST /v1/enrollmentTokens: no bundle in %s", data)
			}
			return out.Bundle, nil
		}
		if time.Now().After(deadline) {
			return "", err
		}
		time.Sleep(100 * time.Millisecond)
	}
}
