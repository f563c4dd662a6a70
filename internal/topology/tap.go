package topology

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"
)

// Message is what the topology reads from a telemetry message (a CloudEvent as
// published through Dapr) to count it and match it end to end.
type Message struct {
	ID       string
	Source   string
	Sequence int64
	Time     time.Time
}

// DecodeMessage reads id, source, sequence and time from a CloudEvent in JSON. The
// sequence may be a number or a string (intermediaries rewrite extension types).
func DecodeMessage(b []byte) (Message, error) {
	var raw struct {
		ID       string          `json:"id"`
		Source   string          `json:"source"`
		Time     string          `json:"time"`
		Sequence json.RawMessage `json:"sequence"`
	}
	if err := json.Unmarshal(b, &raw); err != nil {
		return Message{}, fmt.Errorf("message: not a JSON object: %w", err)
	}
	if raw.ID == "" {
		return Message{}, fmt.Errorf("message: field id: missing")
	}
	m := Message{ID: raw.ID, Source: raw.Source}
	if raw.Time != "" {
		t, err := time.Parse(time.RFC3339Nano, raw.Time)
		if err != nil {
			return m, fmt.Errorf("message %s: field time: %w", raw.ID, err)
		}
		m.Time = t
	}
	if len(raw.Sequence) > 0 && string(raw.Sequence) != "null" {
		s := string(raw.Sequence)
		if uq, err := strconv.Unquote(s); err == nil {
			s = uq
		}
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			return m, fmt.Errorf("message %s: field sequence: %w", raw.ID, err)
		}
		m.Sequence = n
	}
	return m, nil
}

// Tap is a QoS 1 subscriber on a level's broker (as the monitor user) counting the
// telemetry that passes the level and, when recording, every message id it saw.
type Tap struct {
	Level  string
	client mqtt.Client
	count  atomic.Int64
	bad    atomic.Int64
	record bool
	timed  atomic.Bool

	mu        sync.Mutex
	ids       map[string]int
	topics    map[string]time.Time // topic → when last seen
	latencies []time.Duration      // event time → seen here, while timed
}

var tapSeq atomic.Int64

// clientOptions logs in as user with password; user "" connects anonymously.
func clientOptions(brokerURL, user, password string) *mqtt.ClientOptions {
	o := mqtt.NewClientOptions().AddBroker(brokerURL).
		SetClientID(fmt.Sprintf("edgeframe-tap-%d-%d", time.Now().UnixNano()%1e9, tapSeq.Add(1))).
		SetConnectTimeout(5 * time.Second).SetCleanSession(true)
	if user != "" {
		o.SetUsername(user).SetPassword(password)
	}
	return o
}

// TryConnect connects to brokerURL as user (anonymously when user is "") and
// disconnects, returning the broker's refusal.
func TryConnect(brokerURL, user, password string) error {
	c := mqtt.NewClient(clientOptions(brokerURL, user, password))
	tok := c.Connect()
	if !tok.WaitTimeout(10 * time.Second) {
		return fmt.Errorf("connect %s: timeout", brokerURL)
	}
	if err := tok.Error(); err != nil {
		return err
	}
	c.Disconnect(100)
	return nil
}

// NewTap subscribes to telemetry/# on brokerURL with user and password; it
// resubscribes after every reconnect.
func NewTap(level, brokerURL, user, password string, record bool) (*Tap, error) {
	t := &Tap{Level: level, record: record, ids: map[string]int{}, topics: map[string]time.Time{}}
	o := clientOptions(brokerURL, user, password).
		SetAutoReconnect(true).SetConnectRetry(true).SetMaxReconnectInterval(time.Second).SetOrderMatters(false)
	first := make(chan error, 1)
	o.SetOnConnectHandler(func(c mqtt.Client) {
		tok := c.Subscribe("telemetry/#", 1, t.onMessage)
		tok.WaitTimeout(10 * time.Second)
		select {
		case first <- tok.Error():
		default:
		}
	})
	t.client = mqtt.NewClient(o)
	if tok := t.client.Connect(); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		return nil, fmt.Errorf("tap %s: connect %s: %v", level, brokerURL, tok.Error())
	}
	select {
	case err := <-first:
		if err != nil {
			t.client.Disconnect(100)
			return nil, fmt.Errorf("tap %s: subscribe telemetry/#: %w", level, err)
		}
	case <-time.After(10 * time.Second):
		t.client.Disconnect(100)
		return nil, fmt.Errorf("tap %s: subscribe telemetry/#: timeout", level)
	}
	return t, nil
}

func (t *Tap) onMessage(_ mqtt.Client, m mqtt.Message) {
	t.count.Add(1)
	now := time.Now()
	t.mu.Lock()
	t.topics[m.Topic()] = now
	t.mu.Unlock()
	timed := t.timed.Load()
	if !t.record && !timed {
		return
	}
	msg, err := DecodeMessage(m.Payload())
	if err != nil {
		t.bad.Add(1)
		return
	}
	t.mu.Lock()
	if t.record {
		t.ids[msg.ID]++
	}
	if timed && !msg.Time.IsZero() {
		t.latencies = append(t.latencies, now.Sub(msg.Time))
	}
	t.mu.Unlock()
}

// SetTimed starts (true) or stops recording the latency from each message's event
// time to its arrival at this level; it costs one JSON decode per message.
func (t *Tap) SetTimed(on bool) { t.timed.Store(on) }

// Latencies returns the latencies recorded while timed and forgets them.
func (t *Tap) Latencies() []time.Duration {
	t.mu.Lock()
	defer t.mu.Unlock()
	out := t.latencies
	t.latencies = nil
	return out
}

// Count is the number of messages seen.
func (t *Tap) Count() int64 { return t.count.Load() }

// Undecodable is the number of recorded messages that were not CloudEvents with an id.
func (t *Tap) Undecodable() int64 { return t.bad.Load() }

// IDs returns a copy of the recorded ids and how often each was seen.
func (t *Tap) IDs() map[string]int {
	t.mu.Lock()
	defer t.mu.Unlock()
	out := make(map[string]int, len(t.ids))
	for k, v := range t.ids {
		out[k] = v
	}
	return out
}

// LastSeen is when a message on a topic starting with prefix was last seen (zero if
// never).
func (t *Tap) LastSeen(prefix string) time.Time {
	t.mu.Lock()
	defer t.mu.Unlock()
	var last time.Time
	for topic, at := range t.topics {
		if strings.HasPrefix(topic, prefix) && at.After(last) {
			last = at
		}
	}
	return last
}

// Close disconnects.
func (t *Tap) Close() { t.client.Disconnect(250) }
