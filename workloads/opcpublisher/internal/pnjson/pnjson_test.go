package pnjson_test

import (
	"errors"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/edgeframe/edgeframe/workloads/opcpublisher/internal/pnjson"
)

func TestParseValidFileAppliesDefaults(t *testing.T) {
	b, err := os.ReadFile("testdata/valid.json")
	if err != nil {
		t.Fatal(err)
	}
	f, err := pnjson.Parse(b)
	if err != nil {
		t.Fatalf("valid file: %v", err)
	}
	if len(f.Entries) != 2 || len(f.Warnings) != 0 {
		t.Fatalf("entries %d warnings %v", len(f.Entries), f.Warnings)
	}
	e := f.Entries[0]
	if e.WriterGroup != "plc1" || e.WriterID != "fast" || e.KeyFrameCount != 10 || e.PublishingInterval != 500*time.Millisecond ||
		e.SecurityMode != pnjson.ModeNone || e.AuthMode != pnjson.AuthAnonymous {
		t.Errorf("entry 0: %+v", e)
	}
	n := e.Nodes
	if n[0].FieldName() != "FastUInt1" || n[0].SamplingInterval != 100*time.Millisecond || n[0].PublishingInterval != 500*time.Millisecond || n[0].QueueSize != 1 || n[0].DataChangeTrigger != "StatusValue" {
		t.Errorf("node 0: %+v", n[0])
	}
	if n[1].FieldName() != "ns=2;s=StepUp" || n[1].SamplingInterval != 250*time.Millisecond || n[1].QueueSize != 5 ||
		n[1].DataChangeTrigger != "StatusValueTimestamp" || n[1].DeadbandType != "Absolute" || n[1].DeadbandValue != 1.5 {
		t.Errorf("node 1: %+v", n[1])
	}
	if n[2].PublishingInterval != 2*time.Second || n[2].Heartbeat != 10*time.Second || n[2].SamplingInterval != time.Second {
		t.Errorf("node 2: %+v", n[2])
	}
	s := f.Entries[1]
	if s.WriterGroup != "default" || s.WriterID != "opc.tcp://127.0.0.1:50000_1000" || s.SecurityMode != pnjson.ModeSignAndEncrypt ||
		s.SecurityPolicy != "Basic256Sha256" || s.Username != "user1" || s.Nodes[0].ID.String() != "nsu=http://microsoft.com/Opc/OpcPlc/;s=AlternatingBoolean" {
		t.Errorf("entry 1: %+v", s)
	}
	if e.SessionKey() == s.SessionKey() {
		t.Error("different security must mean different sessions")
	}
}

func TestUnknownFieldsAreWarnings(t *testing.T) {
	f, err := pnjson.Parse([]byte(`[{"EndpointUrl":"opc.tcp://h:1","Colour":"red","OpcNodes":[{"Id":"i=1","Flavour":1}]}]`))
	if err != nil {
		t.Fatal(err)
	}
	if len(f.Entries) != 1 || len(f.Warnings) != 2 ||
		!strings.Contains(f.Warnings[0], "entry 0: Colour: unknown field") || !strings.Contains(f.Warnings[1], "OpcNodes[0].Flavour: unknown field") {
		t.Fatalf("warnings %q", f.Warnings)
	}
}

