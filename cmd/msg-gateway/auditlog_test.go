package main

import (
	"bufio"
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/msg-gateway/msg/internal/auditlog"
	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"
)

// TestAuditTrailVerifiesAcrossRestart runs the real gateway as a child
// process with a JSON-lines file and both witnesses (a file and an HTTP
// endpoint), makes admin writes (each one an audit record), stops it with
// SIGTERM, starts it again on the same data directory and writes more: the
// whole trail verifies through the admin API against the stored and the
// witnessed checkpoints, one log with one key and instance across the
// restart, the shutdown's checkpoint reached both witnesses, every JSON line
// carries its index and instance, and a record's inclusion proof checks
// against a signed checkpoint.
func TestAuditTrailVerifiesAcrossRestart(t *testing.T) {
	if testing.Short() {
		t.Skip("runs child processes")
	}
	t.Parallel()
	var posted struct {
		mu    sync.Mutex
		notes []string
	}
	witnessSrv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		if r.Method != http.MethodPost || !strings.HasPrefix(r.Header.Get("Content-Type"), "text/plain") {
			http.Error(w, "want a POST of text/plain", http.StatusBadRequest)
			return
		}
		posted.mu.Lock()
		defer posted.mu.Unlock()
		posted.notes = append(posted.notes, string(body))
	}))
	t.Cleanup(witnessSrv.Close)

	f := newServeFixture(t, func(w http.ResponseWriter, r *http.Request) {})
	const token = fixtureToken
	jsonl, witnessFile := filepath.Join(f.dir, "audit.jsonl"), filepath.Join(f.dir, "witness", "checkpoints")
	if err := os.Mkdir(filepath.Dir(witnessFile), 0o700); err != nil {
		t.Fatal(err)
	}
	f.write(t, f.config("info")+fmt.Sprintf(`audit:
  jsonl_file: %q
  checkpoint_interval: 1h # only the shutdown signs one in this test
  witness: {file: %q, url: %q}
`, jsonl, witnessFile, witnessSrv.URL+"/checkpoints"))

	call := func(adminAddr, method, path, body string, out any) {
		t.Helper()
		req, _ := http.NewRequest(method, "http://"+adminAddr+path, strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := (&http.Client{Timeout: 30 * time.Second}).Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		raw, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != 200 {
			t.Fatalf("%s %s: %d %s", method, path, resp.StatusCode, raw)
		}
		if out != nil {
			if err := json.Unmarshal(raw, out); err != nil {
				t.Fatalf("%s %s: %v: %s", method, path, err, raw)
			}
		}
	}
	type logInfo struct {
		Instance, VerifierKey string
		TreeSize              string // int64 in JSON is a string
	}
	createHosts := func(adminAddr string, from, to int) {
		for i := from; i < to; i++ {
			call(adminAddr, "POST", "/v1/hosts", fmt.Sprintf(`{"name":"h%d.internal","upstream":"http://h%d.corp:8080"}`, i, i), nil)
		}
	}

	child, logs, _ := startServe(t, f.cfgPath)
	adminAddr, _ := logs.find("gateway listening", 10*time.Second)["admin"].(string)
	started := logs.find("audit log", 10*time.Second)
	// The first batch is signed at once (no checkpoint yet); the records
	// after it only by the shutdown, the interval being an hour.
	createHosts(adminAddr, 0, 3)
	var before logInfo
	call(adminAddr, "GET", "/v1/audit/log", "", &before)
	createHosts(adminAddr, 3, 5)
	call(adminAddr, "GET", "/v1/audit/log", "", &before)
	if err := child.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if code := waitExit(t, child, 60*time.Second); code != 0 {
		t.Fatalf("exit code %d after SIGTERM", code)
	}
	v, err := note.NewVerifier(before.VerifierKey)
	if err != nil || started["verifier_key"] != before.VerifierKey {
		t.Fatalf("the key logged at start %v, the API's %q: %v", started["verifier_key"], before.VerifierKey, err)
	}

	// Both witnesses got the shutdown's checkpoint, covering every record.
	witnessed, err := os.ReadFile(witnessFile)
	if err != nil {
		t.Fatal(err)
	}
	lastSize := func(text []byte) int64 {
		t.Helper()
		notes, err := auditlog.SplitNotes(text)
		if err != nil || len(notes) == 0 {
			t.Fatalf("witness text %q: %v", text, err)
		}
		c, err := auditlog.Open(notes[len(notes)-1], v)
		if err != nil {
			t.Fatal(err)
		}
		return c.Size
	}
	if got := lastSize(witnessed); fmt.Sprint(got) != before.TreeSize || got < 5 {
		t.Errorf("the witness file's last checkpoint covers %d records, the log held %s", got, before.TreeSize)
	}
	posted.mu.Lock()
	postedText := strings.Join(posted.notes, "\n")
	posted.mu.Unlock()
	if got := lastSize([]byte(postedText)); fmt.Sprint(got) != before.TreeSize {
		t.Errorf("the HTTP witness's last checkpoint covers %d records, the log held %s", got, before.TreeSize)
	}

	// Restarted: the same log goes on.
	child, logs, _ = startServe(t, f.cfgPath)
	adminAddr, _ = logs.find("gateway listening", 10*time.Second)["admin"].(string)
	createHosts(adminAddr, 5, 8)
	var after logInfo
	call(adminAddr, "GET", "/v1/audit/log", "", &after)
	if after.Instance != before.Instance || after.VerifierKey != before.VerifierKey || after.TreeSize <= before.TreeSize {
		t.Fatalf("after the restart the log is %+v, before %+v", after, before)
	}
	var res struct {
		Ok                     bool
		TreeSize, VerifiedSize string
		FirstBadIndex, Problem string
		CheckpointsChecked     string
	}
	body, _ := json.Marshal(map[string]any{"checkpoints": []string{string(witnessed)}})
	call(adminAddr, "POST", "/v1/audit:verify", string(body), &res)
	// The records after the restart are not signed yet (the interval is an
	// hour): the shutdown's checkpoint covers those before it.
	if !res.Ok || res.TreeSize != after.TreeSize || res.VerifiedSize != before.TreeSize || res.CheckpointsChecked == "" {
		t.Fatalf("verification after the restart: %+v (log %+v)", res, after)
	}

	// The JSON-lines file holds every record with its place in the log.
	data, err := os.ReadFile(jsonl)
	if err != nil {
		t.Fatal(err)
	}
	sc := bufio.NewScanner(bytes.NewReader(data))
	n := 0
	for ; sc.Scan(); n++ {
		var line struct{ Index, Instance string }
		if err := json.Unmarshal(sc.Bytes(), &line); err != nil || line.Index != fmt.Sprint(n) || line.Instance != before.Instance {
			t.Fatalf("line %d: index %q instance %q: %v", n, line.Index, line.Instance, err)
		}
	}
	if fmt.Sprint(n) != after.TreeSize {
		t.Fatalf("%d JSON lines, %s records in the log", n, after.TreeSize)
	}

	// Record 2's proof leads to a checkpoint signed by the log's key.
	var proof struct {
		Leaf       string
		Proof      []string
		Checkpoint struct{ Note string }
	}
	call(adminAddr, "GET", "/v1/audit/records/2/proof", "", &proof)
	cp, err := auditlog.Open([]byte(proof.Checkpoint.Note), v)
	if err != nil {
		t.Fatal(err)
	}
	leaf, _ := base64.StdEncoding.DecodeString(proof.Leaf)
	var hashes tlog.RecordProof
	for _, p := range proof.Proof {
		raw, _ := base64.StdEncoding.DecodeString(p)
		var h tlog.Hash
		copy(h[:], raw)
		hashes = append(hashes, h)
	}
	if err := tlog.CheckRecord(hashes, cp.Size, cp.Root, 2, auditlog.LeafHash(leaf)); err != nil {
		t.Fatalf("record 2's proof: %v", err)
	}
}
