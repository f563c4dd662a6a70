package session_test

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gopcua/opcua/ua"

	"github.com/edgeframe/edgeframe/test/testenv"
	"github.com/edgeframe/edgeframe/test/testkit"
	"github.com/edgeframe/edgeframe/workloads/opcpublisher/internal/nodeid"
	"github.com/edgeframe/edgeframe/workloads/opcpublisher/internal/session"
)

// recorder collects what a session reports.
type recorder struct {
	mu       sync.Mutex
	byKey    map[string][]int32
	states   []session.State
	resumed  []time.Duration
	refused  map[string]error
	lastData time.Time
}

func newRecorder() *recorder {
	return &recorder{byKey: map[string][]int32{}, refused: map[string]error{}}
}

func (r *recorder) handlers() session.Handlers {
	return session.Handlers{
		Data: func(cs []session.Change) {
			r.mu.Lock()
			defer r.mu.Unlock()
			r.lastData = time.Now()
			for _, c := range cs {
				if v, ok := c.Value.Value.Value().(int32); ok {
					r.byKey[c.Item.Key] = append(r.byKey[c.Item.Key], v)
				} else {
					r.byKey[c.Item.Key] = append(r.byKey[c.Item.Key], -1)
				}
			}
		},
		State:     func(to session.State, _ error) { r.mu.Lock(); r.states = append(r.states, to); r.mu.Unlock() },
		Resumed:   func(d time.Duration) { r.mu.Lock(); r.resumed = append(r.resumed, d); r.mu.Unlock() },
		ItemError: func(it session.Item, err error) { r.mu.Lock(); r.refused[it.Key] = err; r.mu.Unlock() },
	}
}

func (r *recorder) count(key string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.byKey[key])
}

func (r *recorder) values(key string) []int32 {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]int32(nil), r.byKey[key]...)
}

func item(t *testing.T, key, id string, interval time.Duration) session.Item {
	t.Helper()
	n, err := nodeid.Parse(id)
	if err != nil {
		t.Fatal(err)
	}
	return session.Item{Key: key, Writer: "w", Field: key, RawID: id, NodeID: n, SamplingInterval: 100 * time.Millisecond,
		PublishingInterval: interval, QueueSize: 10, Trigger: ua.DataChangeTriggerStatusValue}
}

const serverScript = "../../../../test/interop/publisher_server.js"

func startServer(t *testing.T, port int, dir string) *testenv.Process {
	return testenv.StartNodeScript(t, testenv.NodeScriptSpec{Name: "node-opcua-server", Script: serverScript, Port: port, Dir: dir,
		Env: []string{fmt.Sprintf("PORT=%d", port), "NODES=3", "RATE=100"}})
}

func logger(t *testing.T) *slog.Logger {
	if testing.Verbose() {
		return slog.New(slog.NewJSONHandler(os.Stderr, nil))
	}
	return slog.New(slog.DiscardHandler)
}

