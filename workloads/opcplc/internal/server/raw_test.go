package server_test

import (
	"context"
	"testing"
	"time"

	"github.com/gopcua/opcua"
	"github.com/gopcua/opcua/ua"

	"github.com/edgeframe/edgeframe/test/testkit"
)

// These tests speak the subscription services directly (no client publish loop), so
// they can watch keep-alives, lifetimes and acknowledgements.

func send[T ua.Response](t *testing.T, c *opcua.Client, req ua.Request) T {
	t.Helper()
	var out T
	err := c.Send(context.Background(), req, func(r ua.Response) error {
		var ok bool
		out, ok = r.(T)
		if !ok {
			t.Fatalf("response %T, want %T", r, out)
		}
		return nil
	})
	if err != nil {
		t.Fatalf("%T: %v", req, err)
	}
	return out
}

func createSub(t *testing.T, c *opcua.Client, interval float64, lifetime, keepAlive uint32) *ua.CreateSubscriptionResponse {
	t.Helper()
	return send[*ua.CreateSubscriptionResponse](t, c, &ua.CreateSubscriptionRequest{
		RequestedPublishingInterval: interval, RequestedLifetimeCount: lifetime, RequestedMaxKeepAliveCount: keepAlive, PublishingEnabled: true})
}

func TestKeepAliveAfterMaxKeepAliveCountEmptyIntervals(t *testing.T) {
	_, c := noneClient(t, nil)
	sub := createSub(t, c, 100, 100, 3)
	if sub.RevisedPublishingInterval != 100 || sub.RevisedMaxKeepAliveCount != 3 {
		t.Fatalf("revised %+v", sub)
	}
	start := time.Now()
	res := send[*ua.PublishResponse](t, c, &ua.PublishRequest{SubscriptionAcknowledgements: []*ua.SubscriptionAcknowledgement{}})
	took := time.Since(start)
	if res.SubscriptionID != sub.SubscriptionID || len(res.NotificationMessage.NotificationData) != 0 || res.NotificationMessage.SequenceNumber != 1 {
		t.Errorf("keep-alive %+v / %+v, want an empty message announcing sequence number 1", res, res.NotificationMessage)
	}
	if took < 250*time.Millisecond || took > 1500*time.Millisecond {
		t.Errorf("keep-alive after %v, want about 3 intervals of 100 ms", took)
	}
}

func TestNotificationsAreAcknowledgedAndRepublished(t *testing.T) {
	_, c := noneClient(t, nil)
	sub := createSub(t, c, 100, 100, 10)
	mon := send[*ua.CreateMonitoredItemsResponse](t, c, &ua.CreateMonitoredItemsRequest{SubscriptionID: sub.SubscriptionID,
		TimestampsToReturn: ua.TimestampsToReturnBoth,
		ItemsToCreate:      []*ua.MonitoredItemCreateRequest{item{node: plcNode(t, c, "SlowUInt1"), queue: 1}.request(7)}})
	if mon.Results[0].StatusCode != ua.StatusOK {
		t.Fatal(mon.Results[0].StatusCode)
	}
	first := send[*ua.PublishResponse](t, c, &ua.PublishRequest{SubscriptionAcknowledgements: []*ua.SubscriptionAcknowledgement{}})
	seq := first.NotificationMessage.SequenceNumber
	if seq != 1 || len(first.NotificationMessage.NotificationData) != 1 || len(first.AvailableSequenceNumbers) != 1 {
		t.Fatalf("first publish: seq %d data %d available %v", seq, len(first.NotificationMessage.NotificationData), first.AvailableSequenceNumbers)
	}
	again := send[*ua.RepublishResponse](t, c, &ua.RepublishRequest{SubscriptionID: sub.SubscriptionID, RetransmitSequenceNumber: seq})
	if again.NotificationMessage.SequenceNumber != seq {
		t.Errorf("republish returned %d, want %d", again.NotificationMessage.SequenceNumber, seq)
	}
	// Acknowledge it (and one unknown number) with the next Publish.
	next := send[*ua.PublishResponse](t, c, &ua.PublishRequest{SubscriptionAcknowledgements: []*ua.SubscriptionAcknowledgement{
		{SubscriptionID: sub.SubscriptionID, SequenceNumber: seq}, {SubscriptionID: sub.SubscriptionID, SequenceNumber: 999}, {SubscriptionID: 4242, SequenceNumber: 1}}})
	want := []ua.StatusCode{ua.StatusOK, ua.StatusBadSequenceNumberUnknown, ua.StatusBadSubscriptionIDInvalid}
	for i := range want {
		if next.Results[i] != want[i] {
			t.Errorf("ack %d: %v, want %v", i, next.Results[i], want[i])
		}
	}
	err := c.Send(context.Background(), &ua.RepublishRequest{SubscriptionID: sub.SubscriptionID, RetransmitSequenceNumber: seq}, func(ua.Response) error { return nil })
	if err == nil {
		t.Error("republish of an acknowledged message succeeded, want BadMessageNotAvailable")
	}
}

func TestSubscriptionWithoutPublishRequestsExpiresAndIsReported(t *testing.T) {
	h, c := noneClient(t, nil)
	sub := createSub(t, c, 50, 3, 1) // lifetime revised to 3 × keep-alive = 3 intervals
	if sub.RevisedLifetimeCount != 3 {
		t.Fatalf("revised lifetime %d", sub.RevisedLifetimeCount)
	}
	testkit.Eventually(t, 3*time.Second, "the subscription to expire after its lifetime", func() bool { return h.metric(t, "edgeframe_opcplc_subscriptions") == 0 })
	res := send[*ua.PublishResponse](t, c, &ua.PublishRequest{SubscriptionAcknowledgements: []*ua.SubscriptionAcknowledgement{}})
	if len(res.NotificationMessage.NotificationData) != 1 {
		t.Fatalf("publish after expiry: %+v", res.NotificationMessage)
	}
	scn, ok := res.NotificationMessage.NotificationData[0].Value.(*ua.StatusChangeNotification)
	if !ok || scn.Status != ua.StatusBadTimeout || res.SubscriptionID != sub.SubscriptionID {
		t.Errorf("publish after expiry: %T %+v for subscription %d, want StatusChangeNotification BadTimeout", res.NotificationMessage.NotificationData[0].Value, scn, res.SubscriptionID)
	}
}
