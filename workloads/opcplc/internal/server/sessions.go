package server

import (
	"bytes"
	"crypto/rand"
	"crypto/subtle"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"sync/atomic"
	"time"

	"github.com/gopcua/opcua/id"
	"github.com/gopcua/opcua/ua"
	"github.com/gopcua/opcua/uapolicy"
)

// session is an OPC UA session, created by CreateSession and usable once activated.
type session struct {
	token      string
	id         *ua.NodeID
	authToken  *ua.NodeID
	name       string
	timeout    time.Duration
	clientCert []byte
	nonce      []byte   // server nonce the next ActivateSession signs; guarded by Server.mu
	activated  bool     // guarded by Server.mu
	user       string   // "" = anonymous; guarded by Server.mu
	channel    *channel // guarded by Server.mu
	publishQ   chan pubReq
	subs       map[uint32]*subscription // guarded by Server.mu
	statusQ    []statusChange           // guarded by Server.mu: status changes waiting for a Publish
	lastSeen   atomic.Int64
}

// statusChange tells a client that the server ended one of its subscriptions.
type statusChange struct {
	subID  uint32
	seq    uint32
	status ua.StatusCode
}

const (
	maxPublishRequests = 100 // Publish requests queued per session
	nonceLength        = 32
	minSessionTimeout  = time.Second
	defSessionTimeout  = time.Minute
)

// session returns the activated session of a request that arrived on ch.
func (s *Server) session(ch *channel, hdr *ua.RequestHeader) (*session, ua.StatusCode) {
	if hdr == nil || hdr.AuthenticationToken == nil {
		return nil, ua.StatusBadSessionIDInvalid
	}
	s.mu.RLock()
	sess, ok := s.sessions[hdr.AuthenticationToken.String()]
	var activated bool
	var bound *channel
	if ok {
		activated, bound = sess.activated, sess.channel
	}
	s.mu.RUnlock()
	switch {
	case !ok:
		return nil, ua.StatusBadSessionIDInvalid
	case !activated:
		return nil, ua.StatusBadSessionNotActivated
	case bound != ch:
		return nil, ua.StatusBadSecureChannelIDInvalid
	}
	sess.lastSeen.Store(time.Now().UnixNano())
	return sess, ua.StatusOK
}

// offers says whether an endpoint with this security is configured.
func (s *Server) offers(policy string, mode ua.MessageSecurityMode) bool {
	switch {
	case policy == ua.SecurityPolicyURINone && mode == ua.MessageSecurityModeNone:
		return s.cfg.UnsecureTransport
	case policy == ua.SecurityPolicyURIBasic256Sha256:
		return mode == ua.MessageSecurityModeSign || mode == ua.MessageSecurityModeSignAndEncrypt
	}
	return false
}

// buildEndpoints lists one endpoint per offered security mode with the user token
// policies that are enabled. User names are always encrypted with Basic256Sha256.
func (s *Server) buildEndpoints() []*ua.EndpointDescription {
	type sec struct {
		policy string
		mode   ua.MessageSecurityMode
	}
	var secs []sec
	if s.cfg.UnsecureTransport {
		secs = append(secs, sec{ua.SecurityPolicyURINone, ua.MessageSecurityModeNone})
	}
	secs = append(secs, sec{ua.SecurityPolicyURIBasic256Sha256, ua.MessageSecurityModeSign}, sec{ua.SecurityPolicyURIBasic256Sha256, ua.MessageSecurityModeSignAndEncrypt})
	var tokens []*ua.UserTokenPolicy
	if !s.cfg.DisableAnonymous {
		tokens = append(tokens, &ua.UserTokenPolicy{PolicyID: "anonymous_none", TokenType: ua.UserTokenTypeAnonymous, SecurityPolicyURI: ua.SecurityPolicyURINone})
	}
	if !s.cfg.DisableUserPass {
		tokens = append(tokens, &ua.UserTokenPolicy{PolicyID: "username_basic256sha256", TokenType: ua.UserTokenTypeUserName, SecurityPolicyURI: ua.SecurityPolicyURIBasic256Sha256})
	}
	var out []*ua.EndpointDescription
	for _, x := range secs {
		out = append(out, &ua.EndpointDescription{
			EndpointURL:         s.Endpoint(),
			Server:              s.application(),
			ServerCertificate:   s.ident.CertDER,
			SecurityMode:        x.mode,
			SecurityPolicyURI:   x.policy,
			UserIdentityTokens:  tokens,
			TransportProfileURI: "http://opcfoundation.org/UA-Profile/Transport/uatcp-uasc-uabinary",
			SecurityLevel:       uapolicy.SecurityLevel(x.policy, x.mode),
		})
	}
	return out
}

