package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"

	adminv1 "github.com/msg-gateway/msg/gen/msg/admin/v1"
	"github.com/msg-gateway/msg/internal/auditlog"
	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
)

// The audit log subcommands: "audit verify" checks the trail (the store,
// through the API, or a JSON-lines file, here) against the signed
// checkpoints; "audit proof" shows one record with its inclusion proof.

// maxAuditLine bounds one line of a JSON-lines file; records are small.
const maxAuditLine = 1 << 20

// maxCheckpointFile bounds a witness file.
const maxCheckpointFile = 64 << 20

// hashesPage is how many leaf hashes one GET /v1/audit/hashes asks for (the
// API's limit).
const hashesPage = 100_000

// errVerifyFailed makes msgctl exit 1 after printing a failed verification.
var errVerifyFailed = errors.New("the audit trail did not verify")

// stringsFlag collects a repeatable flag.
type stringsFlag []string

func (s *stringsFlag) String() string     { return strings.Join(*s, ",") }
func (s *stringsFlag) Set(v string) error { *s = append(*s, v); return nil }

type verifyFlags struct {
	file        string
	checkpoints stringsFlag
	key         string
	offline     bool
}

func (c *cli) auditVerifyCommand(ctx context.Context, o *options, args []string) error {
	const cmd = "audit verify"
	fs := newFlagSet(cmd)
	var f verifyFlags
	fs.StringVar(&f.file, "file", "", "verify this JSON-lines file (audit.jsonl_file) instead of the gateway's store")
	fs.Var(&f.checkpoints, "checkpoint", "a file of checkpoints kept elsewhere (audit.witness.file); repeatable")
	fs.StringVar(&f.key, "log-key", "", "the log's verifier key, as the gateway logged it at its first start")
	fs.BoolVar(&f.offline, "offline", false, "with --file and --log-key: do not ask the gateway anything")
	pos, err := parseLeaf(cmd, fs, o, args)
	if err != nil {
		return err
	}
	if err := checkArgs(cmd, pos, 0, 0, ""); err != nil {
		return err
	}
	if f.offline && (f.file == "" || f.key == "") {
		return usagef("%s: --offline needs --file and --log-key", cmd)
	}
	var witness [][]byte
	for _, name := range f.checkpoints {
		data, err := readLimited(name, c.stdin, maxCheckpointFile)
		if err != nil {
			return fmt.Errorf("--checkpoint: %w", err)
		}
		witness = append(witness, data)
	}
	var cl *client
	if !f.offline {
		if cl, err = c.connect(o); err != nil {
			return err
		}
	} else if o.output != "table" && o.output != "json" {
		return usagef("-o %q: want table or json", o.output)
	}
	var resp *adminv1.VerifyAuditLogResponse
	if f.file == "" {
		resp, err = verifyStore(ctx, cl, f.key, witness)
	} else {
		resp, err = verifyFile(ctx, cl, f, witness)
	}
	if err != nil {
		return err
	}
	if o.json() {
		if err := writeJSON(c.stdout, resp); err != nil {
			return err
		}
	} else {
		writeVerification(c.stdout, resp)
	}
	if !resp.GetOk() {
		return errVerifyFailed
	}
	return nil
}

// verifyStore asks the gateway to verify its stored trail against its
// checkpoints and the witness's.
func verifyStore(ctx context.Context, cl *client, key string, witness [][]byte) (*adminv1.VerifyAuditLogResponse, error) {
	if key != "" {
		if _, err := logVerifier(ctx, cl, key); err != nil {
			return nil, err
		}
	}
	req := &adminv1.VerifyAuditLogRequest{}
	for _, w := range witness {
		req.Checkpoints = append(req.Checkpoints, string(w))
	}
	resp := &adminv1.VerifyAuditLogResponse{}
	if err := cl.call(ctx, http.MethodPost, "/v1/audit:verify", nil, req, resp); err != nil {
		return nil, err
	}
	return resp, nil
}

