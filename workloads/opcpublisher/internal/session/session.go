// Package session keeps one OPC UA session to one endpoint (with one security mode and
// user) alive and subscribed: an explicit state machine connects, resolves node ids
// through the server's namespace array, creates one subscription per distinct
// publishing interval with the monitored items asked for, watches the connection
// (secure channel errors and a periodic keep-alive read), and after a loss reconnects
// with capped exponential backoff and recreates every subscription and item, which is
// what a restarted server needs. Update changes the item set in place: only the items
// that changed are added or removed.
package session

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/gopcua/opcua"
	"github.com/gopcua/opcua/ua"

	"github.com/edgeframe/edgeframe/pkg/backoff"
	"github.com/edgeframe/edgeframe/pkg/uapki"
	"github.com/edgeframe/edgeframe/workloads/opcpublisher/internal/nodeid"
)

// State of a session.
type State int

// The states of the reconnect state machine.
const (
	Disconnected State = iota // not connected, about to (re)connect
	Connecting                // dialling, activating, subscribing
	Connected                 // subscribed, data flowing
	Backoff                   // waiting before the next attempt
	Closed                    // Run has returned
)

func (s State) String() string {
	return [...]string{"disconnected", "connecting", "connected", "backoff", "closed"}[s]
}

// Item is one node to monitor. Key is unique within the session.
type Item struct {
	Key                string // unique: writer + field
	Writer             string // the data set writer the values belong to
	Field              string // payload key
	RawID              string // node id as configured
	NodeID             nodeid.ID
	SamplingInterval   time.Duration
	PublishingInterval time.Duration
	QueueSize          uint32
	Trigger            ua.DataChangeTrigger
	DeadbandType       ua.DeadbandType
	DeadbandValue      float64
	IndexRange         string // part of an array or string value ("" = all)
	DiscardNew         bool   // keep the oldest values when the server's queue is full
}

// signature is what, when changed, requires re-creating the monitored item.
func (it Item) signature() string {
	return fmt.Sprintf("%s|%s|%s|%d|%d|%d|%d|%d|%g|%s|%t", it.Writer, it.Field, it.NodeID, it.SamplingInterval, it.PublishingInterval,
		it.QueueSize, it.Trigger, it.DeadbandType, it.DeadbandValue, it.IndexRange, it.DiscardNew)
}

// Change is one value change of one item.
type Change struct {
	Item  *Item
	Value *ua.DataValue
}

// Config of a session.
type Config struct {
	Endpoint       string
	SecurityMode   string // None, Sign, SignAndEncrypt, Best
	SecurityPolicy string // short policy name; "" = best offered for the mode
	AuthMode       string // Anonymous, UsernamePassword
	Username       string
	Password       string
	// PKIDir holds the client certificate (created on first use) for secure modes, and
	// the server certificates trusted (trusted/certs) and refused (rejected/certs).
	PKIDir string
	// AutoAccept trusts every server certificate (--aa).
	AutoAccept bool
	// Reconnect is the backoff between connection attempts (default 250 ms doubling to 2 s).
	Reconnect backoff.Policy
	// KeepAlive is how often the server state is read to detect a dead server that did
	// not close the connection (default 5 s).
	KeepAlive time.Duration
	// RequestTimeout bounds each service call (default 10 s).
	RequestTimeout time.Duration
	// MonitorBatch is the most items per CreateMonitoredItems request (default 1000).
	MonitorBatch int
}

// Handlers receive what the session observes; Data must not block for long.
type Handlers struct {
	// Data is called once per DataChangeNotification with its changes.
	Data func(changes []Change)
	// State is called on every state transition; err says why when there is one.
	State func(to State, err error)
	// Resumed is called when data flows again after a loss that lasted outage.
	Resumed func(outage time.Duration)
	// ItemError reports an item the server refused (bad node id, unknown namespace…).
	ItemError func(it Item, err error)
	// SubscriptionLost is called when the server lost a subscription while the session
	// lived on, after it was created again: writers are the Item.Writer values it
	// carried, silent how long it had delivered nothing.
	SubscriptionLost func(writers []string, silent time.Duration)
}

// Session is one endpoint's session.
type Session struct {
	cfg Config
	h   Handlers
	log *slog.Logger

	mu      sync.Mutex
	desired map[string]Item
	state   State
	changed chan struct{}
	// live: what the current connection has on the server (diagnostics).
	live Live
}

