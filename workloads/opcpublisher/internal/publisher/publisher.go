// Package publisher is opcpublisher's engine: it turns a publishednodes.json into OPC UA
// sessions (one per endpoint + security + user) and data set writers, encodes their
// value changes as PubSub network messages or Samples, batches them per writer group
// and publishes each batch as one CloudEvent through the bounded Dapr send queue.
// Apply reconciles a new configuration with the running one, touching only what changed.
//
// Each group's CloudEvent sequence comes from a seqstore (durable under Options.StateDir,
// one state file per group), so a restarted publisher never reuses a message id. While a
// group's store cannot be opened or persist its mark, that group's batches are dropped
// (counted and logged) rather than sent with a sequence that could repeat, and Ready
// reports it.
package publisher

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gopcua/opcua/ua"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"

	"github.com/edgeframe/edgeframe/pkg/cloudevent"
	"github.com/edgeframe/edgeframe/pkg/daprpub"
	"github.com/edgeframe/edgeframe/pkg/seqstore"
	"github.com/edgeframe/edgeframe/workloads/opcpublisher/internal/encoding"
	"github.com/edgeframe/edgeframe/workloads/opcpublisher/internal/pnjson"
	"github.com/edgeframe/edgeframe/workloads/opcpublisher/internal/session"
)

// AppID is opcpublisher's Dapr app id and service name.
const AppID = "opcpublisher"

// Messaging modes (--mm).
const (
	ModePubSub  = "PubSub"
	ModeSamples = "Samples"
)

// Options configure the engine (the flags other than the file and the servers).
type Options struct {
	MessagingMode string // PubSub or Samples
	Strict        bool
	BatchSize     int
	BatchInterval time.Duration
	// MaxMessageBytes bounds a batch's estimated size (0 = no bound).
	MaxMessageBytes int
	// KeyFrameCount applies to writers whose entry has no DataSetKeyFrameCount.
	KeyFrameCount int
	// KeepAlive sends ua-keepalive data set messages for writers without data.
	KeepAlive     bool
	PubSub        string
	TopicTemplate string // {WriterGroup} and {DataSetWriterId} are replaced
	Level         string
	PublisherID   string
	PKIDir        string
	Session       session.Config // Reconnect, KeepAlive, RequestTimeout defaults for every session
	// StateDir holds a sequence state file per writer group, seq-<group>, so message ids
	// never repeat across restarts; "" keeps the sequences in memory (from 1 in every process).
	StateDir string
	// SequenceBlock is how many sequences one durable write reserves (0 = seqstore.DefaultBlock).
	SequenceBlock int64
}

// Publisher runs the sessions and writers of one configuration at a time.
type Publisher struct {
	opts Options
	// run distinguishes this process's network message ids when sequences are not
	// durable (no StateDir), so MessageId never repeats across restarts.
	run     string
	enc     encoding.Options
	prod    *daprpub.Producer
	m       *Metrics
	log     *slog.Logger
	runCtx  context.Context
	started chan struct{}

	mu       sync.RWMutex
	sessions map[string]*sessionRun
	writers  map[string]*writer // by writerKey
	groups   map[string]*group
	nextIdx  map[string]uint16 // per group, for non-numeric writer ids in strict mode
	// memSeqs keeps the in-memory sequences (no StateDir) of groups that were removed, so
	// a group that comes back continues instead of reusing ids.
	memSeqs map[string]*seqstore.Lazy
}

type sessionRun struct {
	s      *session.Session
	cancel context.CancelFunc
	done   chan struct{}
	cfg    session.Config
}

type writer struct {
	w        *encoding.Writer
	group    string
	session  string
	interval time.Duration
	lastData time.Time
	lastKA   time.Time
	// heartbeats: fields with a HeartbeatInterval, by field name.
	heartbeats map[string]*heartbeat
}

// heartbeat re-sends a field's last known value when it has not changed for interval
// (OPC Publisher's default HeartbeatBehavior, WatchdogLKV).
type heartbeat struct {
	interval time.Duration
	last     *encoding.Value
	sent     time.Time
}

