package localcluster

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net"
	"strings"
	"time"

	"github.com/edgeframe/edgeframe/internal/selfhosted"
)

// Levels are the single-cluster profile's level namespaces, bottom up.
var Levels = []string{"l2", "l3", "l4"}

// SiteSecrets are the secrets a site provides before `porter install` (the charts reference
// them; the bundle does not create them): per level the broker's password file and its TLS
// server and bridge-client certificates from one site CA, the Dapr pub/sub broker URL with
// credentials (levels with workloads), and the gateway's (empty: local file sink) sink
// credentials. It returns the edge-pubsub password per level namespace.
func (c Config) SiteSecrets(ctx context.Context) (map[string]string, error) {
	ca, err := selfhosted.NewCA("edgeframe-site-ca", 30*24*time.Hour)
	if err != nil {
		return nil, err
	}
	passwords := map[string]string{}
	var docs []string
	for _, lvl := range Levels {
		ns := "edge-" + lvl
		pw := randomHex(12)
		passwords[ns] = pw
		passwd, err := selfhosted.PasswordFile(map[string]string{"edge-pubsub": pw})
		if err != nil {
			return nil, err
		}
		host := "mosquitto-bridge." + ns + ".svc.cluster.local"
		server, err := ca.Server(host, []string{"mosquitto-bridge", "mosquitto-bridge." + ns, "mosquitto-bridge." + ns + ".svc", host}, []net.IP{}, 30*24*time.Hour)
		if err != nil {
			return nil, err
		}
		client, err := ca.Client("bridge-"+lvl, 30*24*time.Hour)
		if err != nil {
			return nil, err
		}
		docs = append(docs,
			namespaceDoc(ns),
			secretDoc(ns, "mosquitto-passwd", "", map[string][]byte{"passwd": []byte(passwd)}),
			secretDoc(ns, "mosquitto-server-tls", "kubernetes.io/tls", map[string][]byte{"ca.crt": ca.CertPEM, "tls.crt": server.CertPEM, "tls.key": server.KeyPEM}),
			secretDoc(ns, "mosquitto-bridge-tls", "kubernetes.io/tls", map[string][]byte{"ca.crt": ca.CertPEM, "tls.crt": client.CertPEM, "tls.key": client.KeyPEM}),
			secretDoc(ns, "edge-pubsub-credentials", "", map[string][]byte{"url": []byte(fmt.Sprintf("tcp://edge-pubsub:%s@mosquitto.%s.svc.cluster.local:1883", pw, ns))}),
		)
	}
	docs = append(docs, secretDoc("edge-l4", "datagateway-sinks", "", map[string][]byte{}))
	return passwords, c.apply(ctx, strings.Join(docs, "---\n"))
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

func namespaceDoc(ns string) string {
	return fmt.Sprintf("apiVersion: v1\nkind: Namespace\nmetadata: {name: %s}\n", ns)
}

func secretDoc(ns, name, typ string, data map[string][]byte) string {
	var b strings.Builder
	fmt.Fprintf(&b, "apiVersion: v1\nkind: Secret\nmetadata: {name: %s, namespace: %s}\n", name, ns)
	if typ != "" {
		fmt.Fprintf(&b, "type: %s\n", typ)
	}
	b.WriteString("data:\n")
	if len(data) == 0 {
		b.Reset()
		fmt.Fprintf(&b, "apiVersion: v1\nkind: Secret\nmetadata: {name: %s, namespace: %s}\ndata: {}\n", name, ns)
		return b.String()
	}
	for k, v := range data {
		fmt.Fprintf(&b, "  %s: %s\n", k, b64(v))
	}
	return b.String()
}