// Live describes the current connection's subscriptions and monitored items.
type Live struct {
	// Subscriptions maps a publishing interval to the server's subscription id.
	Subscriptions map[time.Duration]uint32
	// Items maps Item.Key to the server's monitored item id (0 = refused).
	Items map[string]uint32
}

// Live returns a copy of what the session has on the server now.
func (s *Session) Live() Live {
	s.mu.Lock()
	defer s.mu.Unlock()
	l := Live{Subscriptions: map[time.Duration]uint32{}, Items: map[string]uint32{}}
	for k, v := range s.live.Subscriptions {
		l.Subscriptions[k] = v
	}
	for k, v := range s.live.Items {
		l.Items[k] = v
	}
	return l
}

func (s *Session) setLive(c *conn) {
	l := Live{Subscriptions: map[time.Duration]uint32{}, Items: map[string]uint32{}}
	if c != nil {
		for iv, sb := range c.subs {
			l.Subscriptions[iv] = sb.s.SubscriptionID
		}
		for k, mi := range c.items {
			l.Items[k] = mi.id
		}
	}
	s.mu.Lock()
	s.live = l
	s.mu.Unlock()
}

// New returns a session for cfg; Run connects it.
func New(cfg Config, h Handlers, log *slog.Logger) *Session {
	if cfg.Reconnect.Initial == 0 {
		cfg.Reconnect = backoff.Policy{Initial: 250 * time.Millisecond, Max: 2 * time.Second, Multiplier: 2}
	}
	if cfg.KeepAlive == 0 {
		cfg.KeepAlive = 5 * time.Second
	}
	if cfg.RequestTimeout == 0 {
		cfg.RequestTimeout = 10 * time.Second
	}
	if cfg.MonitorBatch == 0 {
		cfg.MonitorBatch = 1000
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Session{cfg: cfg, h: h, log: log.With("endpoint", cfg.Endpoint, "security", cfg.SecurityMode),
		desired: map[string]Item{}, changed: make(chan struct{}, 1)}
}

// State is the current state.
func (s *Session) State() State {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.state
}

// Update replaces the set of items; a connected session applies the difference
// without touching the items that stayed the same.
func (s *Session) Update(items []Item) {
	s.mu.Lock()
	s.desired = make(map[string]Item, len(items))
	for _, it := range items {
		s.desired[it.Key] = it
	}
	s.mu.Unlock()
	select {
	case s.changed <- struct{}{}:
	default:
	}
}

func (s *Session) snapshot() map[string]Item {
	s.mu.Lock()
	defer s.mu.Unlock()
	m := make(map[string]Item, len(s.desired))
	for k, v := range s.desired {
		m[k] = v
	}
	return m
}

func (s *Session) setState(to State, err error) {
	s.mu.Lock()
	from := s.state
	s.state = to
	s.mu.Unlock()
	if from != to || err != nil {
		attrs := []any{"from", from.String(), "to", to.String()}
		if err != nil {
			attrs = append(attrs, "err", err.Error())
		}
		if to == Backoff || to == Disconnected {
			s.log.Warn("session state", attrs...)
		} else {
			s.log.Info("session state", attrs...)
		}
	}
	if s.h.State != nil {
		s.h.State(to, err)
	}
}

// Run keeps the session connected until ctx ends.
func (s *Session) Run(ctx context.Context) error {
	defer s.setState(Closed, nil)
	attempt := 0
	var lostAt time.Time
	for {
		s.setState(Connecting, nil)
		c, err := s.connect(ctx)
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			d := s.cfg.Reconnect.Delay(attempt, rand.Float64)
			attempt++
			s.setState(Backoff, fmt.Errorf("connect (attempt %d, retry in %s): %w", attempt, d.Round(time.Millisecond), err))
			if backoff.Sleep(ctx, d) != nil {
				return nil
			}
			continue
		}
		attempt = 0
		err = s.serve(ctx, c, lostAt)
		s.setLive(nil)
		closeCtx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		_ = c.client.Close(closeCtx)
		cancel()
		if ctx.Err() != nil {
			return nil
		}
		lostAt = time.Now()
		s.setState(Disconnected, err)
	}
}