type group struct {
	name  string
	topic string
	b     *encoding.Batcher[batchItem]
	seq   *seqstore.Lazy // CloudEvent sequences
	// failing is the sequence store's failure while it lasts (read by Ready).
	failing atomic.Pointer[error]
	// Used under the batcher's lock (flush): the failure streak, for the log.
	failedSince, lastLog time.Time
	droppedBatches       int
}

type batchItem struct {
	dsm    *encoding.DataSetMessage
	sample *encoding.Sample
	// meta is a writer's metadata announcement: a ua-metadata network message of its
	// own, sent in order with the group's data (same topic, next sequence).
	meta *encoding.DataSetMetaData
}

// New returns an engine publishing into q.
func New(opts Options, q daprpub.Enqueuer, m *Metrics, tp trace.TracerProvider, log *slog.Logger) *Publisher {
	if opts.TopicTemplate == "" {
		opts.TopicTemplate = "telemetry/opcua/{WriterGroup}"
	}
	run := ""
	if opts.StateDir == "" {
		run = strconv.FormatInt(time.Now().UnixMilli(), 36) + strconv.FormatUint(uint64(rand.Uint32()&0xffff), 36)
	}
	return &Publisher{
		run:  run,
		opts: opts, enc: encoding.Options{Strict: opts.Strict, PublisherID: opts.PublisherID}, m: m, log: log,
		prod: &daprpub.Producer{Queue: q, Tracer: tp.Tracer("github.com/edgeframe/edgeframe/workloads/opcpublisher"),
			PubSub: opts.PubSub, Source: cloudevent.SourceFor(opts.Level, AppID), Kind: "opcua", SpanPrefix: "publish"},
		started:  make(chan struct{}),
		sessions: map[string]*sessionRun{}, writers: map[string]*writer{}, groups: map[string]*group{}, nextIdx: map[string]uint16{},
		memSeqs: map[string]*seqstore.Lazy{},
	}
}

func writerKey(group, id string) string { return group + "\x00" + id }

// Ready reports an error unless every configured session is connected and every group
// can number its messages.
func (p *Publisher) Ready() error {
	p.mu.RLock()
	defer p.mu.RUnlock()
	var errs []error
	for _, r := range p.sessions {
		if st := r.s.State(); st != session.Connected {
			errs = append(errs, fmt.Errorf("session %s: %s", r.cfg.Endpoint, st))
		}
	}
	for _, g := range p.groups {
		if err := g.failing.Load(); err != nil {
			errs = append(errs, fmt.Errorf("group %s: %w", g.name, *err))
		}
	}
	return errors.Join(errs...)
}

// Run starts the configured sessions and the keep-alive/metrics ticker; it returns
// when ctx ends, after stopping every session and flushing every batch.
func (p *Publisher) Run(ctx context.Context) error {
	p.mu.Lock()
	p.runCtx = ctx
	for _, r := range p.sessions {
		p.startSession(r)
	}
	p.mu.Unlock()
	close(p.started)
	t := time.NewTicker(250 * time.Millisecond)
	defer t.Stop()
	last := time.Now()
	for {
		select {
		case <-ctx.Done():
			p.stopAll()
			return nil
		case now := <-t.C:
			if now.Sub(last) >= time.Second {
				p.m.tick(now.Sub(last))
				last = now
			}
			p.heartbeatsDue(now)
			if p.opts.KeepAlive {
				p.keepAlives(now)
			}
		}
	}
}

func (p *Publisher) startSession(r *sessionRun) {
	ctx, cancel := context.WithCancel(p.runCtx)
	r.cancel = cancel
	go func() {
		defer close(r.done)
		_ = r.s.Run(ctx)
	}()
}

