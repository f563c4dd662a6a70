package uapki_test

import (
	"crypto/x509"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/edgeframe/edgeframe/pkg/uapki"
)

func TestApplicationCertificateIsCreatedOnceInThePKIDir(t *testing.T) {
	dir := t.TempDir()
	app := uapki.Application{Name: "opcplc", URI: "urn:127.0.0.1:OpcPlc", Hosts: []string{"127.0.0.1", "localhost"}}
	first, err := uapki.LoadOrCreateIdentity(dir, app)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, "own", "certs", "opcplc.der")); err != nil {
		t.Fatal(err)
	}
	st, err := os.Stat(filepath.Join(dir, "own", "private", "opcplc.pem"))
	if err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("private key: %v mode %v, want 0600", err, st)
	}
	for _, d := range []string{uapki.TrustedDir, uapki.RejectedDir} {
		if fi, err := os.Stat(filepath.Join(dir, d)); err != nil || !fi.IsDir() {
			t.Errorf("%s: %v", d, err)
		}
	}
	cert, err := x509.ParseCertificate(first.CertDER)
	if err != nil {
		t.Fatal(err)
	}
	if cert.Subject.CommonName != "opcplc" || len(cert.URIs) != 1 || cert.URIs[0].String() != app.URI ||
		!slices.Equal(cert.DNSNames, []string{"localhost"}) || len(cert.IPAddresses) != 1 || cert.IPAddresses[0].String() != "127.0.0.1" {
		t.Errorf("certificate CN %q URIs %v DNS %v IPs %v", cert.Subject.CommonName, cert.URIs, cert.DNSNames, cert.IPAddresses)
	}
	again, err := uapki.LoadOrCreateIdentity(dir, uapki.Application{Name: "opcplc", URI: "urn:other:OpcPlc"})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(first.CertDER, again.CertDER) || again.AppURI != "urn:127.0.0.1:OpcPlc" {
		t.Errorf("second start made a new certificate (app URI %q)", again.AppURI)
	}
	if !again.Key.PublicKey.Equal(first.Key.Public()) {
		t.Error("second start read another key")
	}
}

func TestAKeyThatDoesNotMatchItsCertificateIsRefused(t *testing.T) {
	dir := t.TempDir()
	a := uapki.Application{Name: "a", URI: "urn:a"}
	if _, err := uapki.LoadOrCreateIdentity(dir, a); err != nil {
		t.Fatal(err)
	}
	other, err := uapki.LoadOrCreateIdentity(t.TempDir(), a)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(uapki.CertPath(dir, a), other.CertDER, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := uapki.LoadOrCreateIdentity(dir, a); err == nil {
		t.Fatal("a certificate with another key's public key was accepted")
	}
}
