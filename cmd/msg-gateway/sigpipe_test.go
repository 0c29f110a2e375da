package main

import (
	"context"
	"crypto/tls"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"syscall"
	"testing"
	"time"

	gatewayv1 "github.com/msg-gateway/msg/gen/msg/gateway/v1"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
)

// TestServeSurvivesAClosedLogPipe: the process reading the gateway's log
// (a supervisor, a log shipper) goes away, and the gateway keeps serving:
// a call relayed after that succeeds, and SIGTERM still drains it to exit
// status 0. Go's default for a write to a closed stdout or stderr pipe is
// to die of SIGPIPE, which cut off calls the gateway had already relayed.
func TestServeSurvivesAClosedLogPipe(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the gateway as a child process")
	}
	t.Parallel()
	f := newServeFixture(t, func(w http.ResponseWriter, r *http.Request) {
		time.Sleep(100 * time.Millisecond)
		fmt.Fprint(w, "ok")
	})
	cmd := exec.Command(os.Args[0], "serve", "--config", f.cfgPath)
	cmd.Env = append(os.Environ(), "MSG_GATEWAY_BE_MAIN=1")
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stdout, cmd.Stderr = w, w
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	w.Close()
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			_ = cmd.Process.Kill()
			_ = cmd.Wait()
		}
	})
	logs := &logLines{}
	go logs.scan(r)
	m := logs.find("gateway listening", 2*logWait)
	if m == nil {
		t.Fatal("serve did not log that it listens")
	}
	addr, _ := m["grpc"].(string)
	r.Close() // the log's reader is gone

	conf := &tls.Config{RootCAs: f.ca.Pool(), Certificates: []tls.Certificate{f.alice}, MinVersion: tls.VersionTLS12}
	conn, err := grpc.NewClient(addr, grpc.WithTransportCredentials(credentials.NewTLS(conf)))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	c := gatewayv1.NewGatewayServiceClient(conn)
	for i := range 5 {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		_, err := c.Forward(ctx, &gatewayv1.ForwardRequest{Host: "slow.internal", Method: "GET", Path: "/work"})
		cancel()
		if err != nil {
			t.Fatalf("call %d after the log's reader went away: %v", i, err)
		}
	}
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if code := waitExit(t, cmd, 20*time.Second); code != 0 {
		t.Errorf("exit status after SIGTERM = %d (%v), want 0", code, cmd.ProcessState)
	}
}
