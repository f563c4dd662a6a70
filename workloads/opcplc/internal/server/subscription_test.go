package server_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/gopcua/opcua"
	"github.com/gopcua/opcua/id"
	"github.com/gopcua/opcua/ua"

	"github.com/edgeframe/edgeframe/test/testkit"
	"github.com/edgeframe/edgeframe/workloads/opcplc/internal/plc"
	"github.com/edgeframe/edgeframe/workloads/opcplc/internal/server"
)

type item struct {
	node     *ua.NodeID
	sampling time.Duration
	queue    uint32
	discard  bool
	filter   *ua.DataChangeFilter
}

func (it item) request(handle uint32) *ua.MonitoredItemCreateRequest {
	req := opcua.NewMonitoredItemCreateRequestWithDefaults(it.node, ua.AttributeIDValue, handle)
	req.RequestedParameters.SamplingInterval = float64(it.sampling / time.Millisecond)
	req.RequestedParameters.QueueSize = it.queue
	req.RequestedParameters.DiscardOldest = it.discard
	if it.filter != nil {
		req.RequestedParameters.Filter = ua.NewExtensionObject(it.filter)
	}
	return req
}

// subscribe creates a subscription with items (client handles 1..n) and returns its
// notification channel and the create results.
func subscribe(t *testing.T, c *opcua.Client, interval time.Duration, items ...item) (<-chan *opcua.PublishNotificationData, []*ua.MonitoredItemCreateResult, *opcua.Subscription) {
	t.Helper()
	ch := make(chan *opcua.PublishNotificationData, 1000)
	ctx := context.Background()
	sub, err := c.Subscribe(ctx, &opcua.SubscriptionParameters{Interval: interval}, ch)
	if err != nil {
		t.Fatalf("subscribe: %v", err)
	}
	var reqs []*ua.MonitoredItemCreateRequest
	for i, it := range items {
		reqs = append(reqs, it.request(uint32(i+1)))
	}
	res, err := sub.Monitor(ctx, ua.TimestampsToReturnBoth, reqs...)
	if err != nil {
		t.Fatalf("monitor: %v", err)
	}
	return ch, res.Results, sub
}

// collect gathers data change values per client handle for d. Each publish message is
// kept as one batch so tests can look at queue contents.
func collect(t *testing.T, ch <-chan *opcua.PublishNotificationData, d time.Duration) (map[uint32][]*ua.DataValue, [][]*ua.MonitoredItemNotification) {
	t.Helper()
	values := map[uint32][]*ua.DataValue{}
	var batches [][]*ua.MonitoredItemNotification
	deadline := time.After(d)
	for {
		select {
		case <-deadline:
			return values, batches
		case n := <-ch:
			if n.Error != nil {
				t.Fatalf("notification error: %v", n.Error)
			}
			dcn, ok := n.Value.(*ua.DataChangeNotification)
			if !ok {
				continue
			}
			batches = append(batches, dcn.MonitoredItems)
			for _, mi := range dcn.MonitoredItems {
				values[mi.ClientHandle] = append(values[mi.ClientHandle], mi.Value)
			}
		}
	}
}

func u32(t *testing.T, dv *ua.DataValue) uint32 {
	t.Helper()
	if dv.Value == nil {
		t.Fatalf("value without data: status %v", dv.Status)
	}
	return dv.Value.Value().(uint32)
}

func noneClient(t *testing.T, mutate func(*server.Config, *plc.Config)) (*harness, *opcua.Client) {
	h := start(t, func(c *server.Config, s *plc.Config) {
		c.UnsecureTransport = true
		s.NoData, s.NoSpikes, s.NoDips, s.NoPosTrend, s.NoNegTrend = true, true, true, true, true
		if mutate != nil {
			mutate(c, s)
		}
	})
	return h, mustDial(t, h, ua.MessageSecurityModeNone, login{}, nil)
}

