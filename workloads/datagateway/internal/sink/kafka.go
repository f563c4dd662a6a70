package sink

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/sasl/oauth"
	"github.com/twmb/franz-go/pkg/sasl/plain"

	"github.com/edgeframe/edgeframe/pkg/cloudevent"
	"github.com/edgeframe/edgeframe/workloads/datagateway/internal/message"
)

// Kafka authentication modes.
const (
	AuthNone             = "none"
	AuthPlain            = "plain"             // SASL PLAIN with Username/Password
	AuthConnectionString = "connection-string" // Event Hubs: SASL PLAIN, user "$ConnectionString"
	AuthOAuth            = "oauth"             // Event Hubs: SASL OAUTHBEARER, token from azidentity
)

// KafkaOptions configures the Event Hubs / Kafka sink.
type KafkaOptions struct {
	// Brokers: for Event Hubs "<namespace>.servicebus.windows.net:9093".
	Brokers []string
	// Topic: for Event Hubs the event hub name.
	Topic    string
	ClientID string
	// Auth is none|plain|connection-string|oauth.
	Auth             string
	Username         string
	Password         string
	ConnectionString string
	// Credential supplies OAUTHBEARER tokens (default azidentity.DefaultAzureCredential:
	// env service principal, workload identity, managed identity).
	Credential azcore.TokenCredential
	// TokenScope is the OAuth scope (default https://<first broker host>/.default).
	TokenScope string
	TLS        bool
	// Compression is gzip|none.
	Compression string
	// Linger, MaxBatchBytes: franz-go's producer batching (per partition).
	Linger        time.Duration
	MaxBatchBytes int32
	// MaxRecordBytes: larger messages are rejected to the dead-letter store without a send
	// (Event Hubs Standard: 1 MB).
	MaxRecordBytes int
	// Timeout bounds one Write (delivery of the whole batch).
	Timeout time.Duration
}

// Kafka produces every message as one record: key = partition key (asset), value = the
// CloudEvent as received, headers ce_id (the stable message id), ce_type, ce_source,
// content-type and topic (the pub/sub topic it came from).
type Kafka struct {
	name string
	o    KafkaOptions
	cl   *kgo.Client
}

// NewKafka builds the client (it connects lazily).
func NewKafka(name string, o KafkaOptions) (*Kafka, error) {
	if len(o.Brokers) == 0 || o.Topic == "" {
		return nil, fmt.Errorf("sink %s: kafka: brokers and topic are required", name)
	}
	if o.Timeout <= 0 {
		o.Timeout = 30 * time.Second
	}
	if o.MaxRecordBytes <= 0 {
		o.MaxRecordBytes = 1 << 20
	}
	if o.ClientID == "" {
		o.ClientID = "edgeframe-datagateway"
	}
	opts := []kgo.Opt{
		kgo.SeedBrokers(o.Brokers...),
		kgo.ClientID(o.ClientID),
		kgo.DefaultProduceTopic(o.Topic),
		// Event Hubs does not support idempotent producers; the CloudEvent id in the
		// ce_id header lets consumers deduplicate what at-least-once delivery repeats.
		kgo.DisableIdempotentWrite(),
		kgo.RequiredAcks(kgo.AllISRAcks()),
		kgo.RecordDeliveryTimeout(o.Timeout),
		kgo.ProduceRequestTimeout(o.Timeout),
		kgo.DialTimeout(10 * time.Second),
		kgo.MetadataMinAge(time.Second),
	}
	if o.Linger > 0 {
		opts = append(opts, kgo.ProducerLinger(o.Linger))
	}
	if o.MaxBatchBytes > 0 {
		opts = append(opts, kgo.ProducerBatchMaxBytes(o.MaxBatchBytes))
	}
	switch o.Compression {
	case "gzip":
		opts = append(opts, kgo.ProducerBatchCompression(kgo.GzipCompression()))
	case "", "none":
		opts = append(opts, kgo.ProducerBatchCompression(kgo.NoCompression()))
	default:
		return nil, fmt.Errorf("sink %s: kafka: compression: want gzip or none, got %q", name, o.Compression)
	}
	if o.TLS {
		opts = append(opts, kgo.DialTLSConfig(&tls.Config{MinVersion: tls.VersionTLS12}))
	}
	switch o.Auth {
	case "", AuthNone:
	case AuthPlain:
		opts = append(opts, kgo.SASL(plain.Auth{User: o.Username, Pass: o.Password}.AsMechanism()))
	case AuthConnectionString:
		opts = append(opts, kgo.SASL(plain.Auth{User: "$ConnectionString", Pass: o.ConnectionString}.AsMechanism()))
	case AuthOAuth:
		cred := o.Credential
		if cred == nil {
			c, err := azidentity.NewDefaultAzureCredential(nil)
			if err != nil {
				return nil, fmt.Errorf("sink %s: kafka: azure credential: %w", name, err)
			}
			cred = c
		}
		scope := o.TokenScope
		if scope == "" {
			host, _, err := net.SplitHostPort(o.Brokers[0])
			if err != nil {
				host = o.Brokers[0]
			}
			scope = "https://" + host + "/.default"
		}
		opts = append(opts, kgo.SASL(oauth.Oauth(func(ctx context.Context) (oauth.Auth, error) {
			tok, err := cred.GetToken(ctx, policy.TokenRequestOptions{Scopes: []string{scope}})
			if err != nil {
				return oauth.Auth{}, fmt.Errorf("token for %s: %w", scope, err)
			}
			return oauth.Auth{Token: tok.Token}, nil
		})))
	default:
		return nil, fmt.Errorf("sink %s: kafka: auth: want none, plain, connection-string or oauth, got %q", name, o.Auth)
	}
	cl, err := kgo.NewClient(opts...)
	if err != nil {
		return nil, fmt.Errorf("sink %s: kafka client: %w", name, err)
	}
	return &Kafka{name: name, o: o, cl: cl}, nil
}

