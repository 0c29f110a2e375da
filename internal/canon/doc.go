// Package canon validates the parts of an inner request an app supplies and
// returns the one canonical spelling of each. The gateway authorizes on that
// spelling and relays exactly it, so every function here is pure, rejects
// rather than guesses, and returns a result that canonicalizes to itself.
package canon