// Each bad file, with the error it must produce. Valid entries next to a bad one still run.
func TestBadFiles(t *testing.T) {
	const ok = `{"EndpointUrl":"opc.tcp://h:50000","DataSetWriterGroup":"good","OpcNodes":[{"Id":"i=2258"}]}`
	for _, tc := range []struct {
		name, file string
		want       []string // substrings of the joined error, in any order
		valid      int
	}{
		{"not json", `{`, []string{"(file): want a JSON array"}, 0},
		{"object not array", `{"EndpointUrl":"opc.tcp://h:1"}`, []string{"(file): want a JSON array"}, 0},
		{"trailing data", `[] []`, []string{"trailing data"}, 0},
		{"entry not object", `[1,` + ok + `]`, []string{"entry 0: (entry): want a JSON object"}, 1},
		{"missing endpoint", `[{"OpcNodes":[{"Id":"i=1"}]},` + ok + `]`, []string{"entry 0: EndpointUrl: required"}, 1},
		{"http endpoint", `[{"EndpointUrl":"http://h:1","OpcNodes":[{"Id":"i=1"}]}]`, []string{"entry 0: EndpointUrl: \"http://h:1\": want opc.tcp://"}, 0},
		{"endpoint not string", `[{"EndpointUrl":5,"OpcNodes":[{"Id":"i=1"}]}]`, []string{"entry 0: EndpointUrl: want a string, got 5"}, 0},
		{"no nodes", `[` + ok + `,{"EndpointUrl":"opc.tcp://h:1"}]`, []string{"entry 1: OpcNodes: required"}, 1},
		{"empty nodes", `[{"EndpointUrl":"opc.tcp://h:1","OpcNodes":[]}]`, []string{"entry 0: OpcNodes: empty"}, 0},
		{"nodes not array", `[{"EndpointUrl":"opc.tcp://h:1","OpcNodes":{}}]`, []string{"entry 0: OpcNodes: want an array"}, 0},
		{"node without id", `[{"EndpointUrl":"opc.tcp://h:1","OpcNodes":[{"DisplayName":"x"}]}]`, []string{"entry 0: OpcNodes[0].Id: required"}, 0},
		{"bad node id", `[{"EndpointUrl":"opc.tcp://h:1","OpcNodes":[{"Id":"i=1"},{"Id":"ns=x;s=y"}]}]`, []string{"entry 0: OpcNodes[1].Id: node id \"ns=x;s=y\": namespace index", "node dropped"}, 1},
		{"bad security mode", `[{"EndpointUrl":"opc.tcp://h:1","EndpointSecurityMode":"Encrypt","OpcNodes":[{"Id":"i=1"}]}]`, []string{"entry 0: EndpointSecurityMode: \"Encrypt\": want one of None, Sign, SignAndEncrypt, Best"}, 0},
		{"bad policy", `[{"EndpointUrl":"opc.tcp://h:1","EndpointSecurityMode":"Sign","EndpointSecurityPolicy":"Rot13","OpcNodes":[{"Id":"i=1"}]}]`, []string{"entry 0: EndpointSecurityPolicy: unknown policy \"Rot13\""}, 0},
		{"policy without mode", `[{"EndpointUrl":"opc.tcp://h:1","EndpointSecurityPolicy":"Basic256Sha256","OpcNodes":[{"Id":"i=1"}]}]`, []string{"entry 0: EndpointSecurityPolicy: policy Basic256Sha256 needs EndpointSecurityMode Sign or SignAndEncrypt"}, 0},
		{"bad auth", `[{"EndpointUrl":"opc.tcp://h:1","OpcAuthenticationMode":"Certificate","OpcNodes":[{"Id":"i=1"}]}]`, []string{"entry 0: OpcAuthenticationMode: \"Certificate\": want one of Anonymous, UsernamePassword"}, 0},
		{"user without name", `[{"EndpointUrl":"opc.tcp://h:1","OpcAuthenticationMode":"UsernamePassword","OpcNodes":[{"Id":"i=1"}]}]`, []string{"entry 0: OpcAuthenticationUsername: required when"}, 0},
		{"bad group", `[{"EndpointUrl":"opc.tcp://h:1","DataSetWriterGroup":"a/b","OpcNodes":[{"Id":"i=1"}]}]`, []string{"entry 0: DataSetWriterGroup: \"a/b\": want 1-128"}, 0},
		{"use security not bool", `[{"EndpointUrl":"opc.tcp://h:1","UseSecurity":"yes","OpcNodes":[{"Id":"i=1"}]}]`, []string{"entry 0: UseSecurity: want true or false"}, 0},
		{"negative key frame count", `[{"EndpointUrl":"opc.tcp://h:1","DataSetKeyFrameCount":-1,"OpcNodes":[{"Id":"i=1"}]}]`, []string{"entry 0: DataSetKeyFrameCount: want a whole number >= 0"}, 0},
		{"bad timespan", `[{"EndpointUrl":"opc.tcp://h:1","DataSetPublishingIntervalTimespan":"1s","OpcNodes":[{"Id":"i=1"}]}]`, []string{"entry 0: DataSetPublishingIntervalTimespan: \"1s\" is not a timespan"}, 0},
		{"negative sampling", `[{"EndpointUrl":"opc.tcp://h:1","OpcNodes":[{"Id":"i=1","OpcSamplingInterval":-5}]}]`, []string{"entry 0: OpcNodes[0].OpcSamplingInterval: want 0..86400000, got -5"}, 0},
		{"queue size fraction", `[{"EndpointUrl":"opc.tcp://h:1","OpcNodes":[{"Id":"i=1","QueueSize":1.5}]}]`, []string{"entry 0: OpcNodes[0].QueueSize: want a whole number"}, 0},
		{"bad trigger", `[{"EndpointUrl":"opc.tcp://h:1","OpcNodes":[{"Id":"i=1","DataChangeTrigger":"Always"}]}]`, []string{"entry 0: OpcNodes[0].DataChangeTrigger: \"Always\""}, 0},
		{"deadband without type", `[{"EndpointUrl":"opc.tcp://h:1","OpcNodes":[{"Id":"i=1","DeadbandValue":2}]}]`, []string{"entry 0: OpcNodes[0].DeadbandValue: set DeadbandType"}, 0},
		{"percent over 100", `[{"EndpointUrl":"opc.tcp://h:1","OpcNodes":[{"Id":"i=1","DeadbandType":"Percent","DeadbandValue":150}]}]`, []string{"entry 0: OpcNodes[0].DeadbandValue: a percent deadband must be 0..100"}, 0},
		{"duplicate node", `[{"EndpointUrl":"opc.tcp://h:1","OpcNodes":[{"Id":"i=1"},{"Id":"i=1"}]}]`, []string{"entry 0: OpcNodes[1].Id: i=1 duplicates OpcNodes[0]; node dropped"}, 1},
		{"writer on two endpoints", `[` + ok + `,{"EndpointUrl":"opc.tcp://other:1","DataSetWriterGroup":"good","DataSetWriterId":"opc.tcp://h:50000_1000","OpcNodes":[{"Id":"i=1"}]}]`,
			[]string{"entry 1: DataSetWriterId: writer \"opc.tcp://h:50000_1000\" in group \"good\" is already defined by entry 0"}, 1},
		{"only bad nodes", `[{"EndpointUrl":"opc.tcp://h:1","OpcNodes":[{"Id":"bad"}]}]`, []string{"entry 0: OpcNodes[0].Id", "entry 0: OpcNodes: no valid node"}, 0},
		{"every problem at once", `[{"EndpointUrl":"ftp://h","EndpointSecurityMode":"x","OpcNodes":[{"Id":"bad"},{"Id":"i=1","QueueSize":-1}]}]`,
			[]string{"entry 0: EndpointUrl", "entry 0: EndpointSecurityMode", "entry 0: OpcNodes[0].Id", "entry 0: OpcNodes[1].QueueSize"}, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f, err := pnjson.Parse([]byte(tc.file))
			if err == nil {
				t.Fatalf("no error for %s", tc.file)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q\nwant it to contain %q", err, w)
				}
			}
			var ee *pnjson.EntryError
			if !errors.As(err, &ee) {
				t.Errorf("error is not an *EntryError: %T", err)
			}
			if len(f.Entries) != tc.valid {
				t.Errorf("valid entries %d, want %d", len(f.Entries), tc.valid)
			}
		})
	}
}