func TestSubscriptionDeliversEveryFastNodeChange(t *testing.T) {
	testkit.SkipShort(t, "about 2 s of publishing intervals")
	h, c := noneClient(t, func(_ *server.Config, s *plc.Config) {
		s.Fast = plc.LoadNodes{Count: 10, Rate: 100 * time.Millisecond, Type: plc.TypeUInt}
	})
	var items []item
	for i := 1; i <= 10; i++ {
		// A queue of 10 absorbs the phase drift between the simulation's steps and the
		// publishing timer; with queue size 1 two steps in one interval keep the newest.
		items = append(items, item{node: plcNode(t, c, fmt.Sprintf("FastUInt%d", i)), sampling: 100 * time.Millisecond, queue: 10})
	}
	ch, res, _ := subscribe(t, c, 100*time.Millisecond, items...)
	for i, r := range res {
		if r.StatusCode != ua.StatusOK || r.RevisedSamplingInterval != 100 || r.RevisedQueueSize != 10 {
			t.Fatalf("item %d: %+v", i+1, r)
		}
	}
	values, _ := collect(t, ch, 2*time.Second)
	for handle := uint32(1); handle <= 10; handle++ {
		vs := values[handle]
		if len(vs) < 15 || len(vs) > 23 {
			t.Errorf("FastUInt%d: %d notifications in 2 s at 100 ms, want about 20", handle, len(vs))
			continue
		}
		for i := 1; i < len(vs); i++ {
			if a, b := u32(t, vs[i-1]), u32(t, vs[i]); b != a+1 {
				t.Errorf("FastUInt%d: %d followed by %d, want every change", handle, a, b)
			}
		}
	}
	if got := h.metric(t, "edgeframe_opcplc_monitored_items"); got != 10 {
		t.Errorf("monitored items metric %v, want 10", got)
	}
	if got := h.metric(t, "edgeframe_opcplc_notifications_total"); got < 150 {
		t.Errorf("notifications metric %v, want >= 150", got)
	}
}

func TestQueueSizeKeepsValuesBetweenPublishesAndFlagsOverflow(t *testing.T) {
	testkit.SkipShort(t, "about 3 s of publishing intervals")
	_, c := noneClient(t, func(_ *server.Config, s *plc.Config) {
		s.Fast = plc.LoadNodes{Count: 1, Rate: 50 * time.Millisecond, Type: plc.TypeUInt}
	})
	node := plcNode(t, c, "FastUInt1")
	ch, res, _ := subscribe(t, c, time.Second,
		item{node: node, sampling: 50 * time.Millisecond, queue: 5, discard: true},
		item{node: node, sampling: 50 * time.Millisecond, queue: 1, discard: true})
	if res[0].RevisedQueueSize != 5 {
		t.Fatalf("revised queue size %d, want 5", res[0].RevisedQueueSize)
	}
	_, batches := collect(t, ch, 3500*time.Millisecond)
	full := 0
	for _, b := range batches {
		var q5, q1 []*ua.DataValue
		for _, mi := range b {
			if mi.ClientHandle == 1 {
				q5 = append(q5, mi.Value)
			} else {
				q1 = append(q1, mi.Value)
			}
		}
		if len(q5) > 5 || len(q1) > 1 {
			t.Fatalf("publish carried %d and %d values, want at most the queue sizes 5 and 1", len(q5), len(q1))
		}
		if len(q5) < 5 {
			continue
		}
		full++
		for i := 1; i < len(q5); i++ {
			if u32(t, q5[i]) != u32(t, q5[i-1])+1 {
				t.Errorf("queued values %d, %d are not consecutive", u32(t, q5[i-1]), u32(t, q5[i]))
			}
		}
		// 20 changes per second into a queue of 5: the oldest were discarded and the
		// first kept value carries the overflow bit; with queue size 1 there is none.
		if q5[0].Status&0x0480 != 0x0480 {
			t.Errorf("first value of a full queue has status %#x, want the overflow bits 0x480", uint32(q5[0].Status))
		}
		if len(q1) == 1 && (q1[0].Status&0x0480 != 0 || u32(t, q1[0]) != u32(t, q5[4])) {
			t.Errorf("queue size 1 value %d status %#x, want the newest %d without overflow bit", u32(t, q1[0]), uint32(q1[0].Status), u32(t, q5[4]))
		}
	}
	if full < 2 {
		t.Errorf("only %d publishes had a full queue of 5", full)
	}
}

