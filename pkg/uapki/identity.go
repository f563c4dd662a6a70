package uapki

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
)

// IdentityValidity is how long a created application instance certificate is valid.
const IdentityValidity = 5 * 365 * 24 * time.Hour

// Identity is an application instance certificate (DER) and its RSA key: a server presents
// it, a client needs it for the Sign and SignAndEncrypt security modes.
type Identity struct {
	CertDER []byte
	Key     *rsa.PrivateKey
	// AppURI is the application URI in the certificate's subject alternative name.
	AppURI string
}

// Application names the application a certificate is for.
type Application struct {
	// Name is the common name and the file names own/certs/<Name>.der and
	// own/private/<Name>.pem.
	Name string
	// URI is the application URI (a SAN URI, as OPC UA requires).
	URI string
	// Hosts become DNS names or IP addresses in the SAN ("" is skipped).
	Hosts []string
}

// CertPath and KeyPath are where LoadOrCreateIdentity keeps app's certificate (DER) and
// key (PKCS#1 PEM, mode 0600) under a PKI root.
func CertPath(dir string, app Application) string {
	return filepath.Join(dir, "own", "certs", app.Name+".der")
}

// KeyPath: see CertPath.
func KeyPath(dir string, app Application) string {
	return filepath.Join(dir, "own", "private", app.Name+".pem")
}

// NewIdentity creates a self-signed application instance certificate for app (RSA 2048,
// SHA-256, for server and client authentication) valid from an hour ago for validity.
func NewIdentity(app Application, validity time.Duration) (Identity, error) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return Identity{}, fmt.Errorf("pki: generate key: %w", err)
	}
	u, err := url.Parse(app.URI)
	if err != nil {
		return Identity{}, fmt.Errorf("pki: application URI %q: %w", app.URI, err)
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 120))
	if err != nil {
		return Identity{}, fmt.Errorf("pki: serial number: %w", err)
	}
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: app.Name, Organization: []string{"edgeframe"}},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(validity),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageContentCommitment | x509.KeyUsageKeyEncipherment | x509.KeyUsageDataEncipherment | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
		BasicConstraintsValid: true,
		URIs:                  []*url.URL{u},
	}
	for _, h := range app.Hosts {
		if ip := net.ParseIP(h); ip != nil {
			tmpl.IPAddresses = append(tmpl.IPAddresses, ip)
		} else if h != "" {
			tmpl.DNSNames = append(tmpl.DNSNames, h)
		}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return Identity{}, fmt.Errorf("pki: create certificate: %w", err)
	}
	return Identity{CertDER: der, Key: key, AppURI: app.URI}, nil
}

// LoadOrCreateIdentity reads app's certificate and key from the PKI root dir (CertPath,
// KeyPath), or on first start creates them (NewIdentity, valid for IdentityValidity) along
// with the trusted and rejected directories. A certificate read back keeps its own
// application URI, which may differ from app.URI.
func LoadOrCreateIdentity(dir string, app Application) (Identity, error) {
	certFile, keyFile := CertPath(dir, app), KeyPath(dir, app)
	der, errC := os.ReadFile(certFile)
	keyPEM, errK := os.ReadFile(keyFile)
	if errC == nil && errK == nil {
		return parseIdentity(der, keyPEM, certFile, keyFile)
	}
	if errC != nil && !errors.Is(errC, os.ErrNotExist) {
		return Identity{}, fmt.Errorf("pki: read %s: %w", certFile, errC)
	}
	for _, d := range []string{filepath.Dir(certFile), filepath.Dir(keyFile), filepath.Join(dir, TrustedDir), filepath.Join(dir, RejectedDir)} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			return Identity{}, fmt.Errorf("pki: %w", err)
		}
	}
	id, err := NewIdentity(app, IdentityValidity)
	if err != nil {
		return Identity{}, err
	}
	if err := os.WriteFile(certFile, id.CertDER, 0o644); err != nil {
		return Identity{}, fmt.Errorf("pki: %w", err)
	}
	keyPEM = pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(id.Key)})
	if err := os.WriteFile(keyFile, keyPEM, 0o600); err != nil {
		return Identity{}, fmt.Errorf("pki: %w", err)
	}
	return id, nil
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
