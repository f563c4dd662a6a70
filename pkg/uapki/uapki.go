// Package uapki is the OPC UA PKI both OPC UA workloads (opcplc, opcpublisher) use, in the
// OPC UA directory store layout under one root:
//
//   - their own application instance certificate (LoadOrCreateIdentity: own/certs/<name>.der
//     and own/private/<name>.pem, created self-signed on first start);
//   - the trust store (TrustStore): a peer's application certificate is accepted when it is
//     valid and either auto-accepted (--aa) or present in <dir>/trusted/certs; a refused one
//     is written to <dir>/rejected/certs/<SHA-1 thumbprint>.der so an operator can move it to
//     trusted.
package uapki

import (
	"crypto/sha1"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// Directories under a PKI root (the OPC UA directory store convention).
const (
	TrustedDir  = "trusted/certs"
	RejectedDir = "rejected/certs"
)

// TrustStore decides which peer application certificates are accepted.
type TrustStore struct {
	Dir        string
	AutoAccept bool
	Now        func() time.Time
	// Peer names the certificate's owner in errors: "client" (default) or "server".
	Peer string
}

func (ts TrustStore) peer() string {
	if ts.Peer == "" {
		return "client"
	}
	return ts.Peer
}

// Thumbprint is the SHA-1 thumbprint OPC UA uses to name certificates.
func Thumbprint(der []byte) string {
	sum := sha1.Sum(der)
	return strings.ToUpper(hex.EncodeToString(sum[:]))
}

// ErrUntrusted is returned for a valid certificate that is not in the trusted store.
var ErrUntrusted = errors.New("certificate is not trusted")

// Check accepts der when it is well formed, currently valid and either auto-accepted
// or present in trusted/certs. An untrusted certificate is copied to rejected/certs.
func (ts TrustStore) Check(der []byte) error {
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return fmt.Errorf("%s certificate: %w", ts.peer(), err)
	}
	now := time.Now()
	if ts.Now != nil {
		now = ts.Now()
	}
	if now.Before(cert.NotBefore) || now.After(cert.NotAfter) {
		return fmt.Errorf("%s certificate %s is outside its validity %s..%s", ts.peer(), Thumbprint(der), cert.NotBefore.Format(time.RFC3339), cert.NotAfter.Format(time.RFC3339))
	}
	if ts.AutoAccept {
		return nil
	}
	trusted, err := ts.trusted()
	if err != nil {
		return err
	}
	for _, t := range trusted {
		if cert.Equal(t) {
			return nil
		}
	}
	name := filepath.Join(ts.Dir, RejectedDir, Thumbprint(der)+".der")
	if err := os.MkdirAll(filepath.Dir(name), 0o700); err == nil {
		_ = os.WriteFile(name, der, 0o644)
	}
	return fmt.Errorf("%s %w: %s (subject %q) was stored in %s; move it to %s to trust it",
		ts.peer(), ErrUntrusted, Thumbprint(der), cert.Subject.String(), name, filepath.Join(ts.Dir, TrustedDir))
}

func (ts TrustStore) trusted() ([]*x509.Certificate, error) {
	dir := filepath.Join(ts.Dir, TrustedDir)
	entries, err := os.ReadDir(dir)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("trusted store: %w", err)
	}
	var out []*x509.Certificate
	for _, e := range entries {
		if e.IsDir() {
			continue
		}
		b, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			return nil, fmt.Errorf("trusted store: %w", err)
		}
		if blk, _ := pem.Decode(b); blk != nil {
			b = blk.Bytes
		}
		c, err := x509.ParseCertificate(b)
		if err != nil {
			continue // not a certificate (e.g. a README); ignore it
		}
		out = append(out, c)
	}
	return out, nil
}