func TestSamplingIntervalCoalescesFasterChanges(t *testing.T) {
	testkit.SkipShort(t, "about 2 s of sampling intervals")
	_, c := noneClient(t, func(_ *server.Config, s *plc.Config) {
		s.Fast = plc.LoadNodes{Count: 1, Rate: 50 * time.Millisecond, Type: plc.TypeUInt}
	})
	ch, res, _ := subscribe(t, c, 100*time.Millisecond, item{node: plcNode(t, c, "FastUInt1"), sampling: 500 * time.Millisecond, queue: 10})
	if res[0].RevisedSamplingInterval != 500 {
		t.Fatalf("revised sampling interval %v, want 500", res[0].RevisedSamplingInterval)
	}
	values, _ := collect(t, ch, 2600*time.Millisecond)
	vs := values[1]
	if len(vs) < 4 || len(vs) > 7 {
		t.Fatalf("%d notifications in 2.6 s at a 500 ms sampling interval, want 5 or 6", len(vs))
	}
	for i := 2; i < len(vs); i++ { // from the second sample on the steps are about 10 changes
		if d := u32(t, vs[i]) - u32(t, vs[i-1]); d < 7 || d > 13 {
			t.Errorf("sample step %d, want about 10 (500 ms / 50 ms)", d)
		}
	}
}

func TestAbsoluteDeadbandAndStatusTrigger(t *testing.T) {
	testkit.SkipShort(t, "about 2 s of sampling intervals")
	_, c := noneClient(t, func(_ *server.Config, s *plc.Config) {
		s.Fast = plc.LoadNodes{Count: 1, Rate: 50 * time.Millisecond, Type: plc.TypeUInt}
	})
	ch, res, _ := subscribe(t, c, 200*time.Millisecond,
		item{node: plcNode(t, c, "FastUInt1"), sampling: 0, queue: 100, filter: &ua.DataChangeFilter{Trigger: ua.DataChangeTriggerStatusValue, DeadbandType: uint32(ua.DeadbandTypeAbsolute), DeadbandValue: 2.5}},
		item{node: plcNode(t, c, "BadFastUInt1"), sampling: 0, queue: 100, filter: &ua.DataChangeFilter{Trigger: ua.DataChangeTriggerStatus}},
		item{node: plcNode(t, c, "BadFastUInt1"), sampling: 0, queue: 100, filter: &ua.DataChangeFilter{Trigger: ua.DataChangeTriggerStatusValueTimestamp}})
	for i, r := range res {
		if r.StatusCode != ua.StatusOK {
			t.Fatalf("item %d: %v", i+1, r.StatusCode)
		}
	}
	values, _ := collect(t, ch, 2*time.Second)
	db := values[1]
	if len(db) < 8 {
		t.Fatalf("deadband item got %d values in 2 s", len(db))
	}
	for i := 1; i < len(db); i++ {
		if d := u32(t, db[i]) - u32(t, db[i-1]); d != 3 {
			t.Errorf("deadband 2.5 passed a step of %d, want 3", d)
		}
	}
	st := values[2]
	for i := 1; i < len(st); i++ {
		if st[i].Status == st[i-1].Status {
			t.Errorf("trigger Status reported two values with status %v in a row", st[i].Status)
		}
	}
	if all := values[3]; len(all) <= len(st) || len(st) < 5 {
		t.Errorf("trigger Status sent %d values, StatusValueTimestamp %d: want far fewer with Status", len(st), len(all))
	}
}