// One node-opcua server (an implementation we did not write) for the whole sequence:
// every node id form, one subscription per publishing interval, an in-place update,
// a refused item, user + SignAndEncrypt, then a server restart.
func TestSessionAgainstNodeOPCUAServer(t *testing.T) {
	port := testenv.FreePort(t)
	dir := t.TempDir()
	srv := startServer(t, port, dir)
	endpoint := fmt.Sprintf("opc.tcp://127.0.0.1:%d/UA/edgeframe", port)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()

	rec := newRecorder()
	s := session.New(session.Config{Endpoint: endpoint, SecurityMode: "None", AuthMode: "Anonymous", KeepAlive: time.Second}, rec.handlers(), logger(t))
	s.Update([]session.Item{
		item(t, "fast1", "ns=2;s=Fast1", 100*time.Millisecond),
		item(t, "fast2", "nsu=http://edgeframe.io/interop/;s=Fast2", 100*time.Millisecond),
		item(t, "numeric", "ns=2;i=1001", 500*time.Millisecond),
		item(t, "guid", "ns=2;g=09087e75-8e5e-499b-954f-f2a9603db28a", 500*time.Millisecond),
		item(t, "opaque", "ns=2;b=AAECAw==", 500*time.Millisecond),
		item(t, "missing", "ns=2;s=NoSuchNode", 500*time.Millisecond),
		item(t, "badns", "nsu=http://nowhere/;s=X", 500*time.Millisecond),
	})
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()

	t.Run("every id form delivers data", func(t *testing.T) {
		for _, k := range []string{"fast1", "fast2", "numeric", "guid", "opaque"} {
			testkit.Eventually(t, 30*time.Second, "no data for "+k, func() bool { return rec.count(k) >= 3 })
		}
		v := rec.values("fast1")
		for i := 1; i < len(v); i++ {
			if v[i] <= v[i-1] {
				t.Fatalf("fast1 values not increasing: %v", v)
			}
		}
	})
	t.Run("one subscription per publishing interval", func(t *testing.T) {
		l := s.Live()
		if len(l.Subscriptions) != 2 || l.Subscriptions[100*time.Millisecond] == 0 || l.Subscriptions[500*time.Millisecond] == 0 {
			t.Fatalf("subscriptions %v", l.Subscriptions)
		}
	})
	t.Run("refused items are reported", func(t *testing.T) {
		rec.mu.Lock()
		defer rec.mu.Unlock()
		if rec.refused["missing"] == nil || rec.refused["badns"] == nil || len(rec.refused) != 2 {
			t.Fatalf("refused %v", rec.refused)
		}
	})
	t.Run("update touches only what changed", func(t *testing.T) {
		before := s.Live()
		s.Update([]session.Item{
			item(t, "fast1", "ns=2;s=Fast1", 100*time.Millisecond),  // unchanged
			item(t, "fast3", "ns=2;s=Fast3", 100*time.Millisecond),  // added
			item(t, "temp", "ns=2;s=Temperature", 2*time.Second),    // new interval
			item(t, "numeric", "ns=2;i=1001", 100*time.Millisecond), // moved
		})
		testkit.Eventually(t, 10*time.Second, "fast3 never delivered", func() bool { return rec.count("fast3") >= 2 })
		after := s.Live()
		if after.Items["fast1"] != before.Items["fast1"] || after.Items["fast1"] == 0 {
			t.Errorf("unchanged item was re-created: %d -> %d", before.Items["fast1"], after.Items["fast1"])
		}
		if after.Subscriptions[100*time.Millisecond] != before.Subscriptions[100*time.Millisecond] {
			t.Errorf("unaffected subscription re-created")
		}
		if _, ok := after.Subscriptions[500*time.Millisecond]; ok {
			t.Errorf("empty 500ms subscription not deleted: %v", after.Subscriptions)
		}
		if _, ok := after.Subscriptions[2*time.Second]; !ok || len(after.Items) != 4 {
			t.Errorf("after update: %+v", after)
		}
	})
	t.Run("username over SignAndEncrypt", func(t *testing.T) {
		r2 := newRecorder()
		s2 := session.New(session.Config{Endpoint: endpoint, SecurityMode: "SignAndEncrypt", SecurityPolicy: "Basic256Sha256",
			AuthMode: "UsernamePassword", Username: "user1", Password: "password", PKIDir: t.TempDir(), AutoAccept: true}, r2.handlers(), logger(t))
		s2.Update([]session.Item{item(t, "fast1", "ns=2;s=Fast1", 100*time.Millisecond)})
		c2, cancel2 := context.WithCancel(ctx)
		defer cancel2()
		go func() { _ = s2.Run(c2) }()
		testkit.Eventually(t, 30*time.Second, "no data over SignAndEncrypt", func() bool { return r2.count("fast1") >= 2 })
	})
	// issue 13: without --aa the node-opcua server's certificate must be in
	// <pki>/trusted/certs; until then the session refuses to connect, says why, and
	// the certificate is written to <pki>/rejected/certs for the operator to move.
	t.Run("server certificate trust list", func(t *testing.T) {
		pki := t.TempDir()
		var mu sync.Mutex
		var lastErr error
		r4 := newRecorder()
		h := r4.handlers()
		h.State = func(to session.State, err error) {
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				lastErr = err
			}
		}
		s4 := session.New(session.Config{Endpoint: endpoint, SecurityMode: "SignAndEncrypt", SecurityPolicy: "Basic256Sha256",
			AuthMode: "Anonymous", PKIDir: pki}, h, logger(t))
		s4.Update([]session.Item{item(t, "fast1", "ns=2;s=Fast1", 100*time.Millisecond)})
		c4, cancel4 := context.WithCancel(ctx)
		defer cancel4()
		go func() { _ = s4.Run(c4) }()
		rejected := filepath.Join(pki, "rejected", "certs")
		testkit.Eventually(t, 30*time.Second, "no rejected server certificate", func() bool {
			es, _ := os.ReadDir(rejected)
			return len(es) == 1
		})
		mu.Lock()
		err := lastErr
		mu.Unlock()
		if err == nil || !strings.Contains(err.Error(), "server certificate is not trusted") {
			t.Fatalf("session error %v, want the server certificate refused", err)
		}
		time.Sleep(500 * time.Millisecond) // a window of five sampling intervals in which no value may arrive
		if n := r4.count("fast1"); n != 0 {
			t.Fatalf("%d values from an untrusted server", n)
		}
		es, _ := os.ReadDir(rejected)
		trusted := filepath.Join(pki, "trusted", "certs")
		if err := os.MkdirAll(trusted, 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.Rename(filepath.Join(rejected, es[0].Name()), filepath.Join(trusted, es[0].Name())); err != nil {
			t.Fatal(err)
		}
		testkit.Eventually(t, 30*time.Second, "no data after trusting the server certificate", func() bool { return r4.count("fast1") >= 2 })
	})
	t.Run("wrong password keeps retrying with backoff", func(t *testing.T) {
		r3 := newRecorder()
		s3 := session.New(session.Config{Endpoint: endpoint, SecurityMode: "None", AuthMode: "UsernamePassword", Username: "user1",
			Password: "wrong", PKIDir: t.TempDir(), AutoAccept: true}, r3.handlers(), logger(t))
		s3.Update([]session.Item{item(t, "fast1", "ns=2;s=Fast1", 100*time.Millisecond)})
		c3, cancel3 := context.WithCancel(ctx)
		go func() { _ = s3.Run(c3) }()
		testkit.Eventually(t, 30*time.Second, "no backoff state", func() bool {
			r3.mu.Lock()
			defer r3.mu.Unlock()
			n := 0
			for _, st := range r3.states {
				if st == session.Backoff {
					n++
				}
			}
			return n >= 2
		})
		cancel3()
		if r3.count("fast1") != 0 {
			t.Fatal("data with a wrong password")
		}
	})
	t.Run("server restart: resubscribed and data within 5 s", func(t *testing.T) {
		srv.Kill()
		testkit.Eventually(t, 10*time.Second, "loss not detected", func() bool { return s.State() != session.Connected })
		srv.Restart(t)
		n := rec.count("fast1")
		took := testkit.Eventually(t, 5*time.Second, "no data within 5 s of the server coming back", func() bool { return rec.count("fast1") > n+1 })
		t.Logf("data again %s after the server was ready", took.Round(time.Millisecond))
		rec.mu.Lock()
		defer rec.mu.Unlock()
		if len(rec.resumed) != 1 || rec.resumed[0] <= 0 {
			t.Errorf("resumed %v", rec.resumed)
		}
		if l := s.Live(); len(l.Subscriptions) != 2 || len(l.Items) != 4 {
			t.Errorf("after restart: %+v", l)
		}
	})
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if s.State() != session.Closed {
		t.Fatalf("state after Run: %s", s.State())
	}
}
