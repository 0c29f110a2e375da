package store

import "testing"

// TestOpenSyncsEveryCommit checks the configuration behind "a committed
// write is durable": bbolt fsyncs (fdatasync) the file on every commit and
// when it grows. A crash test cannot prove this, because SIGKILL leaves the
// page cache to the kernel, which writes it out anyway; only power loss or
// a kernel crash shows the difference. So the test asserts the settings.
func TestOpenSyncsEveryCommit(t *testing.T) {
	t.Parallel()
	s, err := Open(t.TempDir(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if s.db.NoSync {
		t.Error("bbolt NoSync is set: commits are acknowledged before they reach the disk")
	}
	if s.db.NoGrowSync {
		t.Error("bbolt NoGrowSync is set: a commit that grows the file is not synced")
	}
	if s.db.IsReadOnly() {
		t.Error("the store is read-only")
	}
}