// logVerifier returns the verifier of the log's checkpoints: the pinned
// key, which must be the gateway's when one is asked, else the gateway's.
func logVerifier(ctx context.Context, cl *client, pinned string) (note.Verifier, error) {
	key := pinned
	if cl != nil {
		info := &adminv1.GetAuditLogResponse{}
		if err := cl.call(ctx, http.MethodGet, "/v1/audit/log", nil, nil, info); err != nil {
			return nil, err
		}
		if pinned != "" && info.GetVerifierKey() != pinned {
			return nil, fmt.Errorf("the gateway's audit log key is %s, not the --log-key given (%s): its data directory holds another log", clean(info.GetVerifierKey()), clean(pinned))
		}
		key = info.GetVerifierKey()
	}
	v, err := note.NewVerifier(key)
	if err != nil {
		return nil, usagef("--log-key %q: not a signed note verifier key", clean(key))
	}
	return v, nil
}

// openCheckpoints splits and opens every checkpoint of the given files.
func openCheckpoints(files [][]byte, v note.Verifier) ([]auditlog.Checkpoint, error) {
	var out []auditlog.Checkpoint
	for i, data := range files {
		notes, err := auditlog.SplitNotes(data)
		if err != nil {
			return nil, fmt.Errorf("--checkpoint file %d: %w", i+1, err)
		}
		for _, n := range notes {
			c, err := auditlog.Open(n, v)
			if err != nil {
				return nil, fmt.Errorf("--checkpoint file %d: %w", i+1, err)
			}
			out = append(out, c)
		}
	}
	return out, nil
}

// apiCheckpoints fetches every stored checkpoint and opens each note with
// the log's key: the gateway's own parse of them is not relied on.
func apiCheckpoints(ctx context.Context, cl *client, v note.Verifier) ([]auditlog.Checkpoint, error) {
	var out []auditlog.Checkpoint
	q := url.Values{"pageSize": {"1000"}}
	seen := map[string]bool{}
	for {
		page := &adminv1.ListAuditCheckpointsResponse{}
		if err := cl.call(ctx, http.MethodGet, "/v1/audit/checkpoints", q, nil, page); err != nil {
			return nil, err
		}
		for _, cp := range page.GetCheckpoints() {
			c, err := auditlog.Open([]byte(cp.GetNote()), v)
			if err != nil {
				return nil, fmt.Errorf("a checkpoint the gateway stores: %w", err)
			}
			out = append(out, c)
		}
		tok := page.GetNextPageToken()
		if tok == "" {
			return out, nil
		}
		if seen[tok] {
			return nil, fmt.Errorf("GET /v1/audit/checkpoints: the server returned page token %q twice", clean(tok))
		}
		seen[tok] = true
		q.Set("pageToken", tok)
	}
}

// auditHashes fetches the frontier before start and the leaf hashes of
// start to end-1.
func auditHashes(ctx context.Context, cl *client, start, end int64) (frontier, leaves []tlog.Hash, err error) {
	for from := start; ; {
		to := min(end, from+hashesPage)
		resp := &adminv1.GetAuditHashesResponse{}
		q := url.Values{"start": {strconv.FormatInt(from, 10)}, "end": {strconv.FormatInt(to, 10)}}
		if err := cl.call(ctx, http.MethodGet, "/v1/audit/hashes", q, nil, resp); err != nil {
			return nil, nil, err
		}
		if from == start {
			if frontier, err = toHashes(resp.GetFrontier()); err != nil {
				return nil, nil, err
			}
		}
		page, err := toHashes(resp.GetLeafHashes())
		if err != nil {
			return nil, nil, err
		}
		if int64(len(page)) != to-from {
			return nil, nil, fmt.Errorf("GET /v1/audit/hashes: %d hashes for %d records", len(page), to-from)
		}
		leaves = append(leaves, page...)
		if from = to; from >= end {
			return frontier, leaves, nil
		}
	}
}

func toHashes(raw [][]byte) ([]tlog.Hash, error) {
	out := make([]tlog.Hash, len(raw))
	for i, b := range raw {
		if len(b) != tlog.HashSize {
			return nil, fmt.Errorf("a hash of %d bytes", len(b))
		}
		copy(out[i][:], b)
	}
	return out, nil
}

