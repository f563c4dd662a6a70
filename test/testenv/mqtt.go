package testenv

import (
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"
)

// MQTTMessage is one message a test subscriber received.
type MQTTMessage struct {
	Topic    string
	Payload  []byte
	QoS      byte
	Retained bool
	At       time.Time
}

// SubOption adjusts a test subscriber.
type SubOption func(*mqtt.ClientOptions)

// WithCredentials logs the subscriber in with a username and password.
func WithCredentials(user, pass string) SubOption {
	return func(o *mqtt.ClientOptions) { o.SetUsername(user).SetPassword(pass) }
}

var subSeq atomic.Int64

// Subscribe connects a QoS 1 subscriber to topic on brokerURL and returns what it
// receives (buffered for 100k messages; further messages block the client). It
// disconnects in t.Cleanup.
func Subscribe(t testing.TB, brokerURL, topic string, opts ...SubOption) <-chan MQTTMessage {
	t.Helper()
	ch := make(chan MQTTMessage, 100000)
	o := mqtt.NewClientOptions().AddBroker(brokerURL).
		SetClientID(fmt.Sprintf("testenv-sub-%d-%d", time.Now().UnixNano()%1e6, subSeq.Add(1))).
		SetCleanSession(true).SetAutoReconnect(true).SetConnectRetry(true).
		SetConnectTimeout(5 * time.Second).SetOrderMatters(true).SetMaxReconnectInterval(time.Second)
	handler := func(_ mqtt.Client, m mqtt.Message) {
		ch <- MQTTMessage{Topic: m.Topic(), Payload: append([]byte(nil), m.Payload()...), QoS: m.Qos(), Retained: m.Retained(), At: time.Now()}
	}
	subscribed := make(chan error, 1)
	// Subscribe on every (re)connect: a clean session forgets subscriptions.
	o.SetOnConnectHandler(func(c mqtt.Client) {
		tok := c.Subscribe(topic, 1, handler)
		tok.WaitTimeout(10 * time.Second)
		select {
		case subscribed <- tok.Error():
		default:
		}
	})
	for _, f := range opts {
		f(o)
	}
	c := mqtt.NewClient(o)
	if tok := c.Connect(); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		t.Fatalf("testenv: subscriber connect to %s: %v", brokerURL, tok.Error())
	}
	select {
	case err := <-subscribed:
		if err != nil {
			t.Fatalf("testenv: subscribe %s on %s: %v", topic, brokerURL, err)
		}
	case <-time.After(10 * time.Second):
		t.Fatalf("testenv: subscribe %s on %s: timeout", topic, brokerURL)
	}
	t.Cleanup(func() { c.Disconnect(250) })
	return ch
}

// Publish sends one QoS 1 message and waits for the broker's acknowledgement.
func Publish(t testing.TB, brokerURL, topic string, payload []byte, opts ...SubOption) {
	t.Helper()
	o := mqtt.NewClientOptions().AddBroker(brokerURL).
		SetClientID(fmt.Sprintf("testenv-pub-%d-%d", time.Now().UnixNano()%1e6, subSeq.Add(1))).
		SetConnectTimeout(5 * time.Second)
	for _, f := range opts {
		f(o)
	}
	c := mqtt.NewClient(o)
	if tok := c.Connect(); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		t.Fatalf("testenv: publisher connect to %s: %v", brokerURL, tok.Error())
	}
	defer c.Disconnect(250)
	if tok := c.Publish(topic, 1, false, payload); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		t.Fatalf("testenv: publish to %s: %v", topic, tok.Error())
	}
}

// Receive waits up to d for the next message.
func Receive(t testing.TB, ch <-chan MQTTMessage, d time.Duration) MQTTMessage {
	t.Helper()
	select {
	case m := <-ch:
		return m
	case <-time.After(d):
		t.Fatalf("testenv: no message within %s", d)
		return MQTTMessage{}
	}
}
