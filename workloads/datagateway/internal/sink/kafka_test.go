package sink

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
	"github.com/twmb/franz-go/pkg/sasl/plain"

	"github.com/edgeframe/edgeframe/test/testkit"
)

// ehConnString is an Event Hubs-shaped connection string; kfake accepts it as the
// PLAIN password of user $ConnectionString, as the Event Hubs Kafka endpoint does.
const ehConnString = "Endpoint=sb://plant1.servicebus.windows.net/;SharedAccessKeyName=send;SharedAccessKey=c2VjcmV0"

// StartKafka starts an in-process Kafka cluster with SASL PLAIN that accepts the
// Event Hubs connection-string login, and a topic "telemetry" of 4 partitions.
func startKafka(t *testing.T) *kfake.Cluster {
	t.Helper()
	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(4, "telemetry"),
		kfake.EnableSASL(), kfake.Superuser("PLAIN", "$ConnectionString", ehConnString))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	return c
}

// consumeAll reads n records of topic from the start.
func consumeAll(t *testing.T, c *kfake.Cluster, n int) []*kgo.Record {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(c.ListenAddrs()...), kgo.ConsumeTopics("telemetry"),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()), kgo.FetchMaxWait(200*time.Millisecond),
		kgo.SASL(plain.Auth{User: "$ConnectionString", Pass: ehConnString}.AsMechanism()))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	var out []*kgo.Record
	for len(out) < n {
		fs := cl.PollFetches(ctx)
		if ctx.Err() != nil {
			t.Fatalf("consumed %d of %d records", len(out), n)
		}
		fs.EachRecord(func(r *kgo.Record) { out = append(out, r) })
	}
	return out
}

func newTestKafka(t *testing.T, c *kfake.Cluster, o KafkaOptions) *Kafka {
	t.Helper()
	o.Brokers, o.Topic, o.Auth, o.ConnectionString = c.ListenAddrs(), "telemetry", AuthConnectionString, ehConnString
	if o.Timeout == 0 {
		o.Timeout = 5 * time.Second
	}
	k, err := NewKafka("hub", o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { k.Close() })
	return k
}

func header(r *kgo.Record, key string) string {
	for _, h := range r.Headers {
		if h.Key == key {
			return string(h.Value)
		}
	}
	return ""
}

func TestKafkaSinkWithEventHubsConnectionStringKeysByAssetAndKeepsIDs(t *testing.T) {
	c := startKafka(t)
	k := newTestKafka(t, c, KafkaOptions{Compression: "gzip", Linger: 5 * time.Millisecond})
	msgs := testMessages(300, 5)
	if err := k.Write(context.Background(), msgs); err != nil {
		t.Fatal(err)
	}
	recs := consumeAll(t, c, 300)
	want := map[string]string{}
	for _, m := range msgs {
		want[m.ID] = m.Key
	}
	partOf := map[string]int32{}
	for _, r := range recs {
		id := header(r, "ce_id")
		key, ok := want[id]
		if !ok || string(r.Key) != key {
			t.Fatalf("record id %q key %q: unexpected", id, r.Key)
		}
		delete(want, id)
		if p, seen := partOf[key]; seen && p != r.Partition {
			t.Fatalf("asset %s spread over partitions %d and %d", key, p, r.Partition)
		}
		partOf[key] = r.Partition
		if header(r, "content-type") != "application/cloudevents+json" || header(r, "topic") == "" {
			t.Fatalf("headers %+v", r.Headers)
		}
	}
	if len(want) != 0 {
		t.Fatalf("%d messages missing from the topic", len(want))
	}
}

func TestKafkaSinkWrongCredentialsFailTheWholeBatch(t *testing.T) {
	testkit.SkipShort(t, "about 2 s of Kafka client retries")
	c := startKafka(t)
	k, err := NewKafka("hub", KafkaOptions{Brokers: c.ListenAddrs(), Topic: "telemetry", Auth: AuthConnectionString,
		ConnectionString: "Endpoint=sb://plant1.servicebus.windows.net/;SharedAccessKeyName=send;SharedAccessKey=wrong", Timeout: 2 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer k.Close()
	err = k.Write(context.Background(), testMessages(3, 1))
	var be *BatchError
	if err == nil || errors.As(err, &be) {
		t.Fatalf("want a whole-batch failure, got %v", err)
	}
}

func TestKafkaSinkRejectsOversizedAndBrokerRefusedRecords(t *testing.T) {
	c := startKafka(t)
	k := newTestKafka(t, c, KafkaOptions{MaxRecordBytes: 400})
	msgs := testMessages(2, 1)
	msgs[1].Event = append([]byte(`{"pad":"`+string(make([]byte, 500))), []byte(`"}`)...)
	err := k.Write(context.Background(), msgs)
	var be *BatchError
	if !errors.As(err, &be) || len(be.Rejected) != 1 || be.Rejected[1] == nil || len(be.Failed) != 0 {
		t.Fatalf("want message 1 rejected as oversized, got %v", err)
	}
	// The broker refuses a record as too large: the sink reports it rejected, not failed.
	c.Fault(kfake.Fault{Keys: []kmsg.Key{kmsg.Produce}, Err: kerr.MessageTooLarge, Count: 1})
	err = k.Write(context.Background(), testMessages(1, 1))
	if !errors.As(err, &be) || len(be.Rejected) != 1 {
		t.Fatalf("want the broker-refused record rejected, got %v", err)
	}
}
