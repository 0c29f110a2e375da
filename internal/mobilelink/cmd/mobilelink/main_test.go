package main

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

// TestCommand runs the command as another suite would: it prints its
// addresses, relays to the target, and answers on its control endpoint.
func TestCommand(t *testing.T) {
	t.Parallel()
	target, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { target.Close() })
	go func() {
		for {
			c, err := target.Accept()
			if err != nil {
				return
			}
			go func() { _, _ = io.Copy(c, c); c.Close() }()
		}
	}()

	ctx, cancel := context.WithCancel(t.Context())
	pr, pw := io.Pipe()
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"-target", target.Addr().String(), "-rtt", "20ms", "-jitter", "0s"}, pw)
		pw.Close()
	}()
	line, err := bufio.NewReader(pr).ReadString('\n')
	if err != nil {
		t.Fatal(err)
	}
	go func() { _, _ = io.Copy(io.Discard, pr) }()
	var addrs struct{ Listen, Control string }
	if err := json.Unmarshal([]byte(line), &addrs); err != nil || addrs.Listen == "" || addrs.Control == "" {
		t.Fatalf("first line %q: %v", line, err)
	}

	c, err := net.Dial("tcp", addrs.Listen)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(30 * time.Second))
	if _, err := c.Write([]byte("ping")); err != nil {
		t.Fatal(err)
	}
	if _, err := io.ReadFull(c, make([]byte, 4)); err != nil {
		t.Fatalf("no echo through the link: %v", err)
	}
	resp, err := http.Post("http://"+addrs.Control+"/network-change", "application/json", nil)
	if err != nil {
		t.Fatal(err)
	}
	var got map[string]int
	_ = json.NewDecoder(resp.Body).Decode(&got)
	resp.Body.Close()
	if got["silenced"] != 1 {
		t.Errorf("POST /network-change = %v, want 1 silenced", got)
	}
	resp, err = http.Get("http://" + addrs.Control + "/config")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(body), `"rtt":"20ms"`) || !strings.Contains(string(body), `"downlink_bps":5000000`) {
		t.Errorf("GET /config = %s, want the flags' values", body)
	}

	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("run: %v", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("the command did not stop when its context ended")
	}
}

func TestCommandRefusesBadFlags(t *testing.T) {
	t.Parallel()
	for _, args := range [][]string{
		{"-target", "127.0.0.1:1", "-control", "0.0.0.0:0"},
		{"-target", "192.0.2.1:443"},
		{"-target", "127.0.0.1:1", "-rtt", "-1s"},
		{"-target", "127.0.0.1:1", "extra"},
	} {
		if err := run(t.Context(), args, io.Discard); err == nil {
			t.Errorf("run(%q) succeeded, want an error", args)
		}
	}
}