// conn is one connected client and its subscriptions.
type conn struct {
	client  *opcua.Client
	states  chan opcua.ConnState
	notifs  chan *opcua.PublishNotificationData
	subs    map[time.Duration]*sub
	bySubID map[uint32]*sub
	items   map[string]*monItem // by Item.Key
	nextH   uint32
}

type sub struct {
	interval time.Duration
	s        *opcua.Subscription
	byHandle map[uint32]*monItem
	lastData time.Time // last notification, or creation
}

type monItem struct {
	item   Item
	sig    string
	handle uint32
	id     uint32
	sub    *sub // nil when the server refused it
}

func (s *Session) connect(ctx context.Context) (*conn, error) {
	ctx, cancel := context.WithTimeout(ctx, s.cfg.RequestTimeout)
	defer cancel()
	opts, err := s.clientOptions(ctx)
	if err != nil {
		return nil, err
	}
	c := &conn{states: make(chan opcua.ConnState, 16), notifs: make(chan *opcua.PublishNotificationData, 1024),
		subs: map[time.Duration]*sub{}, bySubID: map[uint32]*sub{}, items: map[string]*monItem{}}
	opts = append(opts, opcua.AutoReconnect(false), opcua.StateChangedCh(c.states),
		opcua.RequestTimeout(s.cfg.RequestTimeout), opcua.SessionTimeout(time.Minute), opcua.DialTimeout(s.cfg.RequestTimeout))
	c.client, err = opcua.NewClient(s.cfg.Endpoint, opts...)
	if err != nil {
		return nil, fmt.Errorf("client options: %w", err)
	}
	if err := c.client.Connect(ctx); err != nil {
		_ = c.client.Close(context.Background())
		return nil, fmt.Errorf("connect %s: %w", s.cfg.Endpoint, err)
	}
	return c, nil
}

func (s *Session) clientOptions(ctx context.Context) ([]opcua.Option, error) {
	eps, err := opcua.GetEndpoints(ctx, s.cfg.Endpoint)
	if err != nil {
		return nil, fmt.Errorf("get endpoints of %s: %w", s.cfg.Endpoint, err)
	}
	ep, err := selectEndpoint(eps, s.cfg.SecurityMode, s.cfg.SecurityPolicy)
	if err != nil {
		return nil, err
	}
	authType := ua.UserTokenTypeAnonymous
	var opts []opcua.Option
	if s.cfg.AuthMode == "UsernamePassword" {
		authType = ua.UserTokenTypeUserName
		opts = append(opts, opcua.AuthUsername(s.cfg.Username, s.cfg.Password))
	} else {
		opts = append(opts, opcua.AuthAnonymous())
	}
	appURI := "urn:edgeframe:opcpublisher"
	opts = append(opts, opcua.ApplicationName("edgeframe opcpublisher"), opcua.ApplicationURI(appURI),
		opcua.SecurityFromEndpoint(ep, authType))
	if ep.SecurityMode != ua.MessageSecurityModeNone || s.cfg.AuthMode == "UsernamePassword" {
		dir := s.cfg.PKIDir
		if dir == "" {
			return nil, errors.New("security mode or user authentication needs a PKI directory (--pki) for the client certificate")
		}
		// The server's certificate secures the channel (or encrypts the password):
		// it must be trusted, as in OPC Publisher, unless --aa.
		ts := uapki.TrustStore{Dir: dir, AutoAccept: s.cfg.AutoAccept, Peer: "server"}
		if err := ts.Check(ep.ServerCertificate); err != nil {
			return nil, fmt.Errorf("%s: %w (or start with --aa)", s.cfg.Endpoint, err)
		}
		id, err := uapki.LoadOrCreateIdentity(dir, uapki.Application{Name: "opcpublisher", URI: appURI, Hosts: []string{"localhost"}})
		if err != nil {
			return nil, err
		}
		opts = append(opts, opcua.PrivateKey(id.Key), opcua.Certificate(id.CertDER))
	}
	return opts, nil
}