func TestMonitoredItemErrorsNameTheProblem(t *testing.T) {
	_, c := noneClient(t, func(_ *server.Config, s *plc.Config) { s.Fast.Type = plc.TypeBool })
	_, res, _ := subscribe(t, c, 100*time.Millisecond,
		item{node: ua.NewStringNodeID(plcNode(t, c, "SlowUInt1").Namespace(), "NoSuchNode"), queue: 1},
		item{node: plcNode(t, c, "FastBool1"), queue: 1, filter: &ua.DataChangeFilter{Trigger: ua.DataChangeTriggerStatusValue, DeadbandType: uint32(ua.DeadbandTypeAbsolute), DeadbandValue: 1}},
		item{node: plcNode(t, c, "SlowUInt1"), queue: 1, filter: &ua.DataChangeFilter{Trigger: ua.DataChangeTriggerStatusValue, DeadbandType: uint32(ua.DeadbandTypePercent), DeadbandValue: 10}},
		item{node: plcNode(t, c, "SlowUInt1"), queue: 1, filter: &ua.DataChangeFilter{Trigger: ua.DataChangeTriggerStatusValue, DeadbandType: uint32(ua.DeadbandTypeAbsolute), DeadbandValue: -1}},
		item{node: plcNode(t, c, "SlowUInt1"), queue: 0})
	want := []ua.StatusCode{ua.StatusBadNodeIDUnknown, ua.StatusBadFilterNotAllowed, ua.StatusBadMonitoredItemFilterUnsupported, ua.StatusBadDeadbandFilterInvalid, ua.StatusOK}
	for i, r := range res {
		if r.StatusCode != want[i] {
			t.Errorf("item %d: %v, want %v", i+1, r.StatusCode, want[i])
		}
	}
	if res[4].RevisedQueueSize != 1 {
		t.Errorf("queue size 0 revised to %d, want 1", res[4].RevisedQueueSize)
	}
}

func TestNamespaceZeroNodesArePolled(t *testing.T) {
	testkit.SkipShort(t, "about 1.5 s of polling intervals")
	_, c := noneClient(t, nil)
	ch, res, _ := subscribe(t, c, 100*time.Millisecond, item{node: ua.NewNumericNodeID(0, id.Server_ServerStatus_CurrentTime), sampling: 200 * time.Millisecond, queue: 1})
	if res[0].StatusCode != ua.StatusOK {
		t.Fatalf("CurrentTime item: %v", res[0].StatusCode)
	}
	values, _ := collect(t, ch, 1500*time.Millisecond)
	if n := len(values[1]); n < 4 {
		t.Fatalf("CurrentTime changed %d times in 1.5 s at 200 ms sampling, want >= 4", n)
	}
}

func TestMonitoringModeDisableAndDelete(t *testing.T) {
	testkit.SkipShort(t, "about 2 s of publishing intervals")
	h, c := noneClient(t, func(_ *server.Config, s *plc.Config) {
		s.Fast = plc.LoadNodes{Count: 2, Rate: 50 * time.Millisecond, Type: plc.TypeUInt}
	})
	ch, res, sub := subscribe(t, c, 100*time.Millisecond, item{node: plcNode(t, c, "FastUInt1"), queue: 1}, item{node: plcNode(t, c, "FastUInt2"), queue: 1})
	ctx := context.Background()
	mm, err := sub.SetMonitoringMode(ctx, ua.MonitoringModeDisabled, res[0].MonitoredItemID)
	if err != nil || mm.Results[0] != ua.StatusOK {
		t.Fatalf("SetMonitoringMode: %v %v", err, mm)
	}
	collect(t, ch, 300*time.Millisecond) // drain what was queued before
	values, _ := collect(t, ch, time.Second)
	if len(values[1]) != 0 || len(values[2]) < 5 {
		t.Errorf("disabled item got %d values, enabled item %d", len(values[1]), len(values[2]))
	}
	if _, err := sub.Unmonitor(ctx, res[1].MonitoredItemID); err != nil {
		t.Fatal(err)
	}
	collect(t, ch, 300*time.Millisecond)
	values, _ = collect(t, ch, 700*time.Millisecond)
	if len(values[2]) != 0 {
		t.Errorf("deleted item still got %d values", len(values[2]))
	}
	if got := h.metric(t, "edgeframe_opcplc_monitored_items"); got != 1 {
		t.Errorf("monitored items metric %v after a delete, want 1", got)
	}
	if err := sub.Cancel(ctx); err != nil {
		t.Fatal(err)
	}
	if got := h.metric(t, "edgeframe_opcplc_subscriptions"); got != 0 {
		t.Errorf("subscriptions metric %v after cancel, want 0", got)
	}
}

