package tlsmaterial

import (
	"crypto/rand"
	"crypto/sha256"
	"fmt"
	"io"
	"maps"
	"os"
	"time"
)

// Session ticket keys: a new key every ticketKeyRotation, the previous ones
// kept for decryption, so a ticket is accepted for up to
// ticketKeyRotation*ticketKeysKept after it was issued (and never after the
// client certificate in it expires: crypto/tls checks that on resumption).
const (
	ticketKeyRotation = 12 * time.Hour
	ticketKeysKept    = 3
)

// fileStamp identifies one version of a file's content.
type fileStamp struct {
	size    int64
	modTime time.Time
	sum     [sha256.Size]byte
	err     string
}

// poll reloads when a file's size, mtime or content changed since the last
// attempt. A broken state is reported once, not on every poll.
func (d *DataPlane) poll() (reloaded bool) {
	d.mu.Lock()
	stamps := d.stampFiles()
	same := maps.Equal(stamps, d.stamps)
	d.mu.Unlock()
	if same {
		return false
	}
	changed, err := d.load()
	if err != nil {
		d.log.Error("tls files changed but do not load: keeping the previous certificate, client CAs and CRLs", "error", err.Error())
		return false
	}
	if changed {
		d.logLoaded("tls files changed: reloaded")
	}
	return changed
}

func (d *DataPlane) logLoaded(msg string) {
	m := d.cur.Load().material
	attrs := []any{"crls", m.crls.count()}
	if leaf := m.cert.Leaf; leaf != nil {
		attrs = append(attrs, "cert_serial", leaf.SerialNumber.Text(16), "cert_not_after", leaf.NotAfter.UTC().Format(time.RFC3339))
	}
	d.log.Info(msg, attrs...)
}

// load reads every file, builds the material and, when it is valid and
// differs from the one in force, swaps in a new snapshot.
func (d *DataPlane) load() (changed bool, err error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.stamps = d.stampFiles()
	m, err := d.files.load(time.Now(), d.log)
	if err != nil {
		return false, err
	}
	if cur := d.cur.Load(); cur != nil && cur.material.same(m) {
		return false, nil
	}
	d.cur.Store(&snapshot{material: m, config: d.snapshotConfig(m)})
	return true, nil
}

// rotateTicketKeys puts a fresh session ticket key first and keeps the
// previous ones for decryption only.
func (d *DataPlane) rotateTicketKeys() error {
	key, err := newTicketKey()
	if err != nil {
		return err
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	keys := append([][32]byte{key}, d.ticketKeys...)
	if len(keys) > ticketKeysKept {
		keys = keys[:ticketKeysKept]
	}
	d.ticketKeys = keys
	d.cur.Load().config.SetSessionTicketKeys(keys)
	return nil
}

func newTicketKey() ([32]byte, error) {
	var k [32]byte
	if _, err := io.ReadFull(rand.Reader, k[:]); err != nil {
		return k, fmt.Errorf("session ticket key: %w", err)
	}
	return k, nil
}

// watchedFiles are the files whose change triggers a reload.
func (d *DataPlane) watchedFiles() []string {
	return append([]string{d.files.cert, d.files.key, d.files.ca}, d.files.crls...)
}

func (d *DataPlane) stampFiles() map[string]fileStamp {
	out := make(map[string]fileStamp, 4)
	for _, f := range d.watchedFiles() {
		out[f] = stampFile(f)
	}
	return out
}

func stampFile(path string) fileStamp {
	f, err := os.Open(path)
	if err != nil {
		return fileStamp{err: err.Error()}
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return fileStamp{err: err.Error()}
	}
	h := sha256.New()
	if _, err := io.Copy(h, io.LimitReader(f, maxFileBytes)); err != nil {
		return fileStamp{err: err.Error()}
	}
	st := fileStamp{size: fi.Size(), modTime: fi.ModTime()}
	h.Sum(st.sum[:0])
	return st
}
