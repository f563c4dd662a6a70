package interop_test

import (
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/edgeframe/edgeframe/test/testenv"
)

// Our opcpublisher subscribes to a node-opcua server (an OPC UA implementation we did
// not write), over None and over Basic256Sha256 SignAndEncrypt with a user, with every
// node id form, and its telemetry arrives through daprd and mosquitto.
func TestPublisherSubscribesToNodeOPCUAServer(t *testing.T) {
	rig := startPubRig(t)
	port := testenv.FreePort(t)
	testenv.StartNodeScript(t, testenv.NodeScriptSpec{Name: "node-opcua-server", Script: "publisher_server.js", Port: port,
		Env: []string{"PORT=" + strconv.Itoa(port), "NODES=3", "RATE=100"}})
	ep := fmt.Sprintf("opc.tcp://127.0.0.1:%d/UA/edgeframe", port)
	pn := fmt.Sprintf(`[
	 {"EndpointUrl":%[1]q,"DataSetWriterGroup":"nodeopcua","DataSetWriterId":"forms","DataSetKeyFrameCount":5,"OpcNodes":[
	   {"Id":"ns=2;s=Fast1","DisplayName":"Fast1","OpcSamplingInterval":100,"OpcPublishingInterval":200},
	   {"Id":"nsu=http://edgeframe.io/interop/;s=Fast2","DisplayName":"Fast2","OpcSamplingInterval":100,"OpcPublishingInterval":200},
	   {"Id":"http://edgeframe.io/interop/#i=1001","DisplayName":"Numeric","OpcSamplingInterval":100,"OpcPublishingInterval":200},
	   {"Id":"ns=2;g=09087e75-8e5e-499b-954f-f2a9603db28a","DisplayName":"Guid","OpcSamplingInterval":100,"OpcPublishingInterval":200},
	   {"Id":"ns=2;b=AAECAw==","DisplayName":"Opaque","OpcSamplingInterval":100,"OpcPublishingInterval":200},
	   {"Id":"ns=2;s=Temperature","DisplayName":"Temperature","OpcSamplingInterval":100,"OpcPublishingInterval":500,
	    "DeadbandType":"Absolute","DeadbandValue":1.2,"QueueSize":10}]},
	 {"EndpointUrl":%[1]q,"UseSecurity":true,"EndpointSecurityMode":"SignAndEncrypt","EndpointSecurityPolicy":"Basic256Sha256",
	  "OpcAuthenticationMode":"UsernamePassword","OpcAuthenticationUsername":"user1","OpcAuthenticationPassword":"password",
	  "DataSetWriterGroup":"nodeopcua","DataSetWriterId":"secure","OpcNodes":[{"Id":"ns=2;s=Fast3","OpcSamplingInterval":100,"OpcPublishingInterval":200}]}
	]`, ep)
	rig.startPublisher(t, "opcpublisher", pn, "--bs", "1", "--aa") // node-opcua's self-signed certificate

	fields := map[string]map[float64]bool{}
	writers := map[string]bool{}
	var temps []float64 // Temperature changes (delta frames; key frames repeat values) in arrival order
	got := collect(t, rig.sub, 60*time.Second, func(rs []received) bool {
		for _, r := range rs[len(rs)-min(len(rs), 1):] {
			for _, m := range decodeNetworkMessage(t, r.ev).Messages {
				writers[fmt.Sprint(m.DataSetWriterID)] = true
				for f, v := range m.Payload {
					if x, ok := v.Value.(float64); ok && f == "Temperature" && m.MessageType == "ua-deltaframe" {
						temps = append(temps, x)
					}
					if fields[f] == nil {
						fields[f] = map[float64]bool{}
					}
					if x, ok := v.Value.(float64); ok {
						fields[f][x] = true
					}
				}
			}
		}
		if len(fields) < 7 || !writers["forms"] || !writers["secure"] || len(temps) < 3 {
			return false
		}
		for _, vs := range fields {
			if len(vs) < 3 {
				return false
			}
		}
		return true
	})
	if len(fields) < 7 || !writers["secure"] {
		t.Fatalf("after %d messages: fields %v writers %v", len(got), keys(fields), writers)
	}
	for _, r := range got {
		if r.topic != "telemetry/opcua/nodeopcua" {
			t.Fatalf("topic %s", r.topic)
		}
	}
	// Temperature rises 0.5 per 100 ms; the absolute deadband of 1.2 the server applies
	// lets only changes larger than 1.2 through: consecutive values differ by 1.5 (more
	// when sampling skipped a step), never by the 0.5 or 1.0 an unfiltered item shows.
	for i := 1; i < len(temps); i++ {
		if d := temps[i] - temps[i-1]; d <= 1.2 {
			t.Fatalf("Temperature values %v: step %v, want > 1.2 (absolute deadband 1.2 on steps of 0.5)", temps, d)
		}
	}
	if len(temps) < 3 {
		t.Fatalf("Temperature values %v", temps)
	}
}