func (s *Server) application() *ua.ApplicationDescription {
	return &ua.ApplicationDescription{
		ApplicationURI:  s.ident.AppURI,
		ProductURI:      "urn:edgeframe:opcplc",
		ApplicationName: &ua.LocalizedText{EncodingMask: ua.LocalizedTextText, Text: "OpcPlc"},
		ApplicationType: ua.ApplicationTypeServer,
		DiscoveryURLs:   []string{s.Endpoint()},
	}
}

func (s *Server) getEndpoints(_ *channel, req *ua.GetEndpointsRequest, _ uint32) (ua.Response, error) {
	return &ua.GetEndpointsResponse{ResponseHeader: header(req.RequestHeader.RequestHandle, ua.StatusOK), Endpoints: s.endpoints}, nil
}

func (s *Server) findServers(_ *channel, req *ua.FindServersRequest, _ uint32) (ua.Response, error) {
	return &ua.FindServersResponse{ResponseHeader: header(req.RequestHeader.RequestHandle, ua.StatusOK), Servers: []*ua.ApplicationDescription{s.application()}}, nil
}

func (s *Server) createSession(ch *channel, req *ua.CreateSessionRequest, _ uint32) (ua.Response, error) {
	nonce := make([]byte, nonceLength)
	if _, err := rand.Read(nonce); err != nil {
		return fault(req, ua.StatusBadInternalError)
	}
	sig, alg, err := ch.sc.NewSessionSignature(req.ClientCertificate, req.ClientNonce)
	if err != nil {
		s.log.Warn("create session: cannot sign", "error", err)
		return fault(req, ua.StatusBadSecurityChecksFailed)
	}
	timeout := time.Duration(req.RequestedSessionTimeout * float64(time.Millisecond))
	if timeout <= 0 {
		timeout = defSessionTimeout
	}
	timeout = min(max(timeout, minSessionTimeout), s.cfg.MaxSessionTimeout)
	idBytes := make([]byte, 16)
	_, _ = rand.Read(idBytes)
	tokBytes := make([]byte, 32)
	_, _ = rand.Read(tokBytes)
	sess := &session{
		id: ua.NewByteStringNodeID(1, idBytes), authToken: ua.NewByteStringNodeID(0, tokBytes), timeout: timeout,
		clientCert: req.ClientCertificate, nonce: nonce, channel: ch,
		publishQ: make(chan pubReq, maxPublishRequests), subs: map[uint32]*subscription{},
		name: req.SessionName,
	}
	sess.token = sess.authToken.String()
	sess.lastSeen.Store(time.Now().UnixNano())
	s.mu.Lock()
	if len(s.sessions) >= s.cfg.MaxSessions {
		s.mu.Unlock()
		return s.rejectActivation(req, "too_many_sessions", ua.StatusBadTooManySessions)
	}
	s.sessions[sess.token] = sess
	s.mu.Unlock()
	return &ua.CreateSessionResponse{
		ResponseHeader:             header(req.RequestHeader.RequestHandle, ua.StatusOK),
		SessionID:                  sess.id,
		AuthenticationToken:        sess.authToken,
		RevisedSessionTimeout:      ms(timeout),
		ServerNonce:                nonce,
		ServerCertificate:          s.ident.CertDER,
		ServerEndpoints:            s.endpoints,
		ServerSoftwareCertificates: []*ua.SignedSoftwareCertificate{},
		ServerSignature:            &ua.SignatureData{Signature: sig, Algorithm: alg},
		MaxRequestMessageSize:      0,
	}, nil
}

