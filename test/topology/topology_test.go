package topology_test

import (
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/edgeframe/edgeframe/internal/topology"
	"github.com/edgeframe/edgeframe/test/testenv"
	"github.com/edgeframe/edgeframe/test/testkit"
	"github.com/edgeframe/edgeframe/test/topologytest"
)

func TestBrokerChainCarriesTelemetryOverAuthenticatedTLSBridges(t *testing.T) {
	topo := topologytest.StartT(t, topologytest.TestConfig(t, true))
	l2, l4 := topo.Brokers["l2"], topo.Brokers["l4"]
	mon := func(level string) testenv.SubOption {
		return testenv.WithCredentials(topology.MonitorUser, topo.Creds[level][topology.MonitorUser])
	}
	sub := testenv.Subscribe(t, l4.URL, "telemetry/#", mon("l4"))
	pub := testenv.WithCredentials(topology.PubSubUser, topo.Creds["l2"][topology.PubSubUser])

	// the bridges connect asynchronously after start: publish until the first arrives
	testkit.Eventually(t, 20*time.Second, "a probe bridged L2 → L3 → L4", func() bool {
		testenv.Publish(t, l2.URL, "telemetry/tempsensor/probe", []byte("probe"), pub)
		select {
		case m := <-sub:
			if m.Topic != "telemetry/tempsensor/probe" || m.QoS != 1 {
				t.Fatalf("at L4: topic %q qos %d", m.Topic, m.QoS)
			}
			return true
		case <-time.After(500 * time.Millisecond):
			return false
		}
	})

	// configuration shipped by the chart: no anonymous access, QoS 1 bridge, persistent session
	conf, err := os.ReadFile(topo.Brokers["l2"].Files.ConfPath)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"allow_anonymous false", "topic telemetry/# out 1", "cleansession false", "persistence true", "require_certificate"} {
		if want == "require_certificate" {
			conf3, _ := os.ReadFile(topo.Brokers["l3"].Files.ConfPath)
			if !strings.Contains(string(conf3), "require_certificate true") {
				t.Errorf("L3 mosquitto.conf lacks require_certificate true")
			}
			continue
		}
		if !strings.Contains(string(conf), want) {
			t.Errorf("L2 mosquitto.conf lacks %q", want)
		}
	}
	if msgs, err := topo.QueueLimit(); err != nil || msgs < 1000 {
		t.Errorf("L2 max_queued_messages %d (%v)", msgs, err)
	}
}

func TestBrokersRejectAnonymousAndWrongPasswords(t *testing.T) {
	topo := topologytest.StartT(t, topologytest.TestConfig(t, true))
	for _, opt := range []struct{ name, user, pass string }{
		{"anonymous", "", ""},
		{"wrong password", topology.PubSubUser, "wrong"},
		{"other level's password", topology.MonitorUser, topo.Creds["l4"][topology.MonitorUser]},
	} {
		if err := topology.TryConnect(topo.Brokers["l2"].URL, opt.user, opt.pass); err == nil {
			t.Errorf("%s: L2 broker accepted the connection", opt.name)
		}
	}
	if err := topology.TryConnect(topo.Brokers["l2"].URL, topology.MonitorUser, topo.Creds["l2"][topology.MonitorUser]); err != nil {
		t.Errorf("monitor with the L2 password: %v", err)
	}
}

func TestLinkCutQueuesAtTheChildAndDeliversAfterRestore(t *testing.T) {
	topo := topologytest.StartT(t, topologytest.TestConfig(t, true))
	l2, l4 := topo.Brokers["l2"], topo.Brokers["l4"]
	sub := testenv.Subscribe(t, l4.URL, "telemetry/#", testenv.WithCredentials(topology.MonitorUser, topo.Creds["l4"][topology.MonitorUser]))
	pub := testenv.WithCredentials(topology.PubSubUser, topo.Creds["l2"][topology.PubSubUser])
	waitFor := func(payload string, d time.Duration) bool {
		deadline := time.After(d)
		for {
			select {
			case m := <-sub:
				if string(m.Payload) == payload {
					return true
				}
			case <-deadline:
				return false
			}
		}
	}
	// warm up: the bridges are connected once a probe arrives
	ok := false
	for i := 0; i < 40 && !ok; i++ {
		testenv.Publish(t, l2.URL, "telemetry/x/probe", []byte("probe"), pub)
		ok = waitFor("probe", 500*time.Millisecond)
	}
	if !ok {
		t.Fatal("bridges not connected within 20 s")
	}
	topo.Links["l2"].Cut()
	const n = 200
	for i := 0; i < n; i++ {
		testenv.Publish(t, l2.URL, "telemetry/x/cut", []byte(fmt.Sprintf("m%d", i)), pub)
	}
	select {
	case m := <-sub:
		if strings.HasPrefix(string(m.Payload), "m") {
			t.Fatalf("message %s crossed a cut link", m.Payload)
		}
	case <-time.After(2 * time.Second):
	}
	if err := topo.Links["l2"].Restore(); err != nil {
		t.Fatal(err)
	}
	got := map[string]bool{}
	deadline := time.After(30 * time.Second)
	for len(got) < n {
		select {
		case m := <-sub:
			got[string(m.Payload)] = true
		case <-deadline:
			t.Fatalf("after restoring the link %d of %d queued messages arrived", len(got), n)
		}
	}
}

func TestBridgeRecoversAfterParentBrokerKill(t *testing.T) {
	topo := topologytest.StartT(t, topologytest.TestConfig(t, true))
	l2, l4 := topo.Brokers["l2"], topo.Brokers["l4"]
	sub := testenv.Subscribe(t, l4.URL, "telemetry/#", testenv.WithCredentials(topology.MonitorUser, topo.Creds["l4"][topology.MonitorUser]))
	pub := testenv.WithCredentials(topology.PubSubUser, topo.Creds["l2"][topology.PubSubUser])
	through := func(payload string, d time.Duration) bool {
		deadline := time.Now().Add(d)
		for time.Now().Before(deadline) {
			testenv.Publish(t, l2.URL, "telemetry/x/"+payload, []byte(payload), pub)
			select {
			case m := <-sub:
				if string(m.Payload) == payload {
					return true
				}
			case <-time.After(500 * time.Millisecond):
			}
		}
		return false
	}
	if !through("before", 20*time.Second) {
		t.Fatal("bridges not connected within 20 s")
	}
	if err := topo.Kill("mosquitto-l3"); err != nil {
		t.Fatal(err)
	}
	time.Sleep(15 * time.Second) // the outage under test: the bridges retry against a dead L3
	if err := topo.Restart(t.Context(), "mosquitto-l3"); err != nil {
		t.Fatal(err)
	}
	if !through("after", 30*time.Second) {
		t.Fatal("nothing bridged L2 → L3 → L4 within 30 s of the L3 broker's restart")
	}
}
