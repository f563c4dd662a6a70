package server_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gopcua/opcua"
	"github.com/gopcua/opcua/id"
	"github.com/gopcua/opcua/ua"

	"github.com/edgeframe/edgeframe/workloads/opcplc/internal/plc"
	"github.com/edgeframe/edgeframe/workloads/opcplc/internal/server"
)

func TestEndpointsFollowSecurityFlags(t *testing.T) {
	for _, tc := range []struct {
		name       string
		ut, daa    bool
		wantModes  []string
		wantTokens []string
	}{
		{"default", false, false, []string{"MessageSecurityModeSign", "MessageSecurityModeSignAndEncrypt"}, []string{"anonymous_none", "username_basic256sha256"}},
		{"unsecure transport", true, false, []string{"MessageSecurityModeNone", "MessageSecurityModeSign", "MessageSecurityModeSignAndEncrypt"}, []string{"anonymous_none", "username_basic256sha256"}},
		{"anonymous disabled", true, true, []string{"MessageSecurityModeNone", "MessageSecurityModeSign", "MessageSecurityModeSignAndEncrypt"}, []string{"username_basic256sha256"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := start(t, func(c *server.Config, _ *plc.Config) { c.UnsecureTransport, c.DisableAnonymous = tc.ut, tc.daa })
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			eps, err := opcua.GetEndpoints(ctx, h.endpoint)
			if err != nil {
				t.Fatal(err)
			}
			var modes []string
			for _, ep := range eps {
				modes = append(modes, ep.SecurityMode.String())
				if ep.SecurityMode != ua.MessageSecurityModeNone && ep.SecurityPolicyURI != ua.SecurityPolicyURIBasic256Sha256 {
					t.Errorf("secure endpoint with policy %s, want Basic256Sha256", ep.SecurityPolicyURI)
				}
				var toks []string
				for _, tok := range ep.UserIdentityTokens {
					toks = append(toks, tok.PolicyID)
				}
				slices.Sort(toks)
				if !slices.Equal(toks, tc.wantTokens) {
					t.Errorf("endpoint %s tokens %v, want %v", ep.SecurityMode, toks, tc.wantTokens)
				}
				if len(ep.ServerCertificate) == 0 {
					t.Errorf("endpoint %s has no server certificate", ep.SecurityMode)
				}
			}
			slices.Sort(modes)
			if !slices.Equal(modes, tc.wantModes) {
				t.Errorf("modes %v, want %v", modes, tc.wantModes)
			}
		})
	}
}

// TestEverySecurityModeAndUserType connects once per mode and user kind.
func TestEverySecurityModeAndUserType(t *testing.T) {
	h := start(t, func(c *server.Config, _ *plc.Config) { c.UnsecureTransport, c.AutoAccept = true, true })
	id := newClientIdentity(t)
	users := []struct {
		name    string
		who     login
		wantErr error
	}{
		{"anonymous", login{}, nil},
		{"admin", login{"sysadmin", "demo"}, nil},
		{"default user", login{"user1", "password"}, nil},
		{"wrong password", login{"user1", "nope"}, ua.StatusBadUserAccessDenied},
		{"unknown user", login{"mallory", "demo"}, ua.StatusBadUserAccessDenied},
	}
	for _, mode := range []ua.MessageSecurityMode{ua.MessageSecurityModeNone, ua.MessageSecurityModeSign, ua.MessageSecurityModeSignAndEncrypt} {
		for _, u := range users {
			t.Run(mode.String()+"/"+u.name, func(t *testing.T) {
				var ident *clientIdentity
				if mode != ua.MessageSecurityModeNone {
					ident = &id
				}
				c, err := dial(t, h, mode, u.who, ident)
				if u.wantErr != nil {
					if !errors.Is(err, u.wantErr) {
						t.Fatalf("connect: %v, want %v", err, u.wantErr)
					}
					return
				}
				if err != nil {
					t.Fatalf("connect: %v", err)
				}
				v, err := c.Node(plcNode(t, c, "StepUp")).Value(context.Background())
				if err != nil {
					t.Fatalf("read StepUp: %v", err)
				}
				if _, ok := v.Value().(uint32); !ok {
					t.Errorf("StepUp = %#v, want a UInt32", v.Value())
				}
			})
		}
	}
	if got := h.metric(t, "edgeframe_opcplc_session_rejections_total"); got != 6 {
		t.Errorf("rejections metric = %v, want 6", got)
	}
}

