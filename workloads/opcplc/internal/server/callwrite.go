package server

import (
	"errors"

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
// none. Namespace 0's methods (GetMonitoredItems, …) are not executable.
func (s *Server) call(sess *session, req *ua.CallRequest) (ua.Response, error) {
	if len(req.MethodsToCall) == 0 {
		return fault(req, ua.StatusBadNothingToDo)
	}
	results := make([]*ua.CallMethodResult, len(req.MethodsToCall))
	for i, m := range req.MethodsToCall {
		code := s.callOne(m)
		results[i] = &ua.CallMethodResult{StatusCode: code, InputArgumentResults: []ua.StatusCode{},
			InputArgumentDiagnosticInfos: []*ua.DiagnosticInfo{}, OutputArguments: []*ua.Variant{}}
		if m != nil && m.MethodID != nil {
			s.log.Info("method called", "session", sess.name, "method", m.MethodID.String(), "status", code.Error())
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
