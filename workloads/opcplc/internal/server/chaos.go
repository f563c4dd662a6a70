package server

import (
	"context"
	"math/rand/v2"
	"time"

	"github.com/gopcua/opcua/ua"
)

// Chaos actions, as in OPC PLC's --chaos: clients must survive both.
const (
	chaosDropSession        = "drop_session"        // close a session and its secure channel
	chaosDeleteSubscription = "delete_subscription" // end a subscription with StatusChangeNotification BadTimeout
)

// chaos injects a fault at random intervals in [ChaosMin, ChaosMax] until ctx ends.
func (s *Server) chaos(ctx context.Context) {
	for {
		wait := s.cfg.ChaosMin + time.Duration(rand.Int64N(int64(s.cfg.ChaosMax-s.cfg.ChaosMin)+1))
		select {
		case <-ctx.Done():
			return
		case <-time.After(wait):
		}
		s.injectFault(rand.IntN(2) == 0)
	}
}

// injectFault drops a random session or deletes a random subscription; it falls back to
// the other action when there is nothing of the chosen kind.
func (s *Server) injectFault(dropSession bool) {
	s.mu.RLock()
	var sess *session
	var sub *subscription
	for _, x := range s.sessions {
		sess = x
		break
	}
	for _, x := range s.subs {
		sub = x
		break
	}
	s.mu.RUnlock()
	switch {
	case sess != nil && (dropSession || sub == nil):
		s.m.chaos.WithLabelValues(chaosDropSession).Inc()
		s.log.Warn("chaos: dropping session", "session", sess.name, "user", userLabel(sess.user))
		s.closeSession(sess, true, true)
	case sub != nil:
		s.m.chaos.WithLabelValues(chaosDeleteSubscription).Inc()
		s.log.Warn("chaos: deleting subscription", "subscription", sub.id)
		s.deleteSubscription(sub, ua.StatusBadTimeout)
	}
}
