package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strconv"
	"sync"
	"time"

	"github.com/gopcua/opcua/id"
	"github.com/gopcua/opcua/ua"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/edgeframe/edgeframe/pkg/uapki"
	"github.com/edgeframe/edgeframe/workloads/opcplc/internal/plc"
)

// Server is opcplc's OPC UA server.
type Server struct {
	cfg   Config
	log   *slog.Logger
	sim   *plc.Simulator
	ident Identity
	trust TrustStore
	ns0   *ns0
	ns    *plcNamespace
	nsURI []string // the namespace array
	start time.Time
	m     *metrics

	handlers  map[uint16]handler
	endpoints []*ua.EndpointDescription
	listener  net.Listener

	mu          sync.RWMutex
	sessions    map[string]*session // by authentication token
	channels    map[uint32]*channel
	nextChannel uint32
	subs        map[uint32]*subscription
	byNode      map[string][]*monitoredItem // simulated node id -> items watching its Value
	nextSub     uint32
	nextItem    uint32

	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup
	ready  chan struct{}
}

// New prepares the server: loads or creates the PKI identity and builds the address space.
func New(cfg Config, sim *plc.Simulator, log *slog.Logger, reg prometheus.Registerer) (*Server, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	appURI := "urn:" + cfg.Host + ":OpcPlc"
	ident, err := uapki.LoadOrCreateIdentity(cfg.PKIDir, uapki.Application{Name: "opcplc", URI: appURI, Hosts: []string{cfg.Host, "localhost", "127.0.0.1"}})
	if err != nil {
		return nil, err
	}
	m, err := newMetrics(reg)
	if err != nil {
		return nil, err
	}
	s := &Server{
		cfg: cfg, log: log, sim: sim, ident: ident, m: m,
		trust:    TrustStore{Dir: cfg.PKIDir, AutoAccept: cfg.AutoAccept},
		sessions: map[string]*session{}, channels: map[uint32]*channel{}, subs: map[uint32]*subscription{}, byNode: map[string][]*monitoredItem{},
		ready: make(chan struct{}),
	}
	// Namespace 0 is the standard address space (ns0.go); 1 is the server's own (session
	// ids live there); 2 is OPC PLC's, as in OPC PLC (publishednodes files written for it
	// with ns=2 keep working).
	if s.ns0, err = loadNS0(); err != nil {
		return nil, err
	}
	s.nsURI = []string{"http://opcfoundation.org/UA/", appURI, plc.Namespace}
	s.ns = newPLCNamespace(sim, 2, s.ns0)
	if root := s.ns.root; root != nil {
		s.ns0.link(id.ObjectsFolder, link0{typ: id.Organizes, forward: true, target: s.ns.expandedID(root),
			browse: &ua.QualifiedName{NamespaceIndex: s.ns.id, Name: root.Name}, display: root.DisplayName(), class: ua.NodeClassObject, typeDef: id.FolderType})
	}
	s.start = time.Now()
	s.provideServerObject()
	s.registerHandlers()
	s.endpoints = s.buildEndpoints()
	sim.OnChange(s.onSimChange)
	return s, nil
}

// Endpoint is the advertised endpoint URL.
func (s *Server) Endpoint() string {
	return "opc.tcp://" + net.JoinHostPort(s.cfg.Host, strconv.Itoa(s.cfg.Port)) + s.cfg.Path
}

// Identity is the application certificate the server presents.
func (s *Server) Identity() Identity { return s.ident }

// NamespaceIndex is the index of the OPC PLC namespace in this server.
func (s *Server) NamespaceIndex() uint16 { return s.ns.id }

// Start listens and serves until ctx ends or Close is called.
func (s *Server) Start(ctx context.Context) error {
	s.ctx, s.cancel = context.WithCancel(ctx)
	l, err := net.Listen("tcp", net.JoinHostPort(s.cfg.Listen, strconv.Itoa(s.cfg.Port)))
	if err != nil {
		return fmt.Errorf("opc ua listen on %s: %w", s.Endpoint(), err)
	}
	s.listener = l
	close(s.ready)
	s.wg.Add(2)
	go func() { defer s.wg.Done(); s.serve(s.ctx, l) }()
	go func() { defer s.wg.Done(); s.housekeeping(s.ctx) }()
	if s.cfg.Chaos {
		s.wg.Add(1)
		go func() { defer s.wg.Done(); s.chaos(s.ctx) }()
	}
	s.log.Info("opc ua server listening", "endpoint", s.Endpoint(), "namespace", plc.Namespace,
		"unsecure_transport", s.cfg.UnsecureTransport, "auto_accept", s.cfg.AutoAccept,
		"anonymous", !s.cfg.DisableAnonymous, "chaos", s.cfg.Chaos, "certificate", Thumbprint(s.ident.CertDER))
	return nil
}

// Ready reports nil once the server listens.
func (s *Server) Ready() error {
	select {
	case <-s.ready:
		return nil
	default:
		return errors.New("opc ua server not listening yet")
	}
}