// selectEndpoint picks the endpoint for mode (Best = the highest security level) and
// policy ("" = any).
func selectEndpoint(eps []*ua.EndpointDescription, mode, policy string) (*ua.EndpointDescription, error) {
	var best *ua.EndpointDescription
	var offered []string
	for _, ep := range eps {
		p := ep.SecurityPolicyURI[strings.LastIndex(ep.SecurityPolicyURI, "#")+1:]
		offered = append(offered, p+"/"+strings.TrimPrefix(ep.SecurityMode.String(), "MessageSecurityMode"))
		if policy != "" && p != policy {
			continue
		}
		switch mode {
		case "None":
			if ep.SecurityMode != ua.MessageSecurityModeNone {
				continue
			}
		case "Sign":
			if ep.SecurityMode != ua.MessageSecurityModeSign {
				continue
			}
		case "SignAndEncrypt":
			if ep.SecurityMode != ua.MessageSecurityModeSignAndEncrypt {
				continue
			}
		case "Best":
			if ep.SecurityMode == ua.MessageSecurityModeNone || ep.SecurityMode == ua.MessageSecurityModeInvalid {
				continue
			}
		}
		if best == nil || ep.SecurityLevel > best.SecurityLevel {
			best = ep
		}
	}
	if best == nil {
		return nil, fmt.Errorf("no endpoint offers security mode %s%s (offered: %s)", mode,
			map[bool]string{true: " with policy " + policy, false: ""}[policy != ""], strings.Join(offered, ", "))
	}
	return best, nil
}

// serve runs one connection: subscribe, then dispatch notifications, apply updates and
// keep alive until the connection is lost (returned error) or ctx ends.
func (s *Session) serve(ctx context.Context, c *conn, lostAt time.Time) error {
	if err := s.apply(ctx, c); err != nil {
		return fmt.Errorf("subscribe: %w", err)
	}
	s.setLive(c)
	s.setState(Connected, nil)
	if !lostAt.IsZero() && s.h.Resumed != nil {
		s.h.Resumed(time.Since(lostAt))
	}
	ka := time.NewTicker(s.cfg.KeepAlive)
	defer ka.Stop()
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case st := <-c.states:
			if st == opcua.Disconnected || st == opcua.Closed {
				return fmt.Errorf("connection %s", strings.ToLower(st.String()))
			}
		case <-s.changed:
			if err := s.apply(ctx, c); err != nil {
				return fmt.Errorf("update subscriptions: %w", err)
			}
			s.setLive(c)
		case n := <-c.notifs:
			if err := s.dispatch(c, n); err != nil {
				return err
			}
		case <-ka.C:
			if err := s.keepAlive(ctx, c); err != nil {
				return fmt.Errorf("keep-alive: %w", err)
			}
		}
	}
}

func (s *Session) keepAlive(ctx context.Context, c *conn) error {
	ctx, cancel := context.WithTimeout(ctx, s.cfg.RequestTimeout)
	defer cancel()
	res, err := c.client.Read(ctx, &ua.ReadRequest{NodesToRead: []*ua.ReadValueID{
		{NodeID: ua.NewNumericNodeID(0, 2259), AttributeID: ua.AttributeIDValue}}}) // Server_ServerStatus_State
	if err != nil {
		return err
	}
	if len(res.Results) != 1 {
		return errors.New("server state: empty read result")
	}
	if st := res.Results[0].Status; st != ua.StatusOK {
		return fmt.Errorf("server state: %w", st)
	}
	return s.checkSubscriptions(ctx, c)
}

