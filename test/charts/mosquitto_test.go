package charts

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"
	"github.com/edgeframe/edgeframe/test/testenv"
	"github.com/edgeframe/edgeframe/test/testkit"
)

const (
	brokerUser = "edge-pubsub"
	brokerPass = "s3cret-edge"
)

// localBroker is a mosquitto started from the chart's rendered ConfigMap, with the Secrets'
// files laid out locally.
type localBroker struct {
	*testenv.Mosquitto
	internal string // tcp://127.0.0.1:port of the password listener
	bridge   string // 127.0.0.1:port of the mTLS bridge listener ("" if disabled)
	dirs     map[string]string
}

// startRenderedBroker renders the mosquitto chart for level with local paths and loopback
// listeners, writes acl.conf and the password file, and starts a real mosquitto on the
// rendered mosquitto.conf, unchanged.
func startRenderedBroker(t *testing.T, level string, vals map[string]any, ca *testCA) *localBroker {
	t.Helper()
	root := t.TempDir()
	// mosquitto started as root drops to the mosquitto user: let it read the files and
	// write its persistence directory.
	for _, d := range []string{filepath.Dir(root), root} {
		if err := os.Chmod(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	dirs := map[string]string{}
	for _, k := range []string{"config", "secrets", "tls", "bridgeTLS", "data"} {
		dirs[k] = filepath.Join(root, k)
		if err := os.MkdirAll(dirs[k], 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Chmod(dirs["data"], 0o777); err != nil {
		t.Fatal(err)
	}
	internalPort, bridgePort := testenv.FreePort(t), testenv.FreePort(t)
	vals["level"] = level
	vals["paths"] = map[string]any{"config": dirs["config"], "secrets": dirs["secrets"], "tls": dirs["tls"], "bridgeTLS": dirs["bridgeTLS"], "data": dirs["data"] + "/"}
	vals["listeners"] = map[string]any{
		"internal": map[string]any{"port": internalPort, "bindAddress": "127.0.0.1"},
		"bridge":   map[string]any{"enabled": vals["bridgeListener"] == true, "port": bridgePort, "bindAddress": "127.0.0.1"},
	}
	delete(vals, "bridgeListener")
	files := renderChart(t, "mosquitto", "mosquitto", "edge-"+level, vals)
	conf := configMapData(t, files, "mosquitto-config", "mosquitto.conf")
	write(t, filepath.Join(dirs["config"], "acl.conf"), []byte(configMapData(t, files, "mosquitto-config", "acl.conf")))
	passwd := filepath.Join(dirs["secrets"], "passwd")
	if out, err := exec.Command(testenv.Tool(t, "mosquitto_passwd"), "-c", "-b", passwd, brokerUser, brokerPass).CombinedOutput(); err != nil {
		t.Fatalf("mosquitto_passwd: %v: %s", err, out)
	}
	if err := os.Chmod(passwd, 0o644); err != nil {
		t.Fatal(err)
	}
	b := &localBroker{internal: fmt.Sprintf("tcp://127.0.0.1:%d", internalPort), dirs: dirs}
	if strings.Contains(conf, fmt.Sprintf("listener %d", bridgePort)) {
		b.bridge = fmt.Sprintf("127.0.0.1:%d", bridgePort)
		ca.issue(t, dirs["tls"], "localhost", true)
	}
	if strings.Contains(conf, "\nconnection ") {
		ca.issue(t, dirs["bridgeTLS"], "bridge-"+level, false)
	}
	b.Mosquitto = testenv.StartMosquitto(t, testenv.MosquittoSpec{Port: internalPort, Config: conf, Name: "mosquitto-" + level})
	return b
}

func creds() testenv.SubOption { return testenv.WithCredentials(brokerUser, brokerPass) }

// connectErr tries one MQTT connection and returns its error.
func connectErr(o *mqtt.ClientOptions) error {
	o.SetConnectTimeout(5 * time.Second).SetAutoReconnect(false).SetConnectRetry(false).
		SetClientID(fmt.Sprintf("probe-%d", time.Now().UnixNano()))
	c := mqtt.NewClient(o)
	tok := c.Connect()
	if !tok.WaitTimeout(10 * time.Second) {
		return fmt.Errorf("connect timed out")
	}
	if tok.Error() == nil {
		c.Disconnect(100)
	}
	return tok.Error()
}

// TestRenderedMosquittoBridge runs two real brokers on the chart's rendered configuration:
// L2 bridges telemetry/# to L3's mTLS bridge listener at QoS 1, with a persistent session
// that queues messages while L3 is down.
func TestRenderedMosquittoBridge(t *testing.T) {
	ca := newCA(t)
	l3 := startRenderedBroker(t, "l3", map[string]any{"bridgeListener": true}, ca)
	l2 := startRenderedBroker(t, "l2", map[string]any{"bridge": map[string]any{
		"enabled": true, "address": l3.bridge, "restartTimeout": "1 2", "keepalive": 5,
	}}, ca)

	got := testenv.Subscribe(t, l3.internal, "#", creds())
	// Wait until the bridge is up: probe messages until one crosses.
	testkit.Eventually(t, 20*time.Second, "the L2→L3 bridge carries a probe", func() bool {
		testenv.Publish(t, l2.internal, "telemetry/probe/1", []byte("probe"), creds())
		select {
		case <-got:
			return true
		case <-time.After(time.Second):
			return false
		}
	})
	drain(got)

	testenv.Publish(t, l2.internal, "telemetry/tempsensor/dev1", []byte(`{"id":"1"}`), creds())
	m := testenv.Receive(t, got, 10*time.Second)
	if m.Topic != "telemetry/tempsensor/dev1" || string(m.Payload) != `{"id":"1"}` {
		t.Fatalf("L3 got %s %q", m.Topic, m.Payload)
	}
	if m.QoS != 1 {
		t.Fatalf("bridged message arrived at QoS %d, want 1 (the bridge must carry telemetry/# at QoS 1)", m.QoS)
	}

	// Only telemetry/# goes up.
	testenv.Publish(t, l2.internal, "control/tempsensor", []byte("local"), creds())
	testenv.Publish(t, l2.internal, "telemetry/tempsensor/dev2", []byte("marker"), creds())
	if m := testenv.Receive(t, got, 10*time.Second); m.Topic != "telemetry/tempsensor/dev2" {
		t.Fatalf("L3 got %s before the marker: control topics must not be bridged", m.Topic)
	}

	// Parent down: L2 queues QoS 1 telemetry for the bridge and delivers it on reconnect.
	l3.Kill()
	for i := 0; i < 5; i++ {
		testenv.Publish(t, l2.internal, fmt.Sprintf("telemetry/tempsensor/queued%d", i), []byte("q"), creds())
	}
	l3.Restart(t)
	got2 := testenv.Subscribe(t, l3.internal, "telemetry/#", creds())
	seen := map[string]bool{}
	for len(seen) < 5 {
		m := testenv.Receive(t, got2, 30*time.Second)
		if strings.HasPrefix(m.Topic, "telemetry/tempsensor/queued") {
			seen[m.Topic] = true
		}
	}
}

func drain(ch <-chan testenv.MQTTMessage) {
	for {
		select {
		case <-ch:
		case <-time.After(300 * time.Millisecond):
			return
		}
	}
}

// TestRenderedMosquittoRejects: no anonymous clients, no wrong passwords, and the bridge
// listener refuses TLS clients without a certificate from the CA.
func TestRenderedMosquittoRejects(t *testing.T) {
	ca := newCA(t)
	b := startRenderedBroker(t, "l3", map[string]any{"bridgeListener": true}, ca)

	if err := connectErr(mqtt.NewClientOptions().AddBroker(b.internal)); err == nil {
		t.Error("anonymous client accepted on the in-cluster listener")
	}
	if err := connectErr(mqtt.NewClientOptions().AddBroker(b.internal).SetUsername(brokerUser).SetPassword("wrong")); err == nil {
		t.Error("wrong password accepted")
	}
	if err := connectErr(mqtt.NewClientOptions().AddBroker(b.internal).SetUsername(brokerUser).SetPassword(brokerPass)); err != nil {
		t.Errorf("valid user refused: %v", err)
	}

	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(ca.pem)
	noCert := &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
	if err := connectErr(mqtt.NewClientOptions().AddBroker("ssl://" + b.bridge).SetTLSConfig(noCert)); err == nil {
		t.Error("bridge listener accepted a TLS client without a certificate")
	}
	other := newCA(t)
	dir := t.TempDir()
	other.issue(t, dir, "bridge-l2", false)
	cert, err := tls.LoadX509KeyPair(filepath.Join(dir, "tls.crt"), filepath.Join(dir, "tls.key"))
	if err != nil {
		t.Fatal(err)
	}
	foreign := &tls.Config{RootCAs: pool, Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	if err := connectErr(mqtt.NewClientOptions().AddBroker("ssl://" + b.bridge).SetTLSConfig(foreign)); err == nil {
		t.Error("bridge listener accepted a client certificate from another CA")
	}
	ca.issue(t, dir, "bridge-l2", false)
	cert, err = tls.LoadX509KeyPair(filepath.Join(dir, "tls.crt"), filepath.Join(dir, "tls.key"))
	if err != nil {
		t.Fatal(err)
	}
	good := &tls.Config{RootCAs: pool, Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	if err := connectErr(mqtt.NewClientOptions().AddBroker("ssl://" + b.bridge).SetTLSConfig(good)); err != nil {
		t.Errorf("bridge listener refused a client certificate from the CA: %v", err)
	}
}

// TestShippedBrokerSessionsAndBridges: every profile's bridges use try_private (mosquitto's
// default between mosquitto brokers: the parent knows the connection is a bridge, for loop
// detection and retained messages; test/e2e and the topology tests run it through the link
// proxy), and every broker expires persistent sessions whose client never comes back, so a
// removed app id or level stops queueing messages forever.
func TestShippedBrokerSessionsAndBridges(t *testing.T) {
	bridges := 0
	for _, p := range profiles(t) {
		for _, r := range p.Releases {
			if r.Chart != "mosquitto" {
				continue
			}
			conf := configMapData(t, renderRelease(t, p, r), r.Name+"-config", "mosquitto.conf")
			at := fmt.Sprintf("profile %s %s/%s", p.Name, r.Namespace, r.Name)
			if !strings.Contains(conf, "\npersistent_client_expiration 7d\n") {
				t.Errorf("%s: mosquitto.conf has no persistent_client_expiration 7d", at)
			}
			if strings.Contains(conf, "\nconnection ") {
				bridges++
				if !strings.Contains(conf, "\ntry_private true\n") {
					t.Errorf("%s: the bridge does not use try_private true", at)
				}
			}
		}
	}
	if bridges == 0 {
		t.Fatal("no profile renders a bridge")
	}
}

// TestBrokerCrashLosesOnlyWhatArrivedSinceTheLastSave measures the loss window the charts
// document for persistence.autosaveInterval, on the chart's default (30 s, what every profile,
// the demo and the e2e suite run): a persistent session's queued QoS 1 messages that the broker
// saved survive a kill -9, the ones it acknowledged after its last save do not.
func TestBrokerCrashLosesOnlyWhatArrivedSinceTheLastSave(t *testing.T) {
	testkit.SkipShort(t, "a wait for the broker's 30 s autosave")
	b := startRenderedBroker(t, "l4", map[string]any{}, newCA(t))
	conf, err := os.ReadFile(b.ConfPath)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(conf), "\nautosave_interval 30\n") {
		t.Fatalf("the chart's default autosave_interval is no longer 30; update this test and the docs:\n%s", conf)
	}
	session := func(handler mqtt.MessageHandler) mqtt.Client {
		o := mqtt.NewClientOptions().AddBroker(b.internal).SetClientID("loss-window").SetCleanSession(false).
			SetUsername(brokerUser).SetPassword(brokerPass).SetAutoReconnect(false).SetConnectTimeout(5 * time.Second).
			SetDefaultPublishHandler(handler)
		c := mqtt.NewClient(o)
		if tok := c.Connect(); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
			t.Fatalf("session connect: %v", tok.Error())
		}
		return c
	}
	c := session(nil)
	if tok := c.Subscribe("telemetry/#", 1, nil); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		t.Fatalf("subscribe: %v", tok.Error())
	}
	c.Disconnect(100) // the session now queues telemetry/# for "loss-window"

	publish := func(batch string, n int) {
		for i := range n {
			testenv.Publish(t, b.internal, "telemetry/loss/"+batch, fmt.Appendf(nil, "%s-%d", batch, i), creds())
		}
	}
	db := filepath.Join(b.dirs["data"], "mosquitto.db")
	publish("saved", 20)
	queued := time.Now()
	// wait for the next autosave after the first batch was acknowledged
	testkit.Eventually(t, 45*time.Second, "mosquitto saves its state", func() bool {
		st, err := os.Stat(db)
		return err == nil && st.ModTime().After(queued)
	})
	publish("unsaved", 20) // acknowledged, then lost: the next save is ~30 s away
	b.Kill()
	b.Restart(t)

	got := make(chan string, 100)
	c = session(func(_ mqtt.Client, m mqtt.Message) { got <- string(m.Payload()) })
	defer c.Disconnect(100)
	count := map[string]int{}
	for quiet := time.NewTimer(3 * time.Second); ; {
		select {
		case p := <-got:
			batch, _, _ := strings.Cut(p, "-")
			count[batch]++
			quiet.Reset(3 * time.Second)
			continue
		case <-quiet.C:
		}
		break
	}
	if count["saved"] != 20 || count["unsaved"] != 0 {
		t.Fatalf("after kill -9: %d of 20 saved and %d of 20 unsaved messages redelivered, want 20 and 0", count["saved"], count["unsaved"])
	}
	t.Logf("kill -9 after a save: the 20 messages queued before it survived, the 20 acknowledged after it were lost")
}