func (p *Publisher) stopAll() {
	p.mu.Lock()
	runs := make([]*sessionRun, 0, len(p.sessions))
	for _, r := range p.sessions {
		runs = append(runs, r)
	}
	groups := make([]*group, 0, len(p.groups))
	for _, g := range p.groups {
		groups = append(groups, g)
	}
	p.mu.Unlock()
	for _, r := range runs {
		if r.cancel != nil {
			r.cancel()
			<-r.done
		}
	}
	for _, g := range groups {
		g.b.Stop()
		p.closeSeq(g)
	}
}

// closeSeq records the exact next sequence of a group whose batches are flushed. An
// in-memory sequence stays open for the group's return.
func (p *Publisher) closeSeq(g *group) {
	if g.seq.Path() == "" {
		return
	}
	if err := g.seq.Close(); err != nil {
		p.log.Warn("sequence store: the exact next sequence was not recorded; the next start skips to the reserved mark",
			"group", g.name, "err", err.Error())
	}
}

// Apply reconciles the running configuration with f: new sessions start, removed ones
// stop, and a session whose items changed updates only those items; writers keep their
// sequence numbers; removed groups flush what they hold.
func (p *Publisher) Apply(f *pnjson.File) {
	type sessDesired struct {
		cfg   session.Config
		items []session.Item
	}
	wantSessions := map[string]*sessDesired{}
	wantWriters := map[string]pnjson.Entry{}
	items := 0
	for _, e := range f.Entries {
		key := e.SessionKey()
		sd := wantSessions[key]
		if sd == nil {
			cfg := p.opts.Session
			cfg.Endpoint, cfg.SecurityMode, cfg.SecurityPolicy = e.EndpointURL, e.SecurityMode, e.SecurityPolicy
			cfg.AuthMode, cfg.Username, cfg.Password, cfg.PKIDir = e.AuthMode, e.Username, e.Password, p.opts.PKIDir
			sd = &sessDesired{cfg: cfg}
			wantSessions[key] = sd
		}
		wk := writerKey(e.WriterGroup, e.WriterID)
		wantWriters[wk] = e
		for _, n := range e.Nodes {
			sd.items = append(sd.items, session.Item{
				Key: wk + "\x00" + n.FieldName(), Writer: wk, Field: n.FieldName(), RawID: n.RawID, NodeID: n.ID,
				SamplingInterval: n.SamplingInterval, PublishingInterval: n.PublishingInterval, QueueSize: n.QueueSize,
				Trigger: ua.DataChangeTriggerFromString(n.DataChangeTrigger), DeadbandType: ua.DeadbandTypeFromString(n.DeadbandType),
				DeadbandValue: n.DeadbandValue, IndexRange: n.IndexRange, DiscardNew: n.DiscardNew,
			})
			items++
		}
	}
	p.m.MonitoredItems.Set(float64(items))

	p.mu.Lock()
	// Groups and writers first, so data from updated sessions finds them.
	for wk, e := range wantWriters {
		g := p.groups[e.WriterGroup]
		if g == nil {
			g = p.newGroup(e.WriterGroup)
			p.groups[e.WriterGroup] = g
		}
		cfg := encoding.WriterConfig{Group: e.WriterGroup, ID: e.WriterID, EndpointURL: e.EndpointURL, KeyFrameCount: e.KeyFrameCount}
		if cfg.KeyFrameCount == 0 {
			cfg.KeyFrameCount = p.opts.KeyFrameCount
		}
		for _, n := range e.Nodes {
			cfg.Fields = append(cfg.Fields, n.FieldName())
		}
		interval := e.PublishingInterval
		for _, n := range e.Nodes {
			if interval == 0 || n.PublishingInterval < interval {
				interval = n.PublishingInterval
			}
		}
		hbs := map[string]*heartbeat{}
		for _, n := range e.Nodes {
			if n.Heartbeat > 0 {
				hbs[n.FieldName()] = &heartbeat{interval: n.Heartbeat}
			}
		}
		if w := p.writers[wk]; w != nil {
			cfg.Index = w.w.Config().Index
			w.w.Reconfigure(cfg)
			w.session, w.interval = e.SessionKey(), interval
			for f, hb := range hbs {
				if old := w.heartbeats[f]; old != nil {
					hb.last, hb.sent = old.last, old.sent
				}
			}
			w.heartbeats = hbs
			continue
		}
		cfg.Index = p.writerIndex(e.WriterGroup, e.WriterID)
		p.writers[wk] = &writer{w: encoding.NewWriter(cfg), group: e.WriterGroup, session: e.SessionKey(), interval: interval,
			lastData: time.Now(), heartbeats: hbs}
		p.log.Info("writer added", "group", e.WriterGroup, "writer", e.WriterID, "fields", len(cfg.Fields), "keyFrameCount", cfg.KeyFrameCount)
	}
	var stop []*sessionRun
	for key, r := range p.sessions {
		if _, ok := wantSessions[key]; !ok {
			stop = append(stop, r)
			delete(p.sessions, key)
			p.m.Connected.DeleteLabelValues(r.cfg.Endpoint, r.cfg.SecurityMode)
			p.log.Info("session removed", "endpoint", r.cfg.Endpoint, "security", r.cfg.SecurityMode)
		}
	}
	for key, sd := range wantSessions {
		r := p.sessions[key]
		if r == nil || r.cfg.Password != sd.cfg.Password {
			if r != nil {
				stop = append(stop, r)
			}
			r = p.newSession(key, sd.cfg)
			p.sessions[key] = r
			r.s.Update(sd.items)
			if p.runCtx != nil {
				p.startSession(r)
			}
			continue
		}
		r.s.Update(sd.items)
	}
	var flush []*group
	for wk, w := range p.writers {
		if _, ok := wantWriters[wk]; !ok {
			delete(p.writers, wk)
			p.log.Info("writer removed", "group", w.group, "writer", w.w.Config().ID)
		}
	}
	for name, g := range p.groups {
		used := false
		for _, w := range p.writers {
			used = used || w.group == name
		}
		if !used {
			flush = append(flush, g)
			delete(p.groups, name)
		}
	}
	p.mu.Unlock()
	for _, r := range stop {
		if r.cancel != nil {
			r.cancel()
			<-r.done
		}
	}
	for _, g := range flush {
		g.b.Stop()
		p.closeSeq(g)
	}
}