// verifyFile checks a JSON-lines file here: each line's record is encoded
// as its leaf and hashed; the checkpoints come from the witness files and,
// unless offline, the gateway, whose stored hashes also name the first
// changed record and sum up the records before the file's first one.
func verifyFile(ctx context.Context, cl *client, f verifyFlags, witness [][]byte) (*adminv1.VerifyAuditLogResponse, error) {
	v, err := logVerifier(ctx, cl, f.key)
	if err != nil {
		return nil, err
	}
	instance, ok := strings.CutPrefix(v.Name(), auditlog.Origin(""))
	if !ok {
		return nil, fmt.Errorf("the key %s is not an audit log's", clean(v.Name()))
	}
	cps, err := openCheckpoints(witness, v)
	if err != nil {
		return nil, err
	}
	if cl != nil {
		stored, err := apiCheckpoints(ctx, cl, v)
		if err != nil {
			return nil, err
		}
		cps = append(cps, stored...)
	}
	file, err := os.Open(f.file)
	if err != nil {
		return nil, fmt.Errorf("--file: %w", err)
	}
	defer file.Close()
	lines := newLineReader(file)
	// Lines written before the gateway kept a log carry no index; they come
	// first and are skipped.
	skipped := 0
	var first *adminv1.AuditRecord
	var firstLeaf []byte
	var firstErr error
	for first == nil && firstErr == nil {
		line, err := lines.next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("--file: %w", err)
		}
		rec, leaf, err := decodeLine(line)
		switch {
		case err != nil:
			firstErr = fmt.Errorf("line %d: %w", lines.n, err)
		case rec.Index == nil:
			skipped++
		default:
			first, firstLeaf = rec, leaf
		}
	}
	o := auditlog.VerifyOptions{Instance: instance, Checkpoints: cps}
	if first != nil {
		o.Start = first.GetIndex()
	}
	if o.Start > 0 {
		if cl == nil {
			return nil, fmt.Errorf("the file starts at record %d: checking it needs the gateway's hashes of the records before it (drop --offline)", o.Start)
		}
		if o.Frontier, _, err = auditHashes(ctx, cl, o.Start, o.Start); err != nil {
			return nil, err
		}
	}
	if cl != nil {
		o.LeafHashes = func(start, end int64) ([]tlog.Hash, error) {
			_, leaves, err := auditHashes(ctx, cl, start, end)
			return leaves, err
		}
	}
	ver, err := auditlog.NewVerification(o)
	if err != nil {
		return nil, err
	}
	switch {
	case firstErr != nil:
		ver.Fail(firstErr.Error())
	case first != nil && ver.Add(first, firstLeaf):
		for {
			line, err := lines.next()
			if err == io.EOF {
				break
			}
			if err != nil {
				return nil, fmt.Errorf("--file: %w", err)
			}
			rec, leaf, err := decodeLine(line)
			if err != nil {
				ver.Fail(fmt.Sprintf("line %d: %v", lines.n, err))
				break
			}
			if !ver.Add(rec, leaf) {
				break
			}
		}
	}
	res := ver.Finish()
	if skipped > 0 {
		res.Notes = append(res.Notes, fmt.Sprintf("%d lines from before the audit log began (without an index) were skipped", skipped))
	}
	return &adminv1.VerifyAuditLogResponse{
		Ok: res.OK, FirstIndex: res.Start, TreeSize: res.End, CheckpointsChecked: int64(res.Checkpoints),
		VerifiedSize: res.VerifiedSize, FirstBadIndex: res.FirstBad, Problem: res.Problem, Notes: res.Notes,
	}, nil
}

// decodeLine reads one JSON line strictly (a field this msgctl does not
// know is an error, not dropped: dropping it would change the leaf) and
// returns the record and its leaf.
func decodeLine(line []byte) (*adminv1.AuditRecord, []byte, error) {
	rec := new(adminv1.AuditRecord)
	if err := protojson.Unmarshal(line, rec); err != nil {
		return nil, nil, fmt.Errorf("not an audit record this msgctl can read (use one as new as the gateway): %v", err)
	}
	leaf, err := auditlog.Leaf(rec)
	if err != nil {
		return nil, nil, err
	}
	return rec, leaf, nil
}

// lineReader reads non-blank lines of at most maxAuditLine bytes.
type lineReader struct {
	r *bufio.Reader
	n int // the number of the line last read
}

