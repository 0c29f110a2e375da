package store

// SetAuditScanLimit lowers the per-query decode budget for a test and
// returns a function that restores it.
func SetAuditScanLimit(n int) (restore func()) {
	old := auditScanLimit
	auditScanLimit = n
	return func() { auditScanLimit = old }
}

// PauseWatch makes e stop following its watch (as if the connection to etcd
// hung) until resume is called; it then watches again from the revision it
// had, without reloading first.
func (e *Etcd) PauseWatch() (resume func()) {
	ch := make(chan struct{})
	e.pause <- ch
	return func() { close(ch) }
}

// Reloads returns how many times e read the whole prefix after Open.
func (e *Etcd) Reloads() int64 { return e.reloads.Load() }
