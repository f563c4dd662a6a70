package main_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/edgeframe/edgeframe/internal/supervise"
	"github.com/edgeframe/edgeframe/pkg/cloudevent"
	"github.com/edgeframe/edgeframe/test/testenv"
	"github.com/edgeframe/edgeframe/test/testenv/profile"
	"github.com/edgeframe/edgeframe/test/testkit"
	"github.com/edgeframe/edgeframe/workloads/tempsensor/internal/model"
)

// rig is the real data path: mosquitto, daprd (pubsub.mqtt3 "edge-pubsub", app channel
// gRPC to the sensor) and the tempsensor binary; a test subscriber on telemetry/#.
type rig struct {
	broker    *testenv.Mosquitto
	daprd     *testenv.Daprd
	sensor    *testenv.Process
	http      string
	telemetry <-chan testenv.MQTTMessage
}

func start(t testing.TB, args ...string) *rig {
	t.Helper()
	bin := testenv.BuildWorkload(t, "tempsensor")
	r := &rig{broker: profile.StartMosquitto(t, "l2")}
	r.telemetry = testenv.Subscribe(t, r.broker.URL, "telemetry/#")
	appPort := testenv.FreePort(t)
	spec := profile.Daprd(t, "l2", "tempsensor", r.broker.URL)
	spec.AppPort, spec.AppProtocol = appPort, "grpc"
	r.daprd = testenv.StartDaprd(t, spec)
	r.http = fmt.Sprintf("127.0.0.1:%d", testenv.FreePort(t))
	r.sensor = testenv.StartProcess(t, testenv.ProcSpec{
		Name: "tempsensor",
		Path: bin,
		Args: append([]string{"--app-port", fmt.Sprint(appPort), "--http", r.http}, args...),
		// the sidecar address comes the way a pod gets it; IoT Edge's own names work as env
		Env:   []string{fmt.Sprintf("DAPR_GRPC_ENDPOINT=127.0.0.1:%d", r.daprd.GRPCPort), "EDGEFRAME_TEMPSENSOR_LOG_LEVEL=debug"},
		Ready: supervise.HTTPReady("http://" + r.http + "/healthz"),
	})
	return r
}

// waitSubscribed waits until daprd has loaded the sensor's subscription to topic.
func (r *rig) waitSubscribed(t testing.TB, topic string) {
	t.Helper()
	testkit.Eventually(t, 60*time.Second, "daprd subscribes the sensor to "+topic, func() bool {
		var md struct {
			Subscriptions []struct {
				PubsubName string `json:"pubsubname"`
				Topic      string `json:"topic"`
			} `json:"subscriptions"`
		}
		if err := getJSON(fmt.Sprintf("http://127.0.0.1:%d/v1.0/metadata", r.daprd.HTTPPort), &md); err != nil {
			return false
		}
		for _, s := range md.Subscriptions {
			if s.PubsubName == "edge-pubsub" && s.Topic == topic {
				return true
			}
		}
		return false
	})
}

func getJSON(url string, v any) error {
	resp, err := http.Get(url)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%s: %s", url, resp.Status)
	}
	return json.NewDecoder(resp.Body).Decode(v)
}