// writerIndex is the numeric DataSetWriterId of strict mode: the configured id when it
// is a number, else the next index of the group no other writer of the group uses.
func (p *Publisher) writerIndex(group, id string) uint16 {
	if n, err := strconv.ParseUint(id, 10, 16); err == nil {
		return uint16(n)
	}
	used := map[uint16]bool{}
	for _, w := range p.writers {
		if w.group == group {
			used[w.w.Config().Index] = true
		}
	}
	for {
		p.nextIdx[group]++
		if i := p.nextIdx[group]; i != 0 && !used[i] {
			return i
		}
	}
}

func (p *Publisher) newGroup(name string) *group {
	g := &group{name: name, topic: strings.NewReplacer("{WriterGroup}", name).Replace(p.opts.TopicTemplate)}
	var path string
	if p.opts.StateDir != "" {
		path = filepath.Join(p.opts.StateDir, "seq-"+name)
	}
	var opts []seqstore.Option
	if p.opts.SequenceBlock > 0 {
		opts = append(opts, seqstore.Block(p.opts.SequenceBlock))
	}
	if path == "" {
		if p.memSeqs[name] == nil {
			p.memSeqs[name] = seqstore.NewLazy("")
		}
		g.seq = p.memSeqs[name]
	} else {
		g.seq = seqstore.NewLazy(path, opts...)
	}
	// Open now, so that a state file that cannot be used shows before the first batch.
	if st, err := g.seq.Open(); err != nil {
		p.seqFailed(g, err, 0)
	} else if st.Path() != "" {
		p.log.Info("sequence store opened", "group", name, "path", st.Path(), "nextSequence", st.Peek())
	}
	g.b = &encoding.Batcher[batchItem]{Size: p.opts.BatchSize, Interval: p.opts.BatchInterval, MaxBytes: p.opts.MaxMessageBytes,
		Bytes: func(it batchItem) int {
			switch {
			case it.sample != nil:
				return encoding.EstimateSampleBytes(*it.sample)
			case it.meta != nil:
				return 300 + 150*len(it.meta.Fields)
			}
			return encoding.EstimateBytes(*it.dsm)
		},
		Flush: func(items []batchItem) { p.flush(g, items) }}
	return g
}

