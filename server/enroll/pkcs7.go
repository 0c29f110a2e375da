package enroll

import (
	"encoding/asn1"
	"encoding/base64"
	"strings"
)

// EST answers with certificates as a "certs-only" PKCS #7 / CMS SignedData
// (RFC 5652 with no signers, RFC 7030 section 4.1.3): the degenerate form
// OpenSSL and every EST client read. Writing it takes this file; a library
// (github.com/smallstep/pkcs7) would add signing, encryption and a parser of
// untrusted input that the gateway never needs.

var (
	oidData       = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 7, 1}
	oidSignedData = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 7, 2}
)

type contentInfo struct {
	ContentType asn1.ObjectIdentifier
	Content     asn1.RawValue // [0] EXPLICIT SignedData
}

type encapsulatedContentInfo struct {
	ContentType asn1.ObjectIdentifier
}

type signedData struct {
	Version          int
	DigestAlgorithms asn1.RawValue // SET OF, empty
	EncapContentInfo encapsulatedContentInfo
	Certificates     asn1.RawValue // [0] IMPLICIT SET OF Certificate
	SignerInfos      asn1.RawValue // SET OF, empty
}

// certsOnly returns the DER of a certs-only SignedData holding certs (DER
// certificates), in order.
func certsOnly(certs [][]byte) ([]byte, error) {
	var all []byte
	for _, c := range certs {
		all = append(all, c...)
	}
	emptySet := asn1.RawValue{Class: asn1.ClassUniversal, Tag: asn1.TagSet, IsCompound: true, Bytes: []byte{}}
	sd, err := asn1.Marshal(signedData{
		Version:          1,
		DigestAlgorithms: emptySet,
		EncapContentInfo: encapsulatedContentInfo{ContentType: oidData},
		Certificates:     asn1.RawValue{Class: asn1.ClassContextSpecific, Tag: 0, IsCompound: true, Bytes: all},
		SignerInfos:      emptySet,
	})
	if err != nil {
		return nil, err
	}
	return asn1.Marshal(contentInfo{
		ContentType: oidSignedData,
		Content:     asn1.RawValue{Class: asn1.ClassContextSpecific, Tag: 0, IsCompound: true, Bytes: sd},
	})
}

// base64Lines encodes der as EST bodies carry it: base64 in lines of 64
// characters, each ending in CRLF, as MIME (and `openssl base64 -d`) reads
// it.
func base64Lines(der []byte) []byte {
	enc := base64.StdEncoding.EncodeToString(der)
	var b strings.Builder
	for len(enc) > 64 {
		b.WriteString(enc[:64])
		b.WriteString("\r\n")
		enc = enc[64:]
	}
	b.WriteString(enc)
	b.WriteString("\r\n")
	return []byte(b.String())
}
