package server

import (
	"context"
	"slices"
	"sync"
	"time"

	"github.com/gopcua/opcua/ua"

	"github.com/edgeframe/edgeframe/workloads/opcplc/internal/plc"
)

// pubReq is a queued Publish request waiting for a subscription with something to send.
type pubReq struct {
	ch      *channel
	reqID   uint32
	handle  uint32
	results []ua.StatusCode // acknowledgement results of this request
}

// retransmitLimit is how many sent messages a subscription keeps for Republish.
const retransmitLimit = 32

// subscription is one OPC UA subscription (OPC 10000-4 §5.13.1).
type subscription struct {
	srv  *Server
	id   uint32
	sess *session // guarded by Server.mu

	mu        sync.Mutex
	interval  time.Duration
	lifetime  uint32
	keepAlive uint32
	maxNotifs uint32
	enabled   bool
	items     map[uint32]*monitoredItem
	queued    int // values queued in reporting items
	seq       uint32
	retrans   map[uint32]*ua.NotificationMessage
	order     []uint32
	ticker    *time.Ticker
	sampler   *time.Ticker
	sampleDur time.Duration

	done     chan struct{}
	stopOnce sync.Once
}

func (s *Server) reviseSubscription(interval float64, lifetime, keepAlive uint32) (time.Duration, uint32, uint32) {
	d := time.Duration(interval * float64(time.Millisecond))
	d = min(max(d, s.cfg.MinPublishing), time.Hour)
	if keepAlive == 0 {
		keepAlive = 10
	}
	keepAlive = min(keepAlive, 10000)
	lifetime = max(lifetime, 3*keepAlive)
	return d, lifetime, keepAlive
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

func (s *Server) createSubscription(sess *session, req *ua.CreateSubscriptionRequest) (ua.Response, error) {
	interval, lifetime, keepAlive := s.reviseSubscription(req.RequestedPublishingInterval, req.RequestedLifetimeCount, req.RequestedMaxKeepAliveCount)
	sub := &subscription{srv: s, sess: sess, interval: interval, lifetime: lifetime, keepAlive: keepAlive,
		maxNotifs: req.MaxNotificationsPerPublish, enabled: req.PublishingEnabled,
		items: map[uint32]*monitoredItem{}, retrans: map[uint32]*ua.NotificationMessage{},
		ticker: time.NewTicker(interval), sampleDur: time.Second, sampler: time.NewTicker(time.Second), done: make(chan struct{})}
	s.mu.Lock()
	if len(s.subs) >= s.cfg.MaxSubscriptions {
		s.mu.Unlock()
		sub.ticker.Stop()
		sub.sampler.Stop()
		return fault(req, ua.StatusBadTooManySubscriptions)
	}
	for s.nextSub++; s.nextSub == 0 || s.subs[s.nextSub] != nil; s.nextSub++ {
	}
	sub.id = s.nextSub
	s.subs[sub.id] = sub
	sess.subs[sub.id] = sub
	n := len(s.subs)
	s.mu.Unlock()
	s.m.subscriptions.Set(float64(n))
	s.wg.Add(1)
	go func() { defer s.wg.Done(); sub.run(s.ctx) }()
	s.log.Debug("subscription created", "session", sess.name, "subscription", sub.id, "publishing_interval", interval, "keep_alive", keepAlive, "lifetime", lifetime)
	return &ua.CreateSubscriptionResponse{
		ResponseHeader:            header(req.RequestHeader.RequestHandle, ua.StatusOK),
		SubscriptionID:            sub.id,
		RevisedPublishingInterval: ms(interval),
		RevisedLifetimeCount:      lifetime,
		RevisedMaxKeepAliveCount:  keepAlive,
	}, nil
}

// ownSub returns subscription id of sess.
func (s *Server) ownSub(sess *session, id uint32) *subscription {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return sess.subs[id]
}

// eachSub applies f to each subscription of sess that ids names. The result of an id
// is Good, or BadSubscriptionIDInvalid when sess owns no such subscription.
func (s *Server) eachSub(sess *session, ids []uint32, f func(sub *subscription)) []ua.StatusCode {
	results := make([]ua.StatusCode, len(ids))
	for i, id := range ids {
		sub := s.ownSub(sess, id)
		if sub == nil {
			results[i] = ua.StatusBadSubscriptionIDInvalid
			continue
		}
		f(sub)
	}
	return results
}

func (s *Server) modifySubscription(sub *subscription, req *ua.ModifySubscriptionRequest) (ua.Response, error) {
	interval, lifetime, keepAlive := s.reviseSubscription(req.RequestedPublishingInterval, req.RequestedLifetimeCount, req.RequestedMaxKeepAliveCount)
	sub.mu.Lock()
	sub.interval, sub.lifetime, sub.keepAlive, sub.maxNotifs = interval, lifetime, keepAlive, req.MaxNotificationsPerPublish
	sub.ticker.Reset(interval)
	sub.mu.Unlock()
	return &ua.ModifySubscriptionResponse{
		ResponseHeader:            header(req.RequestHeader.RequestHandle, ua.StatusOK),
		RevisedPublishingInterval: ms(interval),
		RevisedLifetimeCount:      lifetime,
		RevisedMaxKeepAliveCount:  keepAlive,
	}, nil
}

func (s *Server) setPublishingMode(sess *session, req *ua.SetPublishingModeRequest) (ua.Response, error) {
	if len(req.SubscriptionIDs) == 0 {
		return fault(req, ua.StatusBadNothingToDo)
	}
	results := s.eachSub(sess, req.SubscriptionIDs, func(sub *subscription) {
		sub.mu.Lock()
		sub.enabled = req.PublishingEnabled
		sub.mu.Unlock()
	})
	return &ua.SetPublishingModeResponse{ResponseHeader: header(req.RequestHeader.RequestHandle, ua.StatusOK), Results: results, DiagnosticInfos: []*ua.DiagnosticInfo{}}, nil
}

func (s *Server) deleteSubscriptions(sess *session, req *ua.DeleteSubscriptionsRequest) (ua.Response, error) {
	if len(req.SubscriptionIDs) == 0 {
		return fault(req, ua.StatusBadNothingToDo)
	}
	results := s.eachSub(sess, req.SubscriptionIDs, func(sub *subscription) { s.deleteSubscription(sub, 0) })
	return &ua.DeleteSubscriptionsResponse{ResponseHeader: header(req.RequestHeader.RequestHandle, ua.StatusOK), Results: results, DiagnosticInfos: []*ua.DiagnosticInfo{}}, nil
}

// deleteSubscription removes sub and its items. A non-zero status is reported to the
// owning session as a StatusChangeNotification on its next Publish.
func (s *Server) deleteSubscription(sub *subscription, status ua.StatusCode) {
	s.mu.Lock()
	if s.subs[sub.id] != sub {
		s.mu.Unlock()
		return
	}
	delete(s.subs, sub.id)
	sess := sub.sess
	if sess != nil {
		delete(sess.subs, sub.id)
	}
	sub.mu.Lock()
	for _, it := range sub.items {
		s.unindex(it)
	}
	n := len(sub.items)
	sub.items = map[uint32]*monitoredItem{}
	next := sub.seq + 1
	sub.mu.Unlock()
	if status != 0 && sess != nil && s.sessions[sess.token] == sess {
		sess.statusQ = append(sess.statusQ, statusChange{subID: sub.id, seq: next, status: status})
	}
	nsubs := len(s.subs)
	s.mu.Unlock()
	s.m.subscriptions.Set(float64(nsubs))
	s.m.items.Sub(float64(n))
	sub.stop()
	if sess != nil {
		s.flushSession(sess)
	}
	if status != 0 {
		s.log.Info("subscription ended by the server", "subscription", sub.id, "status", status.Error())
	}
}

func (sub *subscription) stop() {
	sub.stopOnce.Do(func() {
		close(sub.done)
		sub.ticker.Stop()
		sub.sampler.Stop()
	})
}

// publish resolves its session itself (it is registered typed, not inSession): a queued
// request is answered later, on its channel and with its request id.
func (s *Server) publish(ch *channel, req *ua.PublishRequest, reqID uint32) (ua.Response, error) {
	sess, code := s.session(ch, req.RequestHeader)
	if code != ua.StatusOK {
		return fault(req, code)
	}
	results := make([]ua.StatusCode, len(req.SubscriptionAcknowledgements))
	s.mu.Lock()
	for i, ack := range req.SubscriptionAcknowledgements {
		sub := sess.subs[ack.SubscriptionID]
		if sub == nil {
			results[i] = ua.StatusBadSubscriptionIDInvalid
			continue
		}
		results[i] = sub.ack(ack.SequenceNumber)
	}
	var st *statusChange
	if len(sess.statusQ) > 0 {
		st = &sess.statusQ[0]
		sess.statusQ = sess.statusQ[1:]
	}
	nsubs := len(sess.subs)
	s.mu.Unlock()
	handle := req.RequestHeader.RequestHandle
	if st != nil {
		return statusResponse(handle, results, *st), nil
	}
	if nsubs == 0 {
		return noSubscriptionResponse(handle, results), nil
	}
	select {
	case sess.publishQ <- pubReq{ch: ch, reqID: reqID, handle: handle, results: results}:
		return nil, nil // answered later by a subscription
	default:
		return fault(req, ua.StatusBadTooManyPublishRequests)
	}
}

func statusResponse(handle uint32, results []ua.StatusCode, st statusChange) *ua.PublishResponse {
	eo := ua.NewExtensionObject(&ua.StatusChangeNotification{Status: st.status, DiagnosticInfo: &ua.DiagnosticInfo{}})
	eo.UpdateMask()
	return &ua.PublishResponse{
		ResponseHeader: header(handle, ua.StatusOK), SubscriptionID: st.subID,
		AvailableSequenceNumbers: []uint32{}, Results: results, DiagnosticInfos: []*ua.DiagnosticInfo{},
		NotificationMessage: &ua.NotificationMessage{SequenceNumber: st.seq, PublishTime: time.Now(), NotificationData: []*ua.ExtensionObject{eo}},
	}
}

func noSubscriptionResponse(handle uint32, results []ua.StatusCode) *ua.PublishResponse {
	return &ua.PublishResponse{ResponseHeader: header(handle, ua.StatusBadNoSubscription), AvailableSequenceNumbers: []uint32{},
		Results: results, DiagnosticInfos: []*ua.DiagnosticInfo{}, NotificationMessage: &ua.NotificationMessage{NotificationData: []*ua.ExtensionObject{}}}
}

// flushSession answers queued Publish requests that no subscription will use: first
// with pending status changes, then, when the session has no subscription left, with
// BadNoSubscription.
func (s *Server) flushSession(sess *session) {
	for {
		s.mu.Lock()
		var st *statusChange
		if len(sess.statusQ) > 0 {
			st = &sess.statusQ[0]
		}
		none := len(sess.subs) == 0
		if st == nil && !none {
			s.mu.Unlock()
			return
		}
		var req pubReq
		select {
		case req = <-sess.publishQ:
		default:
			s.mu.Unlock()
			return
		}
		var resp *ua.PublishResponse
		if st != nil {
			sess.statusQ = sess.statusQ[1:]
			resp = statusResponse(req.handle, req.results, *st)
		} else {
			resp = noSubscriptionResponse(req.handle, req.results)
		}
		s.mu.Unlock()
		if err := req.ch.sc.SendResponseWithContext(s.ctx, req.reqID, resp); err != nil {
			s.log.Debug("publish response not sent", "error", err)
		}
	}
}

// ack removes an acknowledged message from the retransmission queue.
func (sub *subscription) ack(seq uint32) ua.StatusCode {
	sub.mu.Lock()
	defer sub.mu.Unlock()
	if _, ok := sub.retrans[seq]; !ok {
		return ua.StatusBadSequenceNumberUnknown
	}
	delete(sub.retrans, seq)
	sub.order = slices.DeleteFunc(sub.order, func(x uint32) bool { return x == seq })
	return ua.StatusOK
}

func (sub *subscription) available() []uint32 {
	return slices.Clone(sub.order)
}

func (s *Server) republish(sub *subscription, req *ua.RepublishRequest) (ua.Response, error) {
	sub.mu.Lock()
	msg := sub.retrans[req.RetransmitSequenceNumber]
	sub.mu.Unlock()
	if msg == nil {
		return fault(req, ua.StatusBadMessageNotAvailable)
	}
	return &ua.RepublishResponse{ResponseHeader: header(req.RequestHeader.RequestHandle, ua.StatusOK), NotificationMessage: msg}, nil
}

func (s *Server) transferSubscriptions(sess *session, req *ua.TransferSubscriptionsRequest) (ua.Response, error) {
	if len(req.SubscriptionIDs) == 0 {
		return fault(req, ua.StatusBadNothingToDo)
	}
	results := make([]*ua.TransferResult, len(req.SubscriptionIDs))
	var moved []*subscription
	s.mu.Lock()
	for i, id := range req.SubscriptionIDs {
		sub := s.subs[id]
		switch {
		case sub == nil:
			results[i] = &ua.TransferResult{StatusCode: ua.StatusBadSubscriptionIDInvalid, AvailableSequenceNumbers: []uint32{}}
			continue
		case sub.sess != nil && sub.sess.user != sess.user:
			results[i] = &ua.TransferResult{StatusCode: ua.StatusBadUserAccessDenied, AvailableSequenceNumbers: []uint32{}}
			continue
		}
		old := sub.sess
		if old != nil && old != sess {
			delete(old.subs, id)
			if s.sessions[old.token] == old {
				sub.mu.Lock()
				old.statusQ = append(old.statusQ, statusChange{subID: id, seq: sub.seq + 1, status: ua.StatusGoodSubscriptionTransferred})
				sub.mu.Unlock()
			}
		}
		sub.sess = sess
		sess.subs[id] = sub
		sub.mu.Lock()
		results[i] = &ua.TransferResult{StatusCode: ua.StatusOK, AvailableSequenceNumbers: sub.available()}
		sub.mu.Unlock()
		moved = append(moved, sub)
	}
	s.mu.Unlock()
	if req.SendInitialValues {
		for _, sub := range moved {
			sub.resample(time.Now(), true)
		}
	}
	return &ua.TransferSubscriptionsResponse{ResponseHeader: header(req.RequestHeader.RequestHandle, ua.StatusOK), Results: results, DiagnosticInfos: []*ua.DiagnosticInfo{}}, nil
}

// publishQueue is the queue of the session that currently owns sub.
func (sub *subscription) publishQueue() chan pubReq {
	sub.srv.mu.RLock()
	defer sub.srv.mu.RUnlock()
	if sub.sess == nil {
		return nil
	}
	return sub.sess.publishQ
}

// run is the subscription state machine: every publishing interval it sends queued
// notifications, or a keep-alive after MaxKeepAliveCount empty intervals, using a queued
// Publish request; without one it waits (late) and counts towards its lifetime.
func (sub *subscription) run(ctx context.Context) {
	// Publish half a period away from the instants the simulation steps on: with equal
	// rates every publishing interval then holds exactly one step, even with jitter, and
	// a queue of one loses nothing.
	sub.mu.Lock()
	interval := sub.interval
	sub.mu.Unlock()
	select {
	case <-ctx.Done():
		return
	case <-sub.done:
		return
	case <-time.After(time.Until(plc.Aligned(time.Now().Add(-interval/2), interval).Add(interval / 2))):
		sub.ticker.Reset(interval)
	}
	var keepAliveCtr, lifetimeCtr uint32
	late := false
	for {
		var wait chan pubReq
		if late {
			wait = sub.publishQueue()
		}
		select {
		case <-ctx.Done():
			return
		case <-sub.done:
			return
		case now := <-sub.sampler.C:
			sub.resample(now, false)
		case req := <-wait:
			late = false
			keepAliveCtr, lifetimeCtr = 0, 0
			sub.respond(ctx, req)
		case now := <-sub.ticker.C:
			sub.resample(now, false)
			q := sub.publishQueue()
			if len(q) == 0 {
				lifetimeCtr++
			} else {
				lifetimeCtr = 0
			}
			sub.mu.Lock()
			lifetime, keepAlive, hasData := sub.lifetime, sub.keepAlive, sub.enabled && sub.queued > 0
			sub.mu.Unlock()
			if lifetimeCtr > lifetime {
				sub.srv.log.Info("subscription lifetime expired", "subscription", sub.id, "lifetime_count", lifetime)
				sub.srv.deleteSubscription(sub, ua.StatusBadTimeout)
				return
			}
			if late {
				continue
			}
			if !hasData {
				if keepAliveCtr++; keepAliveCtr < keepAlive {
					continue
				}
			}
			select {
			case req := <-q:
				keepAliveCtr = 0
				sub.respond(ctx, req)
			default:
				late = true
			}
		}
	}
}

// respond answers req with queued notifications, or with a keep-alive when there are
// none. It keeps answering queued requests while notifications remain.
func (sub *subscription) respond(ctx context.Context, req pubReq) {
	for {
		sub.mu.Lock()
		var notifs []*ua.MonitoredItemNotification
		if sub.enabled {
			notifs = sub.drain()
		}
		more := sub.enabled && sub.queued > 0
		msg := &ua.NotificationMessage{PublishTime: time.Now(), NotificationData: []*ua.ExtensionObject{}}
		if len(notifs) == 0 {
			msg.SequenceNumber = sub.seq + 1
			if msg.SequenceNumber == 0 {
				msg.SequenceNumber = 1
			}
		} else {
			if sub.seq++; sub.seq == 0 {
				sub.seq = 1
			}
			msg.SequenceNumber = sub.seq
			eo := ua.NewExtensionObject(&ua.DataChangeNotification{MonitoredItems: notifs, DiagnosticInfos: []*ua.DiagnosticInfo{}})
			eo.UpdateMask()
			msg.NotificationData = []*ua.ExtensionObject{eo}
			sub.retrans[sub.seq] = msg
			sub.order = append(sub.order, sub.seq)
			if len(sub.order) > retransmitLimit {
				delete(sub.retrans, sub.order[0])
				sub.order = sub.order[1:]
			}
		}
		avail := sub.available()
		sub.mu.Unlock()
		resp := &ua.PublishResponse{
			ResponseHeader:           header(req.handle, ua.StatusOK),
			SubscriptionID:           sub.id,
			AvailableSequenceNumbers: avail,
			MoreNotifications:        more,
			NotificationMessage:      msg,
			Results:                  req.results,
			DiagnosticInfos:          []*ua.DiagnosticInfo{},
		}
		if err := req.ch.sc.SendResponseWithContext(ctx, req.reqID, resp); err != nil {
			sub.srv.log.Debug("publish response not sent", "subscription", sub.id, "error", err)
			return
		}
		sub.srv.m.notifications.Add(float64(len(notifs)))
		if !more {
			return
		}
		q := sub.publishQueue()
		select {
		case req = <-q:
		default:
			return
		}
	}
}