func (s *Server) rejectActivation(r ua.Request, reason string, code ua.StatusCode, args ...any) (ua.Response, error) {
	s.m.rejected.WithLabelValues(reason).Inc()
	s.log.Warn("session refused", append([]any{"reason", reason, "status", code.Error()}, args...)...)
	return fault(r, code)
}

// activateSession enforces the configured endpoints, the trust store, the client
// signature and the user identity token, then binds the session to the channel.
func (s *Server) activateSession(ch *channel, req *ua.ActivateSessionRequest, _ uint32) (ua.Response, error) {
	s.mu.RLock()
	sess := s.sessions[req.RequestHeader.AuthenticationToken.String()]
	var nonce []byte
	if sess != nil {
		nonce = sess.nonce
	}
	s.mu.RUnlock()
	if sess == nil {
		return s.rejectActivation(req, "unknown_session", ua.StatusBadSessionIDInvalid)
	}
	policy, mode, cert := ch.cfg.SecurityPolicyURI, ch.cfg.SecurityMode, ch.cfg.RemoteCertificate
	if !s.offers(policy, mode) {
		return s.rejectActivation(req, "security_policy", ua.StatusBadSecurityPolicyRejected, "policy", policy, "mode", mode.String())
	}
	if mode != ua.MessageSecurityModeNone {
		if err := s.trust.Check(cert); err != nil {
			code := ua.StatusBadSecurityChecksFailed
			if errors.Is(err, ErrUntrusted) {
				code = ua.StatusBadCertificateUntrusted
			}
			return s.rejectActivation(req, "certificate", code, "error", err.Error())
		}
		var sig []byte
		if req.ClientSignature != nil {
			sig = req.ClientSignature.Signature
		}
		if err := ch.sc.VerifySessionSignature(cert, nonce, sig); err != nil {
			return s.rejectActivation(req, "client_signature", ua.StatusBadApplicationSignatureInvalid, "error", err.Error())
		}
	}
	user, code, err := s.authenticate(req.UserIdentityToken, policy, mode, nonce)
	if code != ua.StatusOK {
		return s.rejectActivation(req, "identity", code, "error", err.Error())
	}
	next := make([]byte, nonceLength)
	if _, err := rand.Read(next); err != nil {
		return fault(req, ua.StatusBadInternalError)
	}
	s.mu.Lock()
	if s.sessions[sess.token] != sess {
		s.mu.Unlock()
		return s.rejectActivation(req, "unknown_session", ua.StatusBadSessionIDInvalid)
	}
	reactivated := sess.activated
	sess.activated, sess.user, sess.channel, sess.nonce = true, user, ch, next
	n := s.activeSessions()
	s.mu.Unlock()
	sess.lastSeen.Store(time.Now().UnixNano())
	s.m.sessions.Set(float64(n))
	s.log.Info("session activated", "session", sess.name, "user", userLabel(user), "policy", policy,
		"mode", mode.String(), "reactivated", reactivated, "remote", ch.conn.RemoteAddr().String())
	return &ua.ActivateSessionResponse{
		ResponseHeader:  header(req.RequestHeader.RequestHandle, ua.StatusOK),
		ServerNonce:     next,
		Results:         []ua.StatusCode{},
		DiagnosticInfos: []*ua.DiagnosticInfo{},
	}, nil
}

// activeSessions counts activated sessions; s.mu must be held.
func (s *Server) activeSessions() int {
	n := 0
	for _, x := range s.sessions {
		if x.activated {
			n++
		}
	}
	return n
}

func userLabel(u string) string {
	if u == "" {
		return "anonymous"
	}
	return u
}