func (p *Publisher) newSession(key string, cfg session.Config) *sessionRun {
	r := &sessionRun{cfg: cfg, done: make(chan struct{})}
	gauge := p.m.Connected.WithLabelValues(cfg.Endpoint, cfg.SecurityMode)
	gauge.Set(0)
	r.s = session.New(cfg, session.Handlers{
		Data: func(cs []session.Change) { p.onData(cs) },
		State: func(to session.State, _ error) {
			if to == session.Connected {
				gauge.Set(1)
			} else {
				gauge.Set(0)
			}
		},
		Resumed: func(outage time.Duration) {
			p.gap(func(w *writer) bool { return w.session == key }, outage, "reconnect")
		},
		SubscriptionLost: func(writers []string, silent time.Duration) {
			p.gap(func(w *writer) bool { return slices.Contains(writers, writerKey(w.group, w.w.Config().ID)) }, silent, "lost subscription")
		},
		ItemError: func(session.Item, error) { p.m.RefusedItems.Inc() },
	}, p.log)
	return r
}

func (p *Publisher) onData(cs []session.Change) {
	now := time.Now()
	p.m.valueChanges(len(cs))
	byWriter := map[string][]encoding.Value{}
	var order []string
	for _, c := range cs {
		v := encoding.Value{Field: c.Item.Field, NodeID: c.Item.RawID, Status: c.Value.Status,
			SourceTimestamp: c.Value.SourceTimestamp, ServerTimestamp: c.Value.ServerTimestamp}
		if c.Value.Value != nil {
			v.Value = c.Value.Value.Value()
			v.Type, v.Array = c.Value.Value.Type(), c.Value.Value.Has(ua.VariantArrayValues)
		}
		if _, ok := byWriter[c.Item.Writer]; !ok {
			order = append(order, c.Item.Writer)
		}
		byWriter[c.Item.Writer] = append(byWriter[c.Item.Writer], v)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, wk := range order {
		w := p.writers[wk]
		if w == nil {
			continue
		}
		g := p.groups[w.group]
		if g == nil {
			continue
		}
		w.lastData = now
		vs := byWriter[wk]
		for i := range vs {
			if hb := w.heartbeats[vs[i].Field]; hb != nil {
				v := vs[i]
				hb.last, hb.sent = &v, now
			}
		}
		if p.opts.MessagingMode == ModeSamples {
			cfg := w.w.Config()
			items := make([]batchItem, len(vs))
			for i := range vs {
				items[i] = batchItem{sample: &encoding.Sample{EndpointURL: cfg.EndpointURL, WriterID: cfg.ID, SequenceNumber: w.w.Sample(), Value: vs[i]}}
			}
			g.b.Add(items...)
			continue
		}
		// A data set message holds one value per field: a notification that carries
		// several queued values of a field becomes several messages, in order.
		for _, round := range rounds(vs) {
			p.addData(g, w, round, now)
		}
	}
}

// addData queues the data set message of values that changed together, preceded by the
// writer's metadata when it is new or changed (PubSub mode; called with p.mu held).
func (p *Publisher) addData(g *group, w *writer, values []encoding.Value, now time.Time) {
	if md, due := w.w.MetaData(values); due {
		g.b.Add(batchItem{meta: &md})
	}
	m := w.w.Data(values, now)
	g.b.Add(batchItem{dsm: &m})
}

// rounds splits values so that each run holds every field at most once: the k-th value
// of a field goes into run k, which keeps each field's values in order and makes as few
// runs as the deepest field queue.
func rounds(vs []encoding.Value) [][]encoding.Value {
	seen := make(map[string]int, len(vs))
	deepest := 0
	for _, v := range vs {
		seen[v.Field]++
		deepest = max(deepest, seen[v.Field])
	}
	if deepest <= 1 {
		return [][]encoding.Value{vs}
	}
	out := make([][]encoding.Value, deepest)
	clear(seen)
	for _, v := range vs {
		k := seen[v.Field]
		seen[v.Field] = k + 1
		out[k] = append(out[k], v)
	}
	return out
}

// gap makes an outage visible: each affected writer skips the sequence numbers of the
// publishing intervals it missed, and the skip is logged and counted.
func (p *Publisher) gap(affected func(*writer) bool, outage time.Duration, cause string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, w := range p.writers {
		if !affected(w) || w.interval <= 0 {
			continue
		}
		missed := uint32(outage / w.interval)
		last, next := w.w.Gap(missed) // also makes the next message a key frame
		cfg := w.w.Config()
		if missed == 0 {
			p.log.Info("resumed after "+cause+" without a missed publishing interval", "group", cfg.Group, "writer", cfg.ID,
				"outage", outage.Round(time.Millisecond).String(), "nextSequence", next)
			continue
		}
		p.m.DataGaps.Inc()
		p.log.Warn("data gap after "+cause+": sequence numbers skip the missed publishing intervals",
			"group", cfg.Group, "writer", cfg.ID, "outage", outage.Round(time.Millisecond).String(),
			"missedIntervals", missed, "lastSequence", last, "nextSequence", next)
	}
}

// heartbeatsDue re-sends the last value of every field whose heartbeat is due, as one
// delta frame (or samples) per writer. While the writer's session is not connected no
// heartbeat is sent: a re-sent last value would present a source that is gone as Good
// (OPC Publisher's heartbeats come from its monitored items, which are silent while
// the session is down). After the reconnect the server's current value arrives as a key
// frame and heartbeats resume from it.
func (p *Publisher) heartbeatsDue(now time.Time) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, w := range p.writers {
		if r := p.sessions[w.session]; r != nil && r.s.State() != session.Connected {
			for _, hb := range w.heartbeats {
				hb.sent = now // the interval restarts with the next value, not at the reconnect
			}
			continue
		}
		var due []encoding.Value
		for _, hb := range w.heartbeats {
			if hb.last != nil && now.Sub(hb.sent) >= hb.interval {
				hb.sent = now
				due = append(due, *hb.last)
			}
		}
		g := p.groups[w.group]
		if len(due) == 0 || g == nil {
			continue
		}
		if p.opts.MessagingMode == ModeSamples {
			cfg := w.w.Config()
			for i := range due {
				g.b.Add(batchItem{sample: &encoding.Sample{EndpointURL: cfg.EndpointURL, WriterID: cfg.ID, SequenceNumber: w.w.Sample(), Value: due[i]}})
			}
			continue
		}
		p.addData(g, w, due, now)
	}
}