// invoke calls a method of the sensor through daprd's service invocation API and
// returns the state it answers with.
func (r *rig) invoke(t *testing.T, method string) map[string]any {
	t.Helper()
	url := fmt.Sprintf("http://127.0.0.1:%d/v1.0/invoke/tempsensor/method/%s", r.daprd.HTTPPort, method)
	resp, err := http.Post(url, "application/json", strings.NewReader("{}"))
	if err != nil {
		t.Fatalf("invoke %s: %v", method, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var st map[string]any
	if resp.StatusCode != http.StatusOK || json.Unmarshal(b, &st) != nil {
		t.Fatalf("invoke %s: %s %s", method, resp.Status, b)
	}
	return st
}

// control publishes a control CloudEvent straight to mosquitto; daprd delivers it to
// the sensor's subscription.
func (r *rig) control(t *testing.T, data string) {
	t.Helper()
	ev := fmt.Sprintf(`{"specversion":"1.0","id":"ctl-%d","source":"edgeframe/l3/operator","type":"io.edgeframe.control.v1","datacontenttype":"application/json","data":%s}`,
		time.Now().UnixNano(), data)
	testenv.Publish(t, r.broker.URL, "control/tempsensor", []byte(ev))
}

type reading struct {
	topic string
	ev    cloudevent.Event
	body  model.Body
}

func decode(t testing.TB, m testenv.MQTTMessage) reading {
	t.Helper()
	ev, err := cloudevent.Decode(m.Payload)
	if err != nil {
		t.Fatalf("message on %s is not a valid CloudEvent: %v\n%s", m.Topic, err, m.Payload)
	}
	var b model.Body
	if err := json.Unmarshal(ev.Data, &b); err != nil {
		t.Fatalf("data %s: %v", ev.Data, err)
	}
	return reading{topic: m.Topic, ev: ev, body: b}
}

// next waits up to d for the next reading.
func (r *rig) next(t *testing.T, d time.Duration) reading {
	t.Helper()
	return decode(t, testenv.Receive(t, r.telemetry, d))
}

// until reads telemetry until ok holds or d passes; it returns the matching reading.
func (r *rig) until(t *testing.T, d time.Duration, what string, ok func(reading) bool) reading {
	t.Helper()
	deadline := time.After(d)
	for {
		select {
		case m := <-r.telemetry:
			if rd := decode(t, m); ok(rd) {
				return rd
			}
		case <-deadline:
			t.Fatalf("no reading %s within %s", what, d)
		}
	}
}

// quiet asserts that no telemetry arrives for d, after letting in-flight messages land.
func (r *rig) quiet(t *testing.T, settle, d time.Duration) (last int64) {
	t.Helper()
	drain := time.After(settle)
	for done := false; !done; {
		select {
		case m := <-r.telemetry:
			last = decode(t, m).ev.Sequence
		case <-drain:
			done = true
		}
	}
	select {
	case m := <-r.telemetry:
		t.Fatalf("telemetry while paused: %s", m.Payload)
	case <-time.After(d):
	}
	return last
}

func (r *rig) metric(t *testing.T, line string) bool {
	t.Helper()
	resp, err := http.Get("http://" + r.http + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return strings.Contains(string(b), line)
}

var guid = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)

func keys(m map[string]json.RawMessage) string {
	var k []string
	for n := range m {
		k = append(k, n)
	}
	sort.Strings(k)
	return strings.Join(k, ",")
}

// MessageCount is honoured exactly, every message is the IoT Edge body inside our
// CloudEvent (id, sequence 1..N, one batch GUID), within the model's bounds, and
// --exit-when-done ends the process once everything is published.
func TestMessageCountShapeAndBounds(t *testing.T) {
	r := start(t, "--MessageCount=50", "--MessageDelay=00:00:00.001", "--device-id=press-7", "--exit-when-done")
	seen := map[int64]bool{}
	batch := ""
	for i := 0; i < 50; i++ {
		m := testenv.Receive(t, r.telemetry, 20*time.Second)
		rd := decode(t, m)
		ev, b := rd.ev, rd.body
		if rd.topic != "telemetry/tempsensor/press-7" {
			t.Fatalf("topic %s", rd.topic)
		}
		if seen[ev.Sequence] || ev.Sequence < 1 || ev.Sequence > 50 {
			t.Fatalf("sequence %d repeated or outside 1..50", ev.Sequence)
		}
		seen[ev.Sequence] = true
		if ev.ID != cloudevent.NewID("tempsensor", "press-7", ev.Sequence) || ev.Type != cloudevent.TypeFor("tempsensor") ||
			ev.Source != cloudevent.SourceFor("l2", "tempsensor") || ev.DataContentType != "application/json" {
			t.Errorf("event attributes %+v", ev)
		}
		id, _ := ev.Extensions["batchid"].(string)
		if !guid.MatchString(id) || (batch != "" && id != batch) {
			t.Fatalf("batchid %q (first %q)", id, batch)
		}
		batch = id
		var raw map[string]json.RawMessage
		_ = json.Unmarshal(ev.Data, &raw)
		var machine, ambient map[string]json.RawMessage
		_ = json.Unmarshal(raw["machine"], &machine)
		_ = json.Unmarshal(raw["ambient"], &ambient)
		if keys(raw) != "ambient,machine,timeCreated" || keys(machine) != "pressure,temperature" || keys(ambient) != "humidity,temperature" {
			t.Fatalf("body shape %s", ev.Data)
		}
		mt := b.Machine.Temperature
		if mt < 21-0.25*float64(ev.Sequence) || mt > 21+1.25*float64(ev.Sequence) {
			t.Errorf("message %d: machine temperature %g beyond the walk from 21", ev.Sequence, mt)
		}
		if want := 1 + (mt-21)*9/79; b.Machine.Pressure < want-1e-9 || b.Machine.Pressure > want+1e-9 {
			t.Errorf("message %d: pressure %g, want %g", ev.Sequence, b.Machine.Pressure, want)
		}
		if b.Ambient.Temperature < 20.5 || b.Ambient.Temperature >= 21.5 || b.Ambient.Humidity < 24 || b.Ambient.Humidity > 26 {
			t.Errorf("message %d: ambient %+v", ev.Sequence, b.Ambient)
		}
		if d := time.Since(b.TimeCreated); d < 0 || d > time.Minute || b.TimeCreated.Location() != time.UTC {
			t.Errorf("message %d: timeCreated %v", ev.Sequence, b.TimeCreated)
		}
	}
	select {
	case m := <-r.telemetry:
		t.Fatalf("message beyond MessageCount 50: %s", m.Payload)
	case <-time.After(time.Second):
	}
	testkit.Eventually(t, 15*time.Second, "the sensor exits after its 50 messages (--exit-when-done)", r.sensor.Exited)
	if r.sensor.ExitErr() != nil {
		t.Fatalf("with --exit-when-done the sensor should exit 0 after its 50 messages: exited %v, %v", r.sensor.Exited(), r.sensor.ExitErr())
	}
}

// Reset through Dapr service invocation and through a control message on
// control/tempsensor both send the machine temperature back to machineTempMin.
func TestResetByInvocationAndByControlTopic(t *testing.T) {
	r := start(t, "--message-count=-1", "--rate=200")
	r.waitSubscribed(t, "control/tempsensor")
	hot := func(rd reading) bool { return rd.body.Machine.Temperature > 60 }
	// From above 60 °C the walk cannot come back below 23 °C by itself in any
	// realistic time (it falls at most 0.25 per message), so a cold reading is the reset.
	cold := func(rd reading) bool { return rd.body.Machine.Temperature < 22.25 }

	r.until(t, 30*time.Second, "above 60 °C", hot)
	st := r.invoke(t, "reset")
	if st["batchId"] == "" || st["sendData"] != true {
		t.Errorf("reset answered %v", st)
	}
	rd := r.until(t, 10*time.Second, "after the reset method", cold)
	t.Logf("invoke reset: message %d at %.2f °C", rd.ev.Sequence, rd.body.Machine.Temperature)

	r.until(t, 30*time.Second, "above 60 °C again", hot)
	// The control topic goes through MQTT QoS 1 and daprd's subscription; resend until
	// the effect shows, in case the subscription was still settling.
	var got reading
	for attempt := 0; attempt < 5 && got.ev.ID == ""; attempt++ {
		r.control(t, `{"command":"reset"}`)
		deadline := time.After(3 * time.Second)
	read:
		for {
			select {
			case m := <-r.telemetry:
				if x := decode(t, m); cold(x) {
					got = x
					break read
				}
			case <-deadline:
				break read
			}
		}
	}
	if got.ev.ID == "" {
		t.Fatal("the control message never reset the temperature")
	}
	t.Logf("control topic reset: message %d at %.2f °C", got.ev.Sequence, got.body.Machine.Temperature)
	if !r.metric(t, `edgeframe_tempsensor_control_commands_total{command="reset",via="invoke"} 1`) ||
		!r.metric(t, `edgeframe_tempsensor_control_commands_total{command="reset",via="topic"}`) {
		t.Error("control commands not counted in /metrics")
	}
}

// SendData=false pauses sending; resume and pause work through the control topic (an
// IoT Edge style array) and through service invocation; the sequence stays contiguous.
// The test reads the order of arrival, so it publishes one call at a time
// (--publish-calls=1); with calls in flight, messages may arrive out of order.
func TestSendDataPauseAndResume(t *testing.T) {
	r := start(t, "--message-count=-1", "--rate=200", "--SendData=false", "--publish-calls=1")
	r.waitSubscribed(t, "control/tempsensor")
	r.quiet(t, 0, 1500*time.Millisecond)
	if st := r.invoke(t, "status"); st["sendData"] != false || st["sequence"] != float64(0) {
		t.Fatalf("status while paused: %v", st)
	}

	var first reading
	for attempt := 0; attempt < 5 && first.ev.ID == ""; attempt++ {
		r.control(t, `[{"command":"resume"}]`)
		select {
		case m := <-r.telemetry:
			first = decode(t, m)
		case <-time.After(3 * time.Second):
		}
	}
	if first.ev.Sequence != 1 {
		t.Fatalf("after resume the first message should be sequence 1, got %+v", first.ev)
	}
	r.next(t, 5*time.Second)

	st := r.invoke(t, "pause")
	if st["sendData"] != false {
		t.Fatalf("pause answered %v", st)
	}
	last := r.quiet(t, time.Second, 1500*time.Millisecond)
	if sent := int64(r.invoke(t, "status")["sequence"].(float64)); last > sent || sent < 2 {
		t.Fatalf("last message %d, sensor says it sent %d", last, sent)
	}
	sent := int64(r.invoke(t, "status")["sequence"].(float64))
	r.invoke(t, "resume")
	if rd := r.next(t, 5*time.Second); rd.ev.Sequence != sent+1 {
		t.Fatalf("after resume: sequence %d, want %d (contiguous)", rd.ev.Sequence, sent+1)
	}
	if !r.metric(t, "edgeframe_tempsensor_send_data 1") {
		t.Error("send_data gauge not 1 after resume")
	}
}

// A malformed control message is dropped (not retried), counted, and leaves the sensor
// working; SIGTERM then stops it cleanly.
func TestInvalidControlMessageIsDroppedAndCounted(t *testing.T) {
	r := start(t, "--message-count=-1", "--rate=50")
	r.waitSubscribed(t, "control/tempsensor")
	r.next(t, 10*time.Second)
	// one invalid command a second until it is counted (the first may precede the subscription)
	lastSent := time.Time{}
	testkit.Eventually(t, 15*time.Second, "the invalid control message counted", func() bool {
		if r.metric(t, `edgeframe_tempsensor_control_rejected_total{via="topic"}`) {
			return true
		}
		if time.Since(lastSent) >= time.Second {
			r.control(t, `{"command":"explode"}`)
			lastSent = time.Now()
		}
		return false
	})
	if !strings.Contains(r.sensor.Log(), `unknown command \"explode\"`) {
		t.Error("the log does not say why the control message was dropped")
	}
	r.next(t, 5*time.Second)

	// SIGTERM while connected to its sidecar: a clean exit, well before Stop's SIGKILL.
	t0 := time.Now()
	r.sensor.Stop()
	t.Logf("SIGTERM to exit: %s", time.Since(t0))
	if err := r.sensor.ExitErr(); err != nil || time.Since(t0) > 8*time.Second {
		t.Errorf("SIGTERM: exit %v after %s", err, time.Since(t0))
	}
	if !strings.Contains(r.sensor.Log(), `"msg":"tempsensor stopped"`) {
		t.Error("no orderly shutdown in the log")
	}
}

// A sidecar outage delays telemetry instead of losing it: messages wait in the send
// queue (retried with backoff, /readyz failing meanwhile) and all arrive once daprd is back.
func TestSidecarOutageLosesNothing(t *testing.T) {
	const n = 500
	r := start(t, "--rate=100", fmt.Sprintf("--message-count=%d", n))
	seen := map[int64]bool{}
	for len(seen) < 50 {
		seen[r.next(t, 10*time.Second).ev.Sequence] = true
	}
	r.daprd.Kill()
	testkit.Eventually(t, 10*time.Second, "/readyz not ready during the outage", func() bool {
		return strings.Contains(httpGet(t, "http://"+r.http+"/readyz"), "not ready")
	})
	if body := httpGet(t, "http://"+r.http+"/readyz"); !strings.Contains(body, "Dapr sidecar") {
		t.Errorf("/readyz during the outage: %q", body)
	}
	time.Sleep(time.Second) // the outage under test: a second more of telemetry queued while daprd is down
	r.daprd.Restart(t)
	timeout := time.After(60 * time.Second)
	for len(seen) < n {
		select {
		case m := <-r.telemetry:
			seen[decode(t, m).ev.Sequence] = true
		case <-timeout:
			var missing []int64
			for i := int64(1); i <= n && len(missing) < 20; i++ {
				if !seen[i] {
					missing = append(missing, i)
				}
			}
			t.Fatalf("%d of %d messages arrived; first missing %v", len(seen), n, missing)
		}
	}
	if r.metric(t, "edgeframe_tempsensor_publish_retries_total 0\n") {
		t.Error("no publish was retried: the outage was not seen")
	}
	if !r.metric(t, "edgeframe_tempsensor_messages_dropped_total{reason=\"queue full\"} 0") {
		t.Error("messages dropped during a short outage")
	}
	if httpGet(t, "http://"+r.http+"/readyz") != "ok\n" {
		t.Error("/readyz still failing after the sidecar came back")
	}
}

func httpGet(t *testing.T, url string) string {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}

// With --state-dir a restarted sensor — after SIGTERM or after SIGKILL — continues after
// every sequence of the previous process: no message id repeats, so a consumer that
// deduplicates by id keeps every new message. Each process has its own batchid.
func TestRestartWithStateDirNeverRepeatsAnID(t *testing.T) {
	state := t.TempDir()
	r := start(t, "--rate=100", "--message-count=-1", "--device-id=press-7", "--state-dir", state)
	byBatch := map[string][]int64{}
	var order []string
	ids := map[string]string{} // id -> batch
	collect := func(n int) string {
		t.Helper()
		var batch string
		for got := 0; got < n; {
			rd := r.next(t, 20*time.Second)
			b, _ := rd.ev.Extensions["batchid"].(string)
			if prev, dup := ids[rd.ev.ID]; dup && prev != b {
				t.Fatalf("id %s produced by two processes (batches %s and %s)", rd.ev.ID, prev, b)
			}
			ids[rd.ev.ID] = b
			if _, ok := byBatch[b]; !ok {
				order = append(order, b)
			}
			byBatch[b] = append(byBatch[b], rd.ev.Sequence)
			batch = b
			got++
		}
		return batch
	}
	span := func(b string) (lo, hi int64) {
		lo, hi = byBatch[b][0], byBatch[b][0]
		for _, s := range byBatch[b] {
			lo, hi = min(lo, s), max(hi, s)
		}
		return lo, hi
	}

	first := collect(50)
	if lo, _ := span(first); lo != 1 {
		t.Fatalf("a fresh state dir starts at %d, want 1", lo)
	}
	if !strings.Contains(r.sensor.Log(), `"msg":"sequence store opened"`) {
		t.Error("the log does not say where the sequence resumes")
	}

	// SIGTERM: the exact next sequence is recorded, the next process continues without a gap.
	r.sensor.Stop()
	r.sensor.Restart(t)
	var second string
	for second == "" || second == first {
		second = collect(1) // messages of the first process may still be in flight
	}
	collect(49)
	_, hi1 := span(first)
	lo2, hi2 := span(second)
	if lo2 <= hi1 {
		t.Fatalf("after SIGTERM the new process started at %d, not after %d", lo2, hi1)
	}
	st := r.invoke(t, "status")
	if seq := int64(st["sequence"].(float64)); seq < hi2 {
		t.Errorf("status sequence %d, but %d was delivered", seq, hi2)
	}

	// SIGKILL: the new process resumes at the reserved mark, at most a block (1000) ahead.
	r.sensor.Kill()
	r.sensor.Restart(t)
	var third string
	for third == "" || third == first || third == second {
		third = collect(1)
	}
	collect(20)
	lo3, _ := span(third)
	_, hi2 = span(second)
	if lo3 <= hi2 || lo3 > hi2+1000+1 {
		t.Fatalf("after SIGKILL the new process started at %d; want after %d and within a block of it", lo3, hi2)
	}
	t.Logf("sequences: run 1 %v…, run 2 from %d, run 3 from %d (batches %v)", byBatch[first][:3], lo2, lo3, order)
	if body := httpGet(t, "http://"+r.http+"/readyz"); body != "ok\n" {
		t.Errorf("/readyz %q", body)
	}
}

// A state directory that cannot be written stops sending, says why on /readyz and in
// the log, and the process keeps running (no crash loop); once it is writable sending resumes.
func TestUnwritableStateDirStopsSendingAndShowsOnReadyz(t *testing.T) {
	parent := t.TempDir()
	state := filepath.Join(parent, "state")
	r := start(t, "--rate=200", "--message-count=-1", "--device-id=press-8", "--state-dir", state)
	r.next(t, 20*time.Second)
	// The first block (1..1000) is reserved; at 200/s the next write is due within 5 s.
	if err := os.Rename(state, state+".away"); err != nil {
		t.Fatal(err)
	}
	testkit.Eventually(t, 30*time.Second, "/readyz names the sequence store", func() bool {
		return strings.Contains(httpGet(t, "http://"+r.http+"/readyz"), "sequence store")
	})
	body := httpGet(t, "http://"+r.http+"/readyz")
	if !strings.Contains(body, "sequence store") || !strings.Contains(body, filepath.Join(state, "seq-press-8")) {
		t.Fatalf("/readyz while the state dir is gone: %q", body)
	}
	last := r.quiet(t, time.Second, 1500*time.Millisecond)
	if last > 1000 {
		t.Fatalf("sequence %d sent beyond the durable mark 1001", last)
	}
	if r.sensor.Exited() {
		t.Fatalf("the sensor exited: %v", r.sensor.ExitErr())
	}
	if !strings.Contains(r.sensor.Log(), "cannot persist the message sequence") {
		t.Error("the failure is not in the log")
	}
	if err := os.Rename(state+".away", state); err != nil {
		t.Fatal(err)
	}
	// Sidecar calls run concurrently (--publish-calls), so the order of arrival is not the
	// order of production: the lowest of the first messages is the next unused sequence.
	lowest := int64(-1)
	for range 20 {
		if seq := r.next(t, 20*time.Second).ev.Sequence; lowest < 0 || seq < lowest {
			lowest = seq
		}
	}
	if lowest != 1001 {
		t.Fatalf("after the repair the lowest sequence is %d, want 1001", lowest)
	}
	if body := httpGet(t, "http://"+r.http+"/readyz"); body != "ok\n" {
		t.Errorf("/readyz after the repair %q", body)
	}
}