// checkSubscriptions asks the server whether our subscriptions still exist (a server
// may delete one, e.g. when its lifetime expired or under opcplc --chaos, while the
// session lives on; gopcua does not report that). A lost subscription is forgotten
// and apply creates it again with its items.
func (s *Session) checkSubscriptions(ctx context.Context, c *conn) error {
	if len(c.subs) == 0 {
		return nil
	}
	var ids []uint32
	for _, sb := range c.subs {
		ids = append(ids, sb.s.SubscriptionID)
	}
	var res *ua.SetPublishingModeResponse
	err := c.client.Send(ctx, &ua.SetPublishingModeRequest{PublishingEnabled: true, SubscriptionIDs: ids}, func(v ua.Response) error {
		r, ok := v.(*ua.SetPublishingModeResponse)
		if !ok {
			return fmt.Errorf("unexpected response %T", v)
		}
		res = r
		return nil
	})
	if err != nil {
		return fmt.Errorf("check subscriptions: %w", err)
	}
	lost := map[string]time.Duration{}
	for i, st := range res.Results {
		if i >= len(ids) || st == ua.StatusOK {
			continue
		}
		sb := c.bySubID[ids[i]]
		if sb == nil {
			continue
		}
		for _, mi := range sb.byHandle {
			lost[mi.item.Writer] = max(lost[mi.item.Writer], time.Since(sb.lastData))
		}
		s.log.Warn("subscription lost on the server, recreating it", "subscription", ids[i], "publishing_interval", sb.interval.String(),
			"items", len(sb.byHandle), "status", st.Error())
		_ = sb.s.Cancel(ctx) // forget it in the client; the server already has
		for key, mi := range c.items {
			if mi.sub == sb {
				delete(c.items, key)
			}
		}
		delete(c.subs, sb.interval)
		delete(c.bySubID, ids[i])
	}
	if len(lost) == 0 {
		return nil
	}
	if err := s.apply(ctx, c); err != nil {
		return err
	}
	s.setLive(c)
	if s.h.SubscriptionLost != nil {
		var writers []string
		var silent time.Duration
		for w, d := range lost {
			writers = append(writers, w)
			silent = max(silent, d)
		}
		sort.Strings(writers)
		s.h.SubscriptionLost(writers, silent)
	}
	return nil
}

func (s *Session) dispatch(c *conn, n *opcua.PublishNotificationData) error {
	if n.Error != nil {
		// A subscription the server no longer knows means the session is gone.
		if errors.Is(n.Error, ua.StatusBadSessionIDInvalid) || errors.Is(n.Error, ua.StatusBadSessionClosed) ||
			errors.Is(n.Error, ua.StatusBadSubscriptionIDInvalid) || errors.Is(n.Error, ua.StatusBadNoSubscription) {
			return fmt.Errorf("subscription %d: %w", n.SubscriptionID, n.Error)
		}
		s.log.Warn("publish error", "subscription", n.SubscriptionID, "err", n.Error.Error())
		return nil
	}
	dcn, ok := n.Value.(*ua.DataChangeNotification)
	if !ok || s.h.Data == nil {
		return nil
	}
	sb := c.bySubID[n.SubscriptionID]
	if sb == nil {
		return nil
	}
	sb.lastData = time.Now()
	changes := make([]Change, 0, len(dcn.MonitoredItems))
	for _, mi := range dcn.MonitoredItems {
		if mi == nil || mi.Value == nil {
			continue
		}
		it := sb.byHandle[mi.ClientHandle]
		if it == nil {
			continue // removed meanwhile
		}
		changes = append(changes, Change{Item: &it.item, Value: mi.Value})
	}
	if len(changes) > 0 {
		s.h.Data(changes)
	}
	return nil
}

// apply makes the connection's monitored items match the desired set: it removes the
// items that went away or changed, adds the new ones (creating subscriptions for new
// publishing intervals) and deletes subscriptions left empty.
func (s *Session) apply(ctx context.Context, c *conn) error {
	desired := s.snapshot()
	remove := map[*sub][]uint32{}
	for key, mi := range c.items {
		if it, ok := desired[key]; ok && it.signature() == mi.sig {
			continue
		}
		if mi.sub != nil {
			remove[mi.sub] = append(remove[mi.sub], mi.id)
			delete(mi.sub.byHandle, mi.handle)
		}
		delete(c.items, key)
	}
	for sb, ids := range remove {
		rctx, cancel := context.WithTimeout(ctx, s.cfg.RequestTimeout)
		_, err := sb.s.Unmonitor(rctx, ids...)
		cancel()
		if err != nil {
			return fmt.Errorf("remove %d items from subscription %s: %w", len(ids), sb.interval, err)
		}
	}
	var add []Item
	for key, it := range desired {
		if _, ok := c.items[key]; !ok {
			add = append(add, it)
		}
	}
	sort.Slice(add, func(i, j int) bool { return add[i].Key < add[j].Key })
	byInterval := map[time.Duration][]Item{}
	for _, it := range add {
		byInterval[it.PublishingInterval] = append(byInterval[it.PublishingInterval], it)
	}
	ns := c.client.Namespaces()
	for interval, items := range byInterval {
		sb, err := s.subscription(ctx, c, interval)
		if err != nil {
			return err
		}
		if err := s.monitor(ctx, c, sb, ns, items); err != nil {
			return err
		}
	}
	for interval, sb := range c.subs {
		if len(sb.byHandle) > 0 {
			continue
		}
		rctx, cancel := context.WithTimeout(ctx, s.cfg.RequestTimeout)
		err := sb.s.Cancel(rctx)
		cancel()
		if err != nil {
			return fmt.Errorf("delete subscription %s: %w", interval, err)
		}
		delete(c.subs, interval)
		delete(c.bySubID, sb.s.SubscriptionID)
		s.log.Info("subscription deleted", "publishing_interval", interval.String())
	}
	return nil
}

