package store

// SetAuditScanLimit lowers the per-query decode budget for a test and
// returns a function that restores it.
func SetAuditScanLimit(n int) (restore func()) {
	old := auditScanLimit
	auditScanLimit = n
	return func() { auditScanLimit = old }
}
