package localcluster

import (
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"

	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"fmt"
	"net"
	"os"
	"time"

	"github.com/edgeframe/edgeframe/internal/selfhosted"
)

// writePKI writes the node's CA, the API server's serving certificate (signed by the CA, for
// NodeIP, the kubernetes Service IP, loopback and the kubernetes.default names), the
// service-account key pair and the static token file with the admin token it returns.
func (c Config) writePKI() (token string, err error) {
	if err := os.MkdirAll(c.path("pki"), 0o700); err != nil {
		return "", err
	}
	ca, err := selfhosted.NewCA("edgeframe-cluster-ca", 365*24*time.Hour)
	if err != nil {
		return "", err
	}
	serving, err := ca.Server("kube-apiserver",
		[]string{"kubernetes", "kubernetes.default", "kubernetes.default.svc", "kubernetes.default.svc.cluster.local", "localhost"},
		[]net.IP{net.ParseIP(NodeIP), net.ParseIP(KubeAPIIP), net.ParseIP("127.0.0.1")}, 365*24*time.Hour)
	if err != nil {
		return "", err
	}
	saKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return "", err
	}
	pub, err := x509.MarshalPKIXPublicKey(&saKey.PublicKey)
	if err != nil {
		return "", err
	}
	tb := make([]byte, 16)
	if _, err := rand.Read(tb); err != nil {
		return "", err
	}
	token = hex.EncodeToString(tb)
	files := map[string][]byte{
		"ca.crt":        ca.CertPEM,
		"apiserver.crt": serving.CertPEM,
		"apiserver.key": serving.KeyPEM,
		"sa.key":        pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(saKey)}),
		"sa.pub":        pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pub}),
		"tokens.csv":    []byte(token + `,admin,1000,"system:masters"` + "\n"),
	}
	for name, b := range files {
		if err := os.WriteFile(c.path("pki", name), b, 0o600); err != nil {
			return "", fmt.Errorf("pki %s: %w", name, err)
		}
	}
	return token, nil
}

// TokenKubeconfig is a kubeconfig for server with a bearer token (the "admin" user), verifying
// the server against caPEM, or not at all when caPEM is nil (a test API server's self-signed
// certificate).
func TokenKubeconfig(server string, caPEM []byte, token string) ([]byte, error) {
	cfg := clientcmdapi.NewConfig()
	cfg.Clusters["edgeframe"] = &clientcmdapi.Cluster{Server: server, CertificateAuthorityData: caPEM, InsecureSkipTLSVerify: caPEM == nil}
	cfg.AuthInfos["admin"] = &clientcmdapi.AuthInfo{Token: token}
	cfg.Contexts["edgeframe"] = &clientcmdapi.Context{Cluster: "edgeframe", AuthInfo: "admin"}
	cfg.CurrentContext = "edgeframe"
	return clientcmd.Write(*cfg)
}
