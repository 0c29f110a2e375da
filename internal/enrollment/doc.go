// Package enrollment holds what the gateway and the devices that enroll with
// it must agree on: the enrollment bundle (one string with the enrollment
// address, the one-time secret and the pin of the gateway's trust anchor),
// the secret's form, and how a token's id derives from its secret.
//
// The bundle is untrusted input on the device (it arrives by QR code, mail or
// chat): [ParseBundle] accepts exactly the form [Bundle.String] writes.
package enrollment