func TestChaosDeletedSubscriptionIsReportedAndDroppedSessionRecovers(t *testing.T) {
	h, _ := noneClient(t, func(_ *server.Config, s *plc.Config) {
		s.Fast = plc.LoadNodes{Count: 1, Rate: 50 * time.Millisecond, Type: plc.TypeUInt}
	})
	c := mustDial(t, h, ua.MessageSecurityModeNone, login{}, nil, opcua.AutoReconnect(true), opcua.ReconnectInterval(200*time.Millisecond))
	ch, _, _ := subscribe(t, c, 100*time.Millisecond, item{node: plcNode(t, c, "FastUInt1"), queue: 1})
	collect(t, ch, 300*time.Millisecond)

	// A dropped session: the client reconnects, makes a new session and recreates the
	// subscription; data flows again.
	h.srv.InjectFault(true)
	if got := h.metric(t, "edgeframe_opcplc_chaos_faults_total"); got != 1 {
		t.Fatalf("chaos metric %v, want 1", got)
	}
	deadline := time.Now().Add(10 * time.Second)
	var got int
	for time.Now().Before(deadline) && got < 5 {
		values, _ := collect(t, ch, 200*time.Millisecond)
		got += len(values[1])
	}
	if got < 5 {
		t.Fatalf("no data after the session was dropped (%d values in 10 s)", got)
	}
	// The dropped session is gone; the client's new one is there (a slow machine may
	// leave one extra half-finished reconnect attempt until its session timeout).
	if n := h.metric(t, "edgeframe_opcplc_sessions"); n < 1 || n > 2 {
		t.Errorf("sessions metric %v after recovery, want 1", n)
	}

	// A deleted subscription: the client is told with a StatusChangeNotification.
	h.srv.InjectFault(false)
	timeout := time.After(5 * time.Second)
	for {
		select {
		case n := <-ch:
			if scn, ok := n.Value.(*ua.StatusChangeNotification); ok {
				if scn.Status != ua.StatusBadTimeout {
					t.Fatalf("status change %v, want BadTimeout", scn.Status)
				}
				return
			}
		case <-timeout:
			t.Fatal("no StatusChangeNotification after the subscription was deleted")
		}
	}
}

func TestChaosFlagInjectsFaultsPeriodically(t *testing.T) {
	h := start(t, func(c *server.Config, _ *plc.Config) {
		c.UnsecureTransport, c.Chaos, c.ChaosMin, c.ChaosMax = true, true, 200*time.Millisecond, 300*time.Millisecond
	})
	c := mustDial(t, h, ua.MessageSecurityModeNone, login{}, nil, opcua.AutoReconnect(true), opcua.ReconnectInterval(100*time.Millisecond))
	_, _, _ = subscribe(t, c, 100*time.Millisecond, item{node: plcNode(t, c, "StepUp"), queue: 1})
	testkit.Eventually(t, 5*time.Second, "3 chaos faults with a 200-300 ms pause", func() bool { return h.metric(t, "edgeframe_opcplc_chaos_faults_total") >= 3 })
}