func (p *Publisher) keepAlives(now time.Time) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, w := range p.writers {
		period := max(5*w.interval, time.Second)
		if now.Sub(w.lastData) < period || now.Sub(w.lastKA) < period {
			continue
		}
		g := p.groups[w.group]
		if g == nil {
			continue
		}
		w.lastKA = now
		m := w.w.KeepAlive(now)
		if r := p.sessions[w.session]; r != nil && r.s.State() != session.Connected {
			m.Status = ua.StatusBadNotConnected
		}
		if p.opts.MessagingMode == ModePubSub {
			g.b.Add(batchItem{dsm: &m})
		}
	}
}

// seqFailed records that group g cannot number its messages: the batch of n items is
// dropped. The first failure of a streak is an error in the log, then one warning per
// 30 s with the batches dropped since.
func (p *Publisher) seqFailed(g *group, err error, n int) {
	now := time.Now()
	p.m.SequenceFailures.Inc()
	if n > 0 {
		p.m.Dropped.Add(float64(n))
		g.droppedBatches++
	}
	err = fmt.Errorf("sequence store: %w", err)
	if g.failing.Swap(&err) == nil {
		g.failedSince, g.lastLog = now, now
		p.log.Error("cannot persist the message sequence: the group's messages are dropped until it can (ids must never repeat)",
			"group", g.name, "err", err.Error(), "droppedItems", n)
		return
	}
	if now.Sub(g.lastLog) >= 30*time.Second {
		g.lastLog = now
		p.log.Warn("sequence store still failing: the group's messages are dropped", "group", g.name, "err", err.Error(),
			"failingFor", now.Sub(g.failedSince).Round(time.Second).String(), "droppedBatches", g.droppedBatches)
	}
}

