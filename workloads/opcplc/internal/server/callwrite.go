package server

import (
	"errors"

	"github.com/gopcua/opcua/id"
	"github.com/gopcua/opcua/ua"

	"github.com/edgeframe/edgeframe/workloads/opcplc/internal/plc"
)

// write sets the Value of OPC PLC's writable variables (StepUp, the Slow/Fast nodes and the special nodes,
// CurrentReadOrWrite in OPC PLC). Everything else is read-only: BadNotWritable for an
// attribute the node has, BadAttributeIdInvalid for one it lacks.
func (s *Server) write(sess *session, req *ua.WriteRequest) (ua.Response, error) {
	if len(req.NodesToWrite) == 0 {
		return fault(req, ua.StatusBadNothingToDo)
	}
	results := make([]ua.StatusCode, len(req.NodesToWrite))
	for i, wv := range req.NodesToWrite {
		results[i] = s.writeOne(wv)
		if results[i] == ua.StatusOK {
			s.log.Debug("value written", "session", sess.name, "node", wv.NodeID.String())
		}
	}
	return &ua.WriteResponse{ResponseHeader: header(req.RequestHeader.RequestHandle, ua.StatusOK), Results: results, DiagnosticInfos: []*ua.DiagnosticInfo{}}, nil
}

func (s *Server) writeOne(wv *ua.WriteValue) ua.StatusCode {
	if wv == nil || wv.NodeID == nil {
		return ua.StatusBadNodeIDInvalid
	}
	// The node and the attribute must exist before anything else is checked.
	if cur := s.readValue(wv.NodeID, wv.AttributeID); cur.Status == ua.StatusBadNodeIDUnknown || cur.Status == ua.StatusBadAttributeIDInvalid {
		return cur.Status
	}
	n := s.ns.lookup(wv.NodeID)
	if n == nil || wv.AttributeID != ua.AttributeIDValue || !n.Writable {
		return ua.StatusBadNotWritable
	}
	dv := wv.Value
	switch {
	case wv.IndexRange != "":
		return ua.StatusBadWriteNotSupported // whole values only
	case dv == nil || dv.Value == nil || dv.EncodingMask&ua.DataValueValue == 0:
		return ua.StatusBadTypeMismatch
	case dv.EncodingMask&(ua.DataValueSourceTimestamp|ua.DataValueServerTimestamp) != 0 || (dv.EncodingMask&ua.DataValueStatusCode != 0 && dv.Status != ua.StatusOK):
		// As OPC PLC (the .NET stack's default): status and timestamps are the server's.
		return ua.StatusBadWriteNotSupported
	}
	v := dv.Value.Value()
	if b, ok := v.([]byte); ok && dv.Value.Type() == ua.TypeIDByte {
		v = plc.ByteArray(b) // an array of Byte decodes to []byte like a ByteString
	}
	switch err := s.sim.Write(n.Key(), v); {
	case err == nil:
		return ua.StatusOK
	case errors.Is(err, plc.ErrTypeMismatch):
		return ua.StatusBadTypeMismatch
	case errors.Is(err, plc.ErrNotWritable):
		return ua.StatusBadNotWritable
	case errors.Is(err, plc.ErrUnknownNode):
		return ua.StatusBadNodeIDUnknown
	default:
		return ua.StatusBadInternalError
	}
}

// call runs OPC PLC's methods (OpcPlc/Methods/…), which take no arguments and return
// none, and the Server object's GetMonitoredItems; namespace 0's other methods (ResendData,
// SetSubscriptionDurable, RequestServerStateChange) are not executable.
func (s *Server) call(sess *session, req *ua.CallRequest) (ua.Response, error) {
	if len(req.MethodsToCall) == 0 {
		return fault(req, ua.StatusBadNothingToDo)
	}
	results := make([]*ua.CallMethodResult, len(req.MethodsToCall))
	for i, m := range req.MethodsToCall {
		res := &ua.CallMethodResult{InputArgumentResults: []ua.StatusCode{}, InputArgumentDiagnosticInfos: []*ua.DiagnosticInfo{}, OutputArguments: []*ua.Variant{}}
		if m != nil && m.MethodID != nil && m.MethodID.Namespace() == 0 && m.MethodID.IntID() == id.Server_GetMonitoredItems && m.MethodID.Type() <= ua.NodeIDTypeNumeric {
			s.getMonitoredItems(sess, m, res)
		} else {
			res.StatusCode = s.callOne(m)
		}
		results[i] = res
		if m != nil && m.MethodID != nil {
			s.log.Info("method called", "session", sess.name, "method", m.MethodID.String(), "status", res.StatusCode.Error())
		}
	}
	return &ua.CallResponse{ResponseHeader: header(req.RequestHeader.RequestHandle, ua.StatusOK), Results: results, DiagnosticInfos: []*ua.DiagnosticInfo{}}, nil
}

func (s *Server) callOne(m *ua.CallMethodRequest) ua.StatusCode {
	if m == nil || m.ObjectID == nil || m.MethodID == nil {
		return ua.StatusBadNodeIDInvalid
	}
	if s.readValue(m.ObjectID, ua.AttributeIDNodeClass).Status != ua.StatusOK {
		return ua.StatusBadNodeIDUnknown
	}
	if n0 := s.ns0.lookup(m.MethodID); n0 != nil && n0.class == ua.NodeClassMethod {
		return ua.StatusBadNotExecutable
	}
	method, object := s.ns.lookup(m.MethodID), s.ns.lookup(m.ObjectID)
	switch {
	case method == nil || !method.Method || object == nil || object.Key() != plc.Key(plc.IDString, method.Parent):
		return ua.StatusBadMethodInvalid // not a method of that object
	case len(m.InputArguments) > 0:
		return ua.StatusBadTooManyArguments
	}
	switch err := s.sim.Call(method.Key()); {
	case err == nil:
		return ua.StatusOK
	case errors.Is(err, plc.ErrNotMethod), errors.Is(err, plc.ErrUnknownNode):
		return ua.StatusBadMethodInvalid
	default:
		return ua.StatusBadInternalError
	}
}

// getMonitoredItems is Server.GetMonitoredItems (OPC 10000-5 §9.1): the server and client
// handles of the items of one of the session's subscriptions.
func (s *Server) getMonitoredItems(sess *session, m *ua.CallMethodRequest, res *ua.CallMethodResult) {
	switch {
	case m.ObjectID == nil || m.ObjectID.Namespace() != 0 || m.ObjectID.IntID() != id.Server:
		res.StatusCode = ua.StatusBadMethodInvalid
		return
	case len(m.InputArguments) == 0:
		res.StatusCode = ua.StatusBadArgumentsMissing
		return
	case len(m.InputArguments) > 1:
		res.StatusCode = ua.StatusBadTooManyArguments
		return
	}
	subID, ok := m.InputArguments[0].Value().(uint32)
	if !ok {
		res.StatusCode, res.InputArgumentResults = ua.StatusBadInvalidArgument, []ua.StatusCode{ua.StatusBadTypeMismatch}
		return
	}
	sub := s.ownSub(sess, subID)
	if sub == nil {
		res.StatusCode = ua.StatusBadSubscriptionIDInvalid
		return
	}
	sub.mu.Lock()
	server, client := make([]uint32, 0, len(sub.items)), make([]uint32, 0, len(sub.items))
	for _, it := range sub.items {
		server, client = append(server, it.id), append(client, it.handle)
	}
	sub.mu.Unlock()
	res.InputArgumentResults = []ua.StatusCode{ua.StatusOK}
	res.OutputArguments = []*ua.Variant{ua.MustVariant(server), ua.MustVariant(client)}
}
