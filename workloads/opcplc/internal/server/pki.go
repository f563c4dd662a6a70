package server

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"time"

	"github.com/edgeframe/edgeframe/pkg/uapki"
)

// PKI layout under the --pki directory (the OPC UA directory store convention):
//
//	own/certs/opcplc.der      the application instance certificate (DER)
//	own/private/opcplc.pem    its RSA private key (PKCS#1 PEM, mode 0600)
//	trusted/certs/*.der|.pem  client certificates that may connect without --aa
//	rejected/certs/<sha1>.der client certificates that were refused (move to trusted to allow)
const (
	ownCertPath  = "own/certs/opcplc.der"
	ownKeyPath   = "own/private/opcplc.pem"
	certValidity = 5 * 365 * 24 * time.Hour
)

// Identity is the server's application instance certificate and key.
type Identity struct {
	CertDER []byte
	Key     *rsa.PrivateKey
	AppURI  string
}

// LoadOrCreateIdentity reads the application certificate from dir, or creates a
// self-signed one (RSA 2048, SHA-256) on first start. hosts become DNS/IP SANs.
func LoadOrCreateIdentity(dir, appURI string, hosts []string) (Identity, error) {
	certFile, keyFile := filepath.Join(dir, ownCertPath), filepath.Join(dir, ownKeyPath)
	der, errC := os.ReadFile(certFile)
	keyPEM, errK := os.ReadFile(keyFile)
	if errC == nil && errK == nil {
		return parseIdentity(der, keyPEM, certFile, keyFile)
	}
	if !errors.Is(errC, os.ErrNotExist) && errC != nil {
		return Identity{}, fmt.Errorf("pki: read %s: %w", certFile, errC)
	}
	for _, d := range []string{filepath.Dir(certFile), filepath.Dir(keyFile), filepath.Join(dir, uapki.TrustedDir), filepath.Join(dir, uapki.RejectedDir)} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			return Identity{}, fmt.Errorf("pki: %w", err)
		}
	}
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return Identity{}, fmt.Errorf("pki: generate key: %w", err)
	}
	u, err := url.Parse(appURI)
	if err != nil {
		return Identity{}, fmt.Errorf("pki: application URI %q: %w", appURI, err)
	}
	serial, _ := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 120))
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: "opcplc", Organization: []string{"edgeframe"}},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(certValidity),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageContentCommitment | x509.KeyUsageKeyEncipherment | x509.KeyUsageDataEncipherment | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
		BasicConstraintsValid: true,
		URIs:                  []*url.URL{u},
	}
	for _, h := range hosts {
		if ip := net.ParseIP(h); ip != nil {
			tmpl.IPAddresses = append(tmpl.IPAddresses, ip)
		} else if h != "" {
			tmpl.DNSNames = append(tmpl.DNSNames, h)
		}
	}
	der, err = x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return Identity{}, fmt.Errorf("pki: create certificate: %w", err)
	}
	if err := os.WriteFile(certFile, der, 0o644); err != nil {
		return Identity{}, fmt.Errorf("pki: %w", err)
	}
	keyPEM = pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(key)})
	if err := os.WriteFile(keyFile, keyPEM, 0o600); err != nil {
		return Identity{}, fmt.Errorf("pki: %w", err)
	}
	return Identity{CertDER: der, Key: key, AppURI: appURI}, nil
}

func parseIdentity(der, keyPEM []byte, certFile, keyFile string) (Identity, error) {
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return Identity{}, fmt.Errorf("pki: %s: %w", certFile, err)
	}
	blk, _ := pem.Decode(keyPEM)
	if blk == nil {
		return Identity{}, fmt.Errorf("pki: %s: no PEM block", keyFile)
	}
	key, err := x509.ParsePKCS1PrivateKey(blk.Bytes)
	if err != nil {
		return Identity{}, fmt.Errorf("pki: %s: %w", keyFile, err)
	}
	if !key.PublicKey.Equal(cert.PublicKey) {
		return Identity{}, fmt.Errorf("pki: %s does not match %s", keyFile, certFile)
	}
	id := Identity{CertDER: der, Key: key}
	if len(cert.URIs) > 0 {
		id.AppURI = cert.URIs[0].String()
	}
	return id, nil
}

// TrustStore decides which client application certificates may open a session (the
// store is shared with opcpublisher: pkg/uapki).
type TrustStore = uapki.TrustStore

// Thumbprint is the SHA-1 thumbprint OPC UA uses to name certificates.
func Thumbprint(der []byte) string { return uapki.Thumbprint(der) }

// ErrUntrusted is returned for a valid certificate that is not in the trusted store.
var ErrUntrusted = uapki.ErrUntrusted