// flush turns one batch into CloudEvents (called with the batcher's lock held): each
// metadata announcement as a ua-metadata message of its own, then the data as one
// network message. An announcement goes ahead of the batch's data of other writers, but
// never ahead of its own writer's earlier data: there the batch is split, so every data
// message follows the announcement of its version and precedes the next one.
func (p *Publisher) flush(g *group, items []batchItem) {
	var metas, data []batchItem
	hasData := map[string]bool{} // writers with data in data
	send := func() {
		for _, m := range metas {
			p.publish(g, []batchItem{m})
		}
		if len(data) > 0 {
			p.publish(g, data)
		}
		metas, data = nil, nil
		clear(hasData)
	}
	for _, it := range items {
		switch {
		case it.meta != nil:
			if hasData[it.meta.WriterID] {
				send()
			}
			metas = append(metas, it)
		default:
			if it.dsm != nil {
				hasData[it.dsm.WriterID] = true
			}
			data = append(data, it)
		}
	}
	send()
}

// publish sends items as one CloudEvent: a metadata announcement (one item), or data.
func (p *Publisher) publish(g *group, items []batchItem) {
	seq, err := g.seq.Next()
	if err != nil {
		p.seqFailed(g, err, len(items))
		return
	}
	if g.failing.Swap(nil) != nil {
		p.log.Info("sequence store works again: the group publishes again", "group", g.name, "sequence", seq,
			"failedFor", time.Since(g.failedSince).Round(time.Millisecond).String(), "droppedBatches", g.droppedBatches)
		g.droppedBatches = 0
	}
	var data []byte
	switch {
	case items[0].meta != nil:
		data, err = p.enc.EncodeMetaData(p.messageID(g.name, seq), g.name, *items[0].meta)
	case p.opts.MessagingMode == ModeSamples:
		samples := make([]encoding.Sample, 0, len(items))
		for _, it := range items {
			if it.sample != nil {
				samples = append(samples, *it.sample)
			}
		}
		data, err = p.enc.EncodeSamples(samples)
	default:
		nm := encoding.NetworkMessage{MessageID: p.messageID(g.name, seq), WriterGroup: g.name}
		for _, it := range items {
			if it.dsm != nil {
				nm.Messages = append(nm.Messages, *it.dsm)
			}
		}
		data, err = p.enc.Encode(nm)
	}
	if err != nil {
		p.log.Error("encode failed, batch dropped", "group", g.name, "sequence", seq, "err", err)
		p.m.Dropped.Add(float64(len(items)))
		return
	}
	id, err := p.prod.Produce(daprpub.Message{Topic: g.topic, Writer: g.name, Sequence: seq, Time: time.Now(), Data: data,
		Attributes: []attribute.KeyValue{attribute.Int("edgeframe.batch.items", len(items))}})
	if err != nil {
		p.log.Warn("enqueue after close, message dropped", "id", id, "err", err)
		p.m.Dropped.Inc()
	}
}

// messageID is a network message's MessageId: <group>-<n> with n the durable sequence
// (StateDir), else <group>-<run>-<n>, run being unique to this process, so an id never
// repeats across restarts either way.
func (p *Publisher) messageID(group string, seq int64) string {
	if p.run == "" {
		return group + "-" + strconv.FormatInt(seq, 10)
	}
	return group + "-" + p.run + "-" + strconv.FormatInt(seq, 10)
}