// Close drops every session and subscription and stops listening.
func (s *Server) Close() error {
	s.mu.Lock()
	subs := make([]*subscription, 0, len(s.subs))
	for _, sub := range s.subs {
		subs = append(subs, sub)
	}
	s.mu.Unlock()
	for _, sub := range subs {
		s.deleteSubscription(sub, 0)
	}
	s.mu.Lock()
	var conns []*channel
	for _, ch := range s.channels {
		conns = append(conns, ch)
	}
	s.mu.Unlock()
	if s.cancel != nil {
		s.cancel()
	}
	var err error
	if s.listener != nil {
		err = s.listener.Close()
	}
	for _, ch := range conns {
		_ = ch.conn.Close()
	}
	s.wg.Wait()
	return err
}

// housekeeping expires sessions that sent nothing for their session timeout and
// refreshes the rate gauges.
func (s *Server) housekeeping(ctx context.Context) {
	t := time.NewTicker(time.Second)
	defer t.Stop()
	var lastN uint64
	last := time.Now()
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-t.C:
			n := s.m.notificationsSent()
			s.m.rate.Set(float64(n-lastN) / now.Sub(last).Seconds())
			lastN, last = n, now
			s.mu.RLock()
			var stale []*session
			for _, sess := range s.sessions {
				if now.Sub(time.Unix(0, sess.lastSeen.Load())) > sess.timeout {
					stale = append(stale, sess)
				}
			}
			s.mu.RUnlock()
			for _, sess := range stale {
				s.log.Info("session timed out", "session", sess.name, "timeout", sess.timeout)
				s.closeSession(sess, true, false)
			}
		}
	}
}

func (s *Server) registerHandlers() {
	s.handlers = map[uint16]handler{
		id.GetEndpointsRequest_Encoding_DefaultBinary:    typed(s.getEndpoints),
		id.FindServersRequest_Encoding_DefaultBinary:     typed(s.findServers),
		id.CreateSessionRequest_Encoding_DefaultBinary:   typed(s.createSession),
		id.ActivateSessionRequest_Encoding_DefaultBinary: typed(s.activateSession),
		id.PublishRequest_Encoding_DefaultBinary:         typed(s.publish),

		id.CloseSessionRequest_Encoding_DefaultBinary:                  inSession(s, s.handleCloseSession),
		id.ReadRequest_Encoding_DefaultBinary:                          inSession(s, s.read),
		id.WriteRequest_Encoding_DefaultBinary:                         inSession(s, s.write),
		id.BrowseRequest_Encoding_DefaultBinary:                        inSession(s, s.browse),
		id.BrowseNextRequest_Encoding_DefaultBinary:                    inSession(s, s.browseNext),
		id.TranslateBrowsePathsToNodeIDsRequest_Encoding_DefaultBinary: inSession(s, s.translateBrowsePaths),
		id.RegisterNodesRequest_Encoding_DefaultBinary:                 inSession(s, s.registerNodes),
		id.UnregisterNodesRequest_Encoding_DefaultBinary:               inSession(s, s.unregisterNodes),
		id.CreateSubscriptionRequest_Encoding_DefaultBinary:            inSession(s, s.createSubscription),
		id.SetPublishingModeRequest_Encoding_DefaultBinary:             inSession(s, s.setPublishingMode),
		id.TransferSubscriptionsRequest_Encoding_DefaultBinary:         inSession(s, s.transferSubscriptions),
		id.DeleteSubscriptionsRequest_Encoding_DefaultBinary:           inSession(s, s.deleteSubscriptions),

		id.ModifySubscriptionRequest_Encoding_DefaultBinary: inSubscription(s,
			func(r *ua.ModifySubscriptionRequest) uint32 { return r.SubscriptionID }, s.modifySubscription),
		id.RepublishRequest_Encoding_DefaultBinary: inSubscription(s,
			func(r *ua.RepublishRequest) uint32 { return r.SubscriptionID }, s.republish),
		id.CreateMonitoredItemsRequest_Encoding_DefaultBinary: inSubscription(s,
			func(r *ua.CreateMonitoredItemsRequest) uint32 { return r.SubscriptionID }, s.createMonitoredItems),
		id.ModifyMonitoredItemsRequest_Encoding_DefaultBinary: inSubscription(s,
			func(r *ua.ModifyMonitoredItemsRequest) uint32 { return r.SubscriptionID }, s.modifyMonitoredItems),
		id.SetMonitoringModeRequest_Encoding_DefaultBinary: inSubscription(s,
			func(r *ua.SetMonitoringModeRequest) uint32 { return r.SubscriptionID }, s.setMonitoringMode),
		id.DeleteMonitoredItemsRequest_Encoding_DefaultBinary: inSubscription(s,
			func(r *ua.DeleteMonitoredItemsRequest) uint32 { return r.SubscriptionID }, s.deleteMonitoredItems),
	}
	s.handlers[id.CallRequest_Encoding_DefaultBinary] = inSession(s, s.call)
	// Everything else (HistoryRead, Query, node management, SetTriggering, Cancel) is
	// answered BadServiceUnsupported by dispatch.
}

func header(handle uint32, code ua.StatusCode) *ua.ResponseHeader {
	return &ua.ResponseHeader{
		Timestamp:          time.Now(),
		RequestHandle:      handle,
		ServiceResult:      code,
		ServiceDiagnostics: &ua.DiagnosticInfo{},
		StringTable:        []string{},
		AdditionalHeader:   ua.NewExtensionObject(nil),
	}
}

func fault(r ua.Request, code ua.StatusCode) (ua.Response, error) {
	return &ua.ServiceFault{ResponseHeader: header(r.Header().RequestHandle, code)}, nil
}