// authenticate checks the user identity token and returns the user name ("" = anonymous).
func (s *Server) authenticate(tok *ua.ExtensionObject, policy string, mode ua.MessageSecurityMode, nonce []byte) (string, ua.StatusCode, error) {
	var v any
	if tok != nil {
		v = tok.Value
	}
	switch t := v.(type) {
	case nil, *ua.AnonymousIdentityToken:
		if s.cfg.DisableAnonymous {
			return "", ua.StatusBadIdentityTokenRejected, errors.New("anonymous access is disabled (--daa)")
		}
		return "", ua.StatusOK, nil
	case *ua.UserNameIdentityToken:
		if s.cfg.DisableUserPass {
			return "", ua.StatusBadIdentityTokenRejected, errors.New("user name/password access is disabled (--dua)")
		}
		password, err := s.decryptPassword(t, policy, mode, nonce)
		if err != nil {
			return "", ua.StatusBadIdentityTokenInvalid, fmt.Errorf("user %q: %w", t.UserName, err)
		}
		want, ok := s.cfg.Users[t.UserName]
		if !ok || subtle.ConstantTimeCompare([]byte(want), password) != 1 {
			return "", ua.StatusBadUserAccessDenied, fmt.Errorf("user %q: unknown user or wrong password", t.UserName)
		}
		return t.UserName, ua.StatusOK, nil
	default:
		return "", ua.StatusBadIdentityTokenRejected, fmt.Errorf("identity token %T is not supported", v)
	}
}

// decryptPassword undoes the client's encryption of a UserNameIdentityToken
// (OPC 10000-4 §7.41.2.2): RSA with the token policy, then length + password + nonce.
func (s *Server) decryptPassword(t *ua.UserNameIdentityToken, policy string, mode ua.MessageSecurityMode, nonce []byte) ([]byte, error) {
	if t.EncryptionAlgorithm == "" {
		if mode != ua.MessageSecurityModeSignAndEncrypt {
			return nil, errors.New("an unencrypted password is only accepted on a SignAndEncrypt channel")
		}
		return t.Password, nil
	}
	if policy == ua.SecurityPolicyURINone {
		policy = ua.SecurityPolicyURIBasic256Sha256 // the user token policy we advertise on None endpoints
	}
	alg, err := uapolicy.Asymmetric(policy, s.ident.Key, &s.ident.Key.PublicKey)
	if err != nil {
		return nil, err
	}
	plain, err := alg.Decrypt(t.Password)
	if err != nil {
		return nil, fmt.Errorf("decrypt password: %w", err)
	}
	if len(plain) < 4 {
		return nil, errors.New("encrypted password too short")
	}
	n := int(binary.LittleEndian.Uint32(plain[:4]))
	if n < len(nonce) || 4+n > len(plain) {
		return nil, errors.New("encrypted password has a bad length")
	}
	secret := plain[4 : 4+n]
	if !bytes.Equal(secret[len(secret)-len(nonce):], nonce) {
		return nil, errors.New("encrypted password carries the wrong server nonce")
	}
	return secret[:len(secret)-len(nonce)], nil
}

func (s *Server) handleCloseSession(sess *session, req *ua.CloseSessionRequest) (ua.Response, error) {
	s.closeSession(sess, req.DeleteSubscriptions, false)
	return &ua.CloseSessionResponse{ResponseHeader: header(req.RequestHeader.RequestHandle, ua.StatusOK)}, nil
}

// closeSession forgets sess; with deleteSubs its subscriptions go too (otherwise they
// live on until their lifetime ends or another session takes them over), with
// dropChannel its secure channel is closed as well.
func (s *Server) closeSession(sess *session, deleteSubs, dropChannel bool) {
	s.mu.Lock()
	if _, ok := s.sessions[sess.token]; !ok {
		s.mu.Unlock()
		return
	}
	delete(s.sessions, sess.token)
	var subs []*subscription
	for _, sub := range sess.subs {
		subs = append(subs, sub)
	}
	n, ch := s.activeSessions(), sess.channel
	s.mu.Unlock()
	s.m.sessions.Set(float64(n))
	if deleteSubs {
		for _, sub := range subs {
			s.deleteSubscription(sub, 0)
		}
	}
	if dropChannel && ch != nil {
		_ = ch.conn.Close()
	}
	s.log.Info("session closed", "session", sess.name, "user", userLabel(sess.user), "subscriptions_deleted", deleteSubs, "channel_dropped", dropChannel)
}