func (s *Session) subscription(ctx context.Context, c *conn, interval time.Duration) (*sub, error) {
	if sb, ok := c.subs[interval]; ok {
		return sb, nil
	}
	rctx, cancel := context.WithTimeout(ctx, s.cfg.RequestTimeout)
	defer cancel()
	// Keep-alive count: the server sends a keep-alive at least every ~5 s of silence.
	kac := uint32(5 * time.Second / max(interval, 10*time.Millisecond))
	os, err := c.client.Subscribe(rctx, &opcua.SubscriptionParameters{Interval: interval, MaxKeepAliveCount: max(kac, 1),
		LifetimeCount: max(kac, 1) * 3}, c.notifs)
	if err != nil {
		return nil, fmt.Errorf("create subscription (publishing interval %s): %w", interval, err)
	}
	sb := &sub{interval: interval, s: os, byHandle: map[uint32]*monItem{}, lastData: time.Now()}
	c.subs[interval] = sb
	c.bySubID[os.SubscriptionID] = sb
	s.log.Info("subscription created", "publishing_interval", interval.String(), "revised", os.RevisedPublishingInterval.String(), "id", os.SubscriptionID)
	return sb, nil
}

func (s *Session) monitor(ctx context.Context, c *conn, sb *sub, ns []string, items []Item) error {
	for start := 0; start < len(items); start += s.cfg.MonitorBatch {
		batch := items[start:min(start+s.cfg.MonitorBatch, len(items))]
		var reqs []*ua.MonitoredItemCreateRequest
		var pending []*monItem
		for _, it := range batch {
			mi := &monItem{item: it, sig: it.signature()}
			c.items[it.Key] = mi
			id, err := it.NodeID.Resolve(ns)
			if err != nil {
				s.itemError(it, err)
				continue
			}
			c.nextH++
			mi.handle = c.nextH
			req := opcua.NewMonitoredItemCreateRequestWithDefaults(id, ua.AttributeIDValue, mi.handle)
			req.RequestedParameters.SamplingInterval = float64(it.SamplingInterval) / float64(time.Millisecond)
			req.RequestedParameters.QueueSize = it.QueueSize
			req.RequestedParameters.DiscardOldest = !it.DiscardNew
			req.ItemToMonitor.IndexRange = it.IndexRange
			if it.Trigger != ua.DataChangeTriggerStatusValue || it.DeadbandType != ua.DeadbandTypeNone {
				req.RequestedParameters.Filter = ua.NewExtensionObject(&ua.DataChangeFilter{
					Trigger: it.Trigger, DeadbandType: uint32(it.DeadbandType), DeadbandValue: it.DeadbandValue})
			}
			reqs = append(reqs, req)
			pending = append(pending, mi)
		}
		if len(reqs) == 0 {
			continue
		}
		rctx, cancel := context.WithTimeout(ctx, s.cfg.RequestTimeout)
		res, err := sb.s.Monitor(rctx, ua.TimestampsToReturnBoth, reqs...)
		cancel()
		if err != nil {
			return fmt.Errorf("create %d monitored items: %w", len(reqs), err)
		}
		if len(res.Results) != len(pending) {
			return fmt.Errorf("create monitored items: %d results for %d items", len(res.Results), len(pending))
		}
		for i, r := range res.Results {
			mi := pending[i]
			if r.StatusCode != ua.StatusOK {
				s.itemError(mi.item, r.StatusCode)
				continue
			}
			mi.id, mi.sub = r.MonitoredItemID, sb
			sb.byHandle[mi.handle] = mi
		}
	}
	return nil
}

func (s *Session) itemError(it Item, err error) {
	s.log.Warn("monitored item refused", "writer", it.Writer, "node", it.RawID, "err", err.Error())
	if s.h.ItemError != nil {
		s.h.ItemError(it, err)
	}
}