func TestParseTimespan(t *testing.T) {
	for in, want := range map[string]time.Duration{
		"00:00:01": time.Second, "00:00:00.1": 100 * time.Millisecond, "00:00:00.0000001": 100 * time.Nanosecond,
		"01:02:03": time.Hour + 2*time.Minute + 3*time.Second, "1.00:00:00": 24 * time.Hour,
	} {
		if got, err := pnjson.ParseTimespan(in); err != nil || got != want {
			t.Errorf("ParseTimespan(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for _, in := range []string{"", "1", "00:60:00", "-00:00:01", "24:00:00", "00:00:01.12345678"} {
		if _, err := pnjson.ParseTimespan(in); err == nil {
			t.Errorf("ParseTimespan(%q): want an error", in)
		}
	}
}

// FuzzParse: Parse never panics, and whatever it accepts is internally consistent.
// The seed corpus (f.Add + testdata/fuzz/FuzzParse) runs with every `go test`.
func FuzzParse(f *testing.F) {
	if b, err := os.ReadFile("testdata/valid.json"); err == nil {
		f.Add(b)
	}
	for _, s := range []string{`[]`, `[{}]`, `null`, `[{"EndpointUrl":"opc.tcp://h:1","OpcNodes":[{"Id":"nsu=u;s=x"}]}]`,
		`[{"EndpointUrl":"opc.tcp://h:1","OpcNodes":[{"Id":"i=1","OpcSamplingIntervalTimespan":"1.02:03:04.5"}]}]`,
		`[{"EndpointUrl":"opc.tcp://h:1","DataSetWriterGroup":"g","DataSetWriterId":"w","OpcNodes":[{"Id":"b=AAE="}]},{"EndpointUrl":"opc.tcp://h:1","DataSetWriterGroup":"g","DataSetWriterId":"w","OpcNodes":[{"Id":"g=09087e75-8e5e-499b-954f-f2a9603db28a"}]}]`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		file, err := pnjson.Parse(b)
		if file == nil {
			t.Fatal("nil file")
		}
		for _, e := range file.Entries {
			if e.EndpointURL == "" || len(e.Nodes) == 0 || e.WriterGroup == "" || e.WriterID == "" {
				t.Fatalf("accepted an incomplete entry %+v (err %v)", e, err)
			}
			for _, n := range e.Nodes {
				if n.PublishingInterval <= 0 || n.QueueSize == 0 || n.FieldName() == "" {
					t.Fatalf("accepted node without defaults %+v", n)
				}
			}
		}
	})
}

// A node with a bad id or an unsupported option is dropped and reported; the rest of
// its entry runs. OPC Publisher's SkipFirst/UseCyclicRead/AttributeId are refused
// unless they ask for what opcpublisher does; IndexRange and DiscardNew are honoured.
func TestBadNodeDropsOnlyThatNode(t *testing.T) {
	f, err := pnjson.Parse([]byte(`[{"EndpointUrl":"opc.tcp://h:1","DataSetWriterId":"w","OpcNodes":[
		{"Id":"i=1"}, {"Id":"ns=;s=broken"}, {"Id":"i=2","SkipFirst":true}, {"Id":"i=3","UseCyclicRead":true},
		{"Id":"i=4","AttributeId":"DisplayName"}, {"Id":"i=5","AttributeId":"Value","SkipFirst":false,"UseCyclicRead":false},
		{"Id":"i=6","IndexRange":"1:3","DiscardNew":true}, {"Id":"i=7","IndexRange":"x"}]}]`))
	for _, want := range []string{"OpcNodes[1].Id", "OpcNodes[2].SkipFirst: true is not supported", "OpcNodes[3].UseCyclicRead: true is not supported",
		"OpcNodes[4].AttributeId: \"DisplayName\": not supported", "OpcNodes[7].IndexRange: \"x\""} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("error %v\nwant it to contain %q", err, want)
		}
	}
	if len(f.Entries) != 1 || len(f.Warnings) != 0 {
		t.Fatalf("entries %d warnings %v", len(f.Entries), f.Warnings)
	}
	var ids []string
	for _, n := range f.Entries[0].Nodes {
		ids = append(ids, n.RawID)
	}
	if strings.Join(ids, " ") != "i=1 i=5 i=6" {
		t.Errorf("nodes kept %v, want i=1 i=5 i=6", ids)
	}
	if n := f.Entries[0].Nodes[2]; n.IndexRange != "1:3" || !n.DiscardNew {
		t.Errorf("i=6: IndexRange %q DiscardNew %v", n.IndexRange, n.DiscardNew)
	}
}

// Without DataSetWriterId an entry's nodes form one writer per publishing interval,
// named <EndpointUrl>_<interval ms> (OPC Publisher's default).
func TestDefaultWriterIDPerPublishingInterval(t *testing.T) {
	f, err := pnjson.Parse([]byte(`[{"EndpointUrl":"opc.tcp://h:1","OpcNodes":[
		{"Id":"i=1"}, {"Id":"i=2","OpcPublishingInterval":500}, {"Id":"i=3","OpcPublishingInterval":500}]},
		{"EndpointUrl":"opc.tcp://h:1","DataSetPublishingInterval":2000,"OpcNodes":[{"Id":"i=4"}]}]`))
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]int{}
	for _, e := range f.Entries {
		got[e.WriterID] += len(e.Nodes)
	}
	want := map[string]int{"opc.tcp://h:1_1000": 1, "opc.tcp://h:1_500": 2, "opc.tcp://h:1_2000": 1}
	if len(got) != len(want) {
		t.Fatalf("writers %v, want %v", got, want)
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("writers %v, want %v", got, want)
		}
	}
}
