package session

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net/url"
	"os"
	"path/filepath"
	"time"
)

// Identity is the client's application instance certificate, needed for the Sign and
// SignAndEncrypt security modes.
type Identity struct {
	CertDER []byte
	Key     *rsa.PrivateKey
	AppURI  string
}

// LoadOrCreateIdentity reads own/certs/opcpublisher.der and own/private/opcpublisher.pem
// from dir, creating a self-signed certificate (RSA 2048, SHA-256, application URI in
// the SAN as OPC UA requires) on first use. The server must trust it (or auto-accept).
func LoadOrCreateIdentity(dir, appURI string) (Identity, error) {
	certFile := filepath.Join(dir, "own", "certs", "opcpublisher.der")
	keyFile := filepath.Join(dir, "own", "private", "opcpublisher.pem")
	der, errC := os.ReadFile(certFile)
	keyPEM, errK := os.ReadFile(keyFile)
	if errC == nil && errK == nil {
		blk, _ := pem.Decode(keyPEM)
		if blk == nil {
			return Identity{}, fmt.Errorf("pki: %s: not PEM", keyFile)
		}
		key, err := x509.ParsePKCS1PrivateKey(blk.Bytes)
		if err != nil {
			return Identity{}, fmt.Errorf("pki: %s: %w", keyFile, err)
		}
		return Identity{CertDER: der, Key: key, AppURI: appURI}, nil
	}
	if errC != nil && !errors.Is(errC, os.ErrNotExist) {
		return Identity{}, fmt.Errorf("pki: %w", errC)
	}
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return Identity{}, fmt.Errorf("pki: generate key: %w", err)
	}
	uri, err := url.Parse(appURI)
	if err != nil {
		return Identity{}, fmt.Errorf("pki: application URI %q: %w", appURI, err)
	}
	serial, _ := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 62))
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: "opcpublisher", Organization: []string{"edgeframe"}},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(5 * 365 * 24 * time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageContentCommitment | x509.KeyUsageKeyEncipherment | x509.KeyUsageDataEncipherment | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth, x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		URIs:                  []*url.URL{uri},
		DNSNames:              []string{"localhost"},
	}
	der, err = x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return Identity{}, fmt.Errorf("pki: create certificate: %w", err)
	}
	for _, d := range []string{filepath.Dir(certFile), filepath.Dir(keyFile)} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			return Identity{}, fmt.Errorf("pki: %w", err)
		}
	}
	if err := os.WriteFile(certFile, der, 0o644); err != nil {
		return Identity{}, fmt.Errorf("pki: %w", err)
	}
	pemKey := pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(key)})
	if err := os.WriteFile(keyFile, pemKey, 0o600); err != nil {
		return Identity{}, fmt.Errorf("pki: %w", err)
	}
	return Identity{CertDER: der, Key: key, AppURI: appURI}, nil
}