// readValue reads one attribute from whichever namespace owns the node.
func (s *Server) readValue(nid *ua.NodeID, attr ua.AttributeID) *ua.DataValue {
	switch {
	case nid == nil:
		return badValue(ua.StatusBadNodeIDInvalid)
	case nid.Namespace() == 0:
		return s.ns0.Attribute(nid, attr)
	case nid.Namespace() == s.ns.id:
		return s.ns.Attribute(nid, attr)
	}
	return badValue(ua.StatusBadNodeIDUnknown)
}

// browseOne browses one node in whichever namespace owns it.
func (s *Server) browseOne(bd *ua.BrowseDescription) *ua.BrowseResult {
	switch {
	case bd == nil || bd.NodeID == nil:
		return &ua.BrowseResult{StatusCode: ua.StatusBadNodeIDInvalid, References: []*ua.ReferenceDescription{}}
	case bd.BrowseDirection > ua.BrowseDirectionBoth:
		return &ua.BrowseResult{StatusCode: ua.StatusBadBrowseDirectionInvalid, References: []*ua.ReferenceDescription{}}
	case bd.NodeID.Namespace() == 0:
		return s.ns0.Browse(bd)
	case bd.NodeID.Namespace() == s.ns.id:
		return s.ns.Browse(bd)
	}
	return &ua.BrowseResult{StatusCode: ua.StatusBadNodeIDUnknown, References: []*ua.ReferenceDescription{}}
}

func (s *Server) state() ua.ServerState {
	if s.Ready() != nil {
		return ua.ServerStateSuspended
	}
	if s.ctx != nil && s.ctx.Err() != nil {
		return ua.ServerStateShutdown
	}
	return ua.ServerStateRunning
}

func withTimestamps(dv *ua.DataValue, ts ua.TimestampsToReturn) *ua.DataValue {
	out := *dv
	switch ts {
	case ua.TimestampsToReturnSource:
		out.EncodingMask &^= ua.DataValueServerTimestamp | ua.DataValueServerPicoseconds
	case ua.TimestampsToReturnServer:
		out.EncodingMask &^= ua.DataValueSourceTimestamp | ua.DataValueSourcePicoseconds
	case ua.TimestampsToReturnNeither:
		out.EncodingMask &^= ua.DataValueServerTimestamp | ua.DataValueSourceTimestamp | ua.DataValueServerPicoseconds | ua.DataValueSourcePicoseconds
	}
	return &out
}

func (s *Server) read(_ *session, req *ua.ReadRequest) (ua.Response, error) {
	switch {
	case len(req.NodesToRead) == 0:
		return fault(req, ua.StatusBadNothingToDo)
	case req.MaxAge < 0:
		return fault(req, ua.StatusBadMaxAgeInvalid)
	case req.TimestampsToReturn > ua.TimestampsToReturnNeither:
		return fault(req, ua.StatusBadTimestampsToReturnInvalid)
	}
	results := make([]*ua.DataValue, len(req.NodesToRead))
	for i, n := range req.NodesToRead {
		if n == nil {
			results[i] = badValue(ua.StatusBadNodeIDInvalid)
			continue
		}
		dv := s.readValue(n.NodeID, n.AttributeID)
		if n.IndexRange != "" && dv.Status == ua.StatusOK {
			dv = applyRange(dv, n.IndexRange)
		}
		results[i] = withTimestamps(dv, req.TimestampsToReturn)
	}
	return &ua.ReadResponse{ResponseHeader: header(req.RequestHeader.RequestHandle, ua.StatusOK), Results: results, DiagnosticInfos: []*ua.DiagnosticInfo{}}, nil
}

func (s *Server) browse(_ *session, req *ua.BrowseRequest) (ua.Response, error) {
	if len(req.NodesToBrowse) == 0 {
		return fault(req, ua.StatusBadNothingToDo)
	}
	results := make([]*ua.BrowseResult, len(req.NodesToBrowse))
	for i, bd := range req.NodesToBrowse {
		results[i] = s.browseOne(bd)
	}
	return &ua.BrowseResponse{ResponseHeader: header(req.RequestHeader.RequestHandle, ua.StatusOK), Results: results, DiagnosticInfos: []*ua.DiagnosticInfo{}}, nil
}

