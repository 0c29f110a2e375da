// Package qrcode renders enrollment bundles as QR codes, as a PNG image (the
// admin API) and as text for a terminal (msgctl), with one error correction
// level for both.
//
// It wraps github.com/skip2/go-qrcode: small, no dependencies, and it picks
// the mask pattern by the standard's penalty rules, which scanners read
// best (rsc.io/qr, the other candidate, always uses mask 0).
package qrcode

import (
	"strings"

	qr "github.com/skip2/go-qrcode"
)

// level is medium error correction (15%): a bundle of about 130 bytes
// stays a version 7 to 9 code, small enough for a terminal, and survives a
// smudged screen or a printout.
const level = qr.Medium

// pngSize is the PNG's width and height in pixels.
const pngSize = 512

// PNG returns text as a QR code in a PNG image.
func PNG(text string) ([]byte, error) {
	return qr.Encode(text, level, pngSize)
}

// Terminal returns text as a QR code drawn with half-block characters, two
// modules per character cell, light modules as blocks: it reads on a
// terminal with a dark background (the usual one) and keeps its quiet zone.
func Terminal(text string) (string, error) {
	code, err := qr.New(text, level)
	if err != nil {
		return "", err
	}
	return strings.TrimRight(code.ToSmallString(false), "\n") + "\n", nil
}
