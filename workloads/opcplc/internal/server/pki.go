package server

import "github.com/edgeframe/edgeframe/pkg/uapki"

// The server's PKI is pkg/uapki's directory store under --pki:
//
//	own/certs/opcplc.der      the application instance certificate (DER)
//	own/private/opcplc.pem    its RSA private key (PKCS#1 PEM, mode 0600)
//	trusted/certs/*.der|.pem  client certificates that may connect without --aa
//	rejected/certs/<sha1>.der client certificates that were refused (move to trusted to allow)

// Identity is the server's application instance certificate and key.
type Identity = uapki.Identity

// TrustStore decides which client application certificates may open a session (the
// store is shared with opcpublisher: pkg/uapki).
type TrustStore = uapki.TrustStore

// Thumbprint is the SHA-1 thumbprint OPC UA uses to name certificates.
func Thumbprint(der []byte) string { return uapki.Thumbprint(der) }

// ErrUntrusted is returned for a valid certificate that is not in the trusted store.
var ErrUntrusted = uapki.ErrUntrusted