func TestAnonymousDisabledRejectsAnonymousOnly(t *testing.T) {
	h := start(t, func(c *server.Config, _ *plc.Config) { c.UnsecureTransport, c.DisableAnonymous = true, true })
	// The endpoint lists no anonymous policy, so force an anonymous token the way a
	// misconfigured client would.
	_, err := dial(t, h, ua.MessageSecurityModeNone, login{}, nil, opcua.AuthPolicyID("anonymous_none"))
	if !errors.Is(err, ua.StatusBadIdentityTokenRejected) {
		t.Fatalf("anonymous with --daa: %v, want BadIdentityTokenRejected", err)
	}
	mustDial(t, h, ua.MessageSecurityModeNone, login{"sysadmin", "demo"}, nil)
}

func TestSecurityPolicyNoneRefusedWithoutUnsecureTransport(t *testing.T) {
	h := start(t, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c, err := opcua.NewClient(h.endpoint, opcua.SecurityMode(ua.MessageSecurityModeNone), opcua.SecurityPolicy("None"),
		opcua.AuthAnonymous(), opcua.AutoReconnect(false))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close(context.Background())
	err = c.Connect(ctx)
	if !errors.Is(err, ua.StatusBadSecurityPolicyRejected) {
		t.Fatalf("None without --ut: %v, want BadSecurityPolicyRejected", err)
	}
	// And nothing works on that channel without an activated session.
	if _, err := c.Node(ua.NewNumericNodeID(0, id.Server_ServerStatus_CurrentTime)).Value(ctx); err == nil {
		t.Error("read without an activated session succeeded")
	}
}

func TestUntrustedClientCertificateIsRejectedUntilTrusted(t *testing.T) {
	h := start(t, nil) // no --aa
	id := newClientIdentity(t)
	_, err := dial(t, h, ua.MessageSecurityModeSignAndEncrypt, login{}, &id)
	if !errors.Is(err, ua.StatusBadCertificateUntrusted) {
		t.Fatalf("untrusted certificate: %v, want BadCertificateUntrusted", err)
	}
	rejected := filepath.Join(h.cfg.PKIDir, "rejected", "certs", server.Thumbprint(id.der)+".der")
	if _, err := os.Stat(rejected); err != nil {
		t.Fatalf("rejected certificate not stored: %v", err)
	}
	if err := os.Rename(rejected, filepath.Join(h.cfg.PKIDir, "trusted", "certs", "client.der")); err != nil {
		t.Fatal(err)
	}
	c := mustDial(t, h, ua.MessageSecurityModeSign, login{"user1", "password"}, &id)
	if _, err := c.Node(plcNode(t, c, "StepUp")).Value(context.Background()); err != nil {
		t.Fatal(err)
	}
}

func browseNames(t *testing.T, c *opcua.Client, nid *ua.NodeID) map[string]*ua.ReferenceDescription {
	t.Helper()
	res, err := c.Browse(context.Background(), &ua.BrowseRequest{
		View:                          &ua.ViewDescription{ViewID: ua.NewTwoByteNodeID(0)},
		RequestedMaxReferencesPerNode: 0,
		NodesToBrowse: []*ua.BrowseDescription{{
			NodeID: nid, BrowseDirection: ua.BrowseDirectionForward, ReferenceTypeID: ua.NewNumericNodeID(0, id.HierarchicalReferences),
			IncludeSubtypes: true, ResultMask: uint32(ua.BrowseResultMaskAll),
		}},
	})
	if err != nil {
		t.Fatalf("browse %s: %v", nid, err)
	}
	if len(res.Results) != 1 || res.Results[0].StatusCode != ua.StatusOK {
		t.Fatalf("browse %s: %+v", nid, res.Results)
	}
	out := map[string]*ua.ReferenceDescription{}
	for _, r := range res.Results[0].References {
		out[r.BrowseName.Name] = r
	}
	return out
}

func TestBrowseFromObjectsReachesEveryOPCPLCNode(t *testing.T) {
	h := start(t, func(c *server.Config, s *plc.Config) { c.UnsecureTransport = true; s.Fast.Count = 3 })
	c := mustDial(t, h, ua.MessageSecurityModeNone, login{}, nil)
	objects := browseNames(t, c, ua.NewNumericNodeID(0, id.ObjectsFolder))
	root, ok := objects["OpcPlc"]
	if !ok {
		t.Fatalf("Objects has no OpcPlc folder: %v", keys(objects))
	}
	tel := browseNames(t, c, root.NodeID.NodeID)["Telemetry"]
	if tel == nil {
		t.Fatal("OpcPlc has no Telemetry folder")
	}
	folders := browseNames(t, c, tel.NodeID.NodeID)
	want := map[string][]string{
		"Basic":   {"AlternatingBoolean", "RandomSignedInt32", "RandomUnsignedInt32", "StepUp"},
		"Anomaly": {"DipData", "NegativeTrendData", "PositiveTrendData", "SpikeData"},
		"Fast":    {"BadFastUInt1", "FastUInt1", "FastUInt2", "FastUInt3"},
		"Slow":    {"BadSlowUInt1", "SlowUInt1"},
	}
	for folder, vars := range want {
		f := folders[folder]
		if f == nil {
			t.Fatalf("Telemetry has no %s folder: %v", folder, keys(folders))
		}
		got := browseNames(t, c, f.NodeID.NodeID)
		if !slices.Equal(keys(got), vars) {
			t.Errorf("%s holds %v, want %v", folder, keys(got), vars)
		}
		for name, r := range got {
			if r.NodeClass != ua.NodeClassVariable {
				t.Errorf("%s is a %s, want a Variable", name, r.NodeClass)
			}
			if want := "nsu=" + plc.Namespace + ";s=" + name; r.NodeID.NodeID.StringID() != name || c.Namespaces()[r.NodeID.NodeID.Namespace()] != plc.Namespace {
				t.Errorf("%s has node id %s, want %s", name, r.NodeID, want)
			}
		}
	}
}

func keys[V any](m map[string]V) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

func TestReadAttributesAndValuesEvolve(t *testing.T) {
	h := start(t, func(c *server.Config, s *plc.Config) {
		c.UnsecureTransport = true
		s.Fast = plc.LoadNodes{Count: 1, Rate: 50 * time.Millisecond, Type: plc.TypeUIntArray}
	})
	c := mustDial(t, h, ua.MessageSecurityModeNone, login{}, nil)
	ctx := context.Background()
	read := func(name string, attr ua.AttributeID) *ua.DataValue {
		t.Helper()
		res, err := c.Read(ctx, &ua.ReadRequest{NodesToRead: []*ua.ReadValueID{{NodeID: plcNode(t, c, name), AttributeID: attr}}, TimestampsToReturn: ua.TimestampsToReturnBoth})
		if err != nil {
			t.Fatalf("read %s/%s: %v", name, attr, err)
		}
		return res.Results[0]
	}
	for _, tc := range []struct {
		node string
		attr ua.AttributeID
		want any
	}{
		{"StepUp", ua.AttributeIDDataType, ua.NewNumericNodeID(0, id.UInt32)},
		{"AlternatingBoolean", ua.AttributeIDDataType, ua.NewNumericNodeID(0, id.Boolean)},
		{"RandomSignedInt32", ua.AttributeIDDataType, ua.NewNumericNodeID(0, id.Int32)},
		{"SpikeData", ua.AttributeIDDataType, ua.NewNumericNodeID(0, id.Double)},
		{"FastUIntArray1", ua.AttributeIDValueRank, int32(1)},
		{"StepUp", ua.AttributeIDValueRank, int32(-1)},
		{"StepUp", ua.AttributeIDBrowseName, &ua.QualifiedName{NamespaceIndex: h.srv.NamespaceIndex(), Name: "StepUp"}},
	} {
		got := read(tc.node, tc.attr)
		if got.Status != ua.StatusOK || got.Value == nil {
			t.Errorf("%s/%s: status %v", tc.node, tc.attr, got.Status)
			continue
		}
		if g, w := got.Value.Value(), tc.want; !equalValue(g, w) {
			t.Errorf("%s/%s = %#v, want %#v", tc.node, tc.attr, g, w)
		}
	}
	first := read("StepUp", ua.AttributeIDValue)
	arr1 := read("FastUIntArray1", ua.AttributeIDValue).Value.Value().([]uint32)
	time.Sleep(350 * time.Millisecond) // the rate under test: 350 ms of a 100 ms cycle
	second := read("StepUp", ua.AttributeIDValue)
	arr2 := read("FastUIntArray1", ua.AttributeIDValue).Value.Value().([]uint32)
	if d := second.Value.Value().(uint32) - first.Value.Value().(uint32); d < 2 || d > 5 {
		t.Errorf("StepUp advanced by %d in 350 ms at a 100 ms cycle, want 2..5", d)
	}
	if !second.SourceTimestamp.After(first.SourceTimestamp) || second.ServerTimestamp.IsZero() {
		t.Errorf("timestamps: source %v -> %v, server %v", first.SourceTimestamp, second.SourceTimestamp, second.ServerTimestamp)
	}
	if len(arr2) != 32 || arr2[0] <= arr1[0] || arr2[0] != arr2[31] {
		t.Errorf("FastUIntArray1 %v -> %v, want 32 equal increasing values", arr1, arr2)
	}
	// The bad node cycles through Uncertain and Bad statuses.
	seen := map[ua.StatusCode]bool{}
	deadline := time.Now().Add(3 * time.Second)
	for time.Now().Before(deadline) && len(seen) < 4 {
		seen[read("BadFastUIntArray1", ua.AttributeIDValue).Status] = true
		time.Sleep(20 * time.Millisecond)
	}
	for _, want := range []ua.StatusCode{ua.StatusOK, ua.StatusUncertainLastUsableValue, ua.StatusBadDataLost, ua.StatusBadNoCommunication} {
		if !seen[want] {
			t.Errorf("BadFastUIntArray1 never had status %v (saw %v)", want, seen)
		}
	}
	// The server reports itself Running (clients use it as a keep-alive).
	st, err := c.Read(ctx, &ua.ReadRequest{NodesToRead: []*ua.ReadValueID{
		{NodeID: ua.NewNumericNodeID(0, id.Server_ServerStatus_State), AttributeID: ua.AttributeIDValue},
		{NodeID: ua.NewNumericNodeID(0, id.Server_NamespaceArray), AttributeID: ua.AttributeIDValue}}})
	if err != nil || st.Results[0].Status != ua.StatusOK || st.Results[0].Value.Value() != int32(ua.ServerStateRunning) {
		t.Errorf("server state: %v %+v", err, st)
	} else if nsa, _ := st.Results[1].Value.Value().([]string); len(nsa) < 2 || nsa[h.srv.NamespaceIndex()] != plc.Namespace {
		t.Errorf("namespace array %v lacks %s at %d", nsa, plc.Namespace, h.srv.NamespaceIndex())
	}
	// Writes to the read-only variables are refused: the simulation owns those values.
	res, err := c.Write(ctx, &ua.WriteRequest{NodesToWrite: []*ua.WriteValue{{NodeID: plcNode(t, c, "RandomSignedInt32"), AttributeID: ua.AttributeIDValue,
		Value: &ua.DataValue{EncodingMask: ua.DataValueValue, Value: ua.MustVariant(int32(1))}}}})
	if err != nil || res.Results[0] != ua.StatusBadNotWritable {
		t.Errorf("write RandomSignedInt32: %v %v, want BadNotWritable", err, res)
	}
}

func equalValue(a, b any) bool {
	if an, ok := a.(*ua.NodeID); ok {
		bn, ok := b.(*ua.NodeID)
		return ok && an.String() == bn.String()
	}
	if aq, ok := a.(*ua.QualifiedName); ok {
		bq, ok := b.(*ua.QualifiedName)
		return ok && *aq == *bq
	}
	return a == b
}

func TestConfigValidateNamesEveryField(t *testing.T) {
	c := server.DefaultConfig()
	c.Host, c.Port, c.PKIDir = "", 70000, ""
	c.DisableAnonymous, c.DisableUserPass = true, true
	c.Chaos, c.ChaosMin, c.ChaosMax = true, 2*time.Second, time.Second
	c.MaxSessions = 0
	err := c.Validate()
	for _, want := range []string{"Host (--ph)", "Port (--pn)", "PKIDir (--pki)", "DisableAnonymous (--daa)", "--chaos-min", "MaxSessions (--msec)"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Validate() = %v, want it to name %s", err, want)
		}
	}
}
