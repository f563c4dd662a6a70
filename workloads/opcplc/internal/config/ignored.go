package config

import (
	"flag"
	"sort"
	"strings"
)

// opcPLCIgnored are OPC PLC's documented options (its README's command-line reference)
// that opcplc accepts so that OPC PLC command lines work unchanged, but that have no
// effect here: Run logs a warning for each one given. Each line: aliases, then whether
// the option takes a value.
var opcPLCIgnored = []struct {
	names []string
	value bool
	why   string
}{
	{[]string{"lt", "logflushtimespan"}, true, "logs are written as they come"},
	{[]string{"ei", "eventinstances"}, true, "events are not simulated"},
	{[]string{"er", "eventrate"}, true, "events are not simulated"},
	{[]string{"ol", "opcmaxstringlen"}, true, "not configurable"},
	{[]string{"otlpee", "otlpendpoint"}, true, "OpenTelemetry goes through the OTEL_* environment variables"},
	{[]string{"otlpei", "otlpexportinterval"}, true, "OpenTelemetry goes through the OTEL_* environment variables"},
	{[]string{"otlpep", "otlpexportprotocol"}, true, "OpenTelemetry goes through the OTEL_* environment variables"},
	{[]string{"otlpub", "otlpublishmetrics"}, true, "OpenTelemetry goes through the OTEL_* environment variables"},
	{[]string{"lr", "ldsreginterval"}, true, "no LDS registration"},
	{[]string{"drurs", "dontrejectunknownrevocationstatus"}, false, "no revocation checks"},
	{[]string{"to", "trustowncert"}, false, "the own certificate is not needed in the trust list"},
	{[]string{"mqrc", "maxqueuedrequestcount"}, true, "requests are not queued"},
	{[]string{"at", "appcertstoretype"}, true, "the PKI is always a directory (--pki)"},
	{[]string{"ap", "appcertstorepath"}, true, "use --pki"},
	{[]string{"tp", "trustedcertstorepath"}, true, "use --pki"},
	{[]string{"rp", "rejectedcertstorepath"}, true, "use --pki"},
	{[]string{"ip", "issuercertstorepath"}, true, "use --pki"},
	{[]string{"tup", "trustedusercertstorepath"}, true, "no X.509 user authentication"},
	{[]string{"uip", "userissuercertstorepath"}, true, "no X.509 user authentication"},
	{[]string{"csr"}, false, "no certificate signing requests"},
	{[]string{"ab", "applicationcertbase64"}, true, "put the certificate in --pki"},
	{[]string{"af", "applicationcertfile"}, true, "put the certificate in --pki"},
	{[]string{"pb", "privatekeybase64"}, true, "put the key in --pki"},
	{[]string{"pk", "privatekeyfile"}, true, "put the key in --pki"},
	{[]string{"cp", "certpassword"}, true, "keys are not password protected"},
	{[]string{"tb", "addtrustedcertbase64"}, true, "put trusted certificates in --pki/trusted"},
	{[]string{"tf", "addtrustedcertfile"}, true, "put trusted certificates in --pki/trusted"},
	{[]string{"ib", "addissuercertbase64"}, true, "no issuer certificates"},
	{[]string{"if", "addissuercertfile"}, true, "no issuer certificates"},
	{[]string{"tub", "addtrustedusercertbase64"}, true, "no X.509 user authentication"},
	{[]string{"tuf", "addtrustedusercertfile"}, true, "no X.509 user authentication"},
	{[]string{"uib", "adduserissuercertbase64"}, true, "no X.509 user authentication"},
	{[]string{"uif", "adduserissuercertfile"}, true, "no X.509 user authentication"},
	{[]string{"rb", "updatecrlbase64"}, true, "no CRLs"},
	{[]string{"uc", "updatecrlfile"}, true, "no CRLs"},
	{[]string{"rc", "removecert"}, true, "remove the files from --pki"},
	{[]string{"dca", "disablecertauth"}, false, "X.509 user authentication is never offered"},
	{[]string{"alm", "alarms"}, false, "alarms and conditions are not simulated"},
	{[]string{"ses", "simpleevents"}, false, "events are not simulated"},
	{[]string{"dalm", "deterministicalarms"}, true, "alarms and conditions are not simulated"},
	{[]string{"cdn", "certdnsnames"}, true, "the certificate names --ph, localhost and 127.0.0.1"},
	{[]string{"b2ts", "boiler2tempspeed"}, true, "no boiler simulation"},
	{[]string{"b2bt", "boiler2basetemp"}, true, "no boiler simulation"},
	{[]string{"b2tt", "boiler2targettemp"}, true, "no boiler simulation"},
	{[]string{"b2mi", "boiler2maintinterval"}, true, "no boiler simulation"},
	{[]string{"b2oi", "boiler2overheatinterval"}, true, "no boiler simulation"},
	{[]string{"ctb", "complextypeboiler"}, false, "no boiler simulation"},
	{[]string{"fsi", "fastnodesamplinginterval"}, true, "/pn.json uses the change rate as sampling interval"},
	{[]string{"ssi", "slownodesamplinginterval"}, true, "/pn.json uses the change rate as sampling interval"},
	{[]string{"ns2", "nodeset2file"}, true, "no NodeSet2 import"},
	{[]string{"unf", "uanodesfile"}, true, "no predefined node import"},
	{[]string{"nf", "nodesfile"}, true, "no user-defined nodes"},
	{[]string{"vfbs", "veryfastbsnodes"}, true, "no very fast ByteString nodes"},
	{[]string{"vfbss", "veryfastbssize"}, true, "no very fast ByteString nodes"},
	{[]string{"vfbsr", "veryfastbsrate"}, true, "no very fast ByteString nodes"},
	{[]string{"vf1k", "veryfast1knodes"}, true, "no 1 kB nodes"},
	{[]string{"vf1kr", "veryfast1krate"}, true, "no 1 kB nodes"},
	{[]string{"ref", "referencenodes"}, false, "no reference test nodes"},
}

// ignoredValue accepts any value of an ignored option.
type ignoredValue struct {
	set  *bool
	bool bool
}

func (v *ignoredValue) String() string   { return "" }
func (v *ignoredValue) Set(string) error { *v.set = true; return nil }
func (v *ignoredValue) IsBoolFlag() bool { return v.bool }
func (v *ignoredValue) Get() any         { return *v.set }

// ignoredFlags defines the ignored OPC PLC options on fs; the function it returns lists
// the ones given, as "--name: why".
func ignoredFlags(fs *flag.FlagSet) func() []string {
	given := make([]bool, len(opcPLCIgnored))
	for i, o := range opcPLCIgnored {
		v := &ignoredValue{set: &given[i], bool: !o.value}
		for _, n := range o.names {
			fs.Var(v, n, "OPC PLC option accepted for compatibility, no effect here: "+o.why)
		}
	}
	return func() []string {
		var out []string
		for i, g := range given {
			if g {
				o := opcPLCIgnored[i]
				out = append(out, "--"+strings.Join(o.names, "/--")+": "+o.why)
			}
		}
		sort.Strings(out)
		return out
	}
}

// opcPLCLevel maps OPC PLC's log levels (critical, error, warn, info, debug, trace; older
// releases fatal and verbose) to slog's.
func opcPLCLevel(s string) string {
	switch strings.ToLower(s) {
	case "critical", "fatal":
		return "error"
	case "trace", "verbose":
		return "debug"
	}
	return s
}