func keys[M ~map[string]V, V any](m M) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}

// issue 13: against node-opcua, a node with a bad id or an option opcpublisher does not
// support is dropped and reported while the rest of its entry publishes, and IndexRange
// is honoured: the server returns only elements 1..2 of its Int32[5] array.
func TestPublisherNodeOptionsAgainstNodeOPCUA(t *testing.T) {
	rig := startPubRig(t)
	port := testenv.FreePort(t)
	testenv.StartNodeScript(t, testenv.NodeScriptSpec{Name: "node-opcua-server", Script: "publisher_server.js", Port: port,
		Env: []string{"PORT=" + strconv.Itoa(port), "NODES=1", "RATE=100"}})
	ep := fmt.Sprintf("opc.tcp://127.0.0.1:%d/UA/edgeframe", port)
	pn := fmt.Sprintf(`[{"EndpointUrl":%q,"DataSetWriterGroup":"options","DataSetWriterId":"w","OpcNodes":[
	   {"Id":"ns=2;s=Fast1","DisplayName":"Fast1","OpcSamplingInterval":100,"OpcPublishingInterval":200},
	   {"Id":"ns=2;s=Array","DisplayName":"Slice","IndexRange":"1:2","DiscardNew":true,"OpcSamplingInterval":100,"OpcPublishingInterval":200},
	   {"Id":"ns=x;s=Broken","DisplayName":"Broken"},
	   {"Id":"ns=2;s=Fast1","DisplayName":"Skipped","SkipFirst":true}]}]`, ep)
	p := rig.startPublisher(t, "opcpublisher", pn, "--bs", "1")

	var slices [][]any
	fields := map[string]bool{}
	collect(t, rig.sub, 60*time.Second, func(rs []received) bool {
		for _, r := range rs[len(rs)-min(len(rs), 1):] {
			for _, m := range decodeNetworkMessage(t, r.ev).Messages {
				for f, v := range m.Payload {
					fields[f] = true
					if a, ok := v.Value.([]any); ok && f == "Slice" {
						slices = append(slices, a)
					}
				}
			}
		}
		return fields["Fast1"] && len(slices) >= 3
	})
	if !fields["Fast1"] || fields["Broken"] || fields["Skipped"] || len(slices) < 3 {
		t.Fatalf("fields %v, %d Slice values", keys(fields), len(slices))
	}
	for _, a := range slices {
		if len(a) != 2 || a[1].(float64)-a[0].(float64) != 1 {
			t.Fatalf("Slice values %v: want the 2 elements [k+1 k+2] of IndexRange 1:2", slices)
		}
	}
	log := p.Log()
	for _, want := range []string{`OpcNodes[2].Id`, `OpcNodes[3].SkipFirst: true is not supported`} {
		if !strings.Contains(log, want) {
			t.Errorf("log does not report %q", want)
		}
	}
}