func newLineReader(r io.Reader) *lineReader { return &lineReader{r: bufio.NewReaderSize(r, 64<<10)} }

func (l *lineReader) next() ([]byte, error) {
	for {
		var line []byte
		for {
			part, isPrefix, err := l.r.ReadLine()
			if err != nil {
				return nil, err
			}
			line = append(line, part...)
			if len(line) > maxAuditLine {
				return nil, fmt.Errorf("line %d is longer than %d bytes", l.n+1, maxAuditLine)
			}
			if !isPrefix {
				break
			}
		}
		l.n++
		if len(bytes.TrimSpace(line)) > 0 {
			return line, nil
		}
	}
}

func writeVerification(w io.Writer, r *adminv1.VerifyAuditLogResponse) {
	if r.GetOk() {
		fmt.Fprintf(w, "ok: records %d to %d verified against %d checkpoints; records below %d are covered by a signature\n",
			r.GetFirstIndex(), r.GetTreeSize()-1, r.GetCheckpointsChecked(), r.GetVerifiedSize())
		if r.GetFirstIndex() >= r.GetTreeSize() {
			fmt.Fprintln(w, "ok: no records to check")
		}
	} else {
		fmt.Fprintf(w, "FAILED: first bad record %d: %s\n", r.GetFirstBadIndex(), clean(r.GetProblem()))
	}
	for _, n := range r.GetNotes() {
		fmt.Fprintf(w, "note: %s\n", clean(n))
	}
}

func (c *cli) auditProofCommand(ctx context.Context, o *options, args []string) error {
	const cmd = "audit proof"
	fs := newFlagSet(cmd)
	treeSize := fs.Int64("tree-size", 0, "prove the record in the checkpoint of this many records (default: the latest)")
	key := fs.String("log-key", "", "the log's verifier key, as the gateway logged it at its first start")
	pos, err := parseLeaf(cmd, fs, o, args)
	if err != nil {
		return err
	}
	if err := checkArgs(cmd, pos, 1, 1, "record INDEX"); err != nil {
		return err
	}
	index, err := strconv.ParseInt(pos[0], 10, 64)
	if err != nil || index < 0 {
		return usagef("%s: %q is not a record index", cmd, pos[0])
	}
	cl, err := c.connect(o)
	if err != nil {
		return err
	}
	v, err := logVerifier(ctx, cl, *key)
	if err != nil {
		return err
	}
	resp := &adminv1.GetAuditProofResponse{}
	q := url.Values{}
	if *treeSize > 0 {
		q.Set("treeSize", strconv.FormatInt(*treeSize, 10))
	}
	if err := cl.call(ctx, http.MethodGet, "/v1/audit/records/"+strconv.FormatInt(index, 10)+"/proof", q, nil, resp); err != nil {
		return err
	}
	// Everything shown is what the proof covers: the record decoded from
	// the leaf, checked against a checkpoint this msgctl verified.
	cp, err := auditlog.Open([]byte(resp.GetCheckpoint().GetNote()), v)
	if err != nil {
		return err
	}
	proof, err := toHashes(resp.GetProof())
	if err != nil {
		return err
	}
	if err := tlog.CheckRecord(proof, cp.Size, cp.Root, index, auditlog.LeafHash(resp.GetLeaf())); err != nil {
		return fmt.Errorf("record %d: the proof does not lead to the signed checkpoint: %w", index, err)
	}
	rec := new(adminv1.AuditRecord)
	if err := proto.Unmarshal(resp.GetLeaf(), rec); err != nil || rec.GetIndex() != index {
		return fmt.Errorf("record %d: the proven leaf is not that record", index)
	}
	if o.json() {
		resp.Record = rec
		return writeJSON(c.stdout, resp)
	}
	if err := writeAudit(c.stdout, []*adminv1.AuditRecord{rec}); err != nil {
		return err
	}
	_, err = fmt.Fprintf(c.stdout, "record %d of instance %s is in the checkpoint of %d records signed %s (proof of %d hashes)\n",
		index, clean(rec.GetInstance()), cp.Size, cp.Time.UTC().Format("2006-01-02T15:04:05Z"), len(proof))
	return err
}
