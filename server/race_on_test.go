//go:build race

package server_test

// raceEnabled is true when the tests run with the race detector, which makes
// bulk transfers several times slower: the large-transfer tests shrink.
const raceEnabled = true