func (s *Server) browseNext(_ *session, req *ua.BrowseNextRequest) (ua.Response, error) {
	// Browse never hands out continuation points, so none can be valid.
	results := make([]*ua.BrowseResult, len(req.ContinuationPoints))
	for i := range results {
		results[i] = &ua.BrowseResult{StatusCode: ua.StatusBadContinuationPointInvalid}
	}
	return &ua.BrowseNextResponse{ResponseHeader: header(req.RequestHeader.RequestHandle, ua.StatusOK), Results: results, DiagnosticInfos: []*ua.DiagnosticInfo{}}, nil
}

// translateBrowsePaths follows forward hierarchical references by browse name.
func (s *Server) translateBrowsePaths(_ *session, req *ua.TranslateBrowsePathsToNodeIDsRequest) (ua.Response, error) {
	results := make([]*ua.BrowsePathResult, len(req.BrowsePaths))
	for i, bp := range req.BrowsePaths {
		results[i] = s.translate(bp)
	}
	return &ua.TranslateBrowsePathsToNodeIDsResponse{ResponseHeader: header(req.RequestHeader.RequestHandle, ua.StatusOK), Results: results, DiagnosticInfos: []*ua.DiagnosticInfo{}}, nil
}

func (s *Server) translate(bp *ua.BrowsePath) *ua.BrowsePathResult {
	if bp == nil || bp.StartingNode == nil || bp.RelativePath == nil || len(bp.RelativePath.Elements) == 0 {
		return &ua.BrowsePathResult{StatusCode: ua.StatusBadNothingToDo, Targets: []*ua.BrowsePathTarget{}}
	}
	cur := bp.StartingNode
	for _, el := range bp.RelativePath.Elements {
		if el == nil || el.TargetName == nil {
			return &ua.BrowsePathResult{StatusCode: ua.StatusBadBrowseNameInvalid, Targets: []*ua.BrowsePathTarget{}}
		}
		dir := ua.BrowseDirectionForward
		if el.IsInverse {
			dir = ua.BrowseDirectionInverse
		}
		refType := el.ReferenceTypeID
		if refType == nil {
			refType = ua.NewNumericNodeID(0, id.HierarchicalReferences)
		}
		res := s.browseOne(&ua.BrowseDescription{NodeID: cur, BrowseDirection: dir, ReferenceTypeID: refType, IncludeSubtypes: el.IncludeSubtypes, ResultMask: uint32(ua.BrowseResultMaskAll)})
		if res.StatusCode != ua.StatusOK {
			return &ua.BrowsePathResult{StatusCode: res.StatusCode, Targets: []*ua.BrowsePathTarget{}}
		}
		var next *ua.NodeID
		for _, ref := range res.References {
			if ref.BrowseName != nil && ref.BrowseName.Name == el.TargetName.Name && ref.BrowseName.NamespaceIndex == el.TargetName.NamespaceIndex {
				next = ref.NodeID.NodeID
				break
			}
		}
		if next == nil {
			return &ua.BrowsePathResult{StatusCode: ua.StatusBadNoMatch, Targets: []*ua.BrowsePathTarget{}}
		}
		cur = next
	}
	return &ua.BrowsePathResult{StatusCode: ua.StatusOK, Targets: []*ua.BrowsePathTarget{{TargetID: ua.NewExpandedNodeID(cur, "", 0), RemainingPathIndex: math.MaxUint32}}}
}

func (s *Server) registerNodes(_ *session, req *ua.RegisterNodesRequest) (ua.Response, error) {
	if len(req.NodesToRegister) == 0 {
		return fault(req, ua.StatusBadNothingToDo)
	}
	return &ua.RegisterNodesResponse{ResponseHeader: header(req.RequestHeader.RequestHandle, ua.StatusOK), RegisteredNodeIDs: req.NodesToRegister}, nil
}

func (s *Server) unregisterNodes(_ *session, req *ua.UnregisterNodesRequest) (ua.Response, error) {
	return &ua.UnregisterNodesResponse{ResponseHeader: header(req.RequestHeader.RequestHandle, ua.StatusOK)}, nil
}