// Name is the configured sink name.
func (k *Kafka) Name() string { return k.name }

// Write produces the batch and waits for every acknowledgement.
func (k *Kafka) Write(ctx context.Context, msgs []message.Message) error {
	var be BatchError
	recs := make([]*kgo.Record, 0, len(msgs))
	index := make(map[*kgo.Record]int, len(msgs))
	for i, m := range msgs {
		if n := len(m.Event) + len(m.Key); n > k.o.MaxRecordBytes {
			be.reject(i, fmt.Errorf("record of %d bytes exceeds the sink's maximum of %d", n, k.o.MaxRecordBytes))
			continue
		}
		r := &kgo.Record{
			Topic: k.o.Topic,
			Key:   []byte(m.Key),
			Value: m.Event,
			Headers: []kgo.RecordHeader{
				{Key: "ce_id", Value: []byte(m.ID)},
				{Key: "content-type", Value: []byte(cloudevent.ContentType)},
				{Key: "topic", Value: []byte(m.Topic)},
			},
		}
		// Timestamp stays unset (produce time): franz-go measures RecordDeliveryTimeout
		// from it, and the event time is inside the CloudEvent.
		recs = append(recs, r)
		index[r] = i
	}
	if len(recs) > 0 {
		ctx, cancel := context.WithTimeout(ctx, k.o.Timeout+5*time.Second)
		defer cancel()
		for _, res := range k.cl.ProduceSync(ctx, recs...) {
			if res.Err == nil {
				continue
			}
			i := index[res.Record]
			if invalidRecord(res.Err) {
				be.reject(i, res.Err)
			} else {
				be.fail(i, res.Err)
			}
		}
	}
	if len(be.Failed) == len(msgs) {
		return fmt.Errorf("sink %s: produce to %s: %w", k.name, k.o.Topic, be.Failed[0])
	}
	return be.orNil()
}

// invalidRecord is true for broker answers that say this record can never be accepted.
func invalidRecord(err error) bool {
	for _, e := range []error{kerr.MessageTooLarge, kerr.InvalidRecord, kerr.CorruptMessage, kerr.RecordListTooLarge, kerr.InvalidTimestamp} {
		if errors.Is(err, e) {
			return true
		}
	}
	return false
}

// Ping checks that the cluster answers (used by readiness and tests).
func (k *Kafka) Ping(ctx context.Context) error { return k.cl.Ping(ctx) }

// Close flushes nothing (Write is synchronous) and closes the client.
func (k *Kafka) Close() error {
	k.cl.Close()
	return nil
}
